#pragma once
// One TLS connection to a server, driven synchronously: the transport under
// taxii_client, and a tool for tests that need to send arbitrary bytes (request
// smuggling, pipelining, slow clients) and see exactly what comes back.
//
// Threads: a raw_connection is used by one thread at a time (it owns its own
// io_context). A tls_context may be shared by any number of connections and
// threads.
// Errors: every operation returns cairn::result; after an error other than a
// read_available() timeout the connection is closed and is_open() is false.
// Boost and OpenSSL types stay out of this header.

#include <openssl/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "clients/client_options.hpp"
#include "clients/http.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

// The client side TLS configuration (trust store, pin, client certificate,
// TLS 1.2 minimum) built once from client_options and shared by connections.
class tls_context {
 public:
  // Fails when a --cacert, --cert or --key file cannot be loaded.
  static result<std::shared_ptr<const tls_context>> make(const client_options& options);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  struct impl;
  explicit tls_context(std::unique_ptr<impl> m);
  const impl& get() const { return *impl_; }

  // For a connection that drives OpenSSL itself (clients/lean_get): the
  // context, whether the peer's name or address must match the URL's host,
  // and the pinned SHA-256 fingerprint (empty: PKIX).
  SSL_CTX* native_handle() const;
  bool verify_host() const;
  const std::string& pin() const;

 private:
  std::unique_ptr<impl> impl_;
};

class raw_connection {
 public:
  // Resolves, connects and completes the TLS handshake with verification as
  // options say (tls: a shared context; null builds one from options). When
  // permanent is given it is set to true if retrying cannot help (certificate
  // refused, bad URL, unreadable key file) and false for network trouble.
  static result<raw_connection> open(const url_parts& where, const client_options& options,
                                     std::shared_ptr<const tls_context> tls = nullptr,
                                     bool* permanent = nullptr);
  // Same, from options.url.
  static result<raw_connection> open(const client_options& options);

  raw_connection(raw_connection&&) noexcept;
  raw_connection& operator=(raw_connection&&) noexcept;
  ~raw_connection();

  // Writes all bytes.
  result<void> write(std::string_view bytes);

  // Reads one HTTP/1.1 response (bytes left over after it stay buffered for
  // the next read). no_body: the response to a HEAD request.
  result<http_response> read_response(bool no_body = false);

  // Reads one response, handing the body of a 2xx response to sink piece by
  // piece as it arrives (the response's body stays empty; a sink error ends
  // the read and drops the connection). Other statuses keep their body, as
  // read_response() does.
  using body_sink = std::function<result<void>(std::string_view piece)>;
  result<http_response> read_response_to(const body_sink& sink);

  // Collects bytes until the peer closes or nothing more arrives within wait;
  // returns what came (possibly nothing). The connection stays open unless the
  // peer closed it (see peer_closed()).
  result<std::string> read_available(std::chrono::milliseconds wait);

  // True once a read saw the peer close the connection (TCP FIN or TLS
  // close_notify).
  bool peer_closed() const;
  bool is_open() const;
  void close();

  // The timeout applied to each later operation (starts at options.timeout).
  void set_timeout(std::chrono::milliseconds timeout);

  // Hex SHA-256 of the server's leaf certificate (lower case, no colons).
  std::string peer_certificate_sha256() const;
  // "TLSv1.3", "TLSv1.2".
  std::string tls_version() const;

 private:
  struct impl;
  explicit raw_connection(std::unique_ptr<impl> m);
  std::unique_ptr<impl> impl_;
};

// Normalises a fingerprint written as hex with optional colons to lower case
// hex; empty if it is not 64 hex digits.
std::string normalize_fingerprint(std::string_view text);

}  // namespace cairn::clients
