// Hostile clients against a real cairnd over TLS: request smuggling vectors,
// Slowloris, and oversized heads, bodies, JSON and pages. Each refusal must
// be a TAXII error, and the server must go on serving everyone else.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "clients/raw_connection.hpp"
#include "formats/json.hpp"
#include "support/skip.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;
using namespace std::chrono_literals;

namespace {

const std::string k_objects = "/api1/collections/intel/objects/";
const std::string k_taxii = "application/taxii+json;version=2.1";

clients::raw_connection connect(const test_server& srv,
                                std::shared_ptr<const clients::tls_context> tls = nullptr) {
  const auto options = srv.options("admin");
  auto where = clients::parse_url(options.url);
  REQUIRE(where);
  auto c = clients::raw_connection::open(*where, options, std::move(tls));
  REQUIRE(c);
  return std::move(*c);
}

std::string basic_admin() {
  // admin:admin-password
  return "Authorization: Basic YWRtaW46YWRtaW4tcGFzc3dvcmQ=\r\n";
}

void check_taxii_error(const clients::http_response& r, unsigned status) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.header("Content-Type").value_or("") == k_taxii);
  auto d = formats::parse_json(r.body);
  REQUIRE(d);
  REQUIRE(d->root().get("http_status"));
  CHECK(d->root().get("http_status")->as_string() == std::to_string(status));
  REQUIRE(d->root().get("description"));
  CHECK(!d->root().get("description")->as_string().empty());
}

// Sends bytes, expects one TAXII error response with status and then the
// connection closed by the server.
void expect_refusal(const test_server& srv, const std::string& bytes, unsigned status) {
  auto c = connect(srv);
  c.set_timeout(10s);
  REQUIRE(c.write(bytes));
  auto r = c.read_response();
  REQUIRE(r);
  check_taxii_error(*r, status);
  CHECK(!r->keep_alive);
  // Whatever else the client sent must not be read as a request.
  auto rest = c.read_available(3000ms);
  CHECK(c.peer_closed());
  if (rest) CHECK(rest->find("HTTP/1.") == std::string::npos);
}

