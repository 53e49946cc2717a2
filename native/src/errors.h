#pragma once

#include <napi.h>

#include <string>

namespace portico {

// A JS Error shaped like Node's system errors: message "<syscall> <CODE>: <text>[ <detail>]",
// with `code` ('EPERM'), `errno` (negative, as in Node) and `syscall`.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail = "");

// Owns a file descriptor until release().
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// setsockopt that throws ErrnoError("setsockopt", <name>) on failure.
void SetOpt(Napi::Env env, int fd, int level, int name, const void* value, size_t size, const char* what);
void SetIntOpt(Napi::Env env, int fd, int level, int name, int value, const char* what);

// Option readers for plain JS objects; TypeError when present with the wrong type.
bool Has(const Napi::Object& o, const char* key);
int IntOption(const Napi::Object& o, const char* key, int fallback);
std::string StringOption(const Napi::Object& o, const char* key, const std::string& fallback = "");
Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t index, const char* what);

}  // namespace portico
