// The alert webhook of a real cairnd: an auth-failure burst's alert reaches
// an HTTPS receiver (its certificate verified against monitoring.webhook's
// cacert) with the bearer token of token_file and the alert as JSON, the
// same alert as the audit record and GET /cairn/v1/alerts.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "formats/json.hpp"
#include "server/transport/tls.hpp"
#include "support/temp_dir.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct received {
  std::string target, authorization, content_type, body;
};

// An HTTPS receiver on 127.0.0.1 with a self-signed certificate: records
// each request and answers 200.
class hook_receiver {
 public:
  hook_receiver() {
    REQUIRE(server::make_self_signed(dir_ / "hook.pem", dir_ / "hook.key"));
    server::tls_config tls;
    tls.cert = dir_ / "hook.pem";
    tls.key = dir_ / "hook.key";
    ctx_ = server::make_server_context(tls).value();
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~hook_receiver() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::filesystem::path cacert() const { return dir_ / "hook.pem"; }
  bool wait_for(std::size_t n, std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return got_.size() >= n; });
  }
  std::vector<received> got() {
    std::lock_guard lock(mutex_);
    return got_;
  }

 private:
  struct connection {
    connection(tcp::socket s, asio::ssl::context& ctx) : stream(std::move(s), ctx) {}
    beast::ssl_stream<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      auto c = std::make_shared<connection>(std::move(s), *ctx_);
      c->stream.async_handshake(asio::ssl::stream_base::server, [this, c](beast::error_code e) {
        if (e) return;
        http::async_read(c->stream, c->buffer, c->req, [this, c](beast::error_code r, std::size_t) {
          if (r) return;
          {
            std::lock_guard lock(mutex_);
            got_.push_back({std::string(c->req.target()),
                            std::string(c->req[http::field::authorization]),
                            std::string(c->req[http::field::content_type]), c->req.body()});
            changed_.notify_all();
          }
          c->res = http::response<http::string_body>(http::status::ok, 11);
          c->res.keep_alive(false);
          c->res.prepare_payload();
          http::async_write(c->stream, c->res, [c](beast::error_code, std::size_t) {
            c->stream.async_shutdown([c](beast::error_code) {});
          });
        });
      });
      accept();
    });
  }

  temp_dir dir_{"cairn-hook"};
  asio::io_context ioc_;
  std::shared_ptr<asio::ssl::context> ctx_;
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<received> got_;
};

clients::http_response get_as(const test_server& srv, const std::string& account,
                              const std::string& target, const std::string& password = {}) {
  auto o = srv.options(account);
  if (!password.empty()) {
    o.user = account;
    o.password = password;
    o.token.clear();
  }
  auto c = clients::taxii_client::make(o);
  REQUIRE(c);
  auto r = c->request("GET", target, {{"Accept", "application/taxii+json;version=2.1"}});
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace

TEST_CASE("webhook: a real cairnd POSTs its alerts to the receiver with the bearer token") {
  hook_receiver hook;
  temp_dir secrets("cairn-hook-token");
  { std::ofstream(secrets / "hook.token") << "hook-token-0123456789\n"; }
  auto setup = default_setup();
  formats::json_writer w;
  w.begin_object()
      .member("url", "https://127.0.0.1:" + std::to_string(hook.port()) + "/hooks/cairn")
      .member("cacert", hook.cacert().string())
      .member("token_file", (secrets / "hook.token").string())
      .end_object();
  setup.extra_json = R"(, "monitoring": {"webhook": )" + w.str() + "}";
  test_server srv(setup);
  const auto from = srv.log_text().size();
  for (int i = 0; i < 10; ++i) {
    const auto r = get_as(srv, "reader", "/taxii2/", "wrong-password-" + std::to_string(i));
    CHECK((r.status == 401 || r.status == 429));
  }
  // The counted failures are written within 5 s; then the alerts go out.
  REQUIRE(hook.wait_for(1, std::chrono::seconds(30)));
  const auto first = hook.got().front();
  CHECK(first.target == "/hooks/cairn");
  CHECK(first.authorization == "Bearer hook-token-0123456789");
  CHECK(first.content_type == "application/json");
  auto body = formats::parse_json(first.body);
  REQUIRE(body);
  CHECK(body->root().get("kind")->as_string() == "auth-failure-burst");
  CHECK(body->root().get("remote")->as_string() == "127.0.0.1");
  const auto seq = body->root().get("seq")->as_int();
  // The same alert, as the auditors see it.
  auto listed = get_as(srv, "auditor", "/cairn/v1/alerts?kind=auth-failure-burst");
  REQUIRE(listed.status == 200);
  auto alerts = formats::parse_json(listed.body).value();
  bool found = false;
  const auto list = *alerts.root().get("alerts");
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list.value_at(i).get("seq")->as_int() == seq) {
      found = true;
      CHECK(list.value_at(i).dump() == body->root().dump());
    }
  }
  CHECK(found);
  // The token never reaches the log.
  CHECK(srv.log_text().find("hook-token-0123456789", from) == std::string::npos);
}
