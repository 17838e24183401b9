#include "formats/openssl.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <utility>

using namespace cairn::formats;

TEST_CASE("OpenSSL owning pointers stay one pointer wide", "[formats][openssl]") {
  static_assert(sizeof(bio_ptr) == sizeof(BIO*));
  static_assert(sizeof(evp_pkey_ptr) == sizeof(EVP_PKEY*));
  static_assert(sizeof(evp_md_ctx_ptr) == sizeof(EVP_MD_CTX*));
  SUCCEED();
}

TEST_CASE("OpenSSL owning pointers own and free what they hold", "[formats][openssl]") {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  REQUIRE(BIO_write(bio.get(), "cairn", 5) == 5);
  char* data = nullptr;
  CHECK(std::string(data, static_cast<std::size_t>(BIO_get_mem_data(bio.get(), &data))) == "cairn");

  evp_pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(key);
  // A reference taken while owned outlives the first owner: the deleter drops
  // one reference, not the object (run under ASan/LSan, a double free or a
  // leak here fails the test).
  REQUIRE(EVP_PKEY_up_ref(key.get()) == 1);
  evp_pkey_ptr second(key.get());
  key.reset();
  CHECK(EVP_PKEY_get_id(second.get()) == EVP_PKEY_ED25519);

  evp_md_ctx_ptr ctx(EVP_MD_CTX_new());
  evp_md_ptr md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  REQUIRE(ctx);
  REQUIRE(md);
  CHECK(EVP_DigestInit_ex(ctx.get(), md.get(), nullptr) == 1);

  bignum_ptr n(BN_new());
  REQUIRE(n);
  CHECK(BN_set_word(n.get(), 42) == 1);
  x509_ptr cert(X509_new());
  CHECK(cert);
  evp_kdf_ptr kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  REQUIRE(kdf);
  evp_kdf_ctx_ptr kctx(EVP_KDF_CTX_new(kdf.get()));
  CHECK(kctx);
  x509_extension_ptr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "CA:FALSE"));
  CHECK(ext);
}

TEST_CASE("memory_bio_text and private_key_pem write PEM through a memory BIO",
          "[formats][openssl]") {
  bio_ptr empty(BIO_new(BIO_s_mem()));
  REQUIRE(empty);
  CHECK(memory_bio_text(empty.get()).empty());

  evp_pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(key);
  const std::string pem = private_key_pem(key.get());
  CHECK(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  // It reads back as the same key.
  bio_ptr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  evp_pkey_ptr back(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  REQUIRE(back);
  CHECK(EVP_PKEY_eq(key.get(), back.get()) == 1);
}
