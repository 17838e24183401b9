#include "server/transport/tls.hpp"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "formats/hex.hpp"
#include "formats/secret_file.hpp"

namespace cairn::server {

namespace {

using formats::bignum_ptr;
using formats::bio_ptr;
using formats::x509_extension_ptr;

// Drains OpenSSL's error queue into one line (the queue is per thread, and a
// stale entry would be blamed on the next call).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::unexpected<error> ssl_fail(const std::string& what) {
  return fail(what + ": " + openssl_errors());
}

result<void> add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  x509_extension_ptr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext) return ssl_fail("certificate extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) return ssl_fail("X509_add_ext");
  return {};
}

}  // namespace

result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(const tls_config& tls) {
  ERR_clear_error();
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();

  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION) != 1) {
    return ssl_fail("setting the TLS versions");
  }
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET |
                               SSL_OP_SINGLE_ECDH_USE);
  // Idle keep-alive connections hold no read/write buffers.
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(raw, std::string(tls12_ciphers).c_str()) != 1) {
    return ssl_fail("setting the TLS 1.2 ciphers");
  }
  if (SSL_CTX_set_ciphersuites(
          raw, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1) {
    return ssl_fail("setting the TLS 1.3 cipher suites");
  }
  if (SSL_CTX_set1_groups_list(raw, "X25519:P-256:P-384") != 1) {
    return ssl_fail("setting the key exchange groups");
  }
  // Early data can be replayed by a network attacker; none of it, ever.
  if (SSL_CTX_set_max_early_data(raw, 0) != 1 || SSL_CTX_set_recv_max_early_data(raw, 0) != 1) {
    return ssl_fail("turning off early data");
  }
  // Resumed sessions must stay tied to this server's verification settings.
  static constexpr unsigned char sid_ctx[] = "cairn";
  SSL_CTX_set_session_id_context(raw, sid_ctx, sizeof sid_ctx - 1);

  if (SSL_CTX_use_certificate_chain_file(raw, tls.cert.c_str()) != 1) {
    return ssl_fail("loading the certificate " + tls.cert.string());
  }
  if (SSL_CTX_use_PrivateKey_file(raw, tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return ssl_fail("loading the private key " + tls.key.string());
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return ssl_fail("the private key " + tls.key.string() + " does not match the certificate");
  }

  if (tls.client_ca) {
    const std::string ca = tls.client_ca->string();
    if (SSL_CTX_load_verify_locations(raw, ca.c_str(), nullptr) != 1) {
      return ssl_fail("loading the client CA " + ca);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
    if (names == nullptr) return ssl_fail("reading the client CA names from " + ca);
    SSL_CTX_set_client_CA_list(raw, names);  // takes ownership
    if (tls.crl) {
      X509_STORE* store = SSL_CTX_get_cert_store(raw);
      X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
      if (lookup == nullptr ||
          X509_load_crl_file(lookup, tls.crl->c_str(), X509_FILETYPE_PEM) <= 0) {
        return ssl_fail("loading the CRL " + tls.crl->string());
      }
      // The leaf's issuer must have a CRL here; a missing one fails closed.
      X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    // Request, verify when presented, but do not require: Basic and Bearer
    // users connect without a certificate.
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_verify_depth(raw, 5);
  } else {
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

std::string certificate_sha256(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return formats::hex_encode(md, len);
}

std::optional<std::string> peer_certificate_sha256(const SSL* ssl) {
  if (ssl == nullptr) return std::nullopt;
  if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0) return std::nullopt;
  const X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  if (SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  auto fp = certificate_sha256(cert);
  if (fp.empty()) return std::nullopt;
  return fp;
}

// --- certificate generation ---------------------------------------------------

std::string issued_certificate::cert_pem() const {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return {};
  return formats::memory_bio_text(bio.get());
}

std::string issued_certificate::key_pem() const {
  return formats::private_key_pem(key_.get());
}

result<issued_certificate> issue_certificate(const certificate_spec& spec,
                                             const issued_certificate* issuer) {
  ERR_clear_error();
  if (spec.common_name.empty() || spec.common_name.size() > 64) {
    return fail("the common name must be 1 to 64 characters");
  }
  for (const auto& san : spec.sans) {
    if (!(san.starts_with("DNS:") || san.starts_with("IP:")) ||
        san.find(',') != std::string::npos) {
      return fail("subject alternative names must be \"DNS:<name>\" or \"IP:<address>\": " + san);
    }
  }
  if (spec.valid_days < 1 || spec.valid_days > 3650) return fail("validity must be 1 to 3650 days");

  evp_pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) return ssl_fail("generating an EC P-256 key");
  x509_ptr cert(X509_new());
  if (!cert) return ssl_fail("X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);

  // 127 random bits: positive, unique with overwhelming probability.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return ssl_fail("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  serial_bytes[0] |= 0x40;  // no leading zero byte
  bignum_ptr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return ssl_fail("setting the serial number");
  }

  // An hour of slack for clocks that run behind.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), spec.valid_days, 0, nullptr)) {
    return ssl_fail("setting the validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                 -1, -1, 0) != 1) {
    return ssl_fail("setting the common name");
  }
  X509* issuer_cert = issuer ? issuer->cert() : cert.get();
  EVP_PKEY* issuer_key = issuer ? issuer->key() : key.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return ssl_fail("setting issuer and key");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
  if (auto r = add_extension(cert.get(), &ctx, NID_basic_constraints,
                             spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
      !r) {
    return std::unexpected(r.error());
  }
  if (spec.is_ca) {
    if (auto r = add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        !r) {
      return std::unexpected(r.error());
    }
  }
  std::string eku;
  if (spec.server_auth) eku = "serverAuth";
  if (spec.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty()) {
    if (auto r = add_extension(cert.get(), &ctx, NID_ext_key_usage, eku); !r) {
      return std::unexpected(r.error());
    }
  }
  if (!spec.sans.empty()) {
    std::string san_list;
    for (const auto& s : spec.sans) san_list += (san_list.empty() ? "" : ",") + s;
    if (auto r = add_extension(cert.get(), &ctx, NID_subject_alt_name, san_list); !r) {
      return std::unexpected(r.error());
    }
  }
  if (auto r = add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"); !r) {
    return std::unexpected(r.error());
  }
  if (issuer) {
    if (auto r = add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
        !r) {
      return std::unexpected(r.error());
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return ssl_fail("signing");
  return issued_certificate(std::move(key), std::move(cert));
}

result<void> write_certificate_files(const issued_certificate& issued,
                                     const std::filesystem::path& cert_path,
                                     const std::filesystem::path& key_path) {
  const auto key_pem = issued.key_pem();
  const auto cert_pem = issued.cert_pem();
  if (key_pem.empty() || cert_pem.empty()) return ssl_fail("PEM encoding");
  if (auto r = formats::write_secret_file(key_path, key_pem, formats::if_file_exists::replace);
      !r) {
    return r;
  }
  return formats::write_secret_file(cert_path, cert_pem, formats::if_file_exists::replace, 0644);
}

result<void> make_self_signed(const std::filesystem::path& cert_path,
                              const std::filesystem::path& key_path, std::string_view common_name,
                              const std::vector<std::string>& sans) {
  certificate_spec spec;
  spec.common_name = std::string(common_name);
  spec.sans = sans;
  spec.valid_days = 730;
  spec.server_auth = true;
  auto issued = issue_certificate(spec);
  if (!issued) return std::unexpected(issued.error());
  return write_certificate_files(*issued, cert_path, key_path);
}

}  // namespace cairn::server
