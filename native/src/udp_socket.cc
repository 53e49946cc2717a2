#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "address.h"
#include "errors.h"
#include "polled_socket.h"
#include "sockets.h"

namespace portico {
namespace {

// A UDP socket that sends with a chosen TTL / hop limit and reports the one each datagram
// arrived with (IP_RECVTTL / IPV6_RECVHOPLIMIT), as BFD's GTSM check needs.
class UdpSocket : public PolledSocket<UdpSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("UdpSocket", DefineClass(env, "UdpSocket",
                                         {
                                             InstanceMethod("send", &UdpSocket::Send),
                                             InstanceMethod("address", &UdpSocket::Address),
                                             InstanceMethod("close", &UdpSocket::Close),
                                             InstanceMethod("ref", &UdpSocket::RefHandle),
                                             InstanceMethod("unref", &UdpSocket::UnrefHandle),
                                         }));
  }

  // new UdpSocket({address, port, ttl?, bindDevice?}, callback). IPv6 sockets are IPv6-only.
  explicit UdpSocket(const Napi::CallbackInfo& info) : PolledSocket(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "usage: new UdpSocket(options, callback)");
    }
    Napi::Object options = info[0].As<Napi::Object>();
    int port = IntOption(options, "port", 0);
    int ttl = IntOption(options, "ttl", -1);
    if (port < 0 || port > 65535) throw Napi::RangeError::New(env, "port must be 0..65535");
    if (ttl != -1 && (ttl < 1 || ttl > 255)) throw Napi::RangeError::New(env, "ttl must be 1..255");
    SockAddr local = ParseIp(env, StringOption(options, "address"), static_cast<uint16_t>(port));
    family_ = local.family();

    Fd fd(socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw ErrnoError(env, errno, "socket", "(SOCK_DGRAM)");
    std::string device = StringOption(options, "bindDevice");
    if (!device.empty()) {
      SetOpt(env, fd.get(), SOL_SOCKET, SO_BINDTODEVICE, device.c_str(), device.size(), "SO_BINDTODEVICE");
    }
    if (family_ == AF_INET) {
      SetIntOpt(env, fd.get(), IPPROTO_IP, IP_RECVTTL, 1, "IP_RECVTTL");
      if (ttl != -1) {
        SetIntOpt(env, fd.get(), IPPROTO_IP, IP_TTL, ttl, "IP_TTL");
        SetIntOpt(env, fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, ttl, "IP_MULTICAST_TTL");
      }
    } else {
      SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
      SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
      if (ttl != -1) {
        SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, "IPV6_UNICAST_HOPS");
        SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl, "IPV6_MULTICAST_HOPS");
      }
    }
    if (bind(fd.get(), local.get(), local.len) < 0) throw ErrnoError(env, errno, "bind", Describe(local));
    StartPolling(env, fd.release(), info[1].As<Napi::Function>(), "portico:UdpSocket");
  }

  int ReceiveOne(Napi::Env env, Napi::Value* data, Napi::Value* meta) {
    thread_local uint8_t buffer[65536];
    alignas(cmsghdr) char control[128];
    sockaddr_storage from{};
    iovec iov{buffer, sizeof buffer};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd(), &msg, 0);
    if (n < 0) return errno;
    int ttl = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
        std::memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
      }
    }
    *data = Napi::Buffer<uint8_t>::Copy(env, buffer, static_cast<size_t>(n));
    Napi::Object info = Napi::Object::New(env);
    info.Set("address", FormatIp(reinterpret_cast<sockaddr*>(&from)));
    info.Set("port", PortOf(reinterpret_cast<sockaddr*>(&from)));
    info.Set("ttl", ttl);
    *meta = info;
    return 0;
  }

 private:
  // send(data, address, port)
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "sendto");
    Napi::Buffer<uint8_t> data = BufferArg(info, 0, "data");
    if (!info[1].IsString() || !info[2].IsNumber()) throw Napi::TypeError::New(env, "usage: send(data, address, port)");
    int port = info[2].As<Napi::Number>().Int32Value();
    if (port < 1 || port > 65535) throw Napi::RangeError::New(env, "port must be 1..65535");
    SockAddr to = ParseIp(env, info[1].As<Napi::String>().Utf8Value(), static_cast<uint16_t>(port));
    if (to.family() != family_) throw Napi::TypeError::New(env, "address family differs from the socket's: " + Describe(to));
    if (sendto(fd(), data.Data(), data.Length(), 0, to.get(), to.len) < 0) {
      throw ErrnoError(env, errno, "sendto", Describe(to));
    }
    return env.Undefined();
  }

  // address(): {address, port} this socket is bound to.
  Napi::Value Address(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "getsockname");
    SockAddr local;
    local.len = sizeof local.storage;
    if (getsockname(fd(), local.get(), &local.len) < 0) throw ErrnoError(env, errno, "getsockname");
    Napi::Object result = Napi::Object::New(env);
    result.Set("address", FormatIp(local.get()));
    result.Set("port", PortOf(local.get()));
    return result;
  }

  int family_ = AF_INET;
};

}  // namespace

void InitUdpSocket(Napi::Env env, Napi::Object exports) { UdpSocket::Init(env, exports); }

}  // namespace portico
