#include "server/transport/responses.hpp"

#include "formats/taxii.hpp"

namespace cairn::server {

namespace {

// A 503 says when to come back (INTERFACE.md, "Storage backends"): a store
// that lost its database reconnects by itself within seconds.
void set_retry_after(response& res) {
  if (res.result() == http::status::service_unavailable) {
    res.set(http::field::retry_after, std::to_string(k_retry_after_seconds));
  }
}

}  // namespace

response taxii_response(http::status status, std::string body, unsigned version) {
  response res{status, version};
  res.set(http::field::server, "cairn");
  res.set(http::field::content_type, std::string(formats::taxii_media_type));
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  set_retry_after(res);
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

http::status http_status_for(errc code) {
  switch (code) {
    case errc::invalid_input: return http::status::bad_request;
    case errc::not_found: return http::status::not_found;
    case errc::too_many: return http::status::bad_request;
    case errc::storage_full: return http::status::insufficient_storage;
    case errc::unavailable: return http::status::service_unavailable;
    case errc::io: return http::status::internal_server_error;
    case errc::internal: return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

response json_response(http::status status, std::string body, unsigned version) {
  response res{status, version};
  res.set(http::field::server, "cairn");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  set_retry_after(res);
  return res;
}

}  // namespace cairn::server
