#include "server/config/credentials.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>

#include "formats/base64.hpp"
#include "formats/hex.hpp"
#include "formats/openssl.hpp"

namespace cairn::server {

using formats::base64_alphabet;
using formats::base64_decode;
using formats::base64_encode;
using formats::base64_padding;

namespace {

constexpr std::string_view k_scrypt_prefix = "$scrypt$";
constexpr std::string_view k_sha256_prefix = "$sha256$";
constexpr std::string_view k_token_prefix = "cairn_";
constexpr std::size_t k_salt_bytes = 16;
constexpr std::size_t k_hash_bytes = 32;
static_assert(k_hash_bytes == scrypt_bounds::min_hash_bytes &&
              k_hash_bytes == scrypt_bounds::max_hash_bytes);
// hash_secret() must be able to write what the bounds accept.
static_assert(std::uint64_t{128} * 8 * (std::uint64_t{1} << 14) >= scrypt_bounds::min_memory_bytes);

std::atomic<std::uint64_t> g_scrypt_evaluations{0};

using formats::evp_kdf_ctx_ptr;
using formats::evp_kdf_ptr;
using formats::openssl_free;

// Fetching an algorithm walks the provider tables; do it once. A fetched
// EVP_KDF may be shared between threads.
EVP_KDF* scrypt_kdf() {
  static const evp_kdf_ptr kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  return kdf.get();
}

result<void> check_bounds(const scrypt_params& p) {
  using b = scrypt_bounds;
  if (p.log2_n < b::min_log2_n || p.log2_n > b::max_log2_n) {
    return fail("scrypt ln must be between " + std::to_string(b::min_log2_n) + " and " +
                std::to_string(b::max_log2_n));
  }
  if (p.r < 1 || p.r > b::max_r) {
    return fail("scrypt r must be between 1 and " + std::to_string(b::max_r));
  }
  if (p.p < 1 || p.p > b::max_p) {
    return fail("scrypt p must be between 1 and " + std::to_string(b::max_p));
  }
  const std::uint64_t n = std::uint64_t{1} << p.log2_n;
  if (std::uint64_t{128} * p.r * n < b::min_memory_bytes) {
    return fail(
        "scrypt parameters are weaker than `cairnd hash-secret` makes them (ln=14,r=8,p=1: " +
        std::to_string(b::min_memory_bytes >> 20) +
        " MiB); hash the password again with `cairnd hash-secret`");
  }
  if (std::uint64_t{128} * p.r * n > b::max_memory_bytes) {
    return fail("scrypt parameters need more than " + std::to_string(b::max_memory_bytes >> 20) +
                " MiB");
  }
  if (n * p.r * p.p > b::max_work) return fail("scrypt parameters are too costly");
  return {};
}

result<std::string> run_scrypt(std::string_view secret, std::string_view salt,
                               const scrypt_params& params, std::size_t out_len) {
  if (auto ok = check_bounds(params); !ok) return std::unexpected(ok.error());
  EVP_KDF* kdf = scrypt_kdf();
  if (kdf == nullptr) return fail("OpenSSL has no SCRYPT KDF");
  evp_kdf_ctx_ptr ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return fail("EVP_KDF_CTX_new failed");

  // OpenSSL wants a non-null pointer even for an empty password.
  static char empty = 0;
  void* pass = secret.empty() ? &empty : const_cast<char*>(secret.data());
  std::uint64_t n = std::uint64_t{1} << params.log2_n;
  std::uint32_t r = params.r;
  std::uint32_t p = params.p;
  // Our own bounds decide; OpenSSL's default 32 MiB ceiling would refuse
  // legitimate ln=15 hashes.
  std::uint64_t maxmem = scrypt_bounds::max_memory_bytes * 2;
  OSSL_PARAM ossl_params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pass, secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end(),
  };
  std::string out(out_len, '\0');
  g_scrypt_evaluations.fetch_add(1, std::memory_order_relaxed);
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     ossl_params) != 1) {
    return fail("scrypt derivation failed");
  }
  return out;
}

