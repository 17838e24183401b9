#pragma once
// Maps HTTP requests to endpoints: authentication, media-type negotiation,
// API root and collection resolution, collection rights (TAXII 5.x failure
// rules), then the taxii_service or the extension endpoints. Knows nothing
// of sockets, so it is tested with plain request objects.

#include "server/exchange.hpp"
#include "server/http.hpp"
#include "server/throttle.hpp"

namespace cairn::server {

class router : public request_handler {
 public:
  explicit router(exchange& ex) : ex_(ex) {}

  std::uint64_t body_limit(const request_header& header) const override;
  void handle(request req, const peer_info& peer, respond_fn respond) override;
  response transport_error(http::status status, const std::string& description,
                           unsigned version) const override;

 private:
  exchange& ex_;
  throttle throttle_;  // abuse limits; outlives config reloads
};

// Media types (TAXII 1.6.8, 3.1): does this Accept value allow a TAXII 2.1
// response? An absent Accept does.
bool accepts_taxii(std::string_view accept);
// Is this Content-Type a TAXII 2.1 envelope?
bool is_taxii_content_type(std::string_view content_type);

}  // namespace cairn::server
