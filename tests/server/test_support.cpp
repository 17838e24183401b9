#include "tests/server/test_support.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "server/config/credentials.hpp"
#include "support/files.hpp"

namespace cairn::server::test {

void write_text(const std::filesystem::path& path, std::string_view text) {
  cairn::testing::write_file(path, text);
}

const std::string& password_hash(const std::string& password) {
  static std::mutex mutex;
  static std::map<std::string, std::string> made;
  std::lock_guard lock(mutex);
  auto it = made.find(password);
  if (it == made.end()) {
    auto h = hash_secret(password);
    if (!h) throw std::runtime_error("hash_secret failed: " + h.error().message);
    it = made.emplace(password, std::move(*h)).first;
  }
  return it->second;
}

std::string read_text(const std::filesystem::path& path) {
  return cairn::testing::read_file(path);
}

issued_certificate make_ca(const std::string& name) {
  certificate_spec spec;
  spec.common_name = name;
  spec.is_ca = true;
  spec.server_auth = false;
  auto ca = issue_certificate(spec);
  if (!ca) throw std::runtime_error(ca.error().message);
  return std::move(*ca);
}

issued_certificate make_leaf(const issued_certificate& ca, const std::string& name, bool client,
                             bool server) {
  certificate_spec spec;
  spec.common_name = name;
  spec.client_auth = client;
  spec.server_auth = server;
  if (server) spec.sans = {"DNS:localhost", "IP:127.0.0.1"};
  auto leaf = issue_certificate(spec, &ca);
  if (!leaf) throw std::runtime_error(leaf.error().message);
  return std::move(*leaf);
}

std::string make_crl(const issued_certificate& ca, const std::vector<const X509*>& revoked) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.cert()));
  ASN1_TIME* now = ASN1_TIME_new();
  X509_gmtime_adj(now, -60);
  X509_CRL_set1_lastUpdate(crl, now);
  X509_gmtime_adj(now, 7 * 24 * 3600);
  X509_CRL_set1_nextUpdate(crl, now);
  for (const X509* cert : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(cert)));
    X509_gmtime_adj(now, -30);
    X509_REVOKED_set_revocationDate(r, now);
    X509_CRL_add0_revoked(crl, r);
  }
  ASN1_TIME_free(now);
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, ca.key(), EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(bio, crl);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  X509_CRL_free(crl);
  return pem;
}

ssl_ctx_ptr make_client_ctx(const std::string& trust_pem) {
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
  if (!trust_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(trust_pem.data(), static_cast<int>(trust_pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), cert);
    X509_free(cert);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  return ctx;
}

ssl_ctx_ptr make_permissive_server_ctx(const tls_config& tls) {
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
  SSL_CTX_set_cipher_list(ctx.get(), "ALL:@SECLEVEL=0");
  SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str());
  SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM);
  return ctx;
}

void use_client_certificate(SSL_CTX* ctx, const issued_certificate& cert) {
  SSL_CTX_use_certificate(ctx, cert.cert());
  SSL_CTX_use_PrivateKey(ctx, cert.key());
}

namespace {

struct ssl_deleter {
  void operator()(SSL* s) const { SSL_free(s); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

enum class step { done, again, failed };

step drive(SSL* ssl) {
  const int r = SSL_do_handshake(ssl);
  if (r == 1) return step::done;
  const int e = SSL_get_error(ssl, r);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? step::again : step::failed;
}

}  // namespace

handshake_outcome run_handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx,
                                const std::string& verify_host) {
  ERR_clear_error();
  ssl_ptr server(SSL_new(server_ctx));
  ssl_ptr client(SSL_new(client_ctx));
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  if (!verify_host.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(client.get());
    if (verify_host.find_first_not_of("0123456789.") == std::string::npos) {
      X509_VERIFY_PARAM_set1_ip_asc(param, verify_host.c_str());
    } else {
      SSL_set1_host(client.get(), verify_host.c_str());
      SSL_set_tlsext_host_name(client.get(), verify_host.c_str());
    }
  }

  step c = step::again;
  step s = step::again;
  for (int i = 0; i < 100 && (c == step::again || s == step::again); ++i) {
    if (c == step::again) c = drive(client.get());
    if (s == step::again) s = drive(server.get());
  }
  handshake_outcome out;
  // In TLS 1.3 the client finishes before the server has judged its
  // certificate, so only the server's success counts as the verdict.
  out.ok = c == step::done && s == step::done;
  out.client_verify_result = SSL_get_verify_result(client.get());
  if (out.ok) {
    out.version = SSL_get_version(server.get());
    out.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(server.get()));
    out.peer_fingerprint = peer_certificate_sha256(server.get());
  }
  ERR_clear_error();
  return out;
}

}  // namespace cairn::server::test
