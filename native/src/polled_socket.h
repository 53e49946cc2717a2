#pragma once

#include <napi.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <memory>

#include "errors.h"

namespace portico {

// A non-blocking socket watched by uv_poll on the Node event loop. When readable, it drains up to
// kBatch messages through T::ReceiveOne and calls the JS callback as (null, data, info) per
// message, or (error) on a receive error. While open it holds a strong reference to its JS
// object, so an open socket is never collected, and its poll handle keeps the loop alive unless
// unref()'d.
template <class T>
class PolledSocket : public Napi::ObjectWrap<T> {
 public:
  explicit PolledSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}
  ~PolledSocket() override { Shutdown(); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      Shutdown();
      this->Unref();
    }
    return info.Env().Undefined();
  }
  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

 protected:
  static constexpr int kSkip = -1;  // ReceiveOne: a message was read and dropped
  static constexpr int kBatch = 64;

  // Takes ownership of fd.
  void StartPolling(Napi::Env env, int fd, Napi::Function callback, const char* resource) {
    Fd owned(fd);
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no event loop");
    auto* poll = new uv_poll_t;
    int err = uv_poll_init_socket(loop, poll, fd);
    if (err != 0) {
      delete poll;  // a failed init leaves nothing registered on the loop
      throw ErrnoError(env, -err, "uv_poll_init");
    }
    err = uv_poll_start(poll, UV_READABLE, OnPoll);
    if (err != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(poll), DeleteHandle);
      throw ErrnoError(env, -err, "uv_poll_start");
    }
    poll->data = this;
    poll_ = poll;
    fd_ = owned.release();
    callback_ = Napi::Persistent(callback);
    context_ = std::make_unique<Napi::AsyncContext>(env, resource);
    this->Ref();
  }

  int fd() const { return fd_; }

  void RequireOpen(Napi::Env env, const char* syscall) const {
    if (fd_ < 0) throw ErrnoError(env, EBADF, syscall, "(socket is closed)");
  }

 private:
  static void DeleteHandle(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    static_cast<T*>(handle->data)->Drain(status);
  }

  void Drain(int status) {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Napi::Object self = this->Value();  // `this` for the callback; also keeps the object alive
    if (status < 0) {
      // libuv stops the watcher on POLLERR; SO_ERROR reads (and clears) the pending socket error.
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      Deliver(env, self, {ErrnoError(env, err != 0 ? err : -status, "recvmsg").Value()});
      if (err != 0 && poll_ != nullptr) uv_poll_start(poll_, UV_READABLE, OnPoll);
      return;
    }
    for (int i = 0; i < kBatch && fd_ >= 0; i++) {
      Napi::HandleScope inner(env);
      Napi::Value data;
      Napi::Value meta;
      int err = static_cast<T*>(this)->ReceiveOne(env, &data, &meta);
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == kSkip) continue;
      if (err != 0) {
        Deliver(env, self, {ErrnoError(env, err, "recvmsg").Value()});
        return;
      }
      if (!Deliver(env, self, {env.Null(), data, meta})) return;
    }
  }

  bool Deliver(Napi::Env env, Napi::Object self, std::initializer_list<napi_value> args) {
    if (callback_.IsEmpty()) return false;
    try {
      callback_.MakeCallback(self, args, *context_);
      return true;
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());  // an exception in the JS handler is uncaught, as in Node's own sockets
      return false;
    }
  }

  void Shutdown() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), DeleteHandle);
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    callback_.Reset();
    context_.reset();
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace portico
