// server/metrics/registry.hpp and server_metrics.hpp: the values, the
// families' bounded children, and the text exposition format 0.0.4; the
// config's metrics key; the alert sink that counts alerts.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/config/config.hpp"
#include "server/metrics/registry.hpp"
#include "server/metrics/server_metrics.hpp"
#include "server/monitor/alert.hpp"
#include "server/monitor/alert_metrics.hpp"

namespace cairn::server {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  const auto all = lines_of(text);
  return std::find(all.begin(), all.end(), line) != all.end();
}

TEST_CASE("metrics: counters, gauges and histograms hold what they are told", "[metrics]") {
  counter c;
  c.inc();
  c.inc(41);
  CHECK(c.value() == 42);

  gauge g;
  g.set(2.5);
  g.add(-1);
  CHECK(g.value() == 1.5);

  const double bounds[] = {0.1, 1, 10};
  histogram h(bounds);
  for (double v : {0.05, 0.1, 0.5, 3.0, 100.0}) h.observe(v);
  const auto r = h.read();
  // Cumulative, with le inclusive: 0.1 falls in the 0.1 bucket.
  CHECK(r.cumulative == std::vector<std::uint64_t>{2, 3, 4, 5});
  CHECK(r.count == 5);
  CHECK(r.sum == Approx(103.65));

  CHECK_THROWS_AS(histogram(std::vector<double>{1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(histogram(std::vector<double>{2, 1}), std::invalid_argument);
  CHECK_THROWS_AS(histogram(std::vector<double>{1, std::numeric_limits<double>::infinity()}),
                  std::invalid_argument);
}

TEST_CASE("metrics: the exposition is the text format 0.0.4", "[metrics]") {
  registry r;
  auto& requests = r.counter_family("test_requests_total", "Requests.", {"route", "code"});
  requests.with({"/a/", "200"}).inc(3);
  requests.with({"/b/", "404"}).inc();
  requests.with({"/a/", "200"}).inc();
  r.add_gauge("test_open", "Open things.\nSecond line with a \\ backslash.").set(-2);
  const double bounds[] = {0.5, 1};
  auto& lat = r.add_histogram("test_seconds", "Latency.", bounds);
  lat.observe(0.25);
  lat.observe(0.75);
  lat.observe(2);
  r.add_callback("test_size_bytes", "Size.", metric_type::gauge, [] { return 1024.0; });
  r.add_callback("test_absent", "Not known now.", metric_type::gauge,
                 []() -> std::optional<double> { return std::nullopt; });

  const std::string text = r.expose();
  const std::string expected =
      "# HELP test_absent Not known now.\n"
      "# TYPE test_absent gauge\n"
      "# HELP test_open Open things.\\nSecond line with a \\\\ backslash.\n"
      "# TYPE test_open gauge\n"
      "test_open -2\n"
      "# HELP test_requests_total Requests.\n"
      "# TYPE test_requests_total counter\n"
      "test_requests_total{route=\"/a/\",code=\"200\"} 4\n"
      "test_requests_total{route=\"/b/\",code=\"404\"} 1\n"
      "# HELP test_seconds Latency.\n"
      "# TYPE test_seconds histogram\n"
      "test_seconds_bucket{le=\"0.5\"} 1\n"
      "test_seconds_bucket{le=\"1\"} 2\n"
      "test_seconds_bucket{le=\"+Inf\"} 3\n"
      "test_seconds_sum 3\n"
      "test_seconds_count 3\n"
      "# HELP test_size_bytes Size.\n"
      "# TYPE test_size_bytes gauge\n"
      "test_size_bytes 1024\n";
  CHECK(text == expected);
}

TEST_CASE("metrics: label values are escaped, values formatted", "[metrics]") {
  registry r;
  auto& f = r.counter_family("test_total", "T.", {"name"});
  f.with({"a\"b\\c\nd"}).inc();
  CHECK(has_line(r.expose(), R"(test_total{name="a\"b\\c\nd"} 1)"));

  CHECK(format_value(0) == "0");
  CHECK(format_value(42) == "42");
  CHECK(format_value(-7) == "-7");
  CHECK(format_value(0.0025) == "0.0025");
  CHECK(format_value(1e300) == "1e+300");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
  CHECK(escape_help("a\"b") == "a\"b");  // quotes stay as they are in HELP
}

TEST_CASE("metrics: labelled histograms put le last and keep their own buckets", "[metrics]") {
  registry r;
  const double bounds[] = {1};
  auto& f = r.histogram_family("test_duration_seconds", "D.", {"route"}, bounds);
  f.with({"/x/"}).observe(0.5);
  f.with({"/y/"}).observe(5);
  const auto text = r.expose();
  CHECK(has_line(text, R"(test_duration_seconds_bucket{route="/x/",le="1"} 1)"));
  CHECK(has_line(text, R"(test_duration_seconds_bucket{route="/x/",le="+Inf"} 1)"));
  CHECK(has_line(text, R"(test_duration_seconds_bucket{route="/y/",le="1"} 0)"));
  CHECK(has_line(text, R"(test_duration_seconds_bucket{route="/y/",le="+Inf"} 1)"));
  CHECK(has_line(text, R"(test_duration_seconds_sum{route="/y/"} 5)"));
  CHECK(has_line(text, R"(test_duration_seconds_count{route="/x/"} 1)"));
}

TEST_CASE("metrics: a family holds a bounded number of children, the rest count as other",
          "[metrics]") {
  registry r;
  auto& f = r.counter_family("test_total", "T.", {"account"}, 3);
  for (int i = 0; i < 10; ++i) f.with({"acct" + std::to_string(i)}).inc();
  CHECK(f.size() == 3);
  const auto text = r.expose();
  CHECK(has_line(text, R"(test_total{account="acct0"} 1)"));
  CHECK(has_line(text, R"(test_total{account="acct2"} 1)"));
  CHECK_FALSE(has_line(text, R"(test_total{account="acct3"} 1)"));
  CHECK(has_line(text, R"(test_total{account="other"} 7)"));
  // An existing child is still found once the family is full.
  f.with({"acct1"}).inc();
  CHECK(has_line(r.expose(), R"(test_total{account="acct1"} 2)"));
}

TEST_CASE("metrics: concurrent updates and first uses lose nothing", "[metrics]") {
  registry r;
  auto& f = r.counter_family("test_total", "T.", {"k"}, 64);
  const double bounds[] = {1};
  auto& h = r.add_histogram("test_seconds", "S.", bounds);
  constexpr int k_threads = 4;
  constexpr int k_each = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < k_each; ++i) {
        f.with({"key" + std::to_string(i % 16)}).inc();
        h.observe(0.5);
      }
    });
  }
  // Scrapes meanwhile must not disturb anything.
  for (int i = 0; i < 20; ++i) (void)r.expose();
  for (auto& t : threads) t.join();
  CHECK(f.size() == 16);
  std::uint64_t total = 0;
  for (int k = 0; k < 16; ++k) total += f.with({"key" + std::to_string(k)}).value();
  CHECK(total == std::uint64_t{k_threads} * k_each);
  CHECK(h.read().count == std::uint64_t{k_threads} * k_each);
}

