// The alert webhook against a real TLS receiver on 127.0.0.1 (a Beast server
// in the test with certificates from the test PKI).
#include "server/monitor/webhook.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <thread>

#include "test_support.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace cairn::server;
using namespace cairn::server::test;
using namespace std::chrono_literals;

namespace {

// An ostream whose text other threads may write while the test reads it.
class shared_log {
 public:
  shared_log() : stream_(&buf_) {}
  std::ostream& stream() { return stream_; }
  std::string text() const {
    std::lock_guard lock(buf_.mutex);
    return buf_.text;
  }
  // Waits (bounded) until the text holds needle.
  bool wait_for(std::string_view needle, std::chrono::seconds limit = 30s) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (text().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

 private:
  struct locked_buf : std::streambuf {
    mutable std::mutex mutex;
    std::string text;
    int_type overflow(int_type c) override {
      if (c != traits_type::eof()) {
        std::lock_guard lock(mutex);
        text.push_back(static_cast<char>(c));
      }
      return c;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
      std::lock_guard lock(mutex);
      text.append(s, static_cast<std::size_t>(n));
      return n;
    }
  };
  locked_buf buf_;
  std::ostream stream_;
};

struct recorded_request {
  std::string method, target, authorization, content_type, body;
};

// A TLS receiver on 127.0.0.1: answers each POST with the next status of
// `statuses` (200 when none is left), or holds it unanswered in hang mode.
class receiver {
 public:
  receiver(const issued_certificate& cert, std::uint16_t port = 0) {
    write_certificate_files(cert, dir_ / "cert.pem", dir_ / "key.pem").value();
    tls_config tls;
    tls.cert = dir_ / "cert.pem";
    tls.key = dir_ / "key.pem";
    ctx_ = make_server_context(tls).value();
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), port});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~receiver() {
    ioc_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  void answer(std::deque<unsigned> statuses) {
    std::lock_guard lock(mutex_);
    statuses_ = std::move(statuses);
  }
  void hang() {
    std::lock_guard lock(mutex_);
    hang_ = true;
  }
  void answer_with_body(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
  }
  std::vector<recorded_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  bool wait_for_requests(std::size_t n, std::chrono::seconds limit = 30s) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return requests_.size() >= n; });
  }

 private:
  using stream_type = beast::ssl_stream<beast::tcp_stream>;
  struct connection {
    explicit connection(tcp::socket s, asio::ssl::context& ctx) : stream(std::move(s), ctx) {}
    stream_type stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      {
        std::lock_guard lock(mutex_);
        ++connections_;
      }
      auto c = std::make_shared<connection>(std::move(s), *ctx_);
      c->stream.async_handshake(asio::ssl::stream_base::server, [this, c](beast::error_code e) {
        if (!e) read(c);
      });
      accept();
    });
  }

  void read(const std::shared_ptr<connection>& c) {
    http::async_read(c->stream, c->buffer, c->req, [this, c](beast::error_code e, std::size_t) {
      if (e) return;
      unsigned status = 200;
      bool hang = false;
      std::string body;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back({std::string(c->req.method_string()), std::string(c->req.target()),
                             std::string(c->req[http::field::authorization]),
                             std::string(c->req[http::field::content_type]), c->req.body()});
        hang = hang_;
        body = body_;
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
        changed_.notify_all();
        if (hang) held_.push_back(c);  // never answered, kept open
      }
      if (hang) return;
      c->res = http::response<http::string_body>(static_cast<http::status>(status), 11);
      c->res.body() = std::move(body);
      c->res.keep_alive(false);
      c->res.prepare_payload();
      http::async_write(c->stream, c->res, [c](beast::error_code, std::size_t) {
        c->stream.async_shutdown([c](beast::error_code) {});
      });
    });
  }

  temp_dir dir_{"cairn-webhook"};
  asio::io_context ioc_;
  std::shared_ptr<asio::ssl::context> ctx_;
  tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<unsigned> statuses_;
  bool hang_ = false;
  std::string body_ = "{}";
  std::size_t connections_ = 0;
  std::vector<recorded_request> requests_;
  std::vector<std::shared_ptr<connection>> held_;
};

