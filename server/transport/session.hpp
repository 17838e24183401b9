#pragma once
// One TLS connection: handshake, then HTTP/1.1 requests one at a time
// (keep-alive), each handed to the request_handler. Runs on its own strand.
//
// Deadlines are absolute per phase, never extended by trickled bytes: the
// handshake, the wait for the first byte of a request (idle), the whole
// request (header and body), and the write of the response.

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/metrics/server_metrics.hpp"
#include "server/transport/http.hpp"

namespace cairn::server {

struct session_limits {
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds request_timeout{30};
  std::size_t max_header_bytes = 16 * 1024;
};

class session_registry;

class session : public std::enable_shared_from_this<session> {
 public:
  // address_slot: the key of the registry's per-address count that this
  // session holds (reserved by the listener), given back when it ends.
  session(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context& tls,
          request_handler& handler, session_limits limits,
          std::shared_ptr<session_registry> registry, std::string address_slot);
  ~session();

  void run();
  // Asks the session to finish: an idle connection closes now, a busy one
  // after its current response. Thread-safe.
  void stop();

 private:
  void on_handshake(boost::beast::error_code ec);
  void wait_for_request();
  void on_bytes(boost::beast::error_code ec, std::size_t n, bool first);
  bool header_complete(std::size_t& end) const;
  void on_header(boost::beast::error_code ec);
  void on_body(boost::beast::error_code ec);
  // Counts the request being answered in the metrics, with this status.
  void count_request(unsigned status);
  void send(response res, bool close);
  struct stream_state;
  void send_stream(response head, body_source source, bool close);
  void stream_next(std::shared_ptr<stream_state> st);
  void on_write(bool close, boost::beast::error_code ec);
  void refuse(http::status status, const std::string& description);
  void shutdown();
  void drain(std::shared_ptr<std::array<char, 4096>> scratch);

  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // Refuses over-long chunk extensions; the parser keeps a reference to it.
  std::function<void(std::uint64_t, boost::beast::string_view, boost::beast::error_code&)>
      chunk_header_check_;
  request_handler& handler_;
  session_limits limits_;
  std::shared_ptr<session_registry> registry_;
  std::string address_slot_;
  peer_info peer_;
  response pending_;                       // being written
  std::shared_ptr<head_context> context_;  // of the request being read
  unsigned version_ = 11;
  bool head_request_ = false;  // the request being answered is a HEAD
  bool busy_ = false;
  bool closed_ = false;
  bool linger_ = false;  // a refused request may have left bytes unread
  std::atomic<bool> stopping_{false};
  // The request being answered, for the metrics.
  std::chrono::steady_clock::time_point started_{};
  std::string_view route_;
  http::verb method_ = http::verb::unknown;
};

// Tracks live sessions so that shutdown can reach them, and counts live
// connections per address.
class session_registry {
 public:
  void add(const std::shared_ptr<session>& s);
  void remove(const session* s);
  void stop_all();
  std::size_t size() const;

  // Counts one more connection under key unless max_per_key are counted
  // under it already or max_total in all.
  bool reserve(const std::string& key, std::size_t max_per_key, std::size_t max_total);
  // Gives back one reserve()d count.
  void release(const std::string& key);
  // True once stop_all() was called: no new session should start.
  bool stopping() const { return stopping_; }
  // Live connections: reserved, with or without a session yet.
  std::size_t connections() const;

  // Where sessions report requests and handshakes (null: nowhere). Set
  // before the first session starts.
  void set_metrics(server_metrics* m) { metrics_ = m; }
  server_metrics* metrics() const { return metrics_; }

 private:
  // Each session by its address (to remove it without locking its
  // weak_ptr: a shared_ptr made and dropped under mutex_ may be the last
  // one, and its ~session would call remove() on this very mutex).
  mutable std::mutex mutex_;
  std::vector<std::pair<const session*, std::weak_ptr<session>>> sessions_;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::size_t reserved_ = 0;  // the sum of per_address_
  std::atomic<bool> stopping_{false};
  server_metrics* metrics_ = nullptr;
};

}  // namespace cairn::server
