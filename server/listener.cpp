#include "server/listener.hpp"

#include <boost/asio/strand.hpp>

#include "server/throttle.hpp"

namespace cairn::server {

namespace asio = boost::asio;

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
          if (peer_ec || self->registry_->size() >= max_connections ||
              !self->registry_->reserve(key, per_address)) {
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            socket.set_option(asio::ip::tcp::no_delay(true), ec);
            std::make_shared<session>(std::move(socket), self->tls_, self->handler_, limits,
                                      self->registry_, std::move(key))
                ->run();
          }
        }
        self->do_accept();
      });
}

}  // namespace cairn::server
