#pragma once
// Maps HTTP requests to endpoints: a route table (method + path pattern),
// authentication, media-type negotiation, API root and collection
// resolution, collection rights (TAXII 5.x failure rules), then the
// taxii_service or the extension endpoints. Knows nothing
// of sockets, so it is tested with plain request objects.

#include <expected>
#include <memory>

#include "server/api/exchange.hpp"
#include "server/auth/sessions.hpp"
#include "server/auth/throttle.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

class router : public request_handler {
 public:
  explicit router(exchange& ex) : ex_(ex) {}

  // Authenticates (throttled, failures recorded; the only place that does),
  // admits the request against the account's rate, and resolves the
  // endpoint, collection and rights, answering every refusal these allow:
  // 401, 403, 404, 405, 406, 415, 429. The body limit is max_content_length
  // for POST .../objects/ and small for everything else.
  head_verdict judge_head(const request_header& header, const peer_info& peer) override;
  // Runs the endpoint judge_head() found (a null context: judges the head
  // first, as the convenience overload below does).
  void handle(request req, const peer_info& peer, std::shared_ptr<head_context> context,
              respond_fn respond) override;
  // Judges the head and handles the request in one (tests, fuzzing).
  void handle(request req, const peer_info& peer, respond_fn respond);
  response transport_error(http::status status, const std::string& description,
                           unsigned version) const override;

 private:
  // Who is calling (throttled, failures recorded; the only place that
  // authenticates), admitted against the account's request rate; or the
  // refusal: 401 or 429.
  // Credentials in this order: the Authorization header, the console's
  // session cookie (session set), the client certificate; cookie_only (the
  // console's session endpoint) looks at the cookie alone.
  std::expected<std::shared_ptr<const account>, response> authenticate(
      const request_header& header, const peer_info& peer, const snapshot& snap,
      std::optional<console_session>& session, bool cookie_only);
  // A credential check's outcome: the account, or the refusal (429 when
  // throttled, else a 401 saying why, with a Basic or Session challenge),
  // recorded as a failed authentication.
  std::expected<std::shared_ptr<const account>, response> checked(
      throttle::auth_outcome out, std::string_view claimed, const peer_info& peer,
      const snapshot& snap, unsigned version, std::string_view why, bool session_challenge = false);
  // Once the credentials are good: the account's request rate, suspension
  // (403, recorded) and the monitor's authenticated.
  std::expected<std::shared_ptr<const account>, response> admit(std::shared_ptr<const account> who,
                                                                const peer_info& peer,
                                                                const snapshot& snap,
                                                                unsigned version);
  // The console's sign-in: the same password check as Basic (throttle,
  // record, suspension) with a Session challenge on failure.
  std::expected<std::shared_ptr<const account>, response> sign_in(std::string_view name,
                                                                  std::string_view password,
                                                                  const peer_info& peer,
                                                                  const snapshot& snap,
                                                                  unsigned version);
  // The refusal for this head, or nothing with ctx filled in: the route
  // (route_table.hpp), the caller, then what the path names and the rights.
  std::optional<response> judge(const request_header& header, const peer_info& peer,
                                head_context& ctx);

  exchange& ex_;
  throttle throttle_;  // abuse limits; outlives config reloads
};

// Media types (TAXII 1.6.8, 3.1): does this Accept value allow a TAXII 2.1
// response? An absent Accept does.
bool accepts_taxii(std::string_view accept);
// Is this Content-Type a TAXII 2.1 envelope?
bool is_taxii_content_type(std::string_view content_type);

}  // namespace cairn::server
