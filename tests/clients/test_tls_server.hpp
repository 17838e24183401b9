#pragma once
// Test fixtures for the client: a throw-away PKI made with OpenSSL APIs, and a
// tiny HTTPS server on 127.0.0.1 (port 0) whose answers a test scripts.
// The server runs one thread per connection with blocking Beast I/O; it is
// for tests only and has no limits worth the name.

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/http.hpp"

namespace cairn::clients::testing {

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

// A fresh temporary directory, removed by the destructor.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct test_request {
  std::string method;
  std::string target;
  header_list headers;
  std::string body;
  std::size_t connection = 0;  // 1-based number of the connection it came on

  std::string header(std::string_view name) const;
};

struct test_reply {
  unsigned status = 200;
  header_list headers;
  std::string body;
  // Close the connection after this reply without saying so (no
  // "Connection: close"), as a server whose idle timeout fired would.
  bool close_silently = false;
};

class test_tls_server {
 public:
  using handler = std::function<test_reply(const test_request&)>;

  // Listens on 127.0.0.1, port 0, with the pki's leaf certificate. With
  // client_ca_file set, a client certificate signed by it is required.
  test_tls_server(const test_pki& pki, handler h, const std::string& client_ca_file = {});
  ~test_tls_server();
  test_tls_server(const test_tls_server&) = delete;
  test_tls_server& operator=(const test_tls_server&) = delete;

  unsigned short port() const;
  std::string url(const std::string& path = "/", const std::string& host = "127.0.0.1") const;
  std::size_t connections() const { return connections_.load(); }
  std::size_t requests() const { return requests_.load(); }
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> requests_{0};
};

}  // namespace cairn::clients::testing
