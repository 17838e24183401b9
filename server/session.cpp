#include "server/session.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <string_view>

#include "server/tls.hpp"

namespace cairn::server {

namespace beast = boost::beast;
namespace asio = boost::asio;

namespace {

constexpr std::size_t k_read_chunk = 16 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Checks the raw bytes of a request head that Beast 1.74 would let through:
// NUL, bare CR or LF, obsolete line folding, white space before a colon.
std::optional<std::string> raw_head_problem(std::string_view head) {
  bool line_start = true;
  bool in_name = false;
  bool first_line = true;
  for (std::size_t i = 0; i < head.size(); ++i) {
    const char c = head[i];
    if (c == '\0') return "a NUL byte in the request head";
    if (c == '\r') {
      if (i + 1 >= head.size() || head[i + 1] != '\n') return "a bare CR in the request head";
      continue;
    }
    if (c == '\n') {
      if (i == 0 || head[i - 1] != '\r') return "a bare LF in the request head";
      line_start = true;
      first_line = false;
      in_name = false;
      continue;
    }
    if (line_start) {
      line_start = false;
      if (!first_line && (c == ' ' || c == '\t')) return "obsolete line folding in a header";
      in_name = !first_line;
    }
    if (in_name) {
      if (c == ':') {
        in_name = false;
      } else if (c == ' ' || c == '\t') {
        return "white space in a header name";
      }
    }
  }
  return std::nullopt;
}

// Refuses the framing forms that enable request smuggling (RFC 9112 6.1, 6.3).
std::optional<std::string> framing_problem(const request_header& h) {
  std::optional<std::string> content_length;
  int te_count = 0;
  std::string te;
  for (const auto& field : h) {
    const auto name =
        lower(std::string_view(field.name_string().data(), field.name_string().size()));
    const std::string_view value(field.value().data(), field.value().size());
    if (name == "content-length") {
      const auto v = std::string(trim(value));
      if (content_length && *content_length != v) return "conflicting Content-Length headers";
      if (v.empty() || v.size() > 18 ||
          !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return "a Content-Length that is not a decimal number";
      }
      content_length = v;
    } else if (name == "transfer-encoding") {
      ++te_count;
      if (!te.empty()) te += ',';
      te += lower(value);
    }
  }
  if (te_count == 0) return std::nullopt;
  if (content_length) return "both Content-Length and Transfer-Encoding";
  if (h.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  // The only coding accepted is a single "chunked".
  std::vector<std::string> codings;
  std::size_t start = 0;
  while (start <= te.size()) {
    auto comma = te.find(',', start);
    auto c = trim(
        std::string_view(te).substr(start, comma == std::string::npos ? te.npos : comma - start));
    if (!c.empty()) codings.emplace_back(c);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (codings.size() != 1 || codings[0] != "chunked") {
    return "a Transfer-Encoding other than a single 'chunked'";
  }
  return std::nullopt;
}

}  // namespace

session::session(asio::ip::tcp::socket&& socket, asio::ssl::context& tls, request_handler& handler,
                 session_limits limits, std::shared_ptr<session_registry> registry)
    : stream_(std::move(socket), tls),
      buffer_(limits.max_header_bytes + 64 * 1024),
      handler_(handler),
      limits_(limits),
      registry_(std::move(registry)) {
  beast::error_code ec;
  auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  if (!ec) peer_.remote_address = ep.address().to_string();
}

session::~session() {
  if (registry_) registry_->remove(this);
}

void session::run() {
  registry_->add(shared_from_this());
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    beast::get_lowest_layer(self->stream_).expires_after(self->limits_.handshake_timeout);
    self->stream_.async_handshake(asio::ssl::stream_base::server,
                                  [self](beast::error_code ec) { self->on_handshake(ec); });
  });
}

void session::stop() {
  stopping_ = true;
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_) self->shutdown();
  });
}

void session::on_handshake(beast::error_code ec) {
  if (ec) return;  // failed or timed out handshakes just end the connection
  peer_.cert_sha256 = peer_certificate_sha256(stream_.native_handle()).value_or("");
  wait_for_request();
}

void session::wait_for_request() {
  if (stopping_) return shutdown();
  busy_ = false;
  if (buffer_.size() > 0) {
    // Pipelined bytes already here: the request deadline starts now.
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
    busy_ = true;
    std::size_t end = 0;
    if (header_complete(end)) return on_bytes({}, 0, false);
  } else {
    beast::get_lowest_layer(stream_).expires_after(limits_.idle_timeout);
  }
  stream_.async_read_some(
      buffer_.prepare(k_read_chunk),
      [self = shared_from_this(), first = buffer_.size() == 0](
          beast::error_code ec, std::size_t n) { self->on_bytes(ec, n, first); });
}

