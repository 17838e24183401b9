#pragma once
// The HTTP types shared by the session (transport) and the router (meaning).
// Handlers see requests and produce responses; they never see a socket.

#include <boost/beast/http.hpp>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

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

// A body produced in pieces after the head is sent (exports, whose bodies
// are not held whole in memory). Each call appends the next piece to out
// (bounded by the source) and returns true while more follow, false with
// the last piece; an error cuts the body short (the connection is closed,
// so the client sees an incomplete response, never a complete wrong one).
// Called on the connection's strand, one call at a time, never across an
// async wait: a source must not hold a store reader between calls.
using body_source = std::function<std::expected<bool, std::string>(std::string& out)>;

// Delivers the response for one request. May be called from any thread,
// exactly once: either with a whole response, or through stream() with a
// head and a body_source. A respond_fn made from a plain callable (tests)
// collects a streamed body and delivers it as one response.
class respond_fn {
 public:
  using whole_fn = std::function<void(response)>;
  using stream_fn = std::function<void(response, body_source)>;

  respond_fn() = default;
  template <class F>
    requires std::is_invocable_v<F&, response> &&
             (!std::is_same_v<std::remove_cvref_t<F>, respond_fn>)
  respond_fn(F&& f) : whole_(std::forward<F>(f)) {}
  respond_fn(whole_fn whole, stream_fn stream)
      : whole_(std::move(whole)), stream_(std::move(stream)) {}

  void operator()(response res) const { whole_(std::move(res)); }
  // head: status and header fields (its body is ignored; the transport
  // frames the body, chunked on HTTP/1.1).
  void stream(response head, body_source source) const;
  explicit operator bool() const { return static_cast<bool>(whole_); }

 private:
  whole_fn whole_;
  stream_fn stream_;
};

inline void respond_fn::stream(response head, body_source source) const {
  if (stream_) return stream_(std::move(head), std::move(source));
  std::string body;
  for (;;) {
    auto more = source(body);
    if (!more) {
      head.result(http::status::internal_server_error);
      body = more.error();
      break;
    }
    if (!*more) break;
  }
  head.body() = std::move(body);
  whole_(std::move(head));
}

// What the handler learnt from a request head (who is calling, where to),
// kept by the transport and handed back with the complete request. Defined
// by the handler; the transport only carries it.
struct head_context;

// The handler's judgement of a request head, made before any of the body is
// read.
struct head_verdict {
  // Set: the answer, given without reading the body. When the request
  // declared a body the transport closes the connection after it (the
  // unread body cannot be told from the next request), dropping what the
  // client still sends for a moment so that it can read the answer.
  std::optional<response> refusal;
  // Otherwise the largest body to accept: a larger declared Content-Length
  // is refused with 413 before the body is read, a longer chunked body as
  // soon as it passes the limit.
  std::uint64_t body_limit = 0;
  std::shared_ptr<head_context> context;  // for handle()
  // The name of the route the head matched (the metrics' route label),
  // static storage; empty when it matched none.
  std::string_view route;
};

// The meaning side of the server, implemented by the router.
class request_handler {
 public:
  virtual ~request_handler() = default;

  // Called when the request head has been read, before any of the body:
  // authenticates the caller and checks everything the head decides (the
  // endpoint, the method, the account's rights, the media types), so that
  // a request that will be refused never has its body read.
  virtual head_verdict judge_head(const request_header& header, const peer_info& peer) = 0;

  // Handles one complete request whose head judge_head() let through, with
  // the context it returned.
  virtual void handle(request req, const peer_info& peer, std::shared_ptr<head_context> context,
                      respond_fn respond) = 0;

  // A TAXII error response for transport-level refusals (400, 408, 413, 431,
  // 503), in the same format as every other error.
  virtual response transport_error(http::status status, const std::string& description,
                                   unsigned version) const = 0;
};

}  // namespace cairn::server
