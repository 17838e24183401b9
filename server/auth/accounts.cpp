#include "server/auth/accounts.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "formats/ascii.hpp"
#include "formats/base64.hpp"

namespace cairn::server {

using formats::base64_alphabet;
using formats::base64_decode;
using formats::base64_encode;
using formats::base64_padding;
using formats::iequals;

namespace {

// A PHC string with the given parameters and a random salt and hash: no
// password verifies against it (but one in 2^256), and checking one costs
// what checking a real hash with these parameters costs.
std::string make_decoy_hash(const scrypt_params& params) {
  std::string salt(16, '\0');
  std::string hash(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size()));
  RAND_bytes(reinterpret_cast<unsigned char*>(hash.data()), static_cast<int>(hash.size()));
  return "$scrypt$ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
         ",p=" + std::to_string(params.p) + "$" +
         base64_encode(salt, base64_alphabet::standard, base64_padding::none) + "$" +
         base64_encode(hash, base64_alphabet::standard, base64_padding::none);
}

bool is_tchar(char c) {
  // RFC 7230 token characters.
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF) without C0
// controls or DEL.
bool is_clean_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp >= 0x80 && cp < 0xa0) return false;  // C1 controls
    i += len;
  }
  return true;
}

bool is_token68(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && s[i] != '=') {
    const char c = s[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) return false;
    ++i;
  }
  if (i == 0) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(),
                     [](char c) { return c == '='; });
}

}  // namespace

bool account::can_read(std::string_view api_root, std::string_view collection_id) const {
  return readable.contains(collection_ref{std::string(api_root), std::string(collection_id)});
}

bool account::can_write(std::string_view api_root, std::string_view collection_id) const {
  return writable.contains(collection_ref{std::string(api_root), std::string(collection_id)});
}

account_table::account_table(const config& cfg) {
  // How many password hashes use each (ln, r, p).
  std::map<std::tuple<unsigned, unsigned, unsigned>, std::size_t> costs;
  for (const auto& [root_name, root] : cfg.api_roots) {
    auto& names = collections_[root_name];
    for (const auto& c : root.collections) {
      names.emplace(c.id, c.id);
      if (c.alias) names.emplace(*c.alias, c.id);
    }
  }
  for (const auto& ac : cfg.accounts) {
    auto a = std::make_shared<account>();
    a->name = ac.name;
    a->clearance = ac.clearance;
    a->auditor = ac.auditor;
    a->suspended = ac.suspended;
    a->password_hash = ac.password_hash;
    a->audit_scoped =
        !ac.read.empty() && std::find(ac.read.begin(), ac.read.end(), "*") == ac.read.end();
    for (const auto& entry : ac.read) {
      if (auto refs = resolve_collection_reference(cfg, entry)) {
        a->readable.insert(refs->begin(), refs->end());
      }
    }
    for (const auto& entry : ac.write) {
      if (auto refs = resolve_collection_reference(cfg, entry)) {
        a->writable.insert(refs->begin(), refs->end());
      }
    }
    if (a->password_hash) {
      if (auto phc = parse_scrypt_phc(*a->password_hash)) {
        ++costs[{phc->params.log2_n, phc->params.r, phc->params.p}];
      }
    }
    std::shared_ptr<const account> shared = a;
    by_name_.emplace(ac.name, shared);
    for (const auto& h : ac.token_hashes) by_token_hash_.emplace(h, shared);
    if (ac.client_cert_sha256) by_fingerprint_.emplace(*ac.client_cert_sha256, shared);
  }
  // Unknown names are checked against the parameters most hashes use (on a
  // tie, the larger ln), so that they take as long as those accounts' wrong
  // passwords; the default when there are no password hashes.
  scrypt_params decoy = default_scrypt_params();
  std::size_t most = 0;
  for (const auto& [params, n] : costs) {
    if (n >= most) {
      most = n;
      decoy = {std::get<0>(params), std::get<1>(params), std::get<2>(params)};
    }
  }
  decoy_hash_ = make_decoy_hash(decoy);
}

std::shared_ptr<const account> account_table::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

