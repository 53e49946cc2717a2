#include "errors.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portico {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  const char* name = strerrorname_np(err);
  std::string code = name != nullptr ? name : "E" + std::to_string(err);
  std::string message = std::string(syscall) + " " + code + ": " + strerror(err);
  if (!detail.empty()) message += " " + detail;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", code);
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", syscall);
  return error;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

void SetOpt(Napi::Env env, int fd, int level, int name, const void* value, size_t size, const char* what) {
  if (setsockopt(fd, level, name, value, static_cast<socklen_t>(size)) < 0) {
    throw ErrnoError(env, errno, "setsockopt", what);
  }
}

void SetIntOpt(Napi::Env env, int fd, int level, int name, int value, const char* what) {
  SetOpt(env, fd, level, name, &value, sizeof value, what);
}

bool Has(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

int IntOption(const Napi::Object& o, const char* key, int fallback) {
  if (!Has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

std::string StringOption(const Napi::Object& o, const char* key, const std::string& fallback) {
  if (!Has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (!info[index].IsBuffer()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Buffer");
  return info[index].As<Napi::Buffer<uint8_t>>();
}

}  // namespace portico
