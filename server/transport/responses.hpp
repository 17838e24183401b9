#pragma once
// Building HTTP responses: every TAXII body, error or not, goes out as
// application/taxii+json;version=2.1.

#include <string>
#include <string_view>

#include "formats/error.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

// Every 503 (a store that cannot commit or reach its database) carries
// Retry-After with this many seconds.
inline constexpr unsigned k_retry_after_seconds = 5;

response taxii_response(http::status status, std::string body, unsigned version);

// A TAXII error resource whose title is the status's reason phrase.
response error_response(http::status status, std::string_view description, unsigned version);

// The one place where an error's code becomes an HTTP status: the caller's
// mistakes are 4xx, a full store 507, a write that may succeed later 503, and
// unreadable data or a bug 500.
http::status http_status_for(errc code);

response json_response(http::status status, std::string body, unsigned version);

}  // namespace cairn::server
