// Credentials: the Authorization header (Basic, Bearer), scrypt PHC strings
// and token hashes. Invariants: parsed parts are within their limits and a
// parsed Basic user-id is non-empty and holds no ':'; a parsed PHC string's
// parameters are within scrypt_bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "server/auth/accounts.hpp"
#include "server/config/credentials.hpp"

using namespace cairn::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto a = parse_authorization(text)) {
    if (auto* basic = std::get_if<basic_credentials>(&*a)) {
      if (basic->user_id.empty() || basic->user_id.find(':') != std::string::npos ||
          basic->user_id.size() > authorization_limits::max_user_id_bytes ||
          basic->password.size() > authorization_limits::max_password_bytes) {
        std::abort();
      }
    } else {
      const auto& bearer = std::get<bearer_credentials>(*a);
      if (bearer.token.empty() || bearer.token.size() > authorization_limits::max_token_bytes) {
        std::abort();
      }
    }
  }
  if (auto phc = parse_scrypt_phc(text)) {
    const auto& p = phc->params;
    const std::uint64_t n = std::uint64_t{1} << p.log2_n;
    if (p.log2_n < scrypt_bounds::min_log2_n || p.log2_n > scrypt_bounds::max_log2_n || p.r == 0 ||
        p.r > scrypt_bounds::max_r || p.p == 0 || p.p > scrypt_bounds::max_p ||
        128 * p.r * n > scrypt_bounds::max_memory_bytes ||
        phc->salt.size() < scrypt_bounds::min_salt_bytes ||
        phc->salt.size() > scrypt_bounds::max_salt_bytes ||
        phc->hash.size() < scrypt_bounds::min_hash_bytes ||
        phc->hash.size() > scrypt_bounds::max_hash_bytes) {
      std::abort();
    }
  }
  (void)is_token_hash(text);
  (void)verify_token(text, token_hash("cairn-fuzz-token"));
  (void)normalize_fingerprint(text);
  return 0;
}
