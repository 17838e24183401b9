#pragma once
// Accepts TCP connections and starts a session for each, up to a maximum
// number of live connections, and of live connections from one address
// (IPv6: one /64, transport/address.hpp), so that one client cannot take
// them all. Beyond either, a new connection is closed at once. A connection
// counts from its accept until its session ends. No TLS state is made for it
// before its first byte arrives, and that byte must start a TLS handshake
// record; one that sends nothing, or never completes its handshake, is
// closed at handshake_timeout (counted from the accept).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>

#include "formats/error.hpp"
#include "server/transport/session.hpp"

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
  // Live connections, those still waiting for their first byte included.
  std::size_t live_connections() const { return registry_->connections(); }
  // Where sessions report requests and TLS handshakes (null: nowhere); m
  // must outlive the sessions. Before start().
  void set_metrics(server_metrics* m) { registry_->set_metrics(m); }
  // Applied to sessions accepted from now on.
  void set_limits(session_limits limits, std::size_t max_connections,
                  std::size_t max_connections_per_address);

 private:
  listener(boost::asio::io_context& io, boost::asio::ssl::context& tls, request_handler& handler);
  void do_accept();
  // Holds a new connection without TLS state until its first byte arrives
  // (or handshake_timeout passes), then starts its session; its count under
  // key passes to the session.
  void await_first_byte(boost::asio::ip::tcp::socket socket, std::string key,
                        session_limits limits);

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
