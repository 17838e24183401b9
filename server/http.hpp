#pragma once
// The HTTP types shared by the session (transport) and the router (meaning).
// Handlers see requests and produce responses; they never see a socket.

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace cairn::server {

namespace http = boost::beast::http;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;
using request_header = http::request_header<>;

// What the transport knows about the peer.
struct peer_info {
  std::string remote_address;  // "127.0.0.1"
  std::string cert_sha256;     // lower-case hex of a verified client certificate, or empty
};

// Delivers the response for one request. May be called from any thread,
// exactly once.
using respond_fn = std::function<void(response)>;

// The meaning side of the server, implemented by the router.
class request_handler {
 public:
  virtual ~request_handler() = default;

  // Called when the request header has been read, before any of the body.
  // Returns the largest body to accept for this request; a larger declared
  // Content-Length is refused with 413 before the body is read.
  virtual std::uint64_t body_limit(const request_header& header) const = 0;

  // Handles one complete request.
  virtual void handle(request req, const peer_info& peer, respond_fn respond) = 0;

  // A TAXII error response for transport-level refusals (400, 408, 413, 431,
  // 503), in the same format as every other error.
  virtual response transport_error(http::status status, const std::string& description,
                                   unsigned version) const = 0;
};

}  // namespace cairn::server
