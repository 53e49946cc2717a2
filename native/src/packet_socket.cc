#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "errors.h"
#include "polled_socket.h"
#include "sockets.h"

namespace portico {
namespace {

void AttachFilter(Napi::Env env, int fd, Napi::Value value) {
  const char* shape = "filter must be an array of [code, jt, jf, k] instructions";
  if (!value.IsArray()) throw Napi::TypeError::New(env, shape);
  Napi::Array list = value.As<Napi::Array>();
  if (list.Length() == 0 || list.Length() > BPF_MAXINSNS) throw Napi::RangeError::New(env, "filter must have 1 to 4096 instructions");
  std::vector<sock_filter> program(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsArray() || item.As<Napi::Array>().Length() != 4) throw Napi::TypeError::New(env, shape);
    Napi::Array insn = item.As<Napi::Array>();
    uint32_t field[4];
    for (uint32_t j = 0; j < 4; j++) {
      Napi::Value v = insn.Get(j);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, shape);
      field[j] = v.As<Napi::Number>().Uint32Value();
    }
    program[i] = {static_cast<uint16_t>(field[0]), static_cast<uint8_t>(field[1]), static_cast<uint8_t>(field[2]), field[3]};
  }
  sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
  SetOpt(env, fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog, "SO_ATTACH_FILTER");
}

class PacketSocket : public PolledSocket<PacketSocket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("PacketSocket", DefineClass(env, "PacketSocket",
                                            {
                                                InstanceMethod("send", &PacketSocket::Send),
                                                InstanceMethod("addMembership", &PacketSocket::AddMembership),
                                                InstanceMethod("dropMembership", &PacketSocket::DropMembership),
                                                InstanceMethod("close", &PacketSocket::Close),
                                                InstanceMethod("ref", &PacketSocket::RefHandle),
                                                InstanceMethod("unref", &PacketSocket::UnrefHandle),
                                            }));
  }

  // new PacketSocket({ifindex, ethertype, filter?}, callback)
  explicit PacketSocket(const Napi::CallbackInfo& info) : PolledSocket(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "usage: new PacketSocket(options, callback)");
    }
    Napi::Object options = info[0].As<Napi::Object>();
    ifindex_ = IntOption(options, "ifindex", 0);
    int ethertype = IntOption(options, "ethertype", -1);
    if (ifindex_ <= 0) throw Napi::TypeError::New(env, "ifindex must be a positive interface index");
    if (ethertype < 0 || ethertype > 0xffff) throw Napi::TypeError::New(env, "ethertype must be 0..0xffff");

    Fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw ErrnoError(env, errno, "socket", "(AF_PACKET)");
    // Protocol 0 receives nothing until bind, so the filter is in place before the first frame.
    if (Has(options, "filter")) AttachFilter(env, fd.get(), options.Get("filter"));
    int one = 1;
    // Linux >= 4.20; older kernels get the PACKET_OUTGOING check in ReceiveOne.
    setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    sockaddr_ll local{};
    local.sll_family = AF_PACKET;
    local.sll_protocol = htons(static_cast<uint16_t>(ethertype));
    local.sll_ifindex = ifindex_;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
      throw ErrnoError(env, errno, "bind", "(ifindex " + std::to_string(ifindex_) + ")");
    }
    StartPolling(env, fd.release(), info[1].As<Napi::Function>(), "portico:PacketSocket");
  }

  int ReceiveOne(Napi::Env env, Napi::Value* data, Napi::Value* meta) {
    thread_local uint8_t buffer[65536];
    sockaddr_ll from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd(), buffer, sizeof buffer, MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return errno;
    if (from.sll_pkttype == PACKET_OUTGOING) return kSkip;
    *data = Napi::Buffer<uint8_t>::Copy(env, buffer, std::min(static_cast<size_t>(n), sizeof buffer));
    Napi::Object info = Napi::Object::New(env);
    info.Set("pkttype", from.sll_pkttype);
    info.Set("ifindex", from.sll_ifindex);
    *meta = info;
    return 0;
  }

 private:
  // send(frame): a whole Ethernet frame, header included.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env, "sendto");
    Napi::Buffer<uint8_t> frame = BufferArg(info, 0, "frame");
    if (frame.Length() < ETH_HLEN) throw Napi::RangeError::New(env, "an Ethernet frame has at least 14 bytes");
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex_;
    std::memcpy(&to.sll_protocol, frame.Data() + 12, 2);
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, frame.Data(), ETH_ALEN);
    if (sendto(fd(), frame.Data(), frame.Length(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      throw ErrnoError(env, errno, "sendto");
    }
    return env.Undefined();
  }

  Napi::Value AddMembership(const Napi::CallbackInfo& info) { return Membership(info, PACKET_ADD_MEMBERSHIP); }
  Napi::Value DropMembership(const Napi::CallbackInfo& info) { return Membership(info, PACKET_DROP_MEMBERSHIP); }

  // (mac: Buffer of 6 bytes): a multicast MAC this socket's interface should accept.
  Napi::Value Membership(const Napi::CallbackInfo& info, int option) {
    Napi::Env env = info.Env();
    RequireOpen(env, "setsockopt");
    Napi::Buffer<uint8_t> mac = BufferArg(info, 0, "mac");
    if (mac.Length() != ETH_ALEN) throw Napi::RangeError::New(env, "a MAC address has 6 bytes");
    packet_mreq request{};
    request.mr_ifindex = ifindex_;
    request.mr_type = PACKET_MR_MULTICAST;
    request.mr_alen = ETH_ALEN;
    std::memcpy(request.mr_address, mac.Data(), ETH_ALEN);
    const char* what = option == PACKET_ADD_MEMBERSHIP ? "PACKET_ADD_MEMBERSHIP" : "PACKET_DROP_MEMBERSHIP";
    SetOpt(env, fd(), SOL_PACKET, option, &request, sizeof request, what);
    return env.Undefined();
  }

  int ifindex_ = 0;
};

}  // namespace

void InitPacketSocket(Napi::Env env, Napi::Object exports) { PacketSocket::Init(env, exports); }

}  // namespace portico
