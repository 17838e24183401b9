#include "server/metrics/metrics_listener.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <string>

namespace cairn::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// One connection from a scraper: requests one at a time, keep-alive.
class metrics_connection : public std::enable_shared_from_this<metrics_connection> {
 public:
  metrics_connection(asio::ip::tcp::socket&& socket, const registry& reg,
                     metrics_listener_limits limits, std::shared_ptr<std::atomic<std::size_t>> live,
                     std::shared_ptr<std::atomic<bool>> stopping)
      : stream_(std::move(socket)),
        registry_(reg),
        limits_(limits),
        live_(std::move(live)),
        stopping_(std::move(stopping)) {}
  ~metrics_connection() { live_->fetch_sub(1); }

  void run() { read_request(); }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(0);
    buffer_.max_size(limits_.max_header_bytes + 1024);
    stream_.expires_after(limits_.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return answer(http::status::request_header_fields_too_large, "request head too large\n", 11,
                    false);
    }
    if (ec) return answer(http::status::bad_request, "bad request\n", 11, false);
    const auto& req = parser_->get();
    const unsigned version = req.version();
    const std::string_view target(req.target().data(), req.target().size());
    const auto path = target.substr(0, target.find('?'));
    if (path != "/metrics") {
      return answer(http::status::not_found, "only /metrics is served here\n", version,
                    req.keep_alive());
    }
    if (req.method() != http::verb::get) {
      return answer(http::status::method_not_allowed, "/metrics allows GET\n", version,
                    req.keep_alive());
    }
    res_ = {http::status::ok, version};
    res_.set(http::field::content_type, std::string(registry::content_type));
    res_.body() = registry_.expose();
    send(req.keep_alive());
  }

  void answer(http::status status, std::string_view text, unsigned version, bool keep_alive) {
    res_ = {status, version};
    res_.set(http::field::content_type, "text/plain; charset=utf-8");
    if (status == http::status::method_not_allowed) res_.set(http::field::allow, "GET");
    res_.body() = std::string(text);
    send(keep_alive);
  }

  void send(bool keep_alive) {
    keep_alive = keep_alive && !stopping_->load();
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    stream_.expires_after(limits_.request_timeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->read_request();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const registry& registry_;
  metrics_listener_limits limits_;
  std::shared_ptr<std::atomic<std::size_t>> live_;
  std::shared_ptr<std::atomic<bool>> stopping_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> res_;
};

}  // namespace

metrics_listener::metrics_listener(asio::io_context& io, const registry& reg,
                                   metrics_listener_limits limits)
    : io_(io), registry_(reg), limits_(limits), acceptor_(asio::make_strand(io)) {}

result<std::shared_ptr<metrics_listener>> metrics_listener::open(
    asio::io_context& io, const registry& reg, const asio::ip::tcp::endpoint& endpoint,
    metrics_listener_limits limits) {
  std::shared_ptr<metrics_listener> l(new metrics_listener(io, reg, limits));
  boost::system::error_code ec;
  l->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) l->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l->acceptor_.bind(endpoint, ec);
  if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail("cannot listen for metrics on " + endpoint.address().to_string() + ":" +
                std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return l;
}

void metrics_listener::start() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void metrics_listener::stop() {
  stopping_->store(true);
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

unsigned short metrics_listener::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void metrics_listener::do_accept() {
  acceptor_.async_accept(
      asio::make_strand(io_),
      [self = shared_from_this()](boost::system::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (!ec) {
          if (self->live_->fetch_add(1) >= self->limits_.max_connections) {
            self->live_->fetch_sub(1);
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            std::make_shared<metrics_connection>(std::move(socket), self->registry_, self->limits_,
                                                 self->live_, self->stopping_)
                ->run();
          }
        }
        self->do_accept();
      });
}

}  // namespace cairn::server
