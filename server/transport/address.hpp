#pragma once
// The key under which per-address limits count a remote address: the
// connection slots of the listener, the login and request throttles and the
// audit's auth-failure budget all count the same way, so that rotating
// through the addresses of one IPv6 /64 buys nothing.

#include <string>
#include <string_view>

namespace cairn::server {

// "192.0.2.7" for 192.0.2.7 and ::ffff:192.0.2.7, "2001:db8:1:2::/64" for
// any address of that /64. Text that is not an IP address is its own key.
std::string address_key(std::string_view address);

}  // namespace cairn::server