// The server still answers a normal client.
void expect_healthy(const test_server& srv) {
  auto client = srv.client("admin");
  auto r = client.request("GET", "/cairn/v1/health");
  if (!r) {
    // What the server logged last, to tell a hang from a crash.
    const auto log = srv.log_text();
    INFO("cairnd log tail: " << log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    INFO("client: " << r.error().to_string());
    REQUIRE(r);
  }
  CHECK(r->status == 200);
  auto o = client.get_objects("/api1/", "intel");
  INFO((o ? std::string() : o.error().to_string()));
  REQUIRE(o);
}

struct smuggling_vector {
  const char* name;
  std::string bytes;
};

std::string head(const std::string& request_line, const std::string& fields) {
  return request_line + "\r\nHost: 127.0.0.1\r\n" + basic_admin() +
         "Content-Type: application/taxii+json;version=2.1\r\nAccept: " + k_taxii + "\r\n" +
         fields + "\r\n";
}

std::string post_head(const std::string& fields) {
  return head("POST " + k_objects + " HTTP/1.1", fields);
}

// A second request hidden behind the first, as a smuggler would place it.
const std::string k_hidden = "GET /taxii2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

std::vector<smuggling_vector> smuggling_vectors() {
  const std::string chunk_body = "0\r\n\r\n" + k_hidden;
  return {
      {"CL then TE", post_head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + chunk_body},
      {"TE then CL", post_head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") + chunk_body},
      {"TE gzip", post_head("Transfer-Encoding: gzip\r\n") + k_hidden},
      {"TE gzip, chunked", post_head("Transfer-Encoding: gzip, chunked\r\n") + chunk_body},
      {"TE chunked, chunked", post_head("Transfer-Encoding: chunked, chunked\r\n") + chunk_body},
      {"TE twice",
       post_head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") + chunk_body},
      {"TE identity", post_head("Transfer-Encoding: identity\r\n") + k_hidden},
      {"TE xchunked", post_head("Transfer-Encoding: xchunked\r\n") + chunk_body},
      {"space before colon", post_head("Transfer-Encoding : chunked\r\n") + chunk_body},
      {"space in header name", post_head("Content Length: 5\r\n") + k_hidden},
      {"HTTP/1.0 with chunked",
       head("POST " + k_objects + " HTTP/1.0", "Transfer-Encoding: chunked\r\n") + chunk_body},
      {"conflicting CL",
       post_head("Content-Length: 5\r\nContent-Length: 6\r\n") + "abcdef" + k_hidden},
      {"CL list", post_head("Content-Length: 5, 6\r\n") + "abcdef" + k_hidden},
      {"overflowing CL", post_head("Content-Length: 184467440737095516170\r\n") + k_hidden},
      {"CL just over 64 bits", post_head("Content-Length: 18446744073709551616\r\n") + k_hidden},
      {"negative CL", post_head("Content-Length: -1\r\n") + k_hidden},
      {"CL with plus sign", post_head("Content-Length: +5\r\n") + "abcde" + k_hidden},
      {"oversized chunk extension", post_head("Transfer-Encoding: chunked\r\n") + "5;" +
                                        std::string(70000, 'x') + "\r\nabcde\r\n0\r\n\r\n"},
      {"bad chunk size", post_head("Transfer-Encoding: chunked\r\n") + "zz\r\nabc\r\n0\r\n\r\n"},
      {"chunk size overflow",
       post_head("Transfer-Encoding: chunked\r\n") + "10000000000000000\r\nabc\r\n0\r\n\r\n"},
      {"bare LF", "POST " + k_objects + " HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 0\n\n"},
      {"bare LF inside a CRLF head",
       "GET /taxii2/ HTTP/1.1\r\nHost: 127.0.0.1\nX-A: b\r\n\r\n" + k_hidden},
      {"bare CR", "GET /taxii2/ HTTP/1.1\r\nHost: 127.0.0.1\rX-A: b\r\n\r\n"},
      {"obs-fold", head("GET /taxii2/ HTTP/1.1", "X-Folded: a\r\n b\r\n")},
      {"obs-fold of Transfer-Encoding",
       post_head("Transfer-Encoding:\r\n chunked\r\n") + chunk_body},
      {"NUL in a header value", head("GET /taxii2/ HTTP/1.1", std::string("X-A: a\0b\r\n", 10))},
      {"NUL in a header name", head("GET /taxii2/ HTTP/1.1", std::string("X-\0A: b\r\n", 9))},
      {"garbage request line", "GET /taxii2/ HTTP/1.1 extra\r\nHost: 127.0.0.1\r\n\r\n"},
  };
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

// Latencies in milliseconds of n authenticated GETs on one keep-alive client.
std::vector<double> latencies(clients::taxii_client& client, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client.request("GET", "/api1/collections/");
    const auto t1 = std::chrono::steady_clock::now();
    REQUIRE(r);
    REQUIRE(r->status == 200);
    out.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return out;
}

// False when the limit cannot be raised that far.
bool raise_fd_limit(rlim_t wanted) {
  rlimit rl{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur < wanted) {
    rl.rlim_cur = std::min(wanted, rl.rlim_max);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  }
  REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  return rl.rlim_cur >= wanted;
}

}  // namespace

TEST_CASE("every request smuggling vector is refused with 400 and a closed connection",
          "[hostile]") {
  test_server srv;
  const auto vectors = smuggling_vectors();
  REQUIRE(vectors.size() >= 15);
  for (const auto& v : vectors) {
    SECTION(v.name) {
      expect_refusal(srv, v.bytes, 400);
      expect_healthy(srv);
    }
  }
  // Nothing any vector carried was stored.
  auto c = srv.client("admin");
  auto page = c.get_objects("/api1/", "intel");
  REQUIRE(page);
  CHECK(page->objects.empty());
}

// RFC 9110 9.3.2: an answer to HEAD carries no body. Before: the 405 to a
// HEAD carried its TAXII error body, which a client that follows HTTP does
// not read, so the next answer on the connection could not be parsed (the
// health check's REQUIRE failed).
TEST_CASE("an answer to HEAD has no body, and the connection stays in step", "[hostile]") {
  test_server srv;
  auto c = connect(srv);
  c.set_timeout(10s);
  REQUIRE(c.write("HEAD /taxii2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + basic_admin() +
                  "Accept: " + k_taxii +
                  "\r\n\r\n"
                  "GET /cairn/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto head = c.read_response(true);
  REQUIRE(head);
  CHECK(head->status == 405);
  CHECK(head->body.empty());
  auto health = c.read_response();
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == R"({"status":"ok"})");
}

TEST_CASE("oversized heads, bodies, JSON and pages get clear errors", "[hostile]") {
  test_server srv;
  SECTION("a head over max_header_bytes is 431") {
    expect_refusal(srv, head("GET /taxii2/ HTTP/1.1", "X-Big: " + std::string(20000, 'a') + "\r\n"),
                   431);
  }
  SECTION("many small header fields over the limit are 431") {
    std::string fields;
    for (int i = 0; i < 2000; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";
    expect_refusal(srv, head("GET /taxii2/ HTTP/1.1", fields), 431);
  }
  SECTION("a declared body over max_content_length is 413 before the body is sent") {
    expect_refusal(srv, post_head("Content-Length: 20000000\r\n"), 413);
  }
  SECTION("a chunked body over max_content_length is 413") {
    auto c = connect(srv);
    c.set_timeout(30s);
    REQUIRE(c.write(post_head("Transfer-Encoding: chunked\r\n")));
    const std::string chunk = "100000\r\n" + std::string(0x100000, 'a') + "\r\n";
    bool refused = false;
    for (int i = 0; i < 12 && !refused; ++i) {
      if (!c.write(chunk)) refused = true;
    }
    if (!refused) {
      auto r = c.read_response();
      REQUIRE(r);
      check_taxii_error(*r, 413);
    }
  }
  SECTION("JSON nested deeper than max_json_depth is a 422 that says so") {
    std::string deep = "{\"objects\":[";
    for (int i = 0; i < 200; ++i) deep += "[";
    for (int i = 0; i < 200; ++i) deep += "]";
    deep += "]}";
    auto c = srv.client("admin");
    auto r = c.request("POST", k_objects, {{"Accept", k_taxii}, {"Content-Type", k_taxii}}, deep);
    REQUIRE(r);
    check_taxii_error(*r, 422);
    CHECK(r->body.find("nesting deeper than 64 levels") != std::string::npos);
  }
  SECTION("more objects than max_objects_per_request is a 422") {
    // The default limit is 10000 objects.
    std::vector<std::string> objs(10001, "{}");
    auto c = srv.client("admin");
    auto r = c.request("POST", k_objects, {{"Accept", k_taxii}, {"Content-Type", k_taxii}},
                       envelope(objs));
    REQUIRE(r);
    check_taxii_error(*r, 422);
  }
  SECTION("limit above page_size is cut to page_size, bad limits are 400") {
    auto c = srv.client("admin");
    for (const char* bad : {"0", "-1", "abc", "5x", "", "-99999999999999999999999"}) {
      INFO("limit=" << bad);
      auto r = c.request("GET", k_objects + "?limit=" + bad, {{"Accept", k_taxii}});
      REQUIRE(r);
      check_taxii_error(*r, 400);
    }
    for (const char* big : {"100000000", "99999999999999999999999"}) {
      auto r = c.request("GET", k_objects + "?limit=" + big, {{"Accept", k_taxii}});
      REQUIRE(r);
      CHECK(r->status == 200);
    }
  }
  SECTION("a forged next token is a 400") {
    auto c = srv.client("admin");
    auto r = c.request("GET", k_objects + "?next=" + std::string(5000, 'A'), {{"Accept", k_taxii}});
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  expect_healthy(srv);
}

TEST_CASE("Slowloris: 1000 trickling connections are closed by the deadline", "[hostile][slow]") {
  constexpr int k_connections = 1000;
  constexpr int k_request_timeout_s = 6;
  constexpr auto k_trickle = std::chrono::seconds(5);
  if (!raise_fd_limit(4 * k_connections + 256)) {
    CAIRN_SKIP("the fd limit cannot be raised to " + std::to_string(4 * k_connections + 256));
  }
  auto setup = default_setup();
  // The request deadline (6 s) is longer than the trickle interval (5 s): a
  // deadline that each byte pushed back would keep every connection alive.
  // The idle timeout only has to outlast opening all the connections. All
  // of them come from 127.0.0.1: the per-address limit (256 by default)
  // must let them in for the deadlines to be what stops them.
  setup.limits_json = "\"request_timeout_s\": " + std::to_string(k_request_timeout_s) +
                      ", \"idle_timeout_s\": 60, \"handshake_timeout_s\": 10" +
                      ", \"max_connections_per_address\": 2000";
  test_server srv(setup);

  auto normal = srv.client("reader");
  latencies(normal, 20);  // warm-up: connection and credential cache
  const auto baseline = latencies(normal, 300);
  const double base_p99 = percentile(baseline, 0.99);

  auto tls = clients::tls_context::make(srv.options("admin"));
  REQUIRE(tls);
  using clock = std::chrono::steady_clock;
  struct slow {
    clients::raw_connection conn;
    clock::time_point first_byte{};
    clock::time_point closed_at{};
    bool closed = false;
    bool got_408 = false;
  };
  std::vector<slow> conns;
  conns.reserve(k_connections);
  for (int i = 0; i < k_connections; ++i) {
    auto c = connect(srv, *tls);
    c.set_timeout(2s);
    conns.push_back({std::move(c)});
  }
  // Every connection starts its request now, one byte each.
  const std::string request = "POST " + k_objects + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (auto& s : conns) {
    REQUIRE(s.conn.write(request.substr(0, 1)));
    s.first_byte = clock::now();
  }
  const auto last_first_byte = clock::now();

  // The attackers: a byte every 5 s to each open connection; each connection
  // is checked about every sweep (no Catch2 assertions off the main thread).
  const auto give_up = last_first_byte + std::chrono::seconds(k_request_timeout_s) + 20s;
  std::atomic<std::size_t> open_count{conns.size()};
  double longest_sweep_ms = 0;
  std::thread attackers([&] {
    std::size_t next_byte = 1;
    auto next_trickle = last_first_byte + k_trickle;
    while (open_count > 0 && clock::now() < give_up) {
      const auto sweep_start = clock::now();
      const bool trickle = sweep_start >= next_trickle;
      for (auto& s : conns) {
        if (s.closed) continue;
        auto got = s.conn.read_available(1ms);
        if (got && got->find(" 408 ") != std::string::npos) s.got_408 = true;
        if (!got || s.conn.peer_closed() || !s.conn.is_open()) {
          s.closed = true;
          s.closed_at = clock::now();
          --open_count;
        } else if (trickle) {
          (void)s.conn.write(request.substr(next_byte % request.size(), 1));
        }
      }
      if (trickle) {
        ++next_byte;
        next_trickle += k_trickle;
      }
      longest_sweep_ms =
          std::max(longest_sweep_ms,
                   std::chrono::duration<double, std::milli>(clock::now() - sweep_start).count());
    }
  });
  // The normal client while the slow ones hold their connections.
  const auto during = latencies(normal, 300);
  const double during_p99 = percentile(during, 0.99);
  attackers.join();

  CHECK(open_count == 0);
  std::chrono::milliseconds longest{0};
  std::size_t answered_408 = 0;
  for (const auto& s : conns) {
    answered_408 += s.got_408;
    if (s.closed) {
      longest = std::max(longest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      s.closed_at - s.first_byte));
    }
  }
  // Each connection was seen closed within its request deadline plus the
  // time one sweep over all connections takes (detection lag) and a margin,
  // well before a second trickle interval would have ended.
  const auto allowed_life = std::chrono::seconds(k_request_timeout_s) +
                            std::chrono::milliseconds(static_cast<long>(longest_sweep_ms)) + 2s;
  CHECK(longest < allowed_life);
  // (The session answers a request timeout with 408, but Beast's tcp_stream
  // closes the socket when its timer fires, so the answer seldom gets out;
  // the count is reported, not asserted.)

  // Loose: p99 under load within twice the baseline, the baseline floored at
  // 50 ms so that scheduler noise on a busy 2-core machine (other test
  // processes, sanitizer builds) does not decide the outcome; a server that
  // the slow connections starved would take seconds.
  const double allowed = 2.0 * std::max(base_p99, 50.0);
  WARN("slowloris: " << k_connections
                     << " connections trickling a byte every 5 s, all closed: " << (open_count == 0)
                     << ", longest life " << longest.count() << " ms (request deadline "
                     << k_request_timeout_s << " s, sweep " << longest_sweep_ms
                     << " ms), 408 answers " << answered_408 << ", normal client p99 " << base_p99
                     << " ms baseline, " << during_p99 << " ms under attack");
  CHECK(during_p99 <= allowed);
  expect_healthy(srv);
}
