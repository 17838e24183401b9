#include "server/transport/tls.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/server/test_support.hpp"

using namespace cairn::server;
using namespace cairn::server::test;

namespace {

struct x509_from_pem {
  x509_ptr cert;
  explicit x509_from_pem(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    cert.reset(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
  }
};

// A server certificate and key in dir, and the tls_config naming them.
struct server_files {
  temp_dir dir;
  tls_config tls;
  std::string cert_pem;
  server_files() {
    tls.cert = dir / "server.pem";
    tls.key = dir / "server.key";
    REQUIRE(make_self_signed(tls.cert, tls.key));
    cert_pem = read_text(tls.cert);
  }
};

std::shared_ptr<boost::asio::ssl::context> context_for(const tls_config& tls) {
  auto ctx = make_server_context(tls);
  if (!ctx) FAIL(ctx.error().message);
  return *ctx;
}

}  // namespace

TEST_CASE("the server context negotiates TLS 1.3 and verifies as localhost and 127.0.0.1") {
  server_files files;
  auto ctx = context_for(files.tls);
  auto client = make_client_ctx(files.cert_pem);
  auto out = run_handshake(ctx->native_handle(), client.get(), "localhost");
  CHECK(out.ok);
  CHECK(out.version == "TLSv1.3");
  CHECK(out.client_verify_result == X509_V_OK);
  CHECK_FALSE(out.peer_fingerprint);  // no client_ca, so no client certificate

  auto by_ip = run_handshake(ctx->native_handle(), client.get(), "127.0.0.1");
  CHECK(by_ip.ok);
  CHECK(by_ip.client_verify_result == X509_V_OK);

  auto wrong_host = run_handshake(ctx->native_handle(), client.get(), "example.org");
  CHECK_FALSE(wrong_host.ok);
}

TEST_CASE("TLS 1.2 works with ECDHE AEAD suites only") {
  server_files files;
  auto ctx = context_for(files.tls);

  auto client = make_client_ctx(files.cert_pem);
  SSL_CTX_set_max_proto_version(client.get(), TLS1_2_VERSION);
  auto out = run_handshake(ctx->native_handle(), client.get(), "localhost");
  CHECK(out.ok);
  CHECK(out.version == "TLSv1.2");
  CHECK(out.cipher.starts_with("ECDHE-"));
  CHECK((out.cipher.find("GCM") != std::string::npos ||
         out.cipher.find("CHACHA20") != std::string::npos));

  for (const char* suite : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                            "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    INFO(suite);
    auto only = make_client_ctx(files.cert_pem);
    SSL_CTX_set_max_proto_version(only.get(), TLS1_2_VERSION);
    REQUIRE(SSL_CTX_set_cipher_list(only.get(), suite) == 1);
    auto r = run_handshake(ctx->native_handle(), only.get(), "localhost");
    CHECK(r.ok);
    CHECK(r.cipher == suite);
  }

  // CBC suites (with and without ECDHE) are refused.
  auto permissive = make_permissive_server_ctx(files.tls);
  for (const char* suite : {"ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384",
                            "ECDHE-ECDSA-AES128-SHA", "AES128-SHA256", "AES128-GCM-SHA256"}) {
    INFO(suite);
    auto cbc = make_client_ctx(files.cert_pem);
    SSL_CTX_set_max_proto_version(cbc.get(), TLS1_2_VERSION);
    SSL_CTX_set_security_level(cbc.get(), 0);
    REQUIRE(SSL_CTX_set_cipher_list(cbc.get(), suite) == 1);
    CHECK_FALSE(run_handshake(ctx->native_handle(), cbc.get(), "localhost").ok);
    // Not the client's fault: a permissive server accepts it (the RSA key
    // exchange suites need an RSA key, so only the ECDHE ones have a control).
    if (std::string_view(suite).starts_with("ECDHE")) {
      CHECK(run_handshake(permissive.get(), cbc.get(), "localhost").ok);
    }
  }
}

TEST_CASE("TLS 1.1 and 1.0 are refused") {
  server_files files;
  auto ctx = context_for(files.tls);
  auto permissive = make_permissive_server_ctx(files.tls);
  for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
    auto old = make_client_ctx(files.cert_pem);
    SSL_CTX_set_security_level(old.get(), 0);
    SSL_CTX_set_min_proto_version(old.get(), version);
    SSL_CTX_set_max_proto_version(old.get(), version);
    SSL_CTX_set_cipher_list(old.get(), "ALL:@SECLEVEL=0");
    CHECK_FALSE(run_handshake(ctx->native_handle(), old.get()).ok);
    auto control = run_handshake(permissive.get(), old.get());
    CHECK(control.ok);
    CHECK(control.version == (version == TLS1_1_VERSION ? "TLSv1.1" : "TLSv1"));
  }
}

