// server/metrics/metrics_listener.hpp: GET /metrics over plain HTTP, and the
// listener's refusals and limits, against a real socket on 127.0.0.1.

#include "server/metrics/metrics_listener.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "server/metrics/registry.hpp"

namespace cairn::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A listener on a free port, served by a thread of its own.
struct running_listener {
  explicit running_listener(metrics_listener_limits limits = {}) {
    reg.add_counter("test_requests_total", "Requests.").inc(7);
    auto l = metrics_listener::open(io, reg, {asio::ip::make_address("127.0.0.1"), 0}, limits);
    REQUIRE(l);
    listener = *l;
    listener->start();
    thread = std::thread([this] { io.run(); });
  }
  ~running_listener() {
    listener->stop();
    io.stop();
    thread.join();
  }

  tcp::socket connect() {
    tcp::socket s(client_io);
    s.connect({asio::ip::make_address("127.0.0.1"), listener->port()});
    return s;
  }

  registry reg;
  asio::io_context io;
  asio::io_context client_io;
  std::shared_ptr<metrics_listener> listener;
  std::thread thread;
};

http::response<http::string_body> exchange(tcp::socket& s, http::verb method,
                                           const std::string& target) {
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return res;
}

TEST_CASE("metrics listener: GET /metrics answers the exposition", "[metrics]") {
  running_listener l;
  auto s = l.connect();
  auto res = exchange(s, http::verb::get, "/metrics");
  CHECK(res.result() == http::status::ok);
  CHECK(res[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(res.body() == l.reg.expose());
  CHECK(res.body().find("test_requests_total 7\n") != std::string::npos);
  // Keep-alive: a second scrape on the same connection, query ignored.
  auto again = exchange(s, http::verb::get, "/metrics?x=1");
  CHECK(again.result() == http::status::ok);
}

TEST_CASE("metrics listener: other paths are 404, other methods 405", "[metrics]") {
  running_listener l;
  auto s = l.connect();
  CHECK(exchange(s, http::verb::get, "/").result() == http::status::not_found);
  CHECK(exchange(s, http::verb::get, "/metrics/x").result() == http::status::not_found);
  CHECK(exchange(s, http::verb::get, "/taxii2/").result() == http::status::not_found);
  auto post = exchange(s, http::verb::post, "/metrics");
  CHECK(post.result() == http::status::method_not_allowed);
  CHECK(post[http::field::allow] == "GET");
  CHECK(exchange(s, http::verb::delete_, "/metrics").result() == http::status::method_not_allowed);
}

TEST_CASE("metrics listener: an over-long head is refused, a body too", "[metrics]") {
  metrics_listener_limits limits;
  limits.max_header_bytes = 1024;
  running_listener l(limits);
  {
    auto s = l.connect();
    http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
    req.set("X-Padding", std::string(4096, 'a'));
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    CHECK(res.result() == http::status::request_header_fields_too_large);
  }
  {
    auto s = l.connect();
    http::request<http::string_body> req{http::verb::get, "/metrics", 11};
    req.body() = "something";
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    CHECK(res.result() == http::status::bad_request);
  }
}

TEST_CASE("metrics listener: connections beyond the limit are closed at once", "[metrics]") {
  metrics_listener_limits limits;
  limits.max_connections = 2;
  running_listener l(limits);
  auto a = l.connect();
  auto b = l.connect();
  // Both are served (and so counted) before the third arrives.
  CHECK(exchange(a, http::verb::get, "/metrics").result() == http::status::ok);
  CHECK(exchange(b, http::verb::get, "/metrics").result() == http::status::ok);
  auto c = l.connect();
  char byte = 0;
  beast::error_code ec;
  c.read_some(asio::buffer(&byte, 1), ec);
  CHECK((ec == asio::error::eof || ec == asio::error::connection_reset));
  // Once one goes, a new connection is served again.
  a.close();
  for (int i = 0; i < 200 && l.listener->live_connections() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto d = l.connect();
  CHECK(exchange(d, http::verb::get, "/metrics").result() == http::status::ok);
}

TEST_CASE("metrics listener: a silent connection is closed at the request timeout", "[metrics]") {
  metrics_listener_limits limits;
  limits.request_timeout = std::chrono::seconds(1);
  running_listener l(limits);
  auto s = l.connect();
  char byte = 0;
  beast::error_code ec;
  // Blocks until the server closes (after about a second), never forever:
  // ctest's timeout would catch a listener that kept it open.
  s.read_some(asio::buffer(&byte, 1), ec);
  CHECK(ec == asio::error::eof);
}

}  // namespace
}  // namespace cairn::server