TEST_CASE("metrics: bad names and duplicates are refused at registration", "[metrics]") {
  registry r;
  CHECK_THROWS_AS(r.add_counter("9lives", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.add_counter("with space", "x"), std::invalid_argument);
  CHECK_THROWS_AS(r.counter_family("ok_total", "x", {"__reserved"}), std::invalid_argument);
  CHECK_THROWS_AS(r.counter_family("ok_total", "x", {"a", "a"}), std::invalid_argument);
  const double bounds[] = {1};
  CHECK_THROWS_AS(r.histogram_family("h_seconds", "x", {"le"}, bounds), std::invalid_argument);
  r.add_counter("ok_total", "x");
  CHECK_THROWS_AS(r.add_gauge("ok_total", "x"), std::invalid_argument);
  CHECK(is_metric_name("cairn:rule_name"));
  CHECK(is_label_name("route"));
  CHECK_FALSE(is_label_name("a-b"));
}

TEST_CASE("server metrics: the contract's families, bounded labels", "[metrics]") {
  registry r;
  server_metrics m(r);
  m.request_done("/{root}/collections/{collection}/objects/", "GET", 200,
                 std::chrono::milliseconds(3));
  m.request_done("", "BREW", 404, std::chrono::milliseconds(1));
  m.published("5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11", 2);
  m.delivered("acme", 5);
  m.auth_failure();
  m.alert_raised("volume");
  m.alert_raised("made-up");
  m.tls_handshake(true);
  m.tls_handshake(false);
  m.commit_done(0.004, 3, true);
  m.commit_done(0.2, 1, false);
  const auto text = r.expose();
  CHECK(has_line(
      text,
      R"(cairn_http_requests_total{route="/{root}/collections/{collection}/objects/",method="GET",code="200"} 1)"));
  // An unmatched request has no route; an unknown method is "other".
  CHECK(has_line(text, R"(cairn_http_requests_total{route="none",method="other",code="404"} 1)"));
  CHECK(has_line(
      text,
      R"(cairn_http_request_duration_seconds_bucket{route="/{root}/collections/{collection}/objects/",le="0.005"} 1)"));
  CHECK(has_line(
      text,
      R"(cairn_objects_published_total{collection="5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11"} 2)"));
  CHECK(has_line(text, R"(cairn_objects_delivered_total{account="acme"} 5)"));
  CHECK(has_line(text, "cairn_auth_failures_total 1"));
  // The five kinds exist from the start, at 0.
  CHECK(has_line(text, R"(cairn_alerts_total{kind="auth-failure-burst"} 0)"));
  CHECK(has_line(text, R"(cairn_alerts_total{kind="denied-burst"} 0)"));
  CHECK(has_line(text, R"(cairn_alerts_total{kind="new-address"} 0)"));
  CHECK(has_line(text, R"(cairn_alerts_total{kind="suspended-use"} 0)"));
  CHECK(has_line(text, R"(cairn_alerts_total{kind="volume"} 1)"));
  CHECK(has_line(text, R"(cairn_alerts_total{kind="other"} 1)"));
  CHECK(has_line(text, R"(cairn_tls_handshakes_total{result="ok"} 1)"));
  CHECK(has_line(text, R"(cairn_tls_handshakes_total{result="failed"} 1)"));
  CHECK(has_line(text, R"(cairn_commit_duration_seconds_bucket{le="0.005"} 1)"));
  CHECK(has_line(text, "cairn_commit_duration_seconds_count 2"));
  CHECK(has_line(text, R"(cairn_commit_batch_size_bucket{le="2"} 1)"));
  CHECK(has_line(text, R"(cairn_commit_batch_size_bucket{le="4"} 2)"));
  CHECK(has_line(text, "cairn_commit_failures_total 1"));
  CHECK(has_line(text,
                 R"(cairn_build_info{version=")" + std::string(CAIRN_TEST_VERSION) + R"("} 1)"));

  CHECK(method_label("GET") == "GET");
  CHECK(method_label("DELETE") == "DELETE");
  CHECK(method_label("get") == "other");
  CHECK(method_label("PROPFIND") == "other");
}

TEST_CASE("server metrics: the alert sink counts every kind the monitor raises", "[metrics]") {
  registry r;
  server_metrics m(r);
  alert_metrics sink(m);
  alert_sink& as_sink = sink;
  for (auto kind : k_alert_kinds) {
    alert a;
    a.kind = std::string(kind);
    as_sink.on_alert(a);
    as_sink.on_alert(a);
  }
  const auto text = r.expose();
  // Every kind of alert.hpp is one of the metrics' own: none is "other".
  for (auto kind : k_alert_kinds) {
    CHECK(has_line(text, "cairn_alerts_total{kind=\"" + std::string(kind) + "\"} 2"));
  }
  CHECK_FALSE(text.find(R"(kind="other")") != std::string::npos);
}

// ------------------------------------------------------------------ config

const char* k_base = R"({
  "listen": "127.0.0.1:8443", "data_dir": "data",
  "tls": {"cert": "c.pem", "key": "k.pem"},
  "discovery": {"title": "t"},
  "api_roots": {"r": {"title": "R", "collections": [
    {"id": "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11", "title": "I"}]}},
  "accounts": [])";