TEST_CASE("the server context turns off compression, renegotiation and early data") {
  server_files files;
  auto ctx = context_for(files.tls);
  SSL_CTX* raw = ctx->native_handle();
  const auto options = SSL_CTX_get_options(raw);
  CHECK((options & SSL_OP_NO_COMPRESSION) != 0);
  CHECK((options & SSL_OP_NO_RENEGOTIATION) != 0);
  CHECK((options & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
  CHECK(SSL_CTX_get_max_early_data(raw) == 0);
  CHECK(SSL_CTX_get_recv_max_early_data(raw) == 0);
  CHECK(SSL_CTX_get_min_proto_version(raw) == TLS1_2_VERSION);
  CHECK((SSL_CTX_get_verify_mode(raw) & SSL_VERIFY_PEER) == 0);
}

TEST_CASE("client certificates are requested, verified and fingerprinted") {
  server_files files;
  auto ca = make_ca("Partners CA");
  auto stranger_ca = make_ca("Stranger CA");
  auto partner = make_leaf(ca, "partner", true, false);
  auto stranger = make_leaf(stranger_ca, "stranger", true, false);
  write_text(files.dir / "ca.pem", ca.cert_pem());
  files.tls.client_ca = files.dir / "ca.pem";
  auto ctx = context_for(files.tls);
  CHECK((SSL_CTX_get_verify_mode(ctx->native_handle()) & SSL_VERIFY_PEER) != 0);
  CHECK((SSL_CTX_get_verify_mode(ctx->native_handle()) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) == 0);

  // No certificate: still connects (password and token users).
  auto plain = make_client_ctx(files.cert_pem);
  auto none = run_handshake(ctx->native_handle(), plain.get(), "localhost");
  CHECK(none.ok);
  CHECK_FALSE(none.peer_fingerprint);

  // A certificate from the CA: its fingerprint is available.
  for (int max_version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    auto with_cert = make_client_ctx(files.cert_pem);
    SSL_CTX_set_max_proto_version(with_cert.get(), max_version);
    use_client_certificate(with_cert.get(), partner);
    auto ok = run_handshake(ctx->native_handle(), with_cert.get(), "localhost");
    REQUIRE(ok.ok);
    REQUIRE(ok.peer_fingerprint);
    CHECK(*ok.peer_fingerprint == partner.sha256());
    CHECK(ok.peer_fingerprint->size() == 64);
  }

  // A certificate from another CA fails the handshake.
  auto bad = make_client_ctx(files.cert_pem);
  use_client_certificate(bad.get(), stranger);
  CHECK_FALSE(run_handshake(ctx->native_handle(), bad.get(), "localhost").ok);

  // Without client_ca, a presented certificate is never requested or trusted.
  tls_config no_ca = files.tls;
  no_ca.client_ca.reset();
  auto open_ctx = context_for(no_ca);
  auto with_cert = make_client_ctx(files.cert_pem);
  use_client_certificate(with_cert.get(), partner);
  auto unrequested = run_handshake(open_ctx->native_handle(), with_cert.get(), "localhost");
  CHECK(unrequested.ok);
  CHECK_FALSE(unrequested.peer_fingerprint);
}

TEST_CASE("a CRL revokes client certificates") {
  server_files files;
  auto ca = make_ca("Partners CA");
  auto good = make_leaf(ca, "good", true, false);
  auto revoked = make_leaf(ca, "revoked", true, false);
  write_text(files.dir / "ca.pem", ca.cert_pem());
  write_text(files.dir / "ca.crl", make_crl(ca, {revoked.cert()}));
  files.tls.client_ca = files.dir / "ca.pem";
  files.tls.crl = files.dir / "ca.crl";
  auto ctx = context_for(files.tls);

  auto good_client = make_client_ctx(files.cert_pem);
  use_client_certificate(good_client.get(), good);
  auto ok = run_handshake(ctx->native_handle(), good_client.get(), "localhost");
  CHECK(ok.ok);
  CHECK(ok.peer_fingerprint == good.sha256());

  auto revoked_client = make_client_ctx(files.cert_pem);
  use_client_certificate(revoked_client.get(), revoked);
  CHECK_FALSE(run_handshake(ctx->native_handle(), revoked_client.get(), "localhost").ok);
}

TEST_CASE("make_server_context reports unusable files") {
  server_files files;
  tls_config missing = files.tls;
  missing.cert = files.dir / "nope.pem";
  auto r = make_server_context(missing);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("nope.pem") != std::string::npos);

  // A key that does not belong to the certificate.
  temp_dir other;
  REQUIRE(make_self_signed(other / "c.pem", other / "k.pem"));
  tls_config mismatched = files.tls;
  mismatched.key = other / "k.pem";
  auto m = make_server_context(mismatched);
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("k.pem") != std::string::npos);

  tls_config bad_ca = files.tls;
  bad_ca.client_ca = files.dir / "server.key";  // not a certificate
  CHECK_FALSE(make_server_context(bad_ca));
}

