#pragma once
// The console's endpoints (CONSOLE_DESIGN.md): the web files compiled into
// cairnd (console/assets.hpp) and the session endpoints that trade an
// account's password for a session cookie. The router authenticates and
// routes; everything here answers.
//
// Every response of these endpoints carries the console's security headers
// (add_security_headers), refusals included.
//
// Threads: every function may be called from any I/O thread.

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/api/exchange.hpp"
#include "server/auth/sessions.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

class console_service {
 public:
  // The most bytes of a sign-in body, and of its two fields.
  static constexpr std::uint64_t max_sign_in_body = 4096;
  static constexpr std::size_t max_account_bytes = 256;
  static constexpr std::size_t max_password_bytes = 1024;

  // Content-Security-Policy: default-src 'self' and its companions.
  static void add_security_headers(response& res);

  // GET|HEAD /cairn/console/ (any query): index.html, no-cache, strong ETag.
  static response index(const request_header& req);
  // GET|HEAD /cairn/console/assets/{bundle}/{file}: immutable, strong ETag;
  // a wrong bundle or an unknown file is a 404.
  static response asset(const request_header& req, std::string_view bundle, std::string_view file);

  // The shared password check (router::check_password): the account, or
  // the refusal (401, 403, 429) already recorded.
  using password_check = std::function<std::expected<std::shared_ptr<const account>, response>(
      std::string_view name, std::string_view password)>;

  // POST /cairn/console/session: the body's account and password through
  // check, then a new session and its cookie.
  static response sign_in(exchange& ex, const snapshot& snap, const request& req,
                          const password_check& check);
  // GET (the session's description again) and DELETE (sign-out) of
  // /cairn/console/session, for a request authenticated by the cookie
  // (the router has applied the CSRF rule).
  static response session(exchange& ex, const account& who, const console_session& session,
                          const request& req);

  // GET /cairn/console/session without a live session: 200
  // {"signed_in":false}. The page asks on every load whether this browser
  // has a session (the cookie is HttpOnly); "no" is an answer, not an error
  // that the browser would log.
  static response no_session(unsigned version);

  // 401 with WWW-Authenticate: Session realm="cairn" (never Basic: a
  // browser shows no password dialog for it).
  static response unauthorized(std::string_view why, unsigned version);
};

}  // namespace cairn::server
