#pragma once
// A GET-only HTTPS/1.1 connection for the load tool (cairn-bench's get and
// discovery phases): blocking OpenSSL straight on the socket, with read-ahead,
// the body counted and dropped as it arrives. The general client
// (raw_connection) runs Asio's TLS engine through a BIO pair, one composed
// operation per TLS record; against a server that spends about 1 ms of CPU on
// a 790 KB page it spent nearly three times that itself, so the tool, not the
// server, bounded the rate. The same trust settings apply (tls_context),
// pinning included.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "clients/http.hpp"
#include "clients/raw_connection.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

class lean_get_connection {
 public:
  struct answer {
    unsigned status = 0;
    std::size_t body_bytes = 0;
    std::string body_start;  // the first 4 KiB of a non-2xx body, for its error message
  };

  // Connects (TCP, TLS handshake, the same checks as raw_connection::open).
  // timeout bounds each connect, write and read.
  static result<lean_get_connection> open(const url_parts& where,
                                          std::shared_ptr<const tls_context> tls,
                                          std::chrono::milliseconds timeout);

  lean_get_connection(lean_get_connection&&) noexcept;
  lean_get_connection& operator=(lean_get_connection&&) noexcept;
  ~lean_get_connection();

  // Sends head (a whole GET request head, taxii_client::get_head) and reads
  // the response. The response must carry Content-Length (cairnd and static
  // file servers send it); a chunked one is an error. After an error, or a
  // response with "Connection: close", the connection is closed.
  result<answer> get(std::string_view head);
  bool is_open() const;

 private:
  struct impl;
  explicit lean_get_connection(std::unique_ptr<impl> m);
  std::unique_ptr<impl> impl_;
};

}  // namespace cairn::clients
