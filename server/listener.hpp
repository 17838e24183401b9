#pragma once
// Accepts TCP connections and starts a session for each, up to a maximum
// number of live connections, and of live connections from one address
// (IPv6: one /64, throttle.hpp address_key), so that one client cannot take
// them all. Beyond either, a new connection is closed at once, before any
// TLS state is made for it. A connection counts until its session ends; one
// that never completes its handshake ends at handshake_timeout.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>

#include "formats/error.hpp"
#include "server/session.hpp"

namespace cairn::server {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens; port 0 picks a free port (see port()).
  static result<std::shared_ptr<listener>> open(boost::asio::io_context& io,
                                                boost::asio::ssl::context& tls,
                                                request_handler& handler,
                                                const boost::asio::ip::tcp::endpoint& endpoint);

  void start();
  // Stops accepting; live sessions are asked to finish.
  void stop();

  unsigned short port() const;
  std::size_t live_sessions() const { return registry_->size(); }
  // Applied to sessions accepted from now on.
  void set_limits(session_limits limits, std::size_t max_connections,
                  std::size_t max_connections_per_address);

 private:
  listener(boost::asio::io_context& io, boost::asio::ssl::context& tls, request_handler& handler);
  void do_accept();

  boost::asio::io_context& io_;
  boost::asio::ssl::context& tls_;
  request_handler& handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<session_registry> registry_ = std::make_shared<session_registry>();
  std::mutex limits_mutex_;
  session_limits limits_;
  std::size_t max_connections_ = 4096;
  std::size_t max_connections_per_address_ = 256;
};

}  // namespace cairn::server
