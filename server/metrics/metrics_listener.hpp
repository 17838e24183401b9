#pragma once
// The metrics listener (config key metrics.listen): plain HTTP/1.1 for a
// Prometheus server on a private network, apart from the TLS listener.
//
// Answers GET (and HEAD) /metrics with registry::expose(); another path is
// 404, another method on /metrics 405. It takes no credentials and so holds
// nothing secret (see server_metrics.hpp). Its own limits keep it from
// becoming a way in: at most max_connections at once (more are closed at
// accept), a request head of at most max_header_bytes and no body, each
// request (the keep-alive wait for it included) and each response within
// request_timeout.
//
// Runs on the io_context it is given (the daemon's threads); start() and
// stop() from any thread.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>

#include "formats/error.hpp"
#include "server/metrics/registry.hpp"

namespace cairn::server {

struct metrics_listener_limits {
  std::size_t max_connections = 16;
  std::size_t max_header_bytes = 8 * 1024;
  std::chrono::seconds request_timeout{30};
};

class metrics_listener : public std::enable_shared_from_this<metrics_listener> {
 public:
  // Binds and listens; port 0 picks a free port (see port()). reg must
  // outlive the listener and every connection it starts.
  static result<std::shared_ptr<metrics_listener>> open(
      boost::asio::io_context& io, const registry& reg,
      const boost::asio::ip::tcp::endpoint& endpoint, metrics_listener_limits limits = {});

  void start();
  // Stops accepting and closes the connections.
  void stop();

  unsigned short port() const;
  std::size_t live_connections() const { return live_->load(); }

 private:
  metrics_listener(boost::asio::io_context& io, const registry& reg,
                   metrics_listener_limits limits);
  void do_accept();

  boost::asio::io_context& io_;
  const registry& registry_;
  metrics_listener_limits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Shared with the connections, which may outlive the listener briefly.
  std::shared_ptr<std::atomic<std::size_t>> live_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cairn::server