bool session::header_complete(std::size_t& end) const {
  std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  auto crlf = data.find("\r\n\r\n");
  auto lf = data.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return false;
  end = std::min(crlf == std::string_view::npos ? data.npos : crlf + 4,
                 lf == std::string_view::npos ? data.npos : lf + 2);
  return true;
}

void session::on_bytes(beast::error_code ec, std::size_t n, bool first) {
  if (ec) {
    // Timed out while the client was sending a request: say so, then close.
    if (ec == beast::error::timeout && busy_) {
      return refuse(http::status::request_timeout, "the request was not complete in time");
    }
    return shutdown();
  }
  buffer_.commit(n);
  if (first) {
    busy_ = true;
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
  }
  std::size_t end = 0;
  if (!header_complete(end)) {
    if (buffer_.size() >= limits_.max_header_bytes) {
      return refuse(
          http::status::request_header_fields_too_large,
          "the request head is larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
    }
    const auto room = std::min(k_read_chunk, buffer_.max_size() - buffer_.size());
    return stream_.async_read_some(buffer_.prepare(room),
                                   [self = shared_from_this()](beast::error_code e, std::size_t m) {
                                     self->on_bytes(e, m, false);
                                   });
  }
  if (end > limits_.max_header_bytes) {
    return refuse(
        http::status::request_header_fields_too_large,
        "the request head is larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
  }
  std::string_view head(static_cast<const char*>(buffer_.data().data()), end);
  if (auto problem = raw_head_problem(head)) return refuse(http::status::bad_request, *problem);

  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  parser_->eager(false);
  // The whole head is buffered, so this completes without waiting on the peer.
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_header(e); });
}

void session::on_header(beast::error_code ec) {
  if (ec) {
    if (ec == beast::error::timeout) {
      return refuse(http::status::request_timeout, "the request was not complete in time");
    }
    return refuse(http::status::bad_request, "malformed request head: " + ec.message());
  }
  const auto& header = parser_->get().base();
  version_ = header.version();
  if (auto problem = framing_problem(header)) return refuse(http::status::bad_request, *problem);
  const std::uint64_t limit = handler_.body_limit(header);
  if (auto declared = parser_->content_length(); declared && *declared > limit) {
    return refuse(http::status::payload_too_large,
                  "the body (" + std::to_string(*declared) + " bytes) is larger than " +
                      std::to_string(limit) + " bytes, the largest this endpoint accepts");
  }
  parser_->body_limit(limit);
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
}

void session::on_body(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return refuse(http::status::payload_too_large, "the body is larger than this endpoint accepts");
  }
  if (ec == beast::error::timeout) {
    return refuse(http::status::request_timeout, "the request was not complete in time");
  }
  if (ec) return refuse(http::status::bad_request, "malformed request body: " + ec.message());

  request req = parser_->release();
  parser_.reset();
  const bool close = !req.keep_alive();
  handler_.handle(std::move(req), peer_, [self = shared_from_this(), close](response res) {
    // Responses may come from the storage writer thread.
    asio::post(self->stream_.get_executor(), [self, close, res = std::move(res)]() mutable {
      self->send(std::move(res), close);
    });
  });
}

void session::refuse(http::status status, const std::string& description) {
  busy_ = true;
  send(handler_.transport_error(status, description, version_), true);
}

void session::send(response res, bool close) {
  close = close || stopping_;
  res.keep_alive(!close);
  res.prepare_payload();
  pending_ = std::make_shared<response>(std::move(res));
  beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
  http::async_write(stream_, *pending_,
                    [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                      self->on_write(close, ec);
                    });
}

void session::on_write(bool close, beast::error_code ec) {
  pending_.reset();
  if (ec || close) return shutdown();
  wait_for_request();
}

void session::shutdown() {
  busy_ = true;  // nothing more is read from this connection
  if (closed_) return;
  closed_ = true;
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
  stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
    beast::error_code ignored;
    beast::get_lowest_layer(self->stream_)
        .socket()
        .shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(self->stream_).close();
  });
}

void session_registry::add(const std::shared_ptr<session>& s) {
  std::lock_guard lock(mutex_);
  sessions_.push_back(s);
}

void session_registry::remove(const session* s) {
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [s](const std::weak_ptr<session>& w) {
    auto p = w.lock();
    return !p || p.get() == s;
  });
}

void session_registry::stop_all() {
  std::vector<std::shared_ptr<session>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& w : sessions_) {
      if (auto p = w.lock()) live.push_back(std::move(p));
    }
  }
  for (auto& s : live) s->stop();
}

std::size_t session_registry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace cairn::server
