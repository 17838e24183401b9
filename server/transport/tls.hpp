#pragma once
// TLS for the server: the boost::asio::ssl::context built from the config,
// the client-certificate fingerprint of a connection, and certificate
// generation (the self-signed certificate of `cairnd demo`, and CAs and
// client certificates for tests).
//
// The server context allows TLS 1.2 and 1.3 only; TLS 1.2 is limited to the
// ECDHE AEAD suites of Mozilla's "intermediate" profile; compression,
// renegotiation, TLS 1.2 session tickets and TLS 1.3 early data (0-RTT,
// replayable) are off; the server's cipher order wins. When client_ca is set,
// a client certificate is requested but not required (password and token
// users still connect); one that is presented must verify against client_ca
// (and the CRL, when set) or the handshake fails.
//
// Control plane: functions here may block on files and are called at start-up
// and reload, never on an I/O completion path (peer_certificate_sha256 is the
// exception: cheap, no I/O). A context may be shared by any number of
// connections and threads once built.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/error.hpp"
#include "formats/openssl.hpp"
#include "server/config/config.hpp"

namespace cairn::server {

// The TLS 1.2 cipher list used by make_server_context (OpenSSL names).
inline constexpr std::string_view tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Builds the server context from tls (paths already resolved by the config).
// The error names the file and OpenSSL's reason.
result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(const tls_config& tls);

// Lower-case hex SHA-256 of the DER encoding of cert.
std::string certificate_sha256(const X509* cert);

// The fingerprint of the client certificate on ssl, only if one was presented
// and verified (verify mode includes SSL_VERIFY_PEER and the verify result is
// X509_V_OK); std::nullopt otherwise. Call after the handshake.
std::optional<std::string> peer_certificate_sha256(const SSL* ssl);

// --- certificate generation ---------------------------------------------------

using formats::evp_pkey_ptr;
using formats::x509_ptr;

struct certificate_spec {
  std::string common_name;
  // Each "DNS:<name>" or "IP:<address>"; no commas.
  std::vector<std::string> sans;
  int valid_days = 730;
  bool is_ca = false;        // CA:TRUE, keyCertSign and cRLSign
  bool server_auth = true;   // extendedKeyUsage serverAuth
  bool client_auth = false;  // extendedKeyUsage clientAuth
};

// A fresh EC P-256 key and the certificate for it. Move-only.
class issued_certificate {
 public:
  issued_certificate(evp_pkey_ptr key, x509_ptr cert)
      : key_(std::move(key)), cert_(std::move(cert)) {}

  EVP_PKEY* key() const { return key_.get(); }
  X509* cert() const { return cert_.get(); }
  std::string cert_pem() const;
  std::string key_pem() const;  // unencrypted PKCS#8
  std::string sha256() const { return certificate_sha256(cert_.get()); }

 private:
  evp_pkey_ptr key_;
  x509_ptr cert_;
};

// Issues a certificate for spec, signed by issuer, or self-signed when issuer
// is null. Serial numbers are 127-bit random.
result<issued_certificate> issue_certificate(const certificate_spec& spec,
                                             const issued_certificate* issuer = nullptr);

// Writes cert_pem() to cert_path (mode 0644) and key_pem() to key_path
// (created with mode 0600), replacing existing files.
result<void> write_certificate_files(const issued_certificate& issued,
                                     const std::filesystem::path& cert_path,
                                     const std::filesystem::path& key_path);

// The server certificate of `cairnd demo`: self-signed, EC P-256, two years,
// serverAuth, with the given subject alternative names.
result<void> make_self_signed(const std::filesystem::path& cert_path,
                              const std::filesystem::path& key_path,
                              std::string_view common_name = "localhost",
                              const std::vector<std::string>& sans = {"DNS:localhost",
                                                                      "IP:127.0.0.1"});

}  // namespace cairn::server
