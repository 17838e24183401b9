#pragma once
// Test fixtures for the client: a tiny HTTPS server on 127.0.0.1 (port 0)
// whose answers a test scripts (its PKI and temporary folders come from
// tests/support).
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
#include "support/pki.hpp"
#include "support/temp_dir.hpp"

namespace cairn::clients::testing {

using cairn::testing::make_test_pki;
using cairn::testing::temp_dir;
using cairn::testing::test_pki;

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
