#include "server/responses.hpp"

#include "formats/taxii.hpp"

namespace cairn::server {

response taxii_response(http::status status, std::string body, unsigned version) {
  response res{status, version};
  res.set(http::field::server, "cairn");
  res.set(http::field::content_type, std::string(formats::taxii_media_type));
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

response error_response(http::status status, std::string_view description, unsigned version) {
  const auto reason = http::obsolete_reason(status);
  return taxii_response(
      status,
      formats::write_error(static_cast<int>(status), std::string_view(reason.data(), reason.size()),
                           description),
      version);
}

response json_response(http::status status, std::string body, unsigned version) {
  response res{status, version};
  res.set(http::field::server, "cairn");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

}  // namespace cairn::server
