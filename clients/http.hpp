#pragma once
// Plain HTTP values and pure helpers for the TAXII client: URLs, responses,
// query strings, Retry-After, and turning an error response into a message a
// person can act on. Nothing here does I/O; everything is safe to call from
// any thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/ascii.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

// "https://host:port/path". Only https is accepted (TAXII 2.1 8.5.1).
struct url_parts {
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 443;
  std::string path = "/";  // always starts with '/'; query and fragment dropped
  bool host_is_ip = false;

  // The Host header value ("host", "host:8443", "[::1]:8443").
  std::string authority() const;
  // "https://" + authority() + path
  std::string to_string() const;
};

// Parses an https URL. Errors name what is wrong ("--url must start with https://").
result<url_parts> parse_url(std::string_view url);

// Resolves a TAXII URL reference (absolute https URL, or an absolute path) against
// base. A reference on another host is returned as a full url_parts.
result<url_parts> resolve_reference(const url_parts& base, std::string_view reference);

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  unsigned status = 0;
  std::string reason;
  header_list headers;  // in arrival order, names as the server sent them
  std::string body;
  bool keep_alive = true;

  // The first header with this name (case-insensitive); not-found is nullopt.
  std::optional<std::string> header(std::string_view name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

// Percent-encodes everything except RFC 3986 unreserved characters and the
// characters in keep.
std::string percent_encode(std::string_view text, std::string_view keep = {});

// Case-insensitive ASCII comparison (clients use it on header names).
using formats::iequals;

// Retry-After (RFC 9110 10.2.3): delay-seconds or an IMF-fixdate. now is the
// client's wall clock in seconds since the epoch (a seam for tests). A date in
// the past gives zero; text that is neither gives nullopt. The caller bounds it.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::int64_t now_seconds);

// The standard reason phrase of a status code ("Forbidden"), or "" if unknown.
std::string_view reason_phrase(unsigned status);

// Turns an error response into one line a person can act on:
//   "403 Forbidden: <title>: <description>"
// using the TAXII error resource (T 3.6.1) when the body is one, otherwise the
// start of the body as text. Adds a hint for 401 (credentials), 406/415 (not a
// TAXII 2.1 server) and 413 (body too large).
std::string describe_error_response(unsigned status, std::string_view reason,
                                    std::string_view body);

}  // namespace cairn::clients
