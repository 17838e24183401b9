#pragma once
// A throw-away PKI for TLS tests, made with OpenSSL directly (no Cairn code,
// so that tests of every library can use it).

#include <filesystem>
#include <string>

namespace cairn::testing {

// A CA and a leaf certificate signed by it, as PEM text and as files in dir.
struct test_pki {
  std::filesystem::path dir;
  std::string ca_pem;
  std::string cert_pem;  // the leaf
  std::string key_pem;   // the leaf's key
  std::filesystem::path ca_file, cert_file, key_file;
};

// Makes a CA named ca_name and a leaf with the given subjectAltName
// ("DNS:localhost,IP:127.0.0.1"); files go in dir (created). Throws on OpenSSL
// failure (test set-up only).
test_pki make_test_pki(const std::filesystem::path& dir, const std::string& ca_name,
                       const std::string& subject_alt_name);

}  // namespace cairn::testing