alert sample(std::uint64_t seq, std::string kind = "auth-failure-burst") {
  alert a;
  a.seq = seq;
  a.time = "2026-12-03T10:00:00.000000Z";
  a.kind = std::move(kind);
  a.account = "partner-a";
  a.remote = "192.0.2.7";
  a.detail = "10 failed authentications in 60 s";
  a.evidence = {seq - 2, seq - 1};
  return a;
}

// Short waits so that retries happen within a test.
webhook_tuning quick() {
  webhook_tuning t;
  t.first_backoff = 20ms;
  t.max_backoff = 200ms;
  t.io_timeout = 5000ms;
  t.shutdown_grace = 2000ms;
  return t;
}

struct pki {
  temp_dir dir{"cairn-webhook-pki"};
  issued_certificate ca = make_ca("webhook test CA");
  issued_certificate leaf = make_leaf(ca, "receiver", false, true);
  std::filesystem::path cacert = dir / "ca.pem";
  pki() { write_text(cacert, ca.cert_pem()); }
};

webhook_settings settings_for(const pki& p, std::uint16_t port, std::string path = "/hooks/cairn") {
  webhook_settings s;
  s.url = "https://127.0.0.1:" + std::to_string(port) + path;
  s.cacert = p.cacert;
  s.token = "s3cret-hook-token";
  return s;
}

}  // namespace

TEST_CASE("webhook url: https only, host, port and target", "[webhook]") {
  auto u = parse_webhook_url("https://siem.example.org/hooks/cairn?src=x");
  REQUIRE(u);
  CHECK(u->host == "siem.example.org");
  CHECK(u->port == 443);
  CHECK(u->target == "/hooks/cairn?src=x");
  CHECK_FALSE(u->host_is_ip);

  u = parse_webhook_url("HTTPS://127.0.0.1:8443");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8443);
  CHECK(u->target == "/");
  CHECK(u->host_is_ip);

  u = parse_webhook_url("https://[::1]:9000/x#frag");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 9000);
  CHECK(u->target == "/x");
  CHECK(u->host_is_ip);

  CHECK_FALSE(parse_webhook_url("http://siem.example.org/"));
  CHECK_FALSE(parse_webhook_url("https://"));
  CHECK_FALSE(parse_webhook_url("https://user:pw@siem.example.org/"));
  CHECK_FALSE(parse_webhook_url("https://siem.example.org:0/"));
  CHECK_FALSE(parse_webhook_url("https://siem.example.org:65536/"));
  CHECK_FALSE(parse_webhook_url("https://siem.example.org:/"));
  CHECK_FALSE(parse_webhook_url("https://siem.example.org/a b"));
  CHECK_FALSE(parse_webhook_url("https://[::1/"));
}

TEST_CASE("webhook token file: first line, never echoed in errors", "[webhook]") {
  temp_dir dir("cairn-webhook-token");
  write_text(dir / "ok", "tok-123\r\nsecond line\n");
  auto t = read_webhook_token(dir / "ok");
  REQUIRE(t);
  CHECK(*t == "tok-123");

  write_text(dir / "empty", "\n");
  CHECK_FALSE(read_webhook_token(dir / "empty"));
  CHECK_FALSE(read_webhook_token(dir / "missing"));

  auto made = make_webhook_settings("https://siem.example.org/h", dir / "ca.pem", dir / "ok");
  REQUIRE(made);
  CHECK(made->token == "tok-123");
  CHECK(made->cacert == dir / "ca.pem");
  CHECK_FALSE(make_webhook_settings("https://siem.example.org/h", {}, dir / "missing"));
  CHECK_FALSE(make_webhook_settings("ftp://siem.example.org/h", {}, dir / "ok"));
  made = make_webhook_settings("https://siem.example.org/h", {}, {});
  REQUIRE(made);
  CHECK(made->token.empty());

  write_text(dir / "spaced", "tok with spaces\n");
  auto bad = read_webhook_token(dir / "spaced");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("tok with") == std::string::npos);
}

