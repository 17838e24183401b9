// tests/support: the helpers the other tests stand on.

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <memory>

#include "support/files.hpp"
#include "support/pki.hpp"
#include "support/temp_dir.hpp"

using namespace cairn::testing;
namespace fs = std::filesystem;

namespace {

struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, x509_free> parse_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), -1), BIO_free);
  return std::unique_ptr<X509, x509_free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

TEST_CASE("temp_dir: a private folder of its own, removed with its contents") {
  fs::path kept;
  {
    temp_dir a("cairn-support-test");
    temp_dir b("cairn-support-test");
    kept = a.path();
    CHECK(a.path() != b.path());
    CHECK(a.path().filename().string().starts_with("cairn-support-test-"));
    struct stat st {};
    REQUIRE(::stat(a.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    fs::create_directories(a / "sub");
    write_file(a / "sub" / "f.txt", "x");
  }
  CHECK_FALSE(fs::exists(kept));
}

TEST_CASE("read_file and write_file: bytes round-trip, a write that cannot happen throws") {
  temp_dir dir;
  const std::string bytes("a\0b\r\n\xff", 6);
  write_file(dir / "f", bytes);
  CHECK(read_file(dir / "f") == bytes);
  write_file(dir / "f", "short");
  CHECK(read_file(dir / "f") == "short");
  CHECK(read_file(dir / "missing").empty());
  CHECK_THROWS(write_file(dir / "no-such-folder" / "f", "x"));
}

TEST_CASE("make_test_pki: a leaf signed by its CA, written to the folder") {
  temp_dir dir;
  const auto pki = make_test_pki(dir / "pki", "Support CA", "DNS:localhost,IP:127.0.0.1");
  CHECK(read_file(pki.ca_file) == pki.ca_pem);
  CHECK(read_file(pki.cert_file) == pki.cert_pem);
  CHECK(read_file(pki.key_file) == pki.key_pem);
  auto ca = parse_pem(pki.ca_pem);
  auto leaf = parse_pem(pki.cert_pem);
  REQUIRE(ca);
  REQUIRE(leaf);
  CHECK(X509_verify(leaf.get(), X509_get0_pubkey(ca.get())) == 1);
  CHECK(X509_check_host(leaf.get(), "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_verify(ca.get(), X509_get0_pubkey(ca.get())) == 1);
}
