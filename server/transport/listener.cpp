#include "server/transport/listener.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>

#include "server/transport/address.hpp"

namespace cairn::server {

namespace asio = boost::asio;

namespace {

// A connection that has not sent a byte yet: its socket and a timer, no TLS
// state (a session costs about 90 KB from the start of its handshake).
struct waiting_connection {
  explicit waiting_connection(asio::ip::tcp::socket&& s)
      : socket(std::move(s)), timer(socket.get_executor()) {}
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
};

}  // namespace

listener::listener(asio::io_context& io, asio::ssl::context& tls, request_handler& handler)
    : io_(io), tls_(tls), handler_(handler), acceptor_(asio::make_strand(io)) {}

result<std::shared_ptr<listener>> listener::open(asio::io_context& io, asio::ssl::context& tls,
                                                 request_handler& handler,
                                                 const asio::ip::tcp::endpoint& endpoint) {
  std::shared_ptr<listener> l(new listener(io, tls, handler));
  boost::system::error_code ec;
  l->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) l->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l->acceptor_.bind(endpoint, ec);
  if (!ec) l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail("cannot listen on " + endpoint.address().to_string() + ":" +
                std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return l;
}

void listener::start() {
  do_accept();
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
  registry_->stop_all();
}

unsigned short listener::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void listener::set_limits(session_limits limits, std::size_t max_connections,
                          std::size_t max_connections_per_address) {
  std::lock_guard lock(limits_mutex_);
  limits_ = limits;
  max_connections_ = max_connections;
  max_connections_per_address_ = max_connections_per_address;
}

void listener::do_accept() {
  acceptor_.async_accept(
      asio::make_strand(io_),
      [self = shared_from_this()](boost::system::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (!ec) {
          session_limits limits;
          std::size_t max_connections;
          std::size_t per_address;
          {
            std::lock_guard lock(self->limits_mutex_);
            limits = self->limits_;
            max_connections = self->max_connections_;
            per_address = self->max_connections_per_address_;
          }
          boost::system::error_code peer_ec;
          const auto peer = socket.remote_endpoint(peer_ec);
          // A socket whose peer is already gone has no address to count.
          std::string key = peer_ec ? std::string() : address_key(peer.address().to_string());
          if (peer_ec || !self->registry_->reserve(key, per_address, max_connections)) {
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            self->await_first_byte(std::move(socket), std::move(key), limits);
          }
        }
        self->do_accept();
      });
}

void listener::await_first_byte(asio::ip::tcp::socket socket, std::string key,
                                session_limits limits) {
  // The handshake deadline runs from the accept: waiting for the first byte
  // is part of it.
  const auto deadline = std::chrono::steady_clock::now() + limits.handshake_timeout;
  auto w = std::make_shared<waiting_connection>(std::move(socket));
  w->timer.expires_at(deadline);
  // Both handlers run on the socket's strand.
  w->timer.async_wait([w](boost::system::error_code ec) {
    boost::system::error_code ignored;
    if (!ec) w->socket.close(ignored);  // ends the wait below
  });
  w->socket.async_wait(asio::ip::tcp::socket::wait_read, [self = shared_from_this(), w,
                                                          key = std::move(key), limits, deadline](
                                                             boost::system::error_code ec) mutable {
    w->timer.cancel();
    boost::system::error_code peek_ec;
    unsigned char first = 0;
    if (!ec && !self->registry_->stopping()) {
      const auto n =
          w->socket.receive(asio::buffer(&first, 1), asio::ip::tcp::socket::message_peek, peek_ec);
      // A TLS client starts with a handshake record (content type 22).
      if (!peek_ec && n == 1 && first == 22) {
        const auto left =
            std::chrono::ceil<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
        limits.handshake_timeout = std::max(left, std::chrono::seconds(1));
        w->socket.set_option(asio::ip::tcp::no_delay(true), peek_ec);
        std::make_shared<session>(std::move(w->socket), self->tls_, self->handler_, limits,
                                  self->registry_, std::move(key))
            ->run();
        return;
      }
    }
    boost::system::error_code ignored;
    w->socket.close(ignored);
    self->registry_->release(key);
  });
}

}  // namespace cairn::server
