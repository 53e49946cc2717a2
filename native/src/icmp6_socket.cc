#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78  // linux/in6.h, Linux 4.15
#endif

#include "address.h"
#include "errors.h"
#include "polled_socket.h"
#include "sockets.h"

namespace portico {
namespace {

in6_addr ParseIp6(Napi::Env env, const std::string& text) {
  SockAddr addr = ParseIp(env, text, 0);
  if (addr.family() != AF_INET6) throw Napi::TypeError::New(env, "not an IPv6 address: " + text);
  return reinterpret_cast<const sockaddr_in6*>(addr.get())->sin6_addr;
}

class Icmp6Socket : public PolledSocket<Icmp6Socket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("Icmp6Socket", DefineClass(env, "Icmp6Socket",
                                           {
                                               InstanceMethod("send", &Icmp6Socket::Send),
                                               InstanceMethod("joinGroup", &Icmp6Socket::JoinGroup),
                                               InstanceMethod("leaveGroup", &Icmp6Socket::LeaveGroup),
                                               InstanceMethod("close", &Icmp6Socket::Close),
                                               InstanceMethod("ref", &Icmp6Socket::RefHandle),
                                               InstanceMethod("unref", &Icmp6Socket::UnrefHandle),
                                           }));
  }

  // new Icmp6Socket({ifindex, ifname, types}, callback): raw ICMPv6 on one interface, receiving
  // only the listed ICMPv6 types, sending with hop limit 255 (as NDP requires).
  explicit Icmp6Socket(const Napi::CallbackInfo& info) : PolledSocket(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "usage: new Icmp6Socket(options, callback)");
    }
    Napi::Object options = info[0].As<Napi::Object>();
    ifindex_ = IntOption(options, "ifindex", 0);
    std::string ifname = StringOption(options, "ifname");
    if (ifindex_ <= 0 || ifname.empty()) throw Napi::TypeError::New(env, "ifindex and ifname are required");
    if (!options.Get("types").IsArray()) throw Napi::TypeError::New(env, "types must be an array of ICMPv6 types");
    Napi::Array types = options.Get("types").As<Napi::Array>();

    Fd fd(socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6));
    if (fd.get() < 0) throw ErrnoError(env, errno, "socket", "(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)");
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    for (uint32_t i = 0; i < types.Length(); i++) {
      Napi::Value type = types.Get(i);
      if (!type.IsNumber()) throw Napi::TypeError::New(env, "types must be an array of ICMPv6 types");
      ICMP6_FILTER_SETPASS(type.As<Napi::Number>().Uint32Value() & 0xff, &filter);
    }
    SetOpt(env, fd.get(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter, "ICMP6_FILTER");
    SetOpt(env, fd.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size(), "SO_BINDTODEVICE");
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, "IPV6_UNICAST_HOPS");
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS");
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex_, "IPV6_MULTICAST_IF");
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP");
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT");
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    // An NA is sourced from the VIP it announces, which is usually not an address of this node:
    // IPV6_FREEBIND lets IPV6_PKTINFO name a non-local source (ipv6_can_nonlocal_bind), no capability needed.
    SetIntOpt(env, fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND");
    // No IPV6_CHECKSUM: for IPPROTO_ICMPV6 raw sockets the kernel always computes the checksum.
    StartPolling(env, fd.release(), info[1].As<Napi::Function>(), "portico:Icmp6Socket");
  }

  int ReceiveOne(Napi::Env env, Napi::Value* data, Napi::Value* meta) {
    thread_local uint8_t buffer[65536];
    alignas(cmsghdr) char control[256];
    sockaddr_in6 from{};
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
    int hop_limit = -1;
    int ifindex = ifindex_;
    std::string destination;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_HOPLIMIT) {
        std::memcpy(&hop_limit, CMSG_DATA(c), sizeof hop_limit);
      } else if (c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pktinfo;
        std::memcpy(&pktinfo, CMSG_DATA(c), sizeof pktinfo);
        sockaddr_in6 dst{};
        dst.sin6_family = AF_INET6;
        dst.sin6_addr = pktinfo.ipi6_addr;
        destination = FormatIp(reinterpret_cast<sockaddr*>(&dst));
        ifindex = static_cast<int>(pktinfo.ipi6_ifindex);
      }
    }
    *data = Napi::Buffer<uint8_t>::Copy(env, buffer, static_cast<size_t>(n));
    Napi::Object info = Napi::Object::New(env);
    info.Set("source", FormatIp(reinterpret_cast<sockaddr*>(&from)));
    info.Set("destination", destination);
    info.Set("hopLimit", hop_limit);
    info.Set("ifindex", ifindex);
    *meta = info;
    return 0;
  }

 private:
  // send(message, destination, source?): an ICMPv6 message (checksum filled in by the kernel).
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "sendmsg");
    Napi::Buffer<uint8_t> message = BufferArg(info, 0, "message");
    if (!info[1].IsString()) throw Napi::TypeError::New(env, "destination must be an IPv6 address");
    std::string destination_text = info[1].As<Napi::String>().Utf8Value();
    SockAddr destination = ParseIp(env, destination_text, 0);
    if (destination.family() != AF_INET6) throw Napi::TypeError::New(env, "not an IPv6 address: " + destination_text);
    auto* to = reinterpret_cast<sockaddr_in6*>(destination.get());
    if (to->sin6_scope_id == 0) to->sin6_scope_id = ifindex_;  // used by the kernel for link-local scopes only

    iovec iov{message.Data(), message.Length()};
    msghdr msg{};
    msg.msg_name = to;
    msg.msg_namelen = destination.len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
    if (info[2].IsString()) {
      in6_pktinfo pktinfo{};
      pktinfo.ipi6_addr = ParseIp6(env, info[2].As<Napi::String>().Utf8Value());
      pktinfo.ipi6_ifindex = static_cast<unsigned>(ifindex_);
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof pktinfo);
      std::memcpy(CMSG_DATA(c), &pktinfo, sizeof pktinfo);
    }
    if (sendmsg(fd(), &msg, 0) < 0) throw ErrnoError(env, errno, "sendmsg", destination_text);
    return env.Undefined();
  }

  Napi::Value JoinGroup(const Napi::CallbackInfo& info) { return Group(info, IPV6_ADD_MEMBERSHIP, "IPV6_JOIN_GROUP"); }
  Napi::Value LeaveGroup(const Napi::CallbackInfo& info) { return Group(info, IPV6_DROP_MEMBERSHIP, "IPV6_LEAVE_GROUP"); }

  // An IP-layer join: the kernel sends MLD reports, so MLD-snooping switches forward the group.
  Napi::Value Group(const Napi::CallbackInfo& info, int option, const char* name) {
    Napi::Env env = info.Env();
    RequireOpen(env, "setsockopt");
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "group must be an IPv6 multicast address");
    std::string group = info[0].As<Napi::String>().Utf8Value();
    ipv6_mreq request{};
    request.ipv6mr_multiaddr = ParseIp6(env, group);
    request.ipv6mr_interface = static_cast<unsigned>(ifindex_);
    SetOpt(env, fd(), IPPROTO_IPV6, option, &request, sizeof request, (std::string(name) + " " + group).c_str());
    return env.Undefined();
  }

  int ifindex_ = 0;
};

}  // namespace

void InitIcmp6Socket(Napi::Env env, Napi::Object exports) { Icmp6Socket::Init(env, exports); }

}  // namespace portico