std::shared_ptr<const account> account_table::authenticate_basic(std::string_view name,
                                                                 std::string_view password) const {
  auto a = find(name);
  if (!a || !a->password_hash) {
    verify_secret(password, decoy_hash_);
    return nullptr;
  }
  const auto& hash = *a->password_hash;
  if (cache_.contains(name, password, hash)) return a;
  if (!verify_secret(password, hash)) return nullptr;
  cache_.insert(name, password, hash);
  return a;
}

std::shared_ptr<const account> account_table::authenticate_bearer(std::string_view token) const {
  if (token.empty() || token.size() > authorization_limits::max_token_bytes) return nullptr;
  const auto hash = token_hash(token);
  auto it = by_token_hash_.find(hash);
  if (it == by_token_hash_.end()) return nullptr;
  // The map compared hashes of the token, which reveal nothing usable; the
  // final check is constant-time all the same.
  return constant_time_equal(it->first, hash) ? it->second : nullptr;
}

std::shared_ptr<const account> account_table::authenticate_cert(
    std::string_view fingerprint_hex) const {
  auto norm = normalize_fingerprint(fingerprint_hex);
  if (!norm) return nullptr;
  auto it = by_fingerprint_.find(*norm);
  if (it == by_fingerprint_.end()) return nullptr;
  return constant_time_equal(it->first, *norm) ? it->second : nullptr;
}

std::optional<std::string> account_table::resolve_collection(std::string_view api_root,
                                                             std::string_view id_or_alias) const {
  auto root = collections_.find(std::string(api_root));
  if (root == collections_.end()) return std::nullopt;
  auto it = root->second.find(std::string(id_or_alias));
  if (it == root->second.end()) return std::nullopt;
  return it->second;
}

bool account_table::can_read(const account& a, std::string_view api_root,
                             std::string_view collection_id_or_alias) const {
  auto id = resolve_collection(api_root, collection_id_or_alias);
  return id && a.can_read(api_root, *id);
}

bool account_table::can_write(const account& a, std::string_view api_root,
                              std::string_view collection_id_or_alias) const {
  auto id = resolve_collection(api_root, collection_id_or_alias);
  return id && a.can_write(api_root, *id);
}

// --- Authorization header -----------------------------------------------------

std::expected<authorization, authorization_error> parse_authorization(std::string_view value) {
  using E = authorization_error;
  if (value.size() > authorization_limits::max_value_bytes) return std::unexpected(E::too_long);
  auto is_ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);

  const auto sp = value.find(' ');
  const auto scheme = value.substr(0, sp);
  if (scheme.empty() || !std::all_of(scheme.begin(), scheme.end(), is_tchar)) {
    return std::unexpected(E::malformed);
  }
  const bool basic = iequals(scheme, "basic");
  // "Token" is what the OASIS taxii2-client's TokenAuth sends; the token
  // is the same API token as with Bearer.
  const bool bearer = iequals(scheme, "bearer") || iequals(scheme, "token");
  if (!basic && !bearer) return std::unexpected(E::unsupported_scheme);
  if (sp == std::string_view::npos) return std::unexpected(E::malformed);
  auto rest = value.substr(sp);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return std::unexpected(E::malformed);

  if (bearer) {
    if (rest.size() > authorization_limits::max_token_bytes) return std::unexpected(E::too_long);
    if (!is_token68(rest)) return std::unexpected(E::malformed);
    return bearer_credentials{std::string(rest)};
  }

  auto decoded = base64_decode(rest, base64_alphabet::standard, base64_padding::required);
  if (!decoded) return std::unexpected(E::malformed);
  const std::string_view pair = *decoded;
  const auto colon = pair.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::unexpected(E::malformed);
  const auto user = pair.substr(0, colon);
  const auto password = pair.substr(colon + 1);
  if (user.size() > authorization_limits::max_user_id_bytes ||
      password.size() > authorization_limits::max_password_bytes) {
    return std::unexpected(E::too_long);
  }
  if (!is_clean_utf8(user) || !is_clean_utf8(password)) return std::unexpected(E::malformed);
  return basic_credentials{std::string(user), std::string(password)};
}

std::string_view to_string(authorization_error e) {
  switch (e) {
    case authorization_error::malformed: return "malformed Authorization header";
    case authorization_error::unsupported_scheme: return "unsupported authorization scheme";
    case authorization_error::too_long: return "Authorization header too long";
  }
  return "bad Authorization header";
}

}  // namespace cairn::server
