#pragma once

#include <napi.h>

namespace portico {

void InitPacketSocket(Napi::Env env, Napi::Object exports);
void InitIcmp6Socket(Napi::Env env, Napi::Object exports);
void InitUdpSocket(Napi::Env env, Napi::Object exports);
void InitTcp(Napi::Env env, Napi::Object exports);

}  // namespace portico