TEST_CASE("webhook: alerts are POSTed in order with the bearer token and JSON body", "[webhook]") {
  pki p;
  receiver r(p.leaf);
  shared_log log_text;
  logger log(log_text.stream());
  auto sink = webhook_sink::start(settings_for(p, r.port(), "/hooks/cairn?src=test"), log, quick());
  REQUIRE(sink);
  const alert a1 = sample(41), a2 = sample(52, "volume"), a3 = sample(63, "new-address");
  (*sink)->on_alert(a1);
  (*sink)->on_alert(a2);
  (*sink)->on_alert(a3);
  REQUIRE(r.wait_for_requests(3));
  (*sink)->stop();
  const auto got = r.requests();
  REQUIRE(got.size() == 3);
  const alert* sent[] = {&a1, &a2, &a3};
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(got[i].method == "POST");
    CHECK(got[i].target == "/hooks/cairn?src=test");
    CHECK(got[i].authorization == "Bearer s3cret-hook-token");
    CHECK(got[i].content_type == "application/json");
    CHECK(got[i].body == alert_json(*sent[i]));
  }
  CHECK(got[1].body.find("\"kind\":\"volume\"") != std::string::npos);
  CHECK((*sink)->delivered() == 3);
  CHECK((*sink)->dropped() == 0);
  CHECK(log_text.text().find("s3cret-hook-token") == std::string::npos);
}

TEST_CASE("webhook: receiver down, then up: delivered after retries", "[webhook]") {
  pki p;
  std::uint16_t port = 0;
  {
    receiver probe(p.leaf);  // a free port, closed again: nothing listens there now
    port = probe.port();
  }
  shared_log log_text;
  logger log(log_text.stream());
  auto sink = webhook_sink::start(settings_for(p, port), log, quick());
  REQUIRE(sink);
  const alert a = sample(7);
  (*sink)->on_alert(a);
  // At least two failed attempts while nothing listens.
  REQUIRE(log_text.wait_for("\"attempts\":2"));
  CHECK((*sink)->delivered() == 0);
  CHECK((*sink)->dropped() == 0);

  receiver r(p.leaf, port);
  REQUIRE(r.wait_for_requests(1));
  (*sink)->stop();
  REQUIRE(r.requests().size() == 1);
  CHECK(r.requests()[0].body == alert_json(a));
  CHECK((*sink)->delivered() == 1);
  CHECK((*sink)->dropped() == 0);
  CHECK(log_text.text().find("webhook delivery failed") != std::string::npos);
  CHECK(log_text.text().find("webhook receiver reachable again") != std::string::npos);
}

TEST_CASE("webhook: the status decides, a large answer body is not read nor sent again",
          "[webhook]") {
  pki p;
  receiver r(p.leaf);
  r.answer_with_body(std::string(1 << 20, 'x'));
  shared_log log_text;
  logger log(log_text.stream());
  auto sink = webhook_sink::start(settings_for(p, r.port()), log, quick());
  REQUIRE(sink);
  (*sink)->on_alert(sample(3));
  (*sink)->on_alert(sample(4));
  REQUIRE(r.wait_for_requests(2));
  (*sink)->stop();
  CHECK(r.requests().size() == 2);
  CHECK((*sink)->delivered() == 2);
  CHECK((*sink)->dropped() == 0);
  CHECK(log_text.text().find("webhook delivery failed") == std::string::npos);
}

TEST_CASE("webhook: 5xx and 429 are retried, other 4xx drop the alert", "[webhook]") {
  pki p;
  receiver r(p.leaf);
  r.answer({503, 429, 200, 400});
  shared_log log_text;
  logger log(log_text.stream());
  auto sink = webhook_sink::start(settings_for(p, r.port()), log, quick());
  REQUIRE(sink);
  (*sink)->on_alert(sample(10));  // 503, 429, then 200
  (*sink)->on_alert(sample(20));  // 400: dropped, not retried
  (*sink)->on_alert(sample(30));  // 200
  REQUIRE(r.wait_for_requests(5));
  (*sink)->stop();
  const auto got = r.requests();
  REQUIRE(got.size() == 5);
  CHECK(got[0].body == alert_json(sample(10)));
  CHECK(got[2].body == alert_json(sample(10)));
  CHECK(got[3].body == alert_json(sample(20)));
  CHECK(got[4].body == alert_json(sample(30)));
  CHECK((*sink)->delivered() == 2);
  CHECK((*sink)->dropped() == 1);
  CHECK(log_text.text().find("the receiver answered 400") != std::string::npos);
}

