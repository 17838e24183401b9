#pragma once
// Building HTTP responses: every TAXII body, error or not, goes out as
// application/taxii+json;version=2.1.

#include <string>
#include <string_view>

#include "server/http.hpp"

namespace cairn::server {

response taxii_response(http::status status, std::string body, unsigned version);

// A TAXII error resource whose title is the status's reason phrase.
response error_response(http::status status, std::string_view description, unsigned version);

response json_response(http::status status, std::string body, unsigned version);

}  // namespace cairn::server
