// TCP sockets with what net.Socket cannot set: TCP_MD5SIG keys (RFC 2385, for BGP), TTL, GTSM
// (RFC 5082: IP_MINTTL / IPV6_MINHOPCOUNT) and SO_BINDTODEVICE. JS wraps the returned fds with
// net.Socket / net.Server.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstring>
#include <memory>

#include "address.h"
#include "errors.h"
#include "sockets.h"

namespace portico {
namespace {

uint16_t PortOption(Napi::Env env, const Napi::Object& options, int min) {
  int port = IntOption(options, "port", -1);
  if (port < min || port > 65535) throw Napi::RangeError::New(env, "port must be " + std::to_string(min) + "..65535");
  return static_cast<uint16_t>(port);
}

int SocketFamily(Napi::Env env, int fd) {
  int family = 0;
  socklen_t len = sizeof family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0) throw ErrnoError(env, errno, "getsockopt", "SO_DOMAIN");
  return family;
}

// A key of keyLength 0 deletes the peer's key; deleting a missing key is not an error.
void SetMd5Key(Napi::Env env, int fd, const SockAddr& peer, int prefix_length, const uint8_t* key, size_t key_length) {
  if (key_length > TCP_MD5SIG_MAXKEYLEN) throw Napi::RangeError::New(env, "a TCP MD5 key has at most 80 bytes");
  int family = SocketFamily(env, fd);
  SockAddr address = ToFamily(peer, family);
  tcp_md5sig sig{};
  std::memcpy(&sig.tcpm_addr, &address.storage, address.len);
  int option = TCP_MD5SIG;
  if (prefix_length >= 0) {
    int bits = peer.family() == AF_INET ? 32 : 128;
    if (prefix_length > bits) throw Napi::RangeError::New(env, "prefixLength must be 0.." + std::to_string(bits));
    option = TCP_MD5SIG_EXT;
    sig.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    sig.tcpm_prefixlen = static_cast<uint8_t>(prefix_length + (address.family() != peer.family() ? 96 : 0));
  }
  sig.tcpm_keylen = static_cast<uint16_t>(key_length);
  if (key_length > 0) std::memcpy(sig.tcpm_key, key, key_length);
  if (setsockopt(fd, IPPROTO_TCP, option, &sig, sizeof sig) < 0 && !(key_length == 0 && errno == ENOENT)) {
    throw ErrnoError(env, errno, "setsockopt", "TCP_MD5SIG " + FormatIp(peer.get()));
  }
}

void SetMd5FromJs(Napi::Env env, int fd, Napi::Value address, Napi::Value prefix, Napi::Value key) {
  if (!address.IsString()) throw Napi::TypeError::New(env, "peer address must be a string");
  SockAddr peer = ParseIp(env, address.As<Napi::String>().Utf8Value(), 0);
  int prefix_length = prefix.IsNumber() ? prefix.As<Napi::Number>().Int32Value() : -1;
  if (key.IsBuffer()) {
    Napi::Buffer<uint8_t> bytes = key.As<Napi::Buffer<uint8_t>>();
    if (bytes.Length() == 0) throw Napi::RangeError::New(env, "a TCP MD5 key must not be empty");
    SetMd5Key(env, fd, peer, prefix_length, bytes.Data(), bytes.Length());
  } else if (key.IsNull() || key.IsUndefined()) {
    SetMd5Key(env, fd, peer, prefix_length, nullptr, 0);
  } else {
    throw Napi::TypeError::New(env, "key must be a Buffer or null");
  }
}

// bindDevice, ttl and minTtl, shared by connecting and listening sockets (accepted sockets
// inherit them from the listener).
void ApplyCommonOptions(Napi::Env env, int fd, int family, const Napi::Object& options) {
  std::string device = StringOption(options, "bindDevice");
  if (!device.empty()) SetOpt(env, fd, SOL_SOCKET, SO_BINDTODEVICE, device.c_str(), device.size(), "SO_BINDTODEVICE");
  int ttl = IntOption(options, "ttl", -1);
  if (ttl != -1) {
    if (ttl < 1 || ttl > 255) throw Napi::RangeError::New(env, "ttl must be 1..255");
    if (family == AF_INET) SetIntOpt(env, fd, IPPROTO_IP, IP_TTL, ttl, "IP_TTL");
    else SetIntOpt(env, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, "IPV6_UNICAST_HOPS");
  }
  int min_ttl = IntOption(options, "minTtl", -1);
  if (min_ttl != -1) {
    if (min_ttl < 1 || min_ttl > 255) throw Napi::RangeError::New(env, "minTtl must be 1..255");
    if (family == AF_INET) SetIntOpt(env, fd, IPPROTO_IP, IP_MINTTL, min_ttl, "IP_MINTTL");
    else SetIntOpt(env, fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, min_ttl, "IPV6_MINHOPCOUNT");
  }
}

// One non-blocking connect, watched on the event loop (no thread pool): the JS callback gets
// (null, fd) once connected, or (error) on failure or after timeoutMs. Start returns a function
// that cancels the connect (closing its socket, without calling back).
class ConnectRequest {
 public:
  static Napi::Function Start(Napi::Env env, int fd, Napi::Function callback, uint64_t timeout_ms, std::string peer) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
      close(fd);
      throw Napi::Error::New(env, "no event loop");
    }
    auto* request = new ConnectRequest(env, fd, callback, std::move(peer));
    int err = uv_poll_init_socket(loop, &request->poll_, fd);
    if (err != 0) {
      delete request;
      throw ErrnoError(env, -err, "uv_poll_init");
    }
    request->open_handles_++;
    uv_timer_init(loop, &request->timer_);
    request->open_handles_++;
    err = uv_poll_start(&request->poll_, UV_WRITABLE, OnWritable);
    if (err != 0) {
      request->Cancel();
      throw ErrnoError(env, -err, "uv_poll_start");
    }
    uv_timer_start(&request->timer_, OnTimeout, timeout_ms, 0);
    std::shared_ptr<ConnectRequest*> token = request->token_;
    return Napi::Function::New(env, [token](const Napi::CallbackInfo& info) {
      if (*token != nullptr) (*token)->Cancel();
      return info.Env().Undefined();
    });
  }

 private:
  ConnectRequest(Napi::Env env, int fd, Napi::Function callback, std::string peer)
      : env_(env),
        fd_(fd),
        callback_(Napi::Persistent(callback)),
        context_(std::make_unique<Napi::AsyncContext>(env, "portico:tcpConnect")),
        peer_(std::move(peer)) {
    poll_.data = this;
    timer_.data = this;
  }
  ~ConnectRequest() {
    if (fd_ >= 0) close(fd_);
  }

  static void OnWritable(uv_poll_t* handle, int status, int /*events*/) {
    auto* request = static_cast<ConnectRequest*>(handle->data);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(request->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0 && status < 0) err = -status;
    request->Finish(err);
  }

  static void OnTimeout(uv_timer_t* handle) { static_cast<ConnectRequest*>(handle->data)->Finish(ETIMEDOUT); }

  static void OnClosed(uv_handle_t* handle) {
    auto* request = static_cast<ConnectRequest*>(handle->data);
    if (--request->open_handles_ == 0) delete request;
  }

  void CloseHandles() {
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnClosed);
  }

  void Cancel() {
    if (done_) return;
    done_ = true;
    Unwatch();
    close(fd_);
    fd_ = -1;
    callback_.Reset();
    context_.reset();
  }

  // Closes both handles (the request is deleted once they are closed, on a later loop turn).
  // Closing the poll handle removes the fd from epoll at once, so this must come before JS gets
  // the fd: libuv would otherwise unregister the net.Socket that then watches it.
  void Unwatch() {
    *token_ = nullptr;
    uv_poll_stop(&poll_);
    uv_timer_stop(&timer_);
    CloseHandles();
  }

  void Finish(int err) {
    if (done_) return;
    done_ = true;
    Unwatch();
    Napi::Env env(env_);
    Napi::HandleScope scope(env);
    int fd = fd_;
    fd_ = -1;
    // A failed socket is closed here; a connected one now belongs to JS, which wraps it in a net.Socket.
    if (err != 0) close(fd);
    try {
      if (err != 0) {
        callback_.MakeCallback(env.Global(), {ErrnoError(env, err, "connect", peer_).Value()}, *context_);
      } else {
        callback_.MakeCallback(env.Global(), {env.Null(), Napi::Number::New(env, fd)}, *context_);
      }
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
    callback_.Reset();
    context_.reset();
  }

  napi_env env_;
  int fd_;
  uv_poll_t poll_{};
  uv_timer_t timer_{};
  int open_handles_ = 0;
  bool done_ = false;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
  std::string peer_;
  std::shared_ptr<ConnectRequest*> token_ = std::make_shared<ConnectRequest*>(this);
};

