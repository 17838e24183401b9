#pragma once
// Abuse limits: failed authentication throttled per account name and per
// remote address, and a request rate per authenticated account. Token
// buckets; the rates and bursts come from limits_config at each call, so a
// SIGHUP changes them for the next request while the buckets themselves
// (kept by the router for the life of the process) carry on.
//
// Authentication failures. A password check runs the KDF (scrypt, tens of
// milliseconds); before it runs, one token is taken from the bucket of the
// account name AND from the bucket of the remote address (both or neither).
// If either is empty the KDF does not run and the caller answers 429 with
// Retry-After. A successful check gives both tokens back, so legitimate users
// never drain a bucket; a credential-cache hit (a password verified in the
// last minutes, credentials.hpp) costs no KDF and is never throttled. Names
// that exist and names that do not are treated alike, so a 429 says nothing
// about which accounts exist. Bearer tokens, client certificates and
// malformed Authorization headers cost no KDF: a failure takes a token from
// the address bucket only, and a failure from an empty bucket is answered
// 429 instead of 401. A valid token or certificate is never throttled here.
//
// Consequences (the security officer's table in the README): with the
// default burst of 10 per name, 1,000 wrong passwords for one name cost at
// most 10 KDF runs plus one per refill interval, and the attacker's address
// loses only those tokens, so other names from the same address still log
// in. Spraying many names from one address stops after the address burst.
// Throttled attempts cost a map lookup: a locked-out attacker cannot slow
// down other accounts. The price: while a name is locked, its owner can log
// in with a password only if the server verified it recently (cache), or
// with a token or certificate.
//
// Threads: every member may be called from any thread. One mutex guards the
// two authentication tables (so that taking from both is atomic), another the
// request table; neither is held across a KDF.
// Addresses: a remote address counts under address_key(): IPv4 as itself,
// IPv4-mapped IPv6 (::ffff:a.b.c.d) as the IPv4 address, and any other IPv6
// address by its /64, the block one subscriber gets, inside which addresses
// are free to rotate.
//
// Memory: each table holds at most max_keys entries. A full bucket is the same
// as an absent one and is dropped when room is needed; tracked buckets are
// never evicted otherwise (an attacker cannot flush a drained bucket by
// adding keys). When the address table is full of partly drained buckets,
// every address not in it shares one overflow bucket with the burst of a
// single address: newcomers can still log in while that lasts, and the KDF
// budget stays bounded (one address's worth for all of them together). When
// the name table is full, a new name is refused (429): failing closed.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/auth/accounts.hpp"
#include "server/config/config.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

class throttle {
 public:
  using clock = std::chrono::steady_clock;

  struct decision {
    bool allowed = true;
    std::chrono::seconds retry_after{0};  // when refused: at least 1
  };

  // What an authentication attempt came to.
  struct auth_outcome {
    std::shared_ptr<const account> who;  // set on success
    // Set when refused by the limits (answer 429, nothing was checked);
    // neither set: wrong credentials (answer 401).
    std::optional<std::chrono::seconds> retry_after;
  };

  explicit throttle(std::size_t max_keys = 100000);
  throttle(const throttle&) = delete;
  throttle& operator=(const throttle&) = delete;

  // --- the buckets (tests drive them with their own now) ---------------------

  // Before a password check that will run the KDF: takes one token from the
  // name's and the address's failure buckets, or none and refuses.
  decision begin_password_check(std::string_view name, std::string_view address,
                                const limits_config& limits, clock::time_point now);
  // After the KDF: a success gives the two tokens back.
  void end_password_check(std::string_view name, std::string_view address, bool succeeded,
                          const limits_config& limits, clock::time_point now);
  // A failed authentication that cost no KDF: takes a token from the
  // address's bucket; refused when it is empty.
  decision record_cheap_failure(std::string_view address, const limits_config& limits,
                                clock::time_point now);
  // One request of an authenticated account (requests_per_second 0: always).
  decision admit_request(std::string_view account_name, const limits_config& limits,
                         clock::time_point now);

  // --- authentication with the limits applied (the router's entry points) ----

  auth_outcome authenticate_basic(const account_table& accounts, std::string_view name,
                                  std::string_view password, std::string_view address,
                                  const limits_config& limits);
  auth_outcome authenticate_bearer(const account_table& accounts, std::string_view token,
                                   std::string_view address, const limits_config& limits);
  auth_outcome authenticate_cert(const account_table& accounts, std::string_view fingerprint,
                                 std::string_view address, const limits_config& limits);

  // Buckets currently held in the three tables (tests).
  std::size_t tracked_names() const;
  std::size_t tracked_addresses() const;
  std::size_t tracked_accounts() const;

 private:
  struct bucket {
    double tokens = 0;
    clock::time_point updated;
  };
  struct rate {
    double per_second = 0;
    double burst = 0;
  };
  using table = std::unordered_map<std::string, bucket>;

  // The bucket for key, refilled to now; nullptr when the table is full of
  // buckets that are not full themselves.
  // With an overflow bucket, that bucket instead of nullptr.
  bucket* find_or_add(table& t, std::string_view key, const rate& r, clock::time_point now,
                      bucket* overflow = nullptr);
  bucket* address_bucket(std::string_view address, const rate& r, clock::time_point now);
  static void refill(bucket& b, const rate& r, clock::time_point now);
  static std::chrono::seconds wait_for_token(const bucket& b, const rate& r);

  static rate name_rate(const limits_config& l);
  static rate address_rate(const limits_config& l);

  std::size_t max_keys_;
  mutable std::mutex auth_mutex_;
  table names_;
  table addresses_;
  bucket address_overflow_{-1, {}};  // tokens < 0: not used yet (full)
  mutable std::mutex request_mutex_;
  table accounts_;
};

// The 429 answer: a TAXII error resource and Retry-After in seconds.
response throttled_response(std::chrono::seconds retry_after, std::string_view description,
                            unsigned version);

}  // namespace cairn::server
