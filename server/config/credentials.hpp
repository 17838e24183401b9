#pragma once
// Secrets at rest: password hashes, API tokens, and a short-lived cache of
// verified Basic credentials.
//
// Passwords are hashed with scrypt (OpenSSL 3 EVP_KDF "SCRYPT") and stored as
// PHC strings:
//   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt, base64 without padding>$<hash, same>
// verify_secret() honours the parameters in the string, within bounds
// (scrypt_bounds) so that a hostile or mistyped config cannot make one
// verification take gigabytes or minutes, nor next to nothing: a hash cheaper
// than the default would be cheaper to guess offline, and its account would
// answer a wrong password faster than an unknown name (which costs a KDF at
// the default cost, accounts.hpp), so it could be found by timing.
//
// API tokens are 32 random bytes ("cairn_" + base64url); they are stored as
//   $sha256$<64 lower-case hex digits>
// a plain SHA-256, which is enough for a secret with 256 bits of entropy and
// lets a presented token be found by a hash lookup instead of a scan.
//
// All comparisons of secrets or their hashes are constant-time. Nothing here
// logs. Every function may be called from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "formats/error.hpp"

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace cairn::server {

// --- passwords (scrypt, PHC strings) ---------------------------------------

struct scrypt_params {
  unsigned log2_n = 14;  // N = 2^log2_n
  unsigned r = 8;
  unsigned p = 1;
};

// What verify_secret(), parse_scrypt_phc() and hash_secret() accept. Memory
// is 128 * r * N bytes per evaluation; cost is roughly N * r * p.
struct scrypt_bounds {
  // The floor: the memory (and so the work) of the default parameters,
  // ln=14, r=8 (16 MiB). ln=15,r=4 is as costly and also accepted.
  static constexpr std::uint64_t min_memory_bytes = std::uint64_t{16} << 20;
  static constexpr unsigned min_log2_n = 10;
  static constexpr unsigned max_log2_n = 20;
  static constexpr unsigned max_r = 32;
  static constexpr unsigned max_p = 16;
  static constexpr std::uint64_t max_memory_bytes = std::uint64_t{256} << 20;
  static constexpr std::uint64_t max_work = std::uint64_t{1} << 24;  // N * r * p
  static constexpr std::size_t min_salt_bytes = 8;
  static constexpr std::size_t max_salt_bytes = 64;
  // Exactly the length hash_secret() writes: scrypt's output for a shorter
  // length is a prefix of the longer one, so a truncated hash would still
  // verify (and be weaker) if any length were taken.
  static constexpr std::size_t min_hash_bytes = 32;
  static constexpr std::size_t max_hash_bytes = 32;
};

// The defaults used by hash_secret() (about 50 ms and 16 MiB here), which are
// also the floor (scrypt_bounds::min_memory_bytes).
scrypt_params default_scrypt_params();

struct scrypt_phc {
  scrypt_params params;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};

// Parses and bounds-checks a PHC string. The error says what is wrong with it
// (never echoing the hash).
result<scrypt_phc> parse_scrypt_phc(std::string_view phc);

// Hashes secret with a fresh 16-byte salt and the given parameters (which must
// be within scrypt_bounds). Errors only if OpenSSL fails.
result<std::string> hash_secret(std::string_view secret,
                                const scrypt_params& params = default_scrypt_params());

// True when secret matches phc. False for a wrong secret and for a malformed
// or out-of-bounds phc (which check_config reports separately).
bool verify_secret(std::string_view secret, std::string_view phc);

// How many scrypt evaluations this process has run (for tests and metrics).
std::uint64_t scrypt_evaluations();

// --- API tokens -------------------------------------------------------------

struct issued_token {
  std::string token;  // give to the client, once; never store
  std::string hash;   // "$sha256$<hex>", for the account's token_hashes
};

// A new token with 256 bits from RAND_bytes. Errors only if the RNG fails.
result<issued_token> issue_token();

// "$sha256$<hex of SHA-256(token)>".
std::string token_hash(std::string_view token);

// True for a well-formed "$sha256$" + 64 lower-case hex digits.
bool is_token_hash(std::string_view hash);

// Constant-time check of token against a stored "$sha256$" hash.
bool verify_token(std::string_view token, std::string_view hash);

// --- shared helpers ---------------------------------------------------------

// Lower-case hex of SHA-256(bytes).
std::string sha256_hex(std::string_view bytes);

// Constant-time equality of two byte strings (length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

// --- the Basic credential cache ---------------------------------------------

// Remembers, for a short time, that (name, password) verified against a given
// stored hash, so that Basic auth pays the KDF once per TTL instead of once
// per request. Entries are keyed by HMAC-SHA-256 under a random per-process
// key over (name, password, stored hash): the cache never holds a password,
// and a changed hash misses even before clear() is called. Bounded: when
// full, expired entries are dropped, then the oldest. Thread-safe.
class credential_cache {
 public:
  using clock = std::chrono::steady_clock;
  using clock_fn = std::function<clock::time_point()>;

  explicit credential_cache(std::chrono::seconds ttl = std::chrono::minutes(5),
                            std::size_t max_entries = 10000, clock_fn now = {});
  credential_cache(const credential_cache&) = delete;
  credential_cache& operator=(const credential_cache&) = delete;

  // True if this exact (name, password, stored_hash) verified within the TTL.
  bool contains(std::string_view name, std::string_view password,
                std::string_view stored_hash) const;
  // Records a successful verification.
  void insert(std::string_view name, std::string_view password, std::string_view stored_hash);
  // Forgets everything (on config reload).
  void clear();
  std::size_t size() const;

 private:
  std::string key_of(std::string_view name, std::string_view password,
                     std::string_view stored_hash) const;
  clock::time_point now() const;

  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  clock_fn now_;
  // HMAC-SHA-256 keyed once with a random key; each key_of() works on a copy
  // (a one-shot HMAC() would look its algorithms up again on every request).
  std::unique_ptr<evp_mac_ctx_st, void (*)(evp_mac_ctx_st*)> keyed_mac_{nullptr, nullptr};
  mutable std::mutex mutex_;
  std::unordered_map<std::string, clock::time_point> entries_;  // key -> expiry
};

}  // namespace cairn::server
