// The metrics listener of the real cairnd (metrics.listen): what it exposes
// after real TAXII traffic over TLS, the format checked by Prometheus' own
// promtool, and a real Prometheus server scraping it.
//
// promtool and prometheus come from Debian's `prometheus` package
// (scripts/setup.sh). Without them these tests skip, visibly, unless
// CAIRN_REQUIRE_PROMETHEUS=1 (scripts/test.sh), when they fail.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/files.hpp"
#include "support/skip.hpp"
#include "support/temp_dir.hpp"
#include "test_server.hpp"

namespace cairn::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The binary's path, or empty when it is not installed.
std::string find_tool(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const auto p = std::filesystem::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

bool prometheus_required() {
  const char* v = std::getenv("CAIRN_REQUIRE_PROMETHEUS");
  return v && std::string(v) == "1";
}

// A node with a metrics listener on a free port; the port read from the log.
struct metrics_node {
  metrics_node() : srv(setup()) {
    REQUIRE(srv.wait_for_log("metrics listening"));
    const std::regex port_re(R"re("msg":"metrics listening".*"port":([0-9]+))re");
    std::smatch m;
    const auto log = srv.log_text();
    REQUIRE(std::regex_search(log, m, port_re));
    port = static_cast<unsigned short>(std::stoi(m[1]));
  }

  static server_setup setup() {
    auto s = default_setup();
    s.extra_json = R"(, "metrics": {"listen": "127.0.0.1:0"})";
    return s;
  }

  test_server srv;
  unsigned short port = 0;
};

struct http_answer {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

http_answer http_get(unsigned short port, const std::string& target) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  http::read(s, buf, parser);
  auto res = parser.release();
  return {res.result_int(), std::string(res[http::field::content_type]), res.body()};
}

// The value of the sample with exactly this name and label text ("" for
// none), or -1 when the exposition has no such line.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// Some of every kind of traffic the metrics count: reads, a publish, three
// pulls that deliver its two objects, a failed authentication, a refusal.
void make_traffic(test_server& srv) {
  auto admin = srv.client("admin");
  REQUIRE(admin.discovery());
  const std::vector<std::string> objects = {
      make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z"),
      make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z")};
  auto status = admin.add_objects("/api1/", "intel", envelope(objects));
  REQUIRE(status);
  REQUIRE(admin.wait_for_status("/api1/", *status, std::chrono::seconds(30)));
  for (int i = 0; i < 3; ++i) REQUIRE(admin.get_objects("/api1/", "intel"));

  auto opts = srv.options("reader");
  opts.password = "not the password";
  auto wrong = clients::taxii_client::make(opts);
  REQUIRE(wrong);
  REQUIRE(wrong->request("GET", "/taxii2/"));
  CHECK(wrong->last_status() == 401);

  auto nobody = srv.client("nobody");
  REQUIRE(nobody.request("GET", "/api1/collections/intel/objects/"));
  CHECK(nobody.last_status() == 404);
}

TEST_CASE("metrics: cairnd exposes the contract's families after real traffic",
          "[metrics][integration]") {
  metrics_node node;
  make_traffic(node.srv);

  const auto res = http_get(node.port, "/metrics");
  REQUIRE(res.status == 200);
  CHECK(res.content_type == "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = res.body;

  for (const char* family :
       {"cairn_http_requests_total", "cairn_http_request_duration_seconds",
        "cairn_objects_published_total", "cairn_objects_delivered_total",
        "cairn_auth_failures_total", "cairn_alerts_total", "cairn_audit_records_total",
        "cairn_connections_open", "cairn_store_bytes", "cairn_commit_duration_seconds",
        "cairn_build_info", "cairn_store_write_queue_depth", "cairn_commit_batch_size",
        "cairn_store_capacity_bytes", "cairn_tls_handshakes_total", "cairn_sessions_open"}) {
    INFO(family);
    CHECK(text.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }
  CHECK(sample(text, R"(cairn_http_requests_total{route="/taxii2/",method="GET",code="200"})") >=
        1);
  CHECK(
      sample(
          text,
          R"(cairn_http_requests_total{route="/{root}/collections/{collection}/objects/",method="POST",code="202"})") ==
      1);
  CHECK(
      sample(
          text,
          R"(cairn_http_requests_total{route="/{root}/collections/{collection}/objects/",method="GET",code="200"})") ==
      3);
  CHECK(sample(text, R"(cairn_http_requests_total{route="/taxii2/",method="GET",code="401"})") ==
        1);
  CHECK(
      sample(
          text,
          R"(cairn_http_requests_total{route="/{root}/collections/{collection}/objects/",method="GET",code="404"})") ==
      1);
  CHECK(sample(text,
               "cairn_objects_published_total{collection=\"" + std::string(k_intel) + "\"}") == 2);
  CHECK(sample(text, R"(cairn_objects_delivered_total{account="admin"})") == 6);
  CHECK(sample(text, "cairn_auth_failures_total") == 1);
  CHECK(sample(text, R"(cairn_alerts_total{kind="volume"})") == 0);
  // The config record, the publish, three pulls, the auth failure (counted
  // records may come later), the denied: at least five.
  CHECK(sample(text, "cairn_audit_records_total") >= 5);
  CHECK(sample(text, "cairn_store_bytes") > 0);
  CHECK(sample(text, "cairn_store_capacity_bytes") >= sample(text, "cairn_store_bytes"));
  CHECK(sample(text, "cairn_commit_duration_seconds_count") >= 2);
  CHECK(sample(text, R"(cairn_tls_handshakes_total{result="ok"})") >= 3);  // one per client
  CHECK(sample(text, "cairn_connections_open") >= 0);
  CHECK(text.find("cairn_build_info{version=\"") != std::string::npos);

  // Nothing secret and no object id: no password, no token, no STIX id.
  for (const auto& a : node.srv.setup().accounts) {
    if (!a.password.empty()) CHECK(text.find(a.password) == std::string::npos);
    if (!a.token.empty()) CHECK(text.find(a.token) == std::string::npos);
  }
  CHECK(text.find("indicator--") == std::string::npos);
  CHECK(text.find("$scrypt$") == std::string::npos);

  // Only GET /metrics.
  CHECK(http_get(node.port, "/").status == 404);
  CHECK(http_get(node.port, "/taxii2/").status == 404);
}

TEST_CASE("metrics: a streamed response (an export) is counted like a whole one",
          "[metrics][integration]") {
  metrics_node node;
  auto admin = node.srv.client("admin");
  const std::vector<std::string> objects = {
      make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z")};
  auto status = admin.add_objects("/api1/", "intel", envelope(objects));
  REQUIRE(status);
  REQUIRE(admin.wait_for_status("/api1/", *status, std::chrono::seconds(30)));
  for (int i = 0; i < 2; ++i) {
    auto r = admin.request("GET", "/cairn/v1/export/api1/intel?format=edl");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    // Sent in chunks: the transport's stream, not one whole response.
    CHECK(r->header("Transfer-Encoding").value_or("") == "chunked");
  }

  const auto res = http_get(node.port, "/metrics");
  REQUIRE(res.status == 200);
  const std::string route = "/cairn/v1/export/{root}/{collection}/";
  CHECK(sample(res.body, "cairn_http_requests_total{route=\"" + route +
                             "\",method=\"GET\",code=\"200\"}") == 2);
  CHECK(sample(res.body, "cairn_http_request_duration_seconds_count{route=\"" + route + "\"}") ==
        2);
}

TEST_CASE("metrics: promtool accepts cairnd's real output", "[metrics][integration]") {
  const auto promtool = find_tool("promtool");
  if (promtool.empty()) {
    if (prometheus_required()) FAIL("promtool is not installed (CAIRN_REQUIRE_PROMETHEUS=1)");
    CAIRN_SKIP("promtool is not installed (Debian package prometheus)");
  }
  metrics_node node;
  make_traffic(node.srv);
  const auto res = http_get(node.port, "/metrics");
  REQUIRE(res.status == 200);
  const auto file = node.srv.dir() / "metrics.txt";
  const auto out = node.srv.dir() / "promtool.out";
  write_file(file, res.body);
  const std::string cmd =
      promtool + " check metrics < '" + file.string() + "' > '" + out.string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO(read_file(out));
  CHECK(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 0);
}

// A child process, killed and reaped when it goes out of scope.
class child_process {
 public:
  child_process(const std::vector<std::string>& args, const std::filesystem::path& log) {
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::FILE* f = std::fopen(log.c_str(), "w");
      if (f) {
        ::dup2(::fileno(f), 1);
        ::dup2(::fileno(f), 2);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~child_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // False once the process has exited.
  bool alive() {
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

unsigned short free_port() {
  asio::io_context io;
  tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TEST_CASE("metrics: a real Prometheus server scrapes cairnd", "[metrics][integration]") {
  const auto prometheus = find_tool("prometheus");
  if (prometheus.empty()) {
    if (prometheus_required()) FAIL("prometheus is not installed (CAIRN_REQUIRE_PROMETHEUS=1)");
    CAIRN_SKIP("prometheus is not installed (Debian package prometheus)");
  }
  metrics_node node;
  make_traffic(node.srv);

  temp_dir dir;
  const auto config = dir.path() / "prometheus.yml";
  write_file(config,
             "global:\n"
             "  scrape_interval: 1s\n"
             "  scrape_timeout: 1s\n"
             "scrape_configs:\n"
             "  - job_name: cairn\n"
             "    static_configs:\n"
             "      - targets: ['127.0.0.1:" +
                 std::to_string(node.port) + "']\n");
  const unsigned short web_port = free_port();
  const auto log = dir.path() / "prometheus.log";
  child_process prom({prometheus, "--config.file=" + config.string(),
                      "--storage.tsdb.path=" + (dir.path() / "data").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(web_port),
                      "--storage.tsdb.retention.time=1h"},
                     log);

  // Bounded: Prometheus starts in about a second and scrapes every second.
  const std::regex value_re(
      R"re("metric":\{[^}]*"__name__":"cairn_http_requests_total"[^}]*\},"value":\[[0-9.]+,"([0-9.eE+-]+)"\])re");
  double best = 0;
  std::string last;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && best <= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    REQUIRE(prom.alive());
    try {
      auto res = http_get(web_port, "/api/v1/query?query=cairn_http_requests_total");
      if (res.status != 200) continue;
      last = res.body;
      for (std::sregex_iterator it(last.begin(), last.end(), value_re), end; it != end; ++it) {
        best = std::max(best, std::stod((*it)[1]));
      }
    } catch (const std::exception&) {
      // Not listening yet.
    }
  }
  INFO("last answer: " << last);
  INFO("prometheus log: " << read_file(log));
  CHECK(last.find(R"("status":"success")") != std::string::npos);
  CHECK(best > 0);
}

}  // namespace
}  // namespace cairn::testing
