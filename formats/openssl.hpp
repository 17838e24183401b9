#pragma once
// Owning pointers for OpenSSL objects: std::unique_ptr with the matching
// OpenSSL free function, so that every early return frees what was made.
// Header only (libcrypto); OpenSSL's own headers come with it.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace cairn::formats {

// Calls free_fn on the pointer; an empty class, so the unique_ptr stays one
// pointer wide.
template <auto free_fn>
struct openssl_free {
  template <typename T>
  void operator()(T* p) const {
    free_fn(p);
  }
};

using bio_ptr = std::unique_ptr<BIO, openssl_free<BIO_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_free<BN_free>>;
using evp_kdf_ptr = std::unique_ptr<EVP_KDF, openssl_free<EVP_KDF_free>>;
using evp_kdf_ctx_ptr = std::unique_ptr<EVP_KDF_CTX, openssl_free<EVP_KDF_CTX_free>>;
using evp_md_ptr = std::unique_ptr<EVP_MD, openssl_free<EVP_MD_free>>;
using evp_md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, openssl_free<EVP_MD_CTX_free>>;
using evp_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_free<X509_free>>;
using x509_extension_ptr = std::unique_ptr<X509_EXTENSION, openssl_free<X509_EXTENSION_free>>;

// What was written to a memory BIO (BIO_s_mem).
inline std::string memory_bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// The private key as unencrypted PKCS#8 PEM; empty only if OpenSSL fails.
inline std::string private_key_pem(EVP_PKEY* key) {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!out ||
      PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return memory_bio_text(out.get());
}

}  // namespace cairn::formats
