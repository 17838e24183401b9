#include "formats/ed25519.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "formats/openssl.hpp"

namespace cairn::formats {

namespace {

bio_ptr memory_bio(std::string_view text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

evp_pkey_ptr read_public(std::string_view pem) {
  if (pem.size() > 4096) return nullptr;
  auto in = memory_bio(pem);
  if (!in) return nullptr;
  evp_pkey_ptr k(PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr));
  if (!k || EVP_PKEY_get_id(k.get()) != EVP_PKEY_ED25519) return nullptr;
  return k;
}

}  // namespace

void ed25519_key::free_key::operator()(evp_pkey_st* k) const {
  EVP_PKEY_free(k);
}

ed25519_key::~ed25519_key() = default;

result<ed25519_key> ed25519_key::generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (k == nullptr) return fail("cannot generate an Ed25519 key");
  return ed25519_key(k);
}

result<ed25519_key> ed25519_key::from_private_pem(std::string_view pem) {
  if (pem.size() > 4096) return fail("the key file is too large for an Ed25519 key");
  auto in = memory_bio(pem);
  if (!in) return fail("out of memory");
  EVP_PKEY* k = PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) return fail("not a PEM private key");
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return fail("the key is not an Ed25519 key");
  }
  return ed25519_key(k);
}

std::string ed25519_key::private_pem() const {
  return private_key_pem(key_.get());
}

std::string ed25519_key::public_pem() const {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PUBKEY(out.get(), key_.get()) != 1) return {};
  return memory_bio_text(out.get());
}

std::string ed25519_key::sign(std::string_view message) const {
  evp_md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  std::size_t n = sig.size();
  // Ed25519 is a one-shot scheme: no digest, the whole message at once.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      n != 64) {
    return {};
  }
  return sig;
}

std::optional<std::string> ed25519_public_bytes(std::string_view public_pem) {
  auto k = read_public(public_pem);
  if (!k) return std::nullopt;
  std::string raw(32, '\0');
  std::size_t n = raw.size();
  if (EVP_PKEY_get_raw_public_key(k.get(), reinterpret_cast<unsigned char*>(raw.data()), &n) != 1 ||
      n != 32) {
    return std::nullopt;
  }
  return raw;
}

std::string ed25519_public_pem_of(std::string_view raw) {
  if (raw.size() != 32) return {};
  evp_pkey_ptr k(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!k || !out || PEM_write_bio_PUBKEY(out.get(), k.get()) != 1) return {};
  return memory_bio_text(out.get());
}

bool ed25519_verify(std::string_view public_pem, std::string_view message,
                    std::string_view signature) {
  if (signature.size() != 64) return false;
  auto k = read_public(public_pem);
  if (!k) return false;
  evp_md_ctx_ptr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace cairn::formats
