// Portico's native addon: the few Linux socket calls Node lacks (AF_PACKET, raw ICMPv6 with
// group joins, TCP_MD5SIG, reading received TTLs). See src/native/addon.ts for the JS surface.
#include <napi.h>

#include "sockets.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  portico::InitPacketSocket(env, exports);
  portico::InitIcmp6Socket(env, exports);
  portico::InitUdpSocket(env, exports);
  portico::InitTcp(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(portico_native, Init)
