#pragma once
// Who is calling and what they may do: the account table built from a
// checked config, authentication by password, token or client certificate,
// and the parsing of the Authorization header.
//
// An account_table is immutable after construction apart from its credential
// cache, and every member may be called from any thread. On a config reload
// build a new table and swap a std::shared_ptr<const account_table>: accounts
// handed out are shared_ptrs and stay valid for requests still running, and
// the new table starts with an empty credential cache.
//
// Nothing here logs, and no function takes a raw Authorization header except
// parse_authorization(), which returns the credentials to the caller only.

#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "formats/tlp.hpp"
#include "server/config/config.hpp"
#include "server/config/credentials.hpp"

namespace cairn::server {

struct account {
  std::string name;
  formats::tlp_level clearance = formats::tlp_level::clear;
  bool auditor = false;
  bool suspended = false;  // by the config (the monitor keeps the durable ones)
  std::optional<std::string> password_hash{};
  std::set<collection_ref> readable{};  // resolved from read ("*" expanded)
  // Auditors: the records of `readable` and those that name no collection
  // only, because read is a list of collections (not empty, no "*").
  bool audit_scoped = false;
  std::set<collection_ref> writable{};  // resolved from write

  // By exact collection id (no alias resolution; see account_table).
  bool can_read(std::string_view api_root, std::string_view collection_id) const;
  bool can_write(std::string_view api_root, std::string_view collection_id) const;
};

class account_table {
 public:
  // cfg must come from parse_config()/load_config(): references are trusted
  // to resolve. The table keeps its own copy of what it needs.
  explicit account_table(const config& cfg);
  account_table(const account_table&) = delete;
  account_table& operator=(const account_table&) = delete;

  std::size_t size() const { return by_name_.size(); }

  // Not-found is nullptr, for all four.
  std::shared_ptr<const account> find(std::string_view name) const;

  // Verifies a password (scrypt) unless the credential cache remembers this
  // (name, password) from the last few minutes. An unknown name or an account
  // without a password costs the same KDF as a wrong password (see
  // decoy_hash()), so timing does not reveal which names exist.
  std::shared_ptr<const account> authenticate_basic(std::string_view name,
                                                    std::string_view password) const;
  // Hashes the token and looks the hash up (no scan); constant-time final
  // compare.
  std::shared_ptr<const account> authenticate_bearer(std::string_view token) const;
  // fingerprint_hex: SHA-256 of the verified peer certificate (DER), hex, any
  // case, optionally colon-separated (see tls.hpp peer_certificate_sha256).
  std::shared_ptr<const account> authenticate_cert(std::string_view fingerprint_hex) const;

  // The id of the collection named by id or alias in api_root, if it exists.
  std::optional<std::string> resolve_collection(std::string_view api_root,
                                                std::string_view id_or_alias) const;

  // Rights on a collection named by id or alias; false when it does not exist.
  bool can_read(const account& a, std::string_view api_root,
                std::string_view collection_id_or_alias) const;
  bool can_write(const account& a, std::string_view api_root,
                 std::string_view collection_id_or_alias) const;

  // The cache behind authenticate_basic (tests and reload bookkeeping).
  credential_cache& cache() const { return cache_; }

  // What an unknown name's password is checked against: a hash no password
  // matches, with the scrypt parameters most of the table's password hashes
  // use (the default when none), so that an unknown name costs the KDF of a
  // known one. Accounts whose hashes use other parameters than most can be
  // told apart by timing: give all accounts hashes of one cost.
  const std::string& decoy_hash() const { return decoy_hash_; }

 private:
  std::unordered_map<std::string, std::shared_ptr<const account>> by_name_;
  std::unordered_map<std::string, std::shared_ptr<const account>> by_token_hash_;
  std::unordered_map<std::string, std::shared_ptr<const account>> by_fingerprint_;
  // root -> (id or alias -> id)
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> collections_;
  std::string decoy_hash_;
  mutable credential_cache cache_;
};

// --- the Authorization header -------------------------------------------------

struct basic_credentials {
  std::string user_id;
  std::string password;
};

struct bearer_credentials {
  std::string token;
};

using authorization = std::variant<basic_credentials, bearer_credentials>;

enum class authorization_error {
  malformed,           // not "Basic <base64>" / "Bearer <token68>", bad base64, no ':', ...
  unsupported_scheme,  // a well-formed scheme other than Basic, Bearer or Token (= Bearer)
  too_long,            // the value or a part of it is over its limit
};

struct authorization_limits {
  static constexpr std::size_t max_value_bytes = 4096;
  static constexpr std::size_t max_user_id_bytes = 256;
  static constexpr std::size_t max_password_bytes = 1024;
  static constexpr std::size_t max_token_bytes = 1024;
};

// Parses an Authorization field value (RFC 7235, 7617, 6750). The scheme is
// case-insensitive; the base64 of Basic must be strict (standard alphabet,
// correct padding, no white space); the decoded user-id is everything before
// the first ':' and must be non-empty; user-id and password must be UTF-8
// without control characters. Pure; any thread.
std::expected<authorization, authorization_error> parse_authorization(std::string_view value);

std::string_view to_string(authorization_error e);

}  // namespace cairn::server