std::string with_metrics(const std::string& member) {
  return std::string(k_base) + member + "}";
}

TEST_CASE("config: metrics.listen is optional and checked like listen", "[metrics][config]") {
  auto none = parse_config(with_metrics(""), "/etc/cairn");
  REQUIRE(none);
  CHECK_FALSE(none->metrics.listen);

  auto empty = parse_config(with_metrics(R"(, "metrics": {})"), "/etc/cairn");
  REQUIRE(empty);
  CHECK_FALSE(empty->metrics.listen);

  auto good = parse_config(with_metrics(R"(, "metrics": {"listen": "127.0.0.1:9464"})"), "/");
  REQUIRE(good);
  REQUIRE(good->metrics.listen);
  CHECK(good->metrics.listen->host == "127.0.0.1");
  CHECK(good->metrics.listen->port == 9464);

  auto v6 = parse_config(with_metrics(R"(, "metrics": {"listen": "[::1]:9464"})"), "/");
  REQUIRE(v6);
  CHECK(v6->metrics.listen->host == "::1");

  auto problems = [](const std::string& text) {
    auto c = parse_config(text, "/");
    REQUIRE_FALSE(c);
    return c.error();
  };
  auto bad = problems(with_metrics(R"(, "metrics": {"listen": "nowhere"})"));
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].pointer == "/metrics/listen");

  auto typo = problems(with_metrics(R"(, "metrics": {"listen": "127.0.0.1:1", "lisen": 1})"));
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].pointer == "/metrics/lisen");
  CHECK(typo[0].message == "unknown key");

  auto not_object = problems(with_metrics(R"(, "metrics": "127.0.0.1:9464")"));
  REQUIRE(not_object.size() == 1);
  CHECK(not_object[0].pointer == "/metrics");

  auto same = problems(with_metrics(R"(, "metrics": {"listen": "127.0.0.1:8443"})"));
  REQUIRE(same.size() == 1);
  CHECK(same[0].pointer == "/metrics/listen");
  CHECK(same[0].message.find("differ from listen") != std::string::npos);
}

}  // namespace
}  // namespace cairn::server