// tcpConnect({remote, port, local?, localPort?, md5Key?, ttl?, minTtl?, bindDevice?, timeoutMs}, callback) → cancel()
Napi::Value TcpConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "usage: tcpConnect(options, callback)");
  Napi::Object options = info[0].As<Napi::Object>();
  SockAddr remote = ParseIp(env, StringOption(options, "remote"), PortOption(env, options, 1));
  int timeout_ms = IntOption(options, "timeoutMs", -1);
  if (timeout_ms < 1) throw Napi::RangeError::New(env, "timeoutMs must be a positive number");
  int family = remote.family();

  Fd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw ErrnoError(env, errno, "socket", "(SOCK_STREAM)");
  ApplyCommonOptions(env, fd.get(), family, options);
  if (Has(options, "md5Key")) SetMd5FromJs(env, fd.get(), options.Get("remote"), env.Undefined(), options.Get("md5Key"));
  if (Has(options, "local") || Has(options, "localPort")) {
    std::string any = family == AF_INET ? "0.0.0.0" : "::";
    int local_port = IntOption(options, "localPort", 0);
    if (local_port < 0 || local_port > 65535) throw Napi::RangeError::New(env, "localPort must be 0..65535");
    SockAddr local = ParseIp(env, StringOption(options, "local", any), static_cast<uint16_t>(local_port));
    if (local.family() != family) throw Napi::TypeError::New(env, "local and remote address families differ");
    if (bind(fd.get(), local.get(), local.len) < 0) throw ErrnoError(env, errno, "bind", Describe(local));
  }
  if (connect(fd.get(), remote.get(), remote.len) < 0 && errno != EINPROGRESS) {
    throw ErrnoError(env, errno, "connect", Describe(remote));
  }
  return ConnectRequest::Start(env, fd.release(), info[1].As<Napi::Function>(), static_cast<uint64_t>(timeout_ms),
                               Describe(remote));
}