// A decimal without sign or leading zeros.
std::optional<unsigned> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

void append_length_prefixed(std::string& out, std::string_view s) {
  const auto n = static_cast<std::uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out += s;
}

}  // namespace

scrypt_params default_scrypt_params() {
  return scrypt_params{14, 8, 1};
}

result<scrypt_phc> parse_scrypt_phc(std::string_view phc) {
  if (phc.size() > 512) return fail("password hash is too long");
  if (!phc.starts_with(k_scrypt_prefix)) {
    if (phc.starts_with("$argon2")) {
      return fail("argon2 hashes are not supported by this build; use `cairnd hash-secret`");
    }
    return fail("password hash must be a PHC string starting with \"$scrypt$\"");
  }
  std::string_view rest = phc.substr(k_scrypt_prefix.size());
  // rest = "ln=..,r=..,p=..$salt$hash"
  const auto d1 = rest.find('$');
  if (d1 == std::string_view::npos) return fail("password hash is missing its salt");
  const auto d2 = rest.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return fail("password hash is missing its hash part");
  const std::string_view param_text = rest.substr(0, d1);
  const std::string_view salt_text = rest.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view hash_text = rest.substr(d2 + 1);
  if (hash_text.find('$') != std::string_view::npos) return fail("password hash has extra fields");

  scrypt_phc out;
  // Exactly "ln=A,r=B,p=C", in that order, as the PHC format for scrypt has it.
  std::string_view params = param_text;
  auto take = [&params](std::string_view name) -> std::optional<unsigned> {
    if (!params.starts_with(name)) return std::nullopt;
    params.remove_prefix(name.size());
    const auto comma = params.find(',');
    auto v = parse_decimal(params.substr(0, comma));
    params = comma == std::string_view::npos ? std::string_view{} : params.substr(comma + 1);
    return v;
  };
  auto ln = take("ln=");
  auto r = take("r=");
  auto p = take("p=");
  if (!ln || !r || !p || !params.empty()) {
    return fail("password hash parameters must be \"ln=<n>,r=<n>,p=<n>\"");
  }
  out.params = scrypt_params{*ln, *r, *p};
  if (auto ok = check_bounds(out.params); !ok) return std::unexpected(ok.error());

  auto salt = base64_decode(salt_text, base64_alphabet::standard, base64_padding::none);
  if (!salt) return fail("password hash salt is not base64 without padding");
  auto hash = base64_decode(hash_text, base64_alphabet::standard, base64_padding::none);
  if (!hash) return fail("password hash value is not base64 without padding");
  using b = scrypt_bounds;
  if (salt->size() < b::min_salt_bytes || salt->size() > b::max_salt_bytes) {
    return fail("password hash salt must be " + std::to_string(b::min_salt_bytes) + " to " +
                std::to_string(b::max_salt_bytes) + " bytes");
  }
  if (hash->size() < b::min_hash_bytes || hash->size() > b::max_hash_bytes) {
    return fail("password hash value must be " + std::to_string(b::min_hash_bytes) +
                " bytes, as `cairnd hash-secret` makes it");
  }
  out.salt = std::move(*salt);
  out.hash = std::move(*hash);
  return out;
}

result<std::string> hash_secret(std::string_view secret, const scrypt_params& params) {
  std::string salt(k_salt_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    return fail("the random number generator failed");
  }
  auto derived = run_scrypt(secret, salt, params, k_hash_bytes);
  if (!derived) return std::unexpected(derived.error());
  std::string out(k_scrypt_prefix);
  out += "ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
         ",p=" + std::to_string(params.p) + "$";
  out += base64_encode(salt, base64_alphabet::standard, base64_padding::none);
  out += '$';
  out += base64_encode(*derived, base64_alphabet::standard, base64_padding::none);
  return out;
}

bool verify_secret(std::string_view secret, std::string_view phc) {
  auto parsed = parse_scrypt_phc(phc);
  if (!parsed) return false;
  auto derived = run_scrypt(secret, parsed->salt, parsed->params, parsed->hash.size());
  if (!derived) return false;
  return constant_time_equal(*derived, parsed->hash);
}

