#pragma once
// Ed25519 signing keys (RFC 8032) through OpenSSL's EVP interface, with PEM
// in and out (signatures travel as formats/base64.hpp). Used for the audit log's
// signed checkpoints: the server signs, anyone holding the public key checks.
//
// An ed25519_key owns its EVP_PKEY (move-only). Signing and verifying are
// thread-safe; errors are values.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "formats/error.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace cairn::formats {

class ed25519_key {
 public:
  // A new random key.
  static result<ed25519_key> generate();
  // A private key in PEM (PKCS#8, "-----BEGIN PRIVATE KEY-----"); any other
  // key type is refused.
  static result<ed25519_key> from_private_pem(std::string_view pem);

  ed25519_key(ed25519_key&&) noexcept = default;
  ed25519_key& operator=(ed25519_key&&) noexcept = default;
  ~ed25519_key();

  std::string private_pem() const;
  // SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----").
  std::string public_pem() const;
  // The 64-byte signature of message; empty only if OpenSSL fails.
  std::string sign(std::string_view message) const;

 private:
  struct free_key {
    void operator()(evp_pkey_st* k) const;
  };
  explicit ed25519_key(evp_pkey_st* k) : key_(k) {}
  std::unique_ptr<evp_pkey_st, free_key> key_;
};

// The 32 raw bytes of an Ed25519 public key given in PEM; std::nullopt for
// anything else. Two PEM texts name the same key when these are equal.
std::optional<std::string> ed25519_public_bytes(std::string_view public_pem);

// The PEM (as public_pem() writes it) of a raw 32-byte Ed25519 public key;
// empty when raw is not one.
std::string ed25519_public_pem_of(std::string_view raw);

// Does signature (64 raw bytes) sign message under the public key (PEM)?
bool ed25519_verify(std::string_view public_pem, std::string_view message,
                    std::string_view signature);

}  // namespace cairn::formats