// tcpListen({address, port, backlog?, v6Only?, md5Peers?: [{address, key, prefixLength?}], ttl?, minTtl?, bindDevice?}) → fd
Napi::Value TcpListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "usage: tcpListen(options)");
  Napi::Object options = info[0].As<Napi::Object>();
  SockAddr local = ParseIp(env, StringOption(options, "address"), PortOption(env, options, 0));
  int backlog = IntOption(options, "backlog", 511);
  int family = local.family();

  Fd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw ErrnoError(env, errno, "socket", "(SOCK_STREAM)");
  SetIntOpt(env, fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  if (family == AF_INET6 && Has(options, "v6Only")) {
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, options.Get("v6Only").ToBoolean() ? 1 : 0, "IPV6_V6ONLY");
  }
  ApplyCommonOptions(env, fd.get(), family, options);
  if (Has(options, "md5Peers")) {
    if (!options.Get("md5Peers").IsArray()) throw Napi::TypeError::New(env, "md5Peers must be an array");
    Napi::Array peers = options.Get("md5Peers").As<Napi::Array>();
    for (uint32_t i = 0; i < peers.Length(); i++) {
      if (!peers.Get(i).IsObject()) throw Napi::TypeError::New(env, "md5Peers entries are {address, key, prefixLength?}");
      Napi::Object peer = peers.Get(i).As<Napi::Object>();
      SetMd5FromJs(env, fd.get(), peer.Get("address"), peer.Get("prefixLength"), peer.Get("key"));
    }
  }
  if (bind(fd.get(), local.get(), local.len) < 0) throw ErrnoError(env, errno, "bind", Describe(local));
  if (listen(fd.get(), backlog) < 0) throw ErrnoError(env, errno, "listen", Describe(local));
  return Napi::Number::New(env, fd.release());
}

// setMd5(fd, peerAddress, prefixLength | undefined, key: Buffer | null)
Napi::Value SetMd5(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "usage: setMd5(fd, address, prefixLength, key)");
  SetMd5FromJs(env, info[0].As<Napi::Number>().Int32Value(), info[1], info[2], info[3]);
  return env.Undefined();
}

}  // namespace

void InitTcp(Napi::Env env, Napi::Object exports) {
  exports.Set("tcpConnect", Napi::Function::New(env, TcpConnect, "tcpConnect"));
  exports.Set("tcpListen", Napi::Function::New(env, TcpListen, "tcpListen"));
  exports.Set("setMd5", Napi::Function::New(env, SetMd5, "setMd5"));
}

}  // namespace portico
