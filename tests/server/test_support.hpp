#pragma once
// Helpers for the server tests: temporary folders, files, a small PKI (CA,
// server and client certificates, CRLs) and in-memory TLS handshakes between
// a server context and an OpenSSL client over a BIO pair (no sockets).

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/transport/tls.hpp"
#include "support/temp_dir.hpp"

namespace cairn::server::test {

// A fresh folder under the system temp dir, removed with everything in it.
using cairn::testing::temp_dir;

void write_text(const std::filesystem::path& path, std::string_view text);

// A password hash at the cost `cairnd hash-secret` writes (the floor the
// config accepts), made once per password and process so that the suite
// pays each KDF once.
const std::string& password_hash(const std::string& password);
std::string read_text(const std::filesystem::path& path);

// A CA, and certificates it issues.
issued_certificate make_ca(const std::string& name);
issued_certificate make_leaf(const issued_certificate& ca, const std::string& name, bool client,
                             bool server);
// A PEM CRL from ca revoking the given certificates.
std::string make_crl(const issued_certificate& ca, const std::vector<const X509*>& revoked);

struct ssl_ctx_deleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;

// A client context: TLS_client_method, trusting trust_pem (if not empty) and
// verifying the server when it is given.
ssl_ctx_ptr make_client_ctx(const std::string& trust_pem = {});
// A deliberately weak server context (any version from TLS 1.0, any cipher,
// security level 0) with the given certificate: the control that shows a
// refused client would otherwise have connected.
ssl_ctx_ptr make_permissive_server_ctx(const tls_config& tls);
void use_client_certificate(SSL_CTX* ctx, const issued_certificate& cert);

struct handshake_outcome {
  bool ok = false;                              // both sides completed
  std::string version;                          // "TLSv1.3"
  std::string cipher;                           // OpenSSL name
  std::optional<std::string> peer_fingerprint;  // server's view of the client cert
  long client_verify_result = -1;
};

// Runs a handshake between server_ctx and client_ctx in memory. verify_host:
// host name or IP the client checks the server certificate against (empty:
// none).
handshake_outcome run_handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx,
                                const std::string& verify_host = {});

}  // namespace cairn::server::test
