#pragma once
// The console's sessions: a signed-in browser holds a random token in a
// cookie; the server keeps SHA-256(token) only, with the account's name, a
// fingerprint of its config entry, the times and the CSRF token.
//
// Lifetime is absolute (never extended). Bounded: at most per_account live
// sessions per account (signing in again ends that account's oldest) and
// total in all (then the oldest of all ends). Expired sessions are purged
// lazily (on create, and when presented).
//
// Sessions live in this process's memory: a restart ends them all, and
// another node behind the same balancer does not know them.
//
// Threads: every member may be called from any thread (one mutex).
// Nothing here logs; tokens are never kept or returned after create().

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "formats/error.hpp"
#include "server/config/config.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

// The cookie's name: __Host- makes the browser insist on Secure, Path=/ and
// no Domain.
inline constexpr std::string_view k_session_cookie = "__Host-cairn-session";

struct console_session {
  std::string account;
  std::string fingerprint;  // account_fingerprint() of the entry signed in with
  std::chrono::system_clock::time_point created;
  std::chrono::system_clock::time_point expires;
  std::string csrf_token;  // base64url of 32 random bytes
};

// The store's bounds (the defaults are the design's).
struct console_session_limits {
  std::size_t per_account = 64;
  std::size_t total = 100000;
  std::chrono::seconds lifetime = std::chrono::hours(12);
};

class session_store {
 public:
  using clock = std::chrono::system_clock;
  using now_fn = std::function<clock::time_point()>;

  using limits = console_session_limits;

  struct created {
    std::string token;  // for the cookie; the store keeps only its hash
    console_session session;
  };

  // now: the clock (tests move their own); empty: the system clock.
  explicit session_store(console_session_limits l = console_session_limits{}, now_fn now = {});
  session_store(const session_store&) = delete;
  session_store& operator=(const session_store&) = delete;

  // A new session for account (fingerprint: of its current config entry).
  result<created> create(std::string account, std::string fingerprint);
  // The live session this token names; an expired one is removed.
  std::optional<console_session> find(std::string_view token);
  // Ends the session; false when there was none.
  bool end(std::string_view token);
  // Keeps the sessions whose account fingerprint_of still knows with the
  // same fingerprint (nullopt: the account is gone); returns how many ended.
  std::size_t retain(
      const std::function<std::optional<std::string>(std::string_view account)>& fingerprint_of);
  // Live and not yet purged sessions, in all and of one account (tests).
  std::size_t size() const;
  std::size_t size(std::string_view account) const;
  clock::time_point now() const { return now_(); }

 private:
  struct entry {
    console_session session;
    std::uint64_t seq = 0;
  };
  // Callers hold mutex_.
  void remove(std::unordered_map<std::string, entry>::iterator it);
  void purge_expired(clock::time_point now);

  limits limits_;
  now_fn now_;
  mutable std::mutex mutex_;
  std::uint64_t next_seq_ = 0;
  std::unordered_map<std::string, entry> by_hash_;  // hex SHA-256(token) -> session
  std::map<std::uint64_t, std::string> order_;      // creation order -> hash (oldest first)
  std::unordered_map<std::string, std::set<std::uint64_t>> by_account_;  // account -> seqs
};

// SHA-256 (hex) over every field of an account's config entry: a SIGHUP
// that changes any of them ends the account's sessions.
std::string account_fingerprint(const account_config& a);

// The value of the session cookie among a Cookie header's pairs, if present.
std::optional<std::string_view> session_cookie_value(std::string_view cookie_header);

// Is this Origin header value this server's own origin, "https://" + host
// (case-insensitive)? An empty host never is.
bool is_own_origin(std::string_view origin, std::string_view host);

// The CSRF rule for a cookie-authenticated request: GET, HEAD and OPTIONS
// pass; any other method needs csrf_header equal to the session's token
// (constant-time compare) and, when an Origin header is present (origin
// non-empty), origin == "https://" + host (case-insensitive).
bool csrf_allows(http::verb method, std::string_view csrf_header, std::string_view origin,
                 std::string_view host, const console_session& session);

}  // namespace cairn::server
