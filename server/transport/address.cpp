#include "server/transport/address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace cairn::server {

std::string address_key(std::string_view address) {
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN) return std::string(address);
  const std::string text(address);
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) != 1) {
    unsigned char v4[4];
    if (inet_pton(AF_INET, text.c_str(), v4) != 1) return text;
    char out[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, v4, out, sizeof out) ? std::string(out) : text;
  }
  static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6, mapped, sizeof mapped) == 0) {
    char out[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, v6 + 12, out, sizeof out) ? std::string(out) : text;
  }
  std::memset(v6 + 8, 0, 8);
  char out[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, v6, out, sizeof out)) return text;
  return std::string(out) + "/64";
}

}  // namespace cairn::server