TEST_CASE("webhook: a certificate the cacert does not vouch for is refused, nothing sent",
          "[webhook]") {
  pki p;
  SECTION("signed by another CA") {
    const auto other_ca = make_ca("someone else's CA");
    receiver r(make_leaf(other_ca, "impostor", false, true));
    shared_log log_text;
    logger log(log_text.stream());
    auto tuning = quick();
    tuning.max_attempts = 3;
    auto sink = webhook_sink::start(settings_for(p, r.port()), log, tuning);
    REQUIRE(sink);
    (*sink)->on_alert(sample(5));
    REQUIRE(log_text.wait_for("no more attempts left"));
    CHECK(r.connections() == 3);  // it did connect, three times
    CHECK(r.requests().empty());  // but never sent the alert
    CHECK((*sink)->dropped() == 1);
    CHECK((*sink)->delivered() == 0);
    CHECK(log_text.text().find("certificate was refused") != std::string::npos);
  }
  SECTION("for another host") {
    certificate_spec spec;
    spec.common_name = "siem.example.org";
    spec.sans = {"DNS:siem.example.org"};
    auto wrong_host = issue_certificate(spec, &p.ca);
    REQUIRE(wrong_host);
    receiver r(*wrong_host);
    shared_log log_text;
    logger log(log_text.stream());
    auto tuning = quick();
    tuning.max_attempts = 2;
    auto sink = webhook_sink::start(settings_for(p, r.port()), log, tuning);
    REQUIRE(sink);
    (*sink)->on_alert(sample(5));
    REQUIRE(log_text.wait_for("no more attempts left"));
    CHECK(r.requests().empty());
    CHECK((*sink)->dropped() == 1);
    CHECK(log_text.text().find("IP address mismatch") != std::string::npos);
  }
}

TEST_CASE("webhook: a hanging receiver never blocks on_alert, a full queue drops and counts",
          "[webhook]") {
  pki p;
  receiver r(p.leaf);
  r.hang();
  shared_log log_text;
  logger log(log_text.stream());
  auto tuning = quick();
  tuning.queue_capacity = 2;
  tuning.io_timeout = 600'000ms;  // the attempt waits on the receiver for the whole test
  tuning.shutdown_grace = 300ms;
  auto sink = webhook_sink::start(settings_for(p, r.port()), log, tuning);
  REQUIRE(sink);
  (*sink)->on_alert(sample(100));
  REQUIRE(r.wait_for_requests(1));  // in flight, and the receiver will not answer
  for (std::uint64_t seq = 101; seq <= 104; ++seq) (*sink)->on_alert(sample(seq));
  // Every call came back while the first alert still waits for its answer.
  CHECK(r.requests().size() == 1);
  CHECK((*sink)->queued() == 2);
  CHECK((*sink)->dropped() == 2);
  CHECK((*sink)->delivered() == 0);
  CHECK(log_text.text().find("the webhook queue is full") != std::string::npos);
  CHECK(log_text.text().find("\"seq\":103") != std::string::npos);
  CHECK(log_text.text().find("\"seq\":104") != std::string::npos);

  // stop() does not wait for the receiver: the one in flight and the queued
  // ones are abandoned and counted.
  (*sink)->stop();
  CHECK((*sink)->dropped() == 5);
  CHECK((*sink)->delivered() == 0);
  (*sink)->on_alert(sample(200));  // after stop: dropped, not queued
  CHECK((*sink)->dropped() == 6);
  CHECK((*sink)->queued() == 0);
}

TEST_CASE("webhook: start refuses a bad url or an unreadable cacert", "[webhook]") {
  shared_log log_text;
  logger log(log_text.stream());
  webhook_settings s;
  s.url = "http://127.0.0.1/";
  CHECK_FALSE(webhook_sink::start(s, log));
  s.url = "https://127.0.0.1/";
  s.cacert = "/nonexistent/ca.pem";
  auto r = webhook_sink::start(s, log);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("/nonexistent/ca.pem") != std::string::npos);
}
