#include "address.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>

namespace portico {

SockAddr ParseIp(Napi::Env env, const std::string& text, uint16_t port) {
  SockAddr out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return out;
  }
  std::string host = text;
  uint32_t scope = 0;
  size_t percent = text.find('%');
  if (percent != std::string::npos) {
    host = text.substr(0, percent);
    std::string zone = text.substr(percent + 1);
    scope = if_nametoindex(zone.c_str());
    if (scope == 0) scope = static_cast<uint32_t>(std::strtoul(zone.c_str(), nullptr, 10));
    if (scope == 0) throw Napi::TypeError::New(env, "unknown zone in address " + text);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) != 1) {
    throw Napi::TypeError::New(env, "not an IP address: " + text);
  }
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  v6->sin6_scope_id = scope;
  out.len = sizeof(sockaddr_in6);
  return out;
}

SockAddr ToFamily(const SockAddr& addr, int family) {
  if (family != AF_INET6 || addr.family() != AF_INET) return addr;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr.storage);
  SockAddr out;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = v4->sin_port;
  v6->sin6_addr.s6_addr[10] = 0xff;
  v6->sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
  out.len = sizeof(sockaddr_in6);
  return out;
}

std::string FormatIp(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = "";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
  }
  return text;
}

uint16_t PortOf(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return 0;
}

std::string Describe(const SockAddr& addr) {
  std::string ip = FormatIp(addr.get());
  std::string port = std::to_string(PortOf(addr.get()));
  return addr.family() == AF_INET6 ? "[" + ip + "]:" + port : ip + ":" + port;
}

}  // namespace portico
