#include "server/transport/session.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <limits>
#include <string_view>

#include "server/transport/request_checks.hpp"
#include "server/transport/tls.hpp"

namespace cairn::server {

namespace beast = boost::beast;
namespace asio = boost::asio;

namespace {

constexpr std::size_t k_read_chunk = 16 * 1024;
// How long the unread rest of a refused request is drained (see shutdown()).
constexpr std::chrono::seconds k_linger{3};

}  // namespace

session::session(asio::ip::tcp::socket&& socket, asio::ssl::context& tls, request_handler& handler,
                 session_limits limits, std::shared_ptr<session_registry> registry,
                 std::string address_slot)
    : stream_(std::move(socket), tls),
      buffer_(limits.max_header_bytes + 64 * 1024),
      handler_(handler),
      limits_(limits),
      registry_(std::move(registry)),
      address_slot_(std::move(address_slot)) {
  beast::error_code ec;
  auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  if (!ec) peer_.remote_address = ep.address().to_string();
}

session::~session() {
  if (registry_) {
    registry_->remove(this);
    registry_->release(address_slot_);
  }
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
  if (auto* m = registry_->metrics()) m->tls_handshake(!ec);
  if (ec) return;  // failed or timed out handshakes just end the connection
  peer_.cert_sha256 = peer_certificate_sha256(stream_.native_handle()).value_or("");
  wait_for_request();
}

void session::wait_for_request() {
  if (stopping_) return shutdown();
  busy_ = false;
  head_request_ = false;
  if (buffer_.size() > 0) {
    // Pipelined bytes already here: the request deadline starts now.
    beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
    busy_ = true;
    started_ = std::chrono::steady_clock::now();
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
  auto found = find_head_end(
      std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
  if (!found) return false;
  end = *found;
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
    started_ = std::chrono::steady_clock::now();
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
  // The real limit depends on the endpoint and is applied once the head is
  // read (on_header); Beast's 1 MB default must not refuse a body first.
  // (Not boost::none: Beast 1.74 compares the length against the optional,
  // and every length is greater than none.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  parser_->eager(false);
  // The whole head is buffered, so it is parsed here: an asynchronous read
  // would complete at once, but through a trip round the scheduler.
  beast::error_code e;
  buffer_.consume(parser_->put(buffer_.data(), e));
  if (!e && !parser_->is_header_done()) e = http::error::need_more;  // not for a whole head
  on_header(e);
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
  head_request_ = header.method() == http::verb::head;
  method_ = header.method();
  if (auto problem = framing_problem(header)) return refuse(http::status::bad_request, *problem);
  // Authentication and the rights come first: a request that will be
  // refused has its body neither read nor buffered.
  auto verdict = handler_.judge_head(header, peer_);
  route_ = verdict.route;
  if (verdict.refusal) {
    // Without a body the connection stays in step and may carry the next
    // request; with one (unread) it cannot.
    const bool unread_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    const bool close = unread_body || !parser_->keep_alive();
    busy_ = true;
    linger_ = unread_body;
    parser_.reset();
    return send(std::move(*verdict.refusal), close);
  }
  context_ = std::move(verdict.context);
  const std::uint64_t limit = verdict.body_limit;
  if (auto declared = parser_->content_length(); declared && *declared > limit) {
    return refuse(http::status::payload_too_large,
                  "the body (" + std::to_string(*declared) + " bytes) is larger than " +
                      std::to_string(limit) + " bytes, the largest this endpoint accepts");
  }
  parser_->body_limit(limit);
  chunk_header_check_ = [](std::uint64_t, boost::beast::string_view extension,
                           beast::error_code& e) {
    if (chunk_extension_too_long({extension.data(), extension.size()})) {
      e = http::error::bad_chunk_extension;
    }
  };
  parser_->on_chunk_header(chunk_header_check_);
  // No body (most requests): nothing to wait for.
  if (parser_->is_done()) return on_body({});
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
  respond_fn respond(
      [self = shared_from_this(), close](response res) {
        // Responses may come from the storage writer thread: those are queued on
        // the connection's strand. A response made inside this handler (on the
        // strand already) is sent at once, without a trip through the scheduler
        // that may wake another thread.
        asio::dispatch(self->stream_.get_executor(), [self, close, res = std::move(res)]() mutable {
          self->send(std::move(res), close);
        });
      },
      [self = shared_from_this(), close](response head, body_source source) {
        asio::dispatch(self->stream_.get_executor(),
                       [self, close, head = std::move(head), source = std::move(source)]() mutable {
                         self->send_stream(std::move(head), std::move(source), close);
                       });
      });
  handler_.handle(std::move(req), peer_, std::move(context_), std::move(respond));
}

// A streamed response: the head, then each piece of the body as an HTTP/1.1
// chunk (HTTP/1.0: the raw bytes, ended by closing the connection). Each
// write has the response deadline; the source runs between writes, on the
// strand.
struct session::stream_state {
  http::response<http::empty_body> head;
  std::optional<http::response_serializer<http::empty_body>> serializer;
  body_source source;
  std::string piece;
  bool chunked = true;
  bool close = false;
  bool done = false;
};

void session::send_stream(response head, body_source source, bool close) {
  // Counted when its head goes out, as a whole response is when it does.
  count_request(head.result_int());
  close = close || stopping_ || version_ < 11;
  auto st = std::make_shared<stream_state>();
  st->chunked = version_ >= 11;
  st->close = close;
  st->source = std::move(source);
  st->head = http::response<http::empty_body>(std::move(head.base()));
  st->head.keep_alive(!close);
  if (st->chunked) st->head.chunked(true);
  st->serializer.emplace(st->head);
  beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
  http::async_write_header(stream_, *st->serializer,
                           [self = shared_from_this(), st](beast::error_code ec, std::size_t) {
                             if (ec) return self->on_write(true, ec);
                             if (self->head_request_) return self->on_write(st->close, ec);
                             self->stream_next(st);
                           });
}

void session::stream_next(std::shared_ptr<stream_state> st) {
  auto self = shared_from_this();
  if (st->done) {
    if (!st->chunked) return on_write(st->close, {});
    return asio::async_write(stream_, http::make_chunk_last(),
                             [self, st](beast::error_code ec, std::size_t) {
                               self->on_write(ec ? true : st->close, ec);
                             });
  }
  st->piece.clear();
  auto more = st->source(st->piece);
  if (!more) return shutdown();  // the body cannot be completed: cut it short
  st->done = !*more;
  if (st->piece.empty()) return stream_next(std::move(st));
  auto after = [self, st](beast::error_code ec, std::size_t) {
    if (ec) return self->on_write(true, ec);
    self->stream_next(st);
  };
  beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
  if (!st->chunked) return asio::async_write(stream_, asio::buffer(st->piece), std::move(after));
  asio::async_write(stream_, http::make_chunk(asio::buffer(st->piece)), std::move(after));
}

void session::refuse(http::status status, const std::string& description) {
  busy_ = true;
  linger_ = true;
  send(handler_.transport_error(status, description, version_), true);
}

void session::count_request(unsigned status) {
  if (auto* m = registry_->metrics()) {
    const auto name = http::to_string(method_);
    const std::string_view method =
        method_ == http::verb::unknown ? "other" : std::string_view(name.data(), name.size());
    m->request_done(route_, method, status, std::chrono::steady_clock::now() - started_);
  }
  route_ = {};
  method_ = http::verb::unknown;
}

void session::send(response res, bool close) {
  count_request(res.result_int());
  close = close || stopping_;
  res.keep_alive(!close);
  res.prepare_payload();
  if (head_request_) {
    // RFC 9110 9.3.2: the answer to HEAD has the header fields of the
    // answer to GET, and no body.
    res.body().clear();
  }
  pending_ = std::move(res);
  beast::get_lowest_layer(stream_).expires_after(limits_.request_timeout);
  http::async_write(stream_, pending_,
                    [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                      self->on_write(close, ec);
                    });
}

void session::on_write(bool close, beast::error_code ec) {
  // Its fields and body go now; the object stays for the next response.
  pending_ = {};
  if (ec || close) return shutdown();
  wait_for_request();
}

void session::shutdown() {
  busy_ = true;  // nothing more is read from this connection
  if (closed_) return;
  closed_ = true;
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
  stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
    auto& tcp = beast::get_lowest_layer(self->stream_);
    beast::error_code ignored;
    if (self->linger_) {
      // The client may still be sending the body of a refused request.
      // Closing with its bytes unread would reset the connection, and the
      // client, still writing, could lose the answer; so after our FIN its
      // bytes are read and dropped for a short, fixed time.
      tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      tcp.expires_after(k_linger);
      return self->drain(std::make_shared<std::array<char, 4096>>());
    }
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp.close();
  });
}

void session::drain(std::shared_ptr<std::array<char, 4096>> scratch) {
  beast::get_lowest_layer(stream_).async_read_some(
      asio::buffer(*scratch),
      [self = shared_from_this(), scratch](beast::error_code ec, std::size_t) {
        if (!ec) return self->drain(scratch);
        beast::get_lowest_layer(self->stream_).close();
      });
}

void session_registry::add(const std::shared_ptr<session>& s) {
  std::lock_guard lock(mutex_);
  sessions_.emplace_back(s.get(), s);
}

void session_registry::remove(const session* s) {
  // Called from ~session: no shared_ptr may be made here (see sessions_).
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [s](const auto& e) { return e.first == s || e.second.expired(); });
}

void session_registry::stop_all() {
  // The shared_ptrs are dropped after the lock is released: the last one of
  // a session runs ~session, which takes the lock.
  std::vector<std::shared_ptr<session>> live;
  stopping_ = true;
  {
    std::lock_guard lock(mutex_);
    for (auto& e : sessions_) {
      if (auto p = e.second.lock()) live.push_back(std::move(p));
    }
  }
  for (auto& s : live) s->stop();
}

std::size_t session_registry::connections() const {
  std::lock_guard lock(mutex_);
  return reserved_;
}

std::size_t session_registry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

bool session_registry::reserve(const std::string& key, std::size_t max_per_key,
                               std::size_t max_total) {
  std::lock_guard lock(mutex_);
  if (reserved_ >= max_total) return false;
  auto it = per_address_.try_emplace(key, 0).first;
  if (it->second >= max_per_key) return false;
  ++it->second;
  ++reserved_;
  return true;
}

void session_registry::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(key);
  if (it == per_address_.end()) return;
  --reserved_;
  if (--it->second == 0) per_address_.erase(it);
}

}  // namespace cairn::server