TEST_CASE("make_self_signed writes a two-year EC P-256 certificate and a private key file") {
  temp_dir dir;
  REQUIRE(make_self_signed(dir / "cert.pem", dir / "key.pem"));
  struct stat st {};
  REQUIRE(::stat((dir / "key.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir / "cert.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0077) != 0077);  // not world-writable

  x509_from_pem loaded(read_text(dir / "cert.pem"));
  REQUIRE(loaded.cert);
  X509* cert = loaded.cert.get();
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  REQUIRE(pub);
  CHECK(EVP_PKEY_is_a(pub, "EC"));
  char group[64] = {};
  size_t group_len = 0;
  REQUIRE(EVP_PKEY_get_group_name(pub, group, sizeof group, &group_len) == 1);
  CHECK(std::string(group) == "prime256v1");
  int days = 0;
  int secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)));
  CHECK(days >= 729);
  CHECK(days <= 731);

  // It verifies with itself as the only trust anchor, for 127.0.0.1 and
  // localhost, and not for another name.
  auto verify = [cert](const char* ip, const char* host) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, cert);
    X509_STORE_CTX* sctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(sctx, store, cert, nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(sctx);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, ip);
    if (host) X509_VERIFY_PARAM_set1_host(param, host, 0);
    const int ok = X509_verify_cert(sctx);
    X509_STORE_CTX_free(sctx);
    X509_STORE_free(store);
    return ok == 1;
  };
  CHECK(verify("127.0.0.1", nullptr));
  CHECK(verify(nullptr, "localhost"));
  CHECK_FALSE(verify("127.0.0.2", nullptr));
  CHECK_FALSE(verify(nullptr, "example.org"));

  // Running it again replaces both files with a new key.
  const auto first = read_text(dir / "cert.pem");
  REQUIRE(make_self_signed(dir / "cert.pem", dir / "key.pem"));
  CHECK(read_text(dir / "cert.pem") != first);
}

TEST_CASE("issue_certificate refuses bad input") {
  certificate_spec spec;
  spec.common_name = "x";
  spec.sans = {"DNS:a,IP:1.2.3.4"};
  CHECK_FALSE(issue_certificate(spec));
  spec.sans = {"URI:http://x"};
  CHECK_FALSE(issue_certificate(spec));
  spec.sans = {};
  spec.common_name = "";
  CHECK_FALSE(issue_certificate(spec));
  spec.common_name = "x";
  spec.valid_days = 0;
  CHECK_FALSE(issue_certificate(spec));
}