std::uint64_t scrypt_evaluations() {
  return g_scrypt_evaluations.load(std::memory_order_relaxed);
}

result<issued_token> issue_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return fail("the random number generator failed");
  issued_token t;
  t.token = std::string(k_token_prefix) +
            base64_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes),
                          base64_alphabet::url, base64_padding::none);
  OPENSSL_cleanse(bytes, sizeof bytes);
  t.hash = token_hash(t.token);
  return t;
}

std::string token_hash(std::string_view token) {
  return std::string(k_sha256_prefix) + sha256_hex(token);
}

bool is_token_hash(std::string_view hash) {
  if (!hash.starts_with(k_sha256_prefix)) return false;
  const auto hex = hash.substr(k_sha256_prefix.size());
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool verify_token(std::string_view token, std::string_view hash) {
  if (!is_token_hash(hash)) return false;
  return constant_time_equal(token_hash(token), hash);
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return formats::hex_encode(digest, sizeof digest);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// --- credential_cache -------------------------------------------------------

credential_cache::credential_cache(std::chrono::seconds ttl, std::size_t max_entries, clock_fn now)
    : ttl_(ttl), max_entries_(std::max<std::size_t>(max_entries, 1)), now_(std::move(now)) {
  unsigned char key[32];
  const std::unique_ptr<EVP_MAC, openssl_free<EVP_MAC_free>> hmac(
      EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (hmac && RAND_bytes(key, sizeof key) == 1) {
    keyed_mac_ = {EVP_MAC_CTX_new(hmac.get()), EVP_MAC_CTX_free};
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_END};
    if (keyed_mac_ && EVP_MAC_init(keyed_mac_.get(), key, sizeof key, params) != 1) {
      keyed_mac_.reset();
    }
  }
  OPENSSL_cleanse(key, sizeof key);
  // Without a secret key the cache would be a table of unkeyed password
  // hashes; better to cache nothing.
  if (!keyed_mac_) max_entries_ = 0;
}

credential_cache::clock::time_point credential_cache::now() const {
  return now_ ? now_() : clock::now();
}

std::string credential_cache::key_of(std::string_view name, std::string_view password,
                                     std::string_view stored_hash) const {
  std::string message;
  message.reserve(12 + name.size() + password.size() + stored_hash.size());
  append_length_prefixed(message, name);
  append_length_prefixed(message, password);
  append_length_prefixed(message, stored_hash);
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  // Copying the keyed context only reads it: safe from several threads.
  const std::unique_ptr<EVP_MAC_CTX, openssl_free<EVP_MAC_CTX_free>> ctx(
      EVP_MAC_CTX_dup(keyed_mac_.get()));
  const bool ok = ctx &&
                  EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(message.data()),
                                 message.size()) == 1 &&
                  EVP_MAC_final(ctx.get(), mac, &mac_len, sizeof mac) == 1;
  OPENSSL_cleanse(message.data(), message.size());
  // No key at all rather than one shared by every failed computation.
  if (!ok) return {};
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

bool credential_cache::contains(std::string_view name, std::string_view password,
                                std::string_view stored_hash) const {
  if (max_entries_ == 0) return false;
  const auto key = key_of(name, password, stored_hash);
  if (key.empty()) return false;
  const auto t = now();
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  return it != entries_.end() && t < it->second;
}

void credential_cache::insert(std::string_view name, std::string_view password,
                              std::string_view stored_hash) {
  if (max_entries_ == 0) return;
  auto key = key_of(name, password, stored_hash);
  if (key.empty()) return;
  const auto t = now();
  std::lock_guard lock(mutex_);
  if (entries_.size() >= max_entries_ && !entries_.contains(key)) {
    std::erase_if(entries_, [t](const auto& e) { return e.second <= t; });
    while (entries_.size() >= max_entries_) {
      auto oldest =
          std::min_element(entries_.begin(), entries_.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
      entries_.erase(oldest);
    }
  }
  entries_[std::move(key)] = t + ttl_;
}

void credential_cache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

std::size_t credential_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace cairn::server
