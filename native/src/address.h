#pragma once

#include <napi.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace portico {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  int family() const { return storage.ss_family; }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// "192.0.2.1", "2001:db8::1" or "fe80::1%eth0" with a port; TypeError when not an IP address.
SockAddr ParseIp(Napi::Env env, const std::string& text, uint16_t port);
// The same address as the given family: IPv4 → IPv4-mapped IPv6 for AF_INET6 sockets.
SockAddr ToFamily(const SockAddr& addr, int family);
std::string FormatIp(const sockaddr* sa);
uint16_t PortOf(const sockaddr* sa);
std::string Describe(const SockAddr& addr);

}  // namespace portico
