// The `cairn` binary against the real cairnd over TLS: every command, the
// whole valid corpus out and back, incremental and interrupted pulls, and the
// trust and credential failures a person meets first. cairn runs as a child
// process (as a person runs it), with its own environment and files.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "formats/json.hpp"
#include "formats/stix.hpp"
#include "server/transport/tls.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;
namespace fs = std::filesystem;

namespace {

struct cli_result {
  int code = -1;
  std::string out;
  std::string err;
};

// A temporary folder for one test's files.
using work_dir = temp_dir;

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// A running cairn process; its stdout and stderr go to files.
class cairn_process {
 public:
  cairn_process(const std::vector<std::string>& args, const std::vector<std::string>& env,
                const fs::path& out, const fs::path& err, const fs::path& in = "/dev/null")
      : out_(out), err_(err) {
    const std::string binary = std::string(CAIRN_BINARY_DIR) + "/clients/cairn";
    // Everything the child needs is prepared before fork().
    std::vector<std::string> argv_text = {"cairn"};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv, envp;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_text = env;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int in_fd = ::open(in.c_str(), O_RDONLY);
      const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
      dup2(in_fd, 0);
      dup2(out_fd, 1);
      dup2(err_fd, 2);
      execve(binary.c_str(), argv.data(), envp.data());
      _exit(127);
    }
  }
  ~cairn_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  cairn_process(const cairn_process&) = delete;
  cairn_process& operator=(const cairn_process&) = delete;

  int pid() const { return pid_; }

  bool exited() {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }

  cli_result wait() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (pid_ > 0 && !exited()) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        FAIL("cairn did not finish within 60 s: " << read_file(err_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return {code_, read_file(out_), read_file(err_)};
  }

 private:
  int pid_ = -1;
  int code_ = -1;
  fs::path out_, err_;
};

// Runs cairn against one test server as one of its accounts.
class cairn_runner {
 public:
  cairn_runner(const test_server& srv, const work_dir& dir)
      : srv_(srv), dir_(dir), url_(srv.discovery_url()) {}

  // Another way to the server (a relay).
  void set_url(std::string url) { url_ = std::move(url); }

  // --url and --cacert; credentials come from the environment, as in a script.
  std::vector<std::string> connection() const {
    return {"--url", url_, "--cacert", (srv_.dir() / "server.pem").string()};
  }
  std::vector<std::string> environment(const std::string& account) const {
    for (const auto& a : srv_.setup().accounts) {
      if (a.name != account) continue;
      if (!a.token.empty()) return {"CAIRN_TOKEN=" + a.token};
      return {"CAIRN_USER=" + a.name, "CAIRN_PASSWORD=" + a.password};
    }
    FAIL("no account " << account);
    return {};
  }

  // cairn ARGS --url ... --cacert ... as account, to completion.
  cli_result run(const std::string& account, std::vector<std::string> args,
                 const fs::path& in = "/dev/null") {
    auto c = connection();
    args.insert(args.end(), c.begin(), c.end());
    return run_raw(args, environment(account), in);
  }
  // Exactly these arguments and this environment.
  cli_result run_raw(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const fs::path& in = "/dev/null") {
    const auto n = std::to_string(++runs_);
    cairn_process p(args, env, dir_ / ("out" + n), dir_ / ("err" + n), in);
    auto r = p.wait();
    UNSCOPED_INFO("cairn exit " << r.code << "\nstdout: " << r.out.substr(0, 2000)
                                << "\nstderr: " << r.err.substr(0, 2000));
    return r;
  }
  std::unique_ptr<cairn_process> start(const std::string& account, std::vector<std::string> args) {
    auto c = connection();
    args.insert(args.end(), c.begin(), c.end());
    const auto n = std::to_string(++runs_);
    return std::make_unique<cairn_process>(args, environment(account), dir_ / ("out" + n),
                                           dir_ / ("err" + n));
  }

 private:
  const test_server& srv_;
  const work_dir& dir_;
  std::string url_;
  int runs_ = 0;
};

// A TCP relay on 127.0.0.1 in front of cairnd, like a network path: it counts
// the bytes the server sends, can fail (drop every connection and refuse new
// ones), and can be pointed at a restarted server, so that the client keeps
// one URL throughout.
class tcp_relay {
 public:
  explicit tcp_relay(unsigned short upstream) : upstream_(upstream) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in a = loopback(0);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~tcp_relay() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/taxii2/"; }
  void set_upstream(unsigned short port) { upstream_ = port; }
  void set_down(bool down) { down_ = down; }
  std::uint64_t server_bytes() const { return server_bytes_; }

 private:
  struct link {
    int client;
    int server;
  };

  static sockaddr_in loopback(unsigned short port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  static bool send_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  int connect_upstream() const {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    sockaddr_in a = loopback(upstream_);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(s);
      return -1;
    }
    return s;
  }
  void loop() {
    std::vector<link> links;
    std::vector<char> buf(64 * 1024);
    auto drop = [](link& l) {
      ::close(l.client);
      ::close(l.server);
    };
    while (!stop_) {
      if (down_) {
        for (auto& l : links) drop(l);
        links.clear();
      }
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (const auto& l : links) {
        fds.push_back({l.client, POLLIN, 0});
        fds.push_back({l.server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 5) <= 0) continue;
      // Relays what is readable; a closed or failed side closes the link.
      auto relay = [&](int from, int to, short events, bool from_server) {
        if (!(events & (POLLIN | POLLHUP | POLLERR))) return true;
        const ssize_t r = ::recv(from, buf.data(), buf.size(), 0);
        if (r <= 0 || !send_all(to, buf.data(), static_cast<std::size_t>(r))) return false;
        if (from_server) server_bytes_ += static_cast<std::uint64_t>(r);
        return true;
      };
      std::vector<link> live;
      for (std::size_t i = 0; i < links.size(); ++i) {
        if (relay(links[i].client, links[i].server, fds[1 + 2 * i].revents, false) &&
            relay(links[i].server, links[i].client, fds[2 + 2 * i].revents, true)) {
          live.push_back(links[i]);
        } else {
          drop(links[i]);
        }
      }
      links = std::move(live);
      if (fds[0].revents & POLLIN) {
        const int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        const int s = down_ ? -1 : connect_upstream();
        if (s < 0) {
          ::close(c);
        } else {
          links.push_back({c, s});
        }
      }
    }
    for (auto& l : links) drop(l);
  }

  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<unsigned short> upstream_;
  std::atomic<bool> down_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> server_bytes_{0};
  std::thread thread_;
};

formats::json_document parse(std::string_view text) {
  auto d = formats::parse_json(text);
  INFO(text.substr(0, 500));
  REQUIRE(d);
  return std::move(*d);
}

std::string text_of(const formats::json_view& v, std::string_view key) {
  auto m = v.get(key);
  return m && m->is_string() ? std::string(m->as_string()) : std::string{};
}

// (id, version) as the server keys an object: modified, else created.
std::string key_of(const formats::json_view& o) {
  std::string version = text_of(o, "modified");
  if (version.empty()) version = text_of(o, "created");
  return text_of(o, "id") + " " + version;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// The objects of a JSON-lines output, by key; every key must appear once.
std::map<std::string, std::string> objects_by_key(const std::string& jsonl) {
  std::map<std::string, std::string> out;
  for (const auto& line : lines_of(jsonl)) {
    const auto d = parse(line);
    const auto key = key_of(d.root());
    INFO("pulled twice: " << key);
    CHECK(out.emplace(key, line).second);
  }
  return out;
}

std::string indicators_jsonl(const std::vector<std::string>& ids, const std::string& modified) {
  std::string out;
  for (const auto& id : ids) out += make_indicator(id, modified) + "\n";
  return out;
}

std::vector<std::string> new_ids(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(random_stix_id("indicator"));
  return out;
}

std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(CAIRN_CORPUS_DIR) / "valid")) {
    files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Waits until the relay has carried `bytes` from the server; false when the
// process exited first.
bool wait_for_progress(cairn_process& p, const tcp_relay& relay, std::uint64_t bytes) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (p.exited()) return false;
    if (relay.server_bytes() >= bytes) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

}  // namespace

TEST_CASE("cairn publishes the whole valid corpus from files and pulls it back equal",
          "[integration][cli]") {
  test_server srv;
  work_dir dir;
  cairn_runner cairn(srv, dir);

  std::vector<std::string> args = {"publish", "intel"};
  const auto files = corpus_files();
  args.insert(args.end(), files.begin(), files.end());
  args.push_back("--json");
  auto published = cairn.run("admin", args);
  REQUIRE(published.code == 0);
  const auto objects = valid_corpus_objects();
  const auto report = parse(published.out);
  CHECK(report.root().get("total")->as_int() == static_cast<std::int64_t>(objects.size()));
  CHECK(report.root().get("succeeded")->as_int() == static_cast<std::int64_t>(objects.size()));
  CHECK(report.root().get("failed")->as_int() == 0);
  CHECK(report.root().get("status_ids")->size() >= 1);

  // What the server holds: the first copy of each (id, version), in file order.
  std::map<std::string, std::string> expected;
  for (const auto& o : objects) expected.emplace(key_of(parse(o).root()), o);
  REQUIRE(expected.size() < objects.size());  // the corpus repeats some pairs

  const auto out = dir / "corpus.jsonl";
  auto pulled = cairn.run("admin", {"pull", "intel", "--version", "all", "--format", "jsonl",
                                    "--out", out.string(), "--limit", "100"});
  REQUIRE(pulled.code == 0);
  CHECK(pulled.err.find("pulled " + std::to_string(expected.size()) + " objects") !=
        std::string::npos);
  const auto got = objects_by_key(read_file(out));
  CHECK(got.size() == expected.size());
  for (const auto& [key, json] : expected) {
    INFO(key);
    auto it = got.find(key);
    REQUIRE(it != got.end());
    CHECK(parse(it->second).root().equals(parse(json).root()));
  }

  // The default output: one STIX bundle on stdout with the same objects.
  auto bundle = cairn.run("admin", {"pull", "intel", "--version", "all"});
  REQUIRE(bundle.code == 0);
  const auto b = parse(bundle.out);
  CHECK(text_of(b.root(), "type") == "bundle");
  CHECK(text_of(b.root(), "id").starts_with("bundle--"));
  const auto list = b.root().get("objects");
  REQUIRE(list);
  REQUIRE(list->size() == expected.size());
  std::set<std::string> keys;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto o = list->value_at(i);
    keys.insert(key_of(o));
    auto it = expected.find(key_of(o));
    REQUIRE(it != expected.end());
    CHECK(o.equals(parse(it->second).root()));
  }
  CHECK(keys.size() == expected.size());
}

TEST_CASE("cairn pull --state gives only the new objects, none twice", "[integration][cli]") {
  test_server srv;
  work_dir dir;
  cairn_runner cairn(srv, dir);
  const auto state = (dir / "open.state").string();

  const auto first_ids = new_ids(30);
  write_text(dir / "first.jsonl", indicators_jsonl(first_ids, "2021-01-01T00:00:00.000Z"));
  REQUIRE(cairn.run("admin", {"publish", "open", (dir / "first.jsonl").string()}).code == 0);

  auto one = cairn.run("admin", {"pull", "open", "--state", state, "--format", "jsonl"});
  REQUIRE(one.code == 0);
  const auto first = objects_by_key(one.out);
  CHECK(first.size() == first_ids.size());
  for (const auto& id : first_ids) CHECK(first.count(id + " 2021-01-01T00:00:00.000Z") == 1);
  REQUIRE(fs::exists(state));

  // More objects, from standard input as a JSON array: 20 new ones and a new
  // version of one already pulled.
  const auto second_ids = new_ids(20);
  std::string array = "[";
  for (const auto& id : second_ids) {
    array += make_indicator(id, "2022-02-02T00:00:00.000Z") + ",";
  }
  array += make_indicator(first_ids[0], "2023-03-03T00:00:00.000Z", {}, "revised") + "]";
  write_text(dir / "second.json", array);
  auto published = cairn.run("admin", {"publish", "open", "-"}, dir / "second.json");
  REQUIRE(published.code == 0);
  CHECK(published.err.find("published 21 of 21 objects") != std::string::npos);

  auto two = cairn.run("admin",
                       {"pull", "open", "--state", state, "--format", "jsonl", "--version", "all"});
  REQUIRE(two.code == 0);
  const auto second = objects_by_key(two.out);
  CHECK(second.size() == 21);
  for (const auto& id : second_ids) CHECK(second.count(id + " 2022-02-02T00:00:00.000Z") == 1);
  CHECK(second.count(first_ids[0] + " 2023-03-03T00:00:00.000Z") == 1);
  for (const auto& [key, json] : second) CHECK(first.count(key) == 0);

  // Nothing new: nothing pulled, and the state stays usable.
  auto three = cairn.run("admin", {"pull", "open", "--state", state, "--format", "jsonl"});
  REQUIRE(three.code == 0);
  CHECK(three.out.empty());
  CHECK(three.err.find("pulled 0 objects") != std::string::npos);

  // A state file belongs to one collection.
  auto other = cairn.run("admin", {"pull", "intel", "--state", state});
  CHECK(other.code == 1);
  CHECK(other.err.find("use another --state file") != std::string::npos);
}

TEST_CASE("an interrupted pull, run again, yields every object exactly once",
          "[integration][cli]") {
  test_server srv;
  work_dir dir;
  // cairn reaches the server through a relay: the URL (which the state file
  // records) stays the same when the server restarts on another port.
  tcp_relay relay(srv.port());
  cairn_runner cairn(srv, dir);
  cairn.set_url(relay.url());

  const std::size_t total = 3000;
  const auto ids = new_ids(total);
  write_text(dir / "many.jsonl", indicators_jsonl(ids, "2024-05-05T00:00:00.000Z"));
  auto published = cairn.run(
      "admin", {"publish", "intel", (dir / "many.jsonl").string(), "--quiet", "--batch", "1000"});
  REQUIRE(published.code == 0);

  // Pages of 50: 60 requests. How many bytes a whole pull takes, to interrupt
  // the next ones a third of the way through.
  const std::uint64_t before = relay.server_bytes();
  auto whole = cairn.run("admin", {"pull", "intel", "--format", "jsonl", "--limit", "50", "--out",
                                   (dir / "whole.jsonl").string()});
  REQUIRE(whole.code == 0);
  REQUIRE(objects_by_key(read_file(dir / "whole.jsonl")).size() == total);
  const std::uint64_t third = (relay.server_bytes() - before) / 3;

  const auto out = (dir / "pulled.jsonl").string();
  const auto state = (dir / "pull.state").string();
  const std::vector<std::string> args = {"pull",  "intel", "--format", "jsonl", "--limit",   "50",
                                         "--out", out,     "--state",  state,   "--retries", "0"};
  auto check_complete = [&] {
    const auto got = objects_by_key(read_file(out));
    CHECK(got.size() == total);
    for (const auto& id : ids) CHECK(got.count(id + " 2024-05-05T00:00:00.000Z") == 1);
  };
  auto resume = [&](std::size_t part) {
    auto again = cairn.run("admin", args);
    REQUIRE(again.code == 0);
    CHECK(again.err.find("pulled " + std::to_string(total - part) + " objects") !=
          std::string::npos);
    check_complete();
    // Once more: nothing new, nothing twice.
    auto idle = cairn.run("admin", args);
    REQUIRE(idle.code == 0);
    CHECK(idle.err.find("pulled 0 objects") != std::string::npos);
    check_complete();
  };

  SECTION("Ctrl-C") {
    auto p = cairn.start("admin", args);
    const auto from = relay.server_bytes();
    REQUIRE(wait_for_progress(*p, relay, from + third));
    REQUIRE(p->pid() > 0);
    REQUIRE(kill(p->pid(), SIGINT) == 0);
    auto r = p->wait();
    INFO(r.err);
    REQUIRE(r.code == 1);
    CHECK(r.err.find("interrupted after") != std::string::npos);
    CHECK(r.err.find("run the same command to resume") != std::string::npos);
    const auto part = lines_of(read_file(out)).size();
    CHECK(part > 0);
    CHECK(part < total);
    resume(part);
  }

  SECTION("cairn itself is killed") {
    // SIGKILL gives cairn no chance to record anything: whatever it wrote
    // after the last recorded position must be dropped on the next run,
    // including when it dies before its first periodic record (a second in).
    // It is killed as soon as objects reach the output file (cairn writes in
    // 1 MB pieces, so that is well before the end).
    auto p = cairn.start("admin", args);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto written = [&] {
      std::error_code ec;
      const auto size = std::filesystem::file_size(out, ec);
      return !ec && size > 0;
    };
    while (!p->exited() && std::chrono::steady_clock::now() < deadline && !written()) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    REQUIRE(p->pid() > 0);
    REQUIRE(kill(p->pid(), SIGKILL) == 0);
    (void)p->wait();
    auto again = cairn.run("admin", args);
    INFO(again.err);
    REQUIRE(again.code == 0);
    check_complete();
    auto idle = cairn.run("admin", args);
    REQUIRE(idle.code == 0);
    CHECK(idle.err.find("pulled 0 objects") != std::string::npos);
    check_complete();
  }

  SECTION("the connection drops") {
    auto p = cairn.start("admin", args);
    const auto from = relay.server_bytes();
    REQUIRE(wait_for_progress(*p, relay, from + third));
    relay.set_down(true);
    auto r = p->wait();
    relay.set_down(false);
    INFO(r.err);
    REQUIRE(r.code == 1);
    CHECK(r.err.find("the state file still holds the last safe position") != std::string::npos);
    const auto part = lines_of(read_file(out)).size();
    CHECK(part < total);
    resume(part);
  }

  SECTION("the server is killed and restarted") {
    auto p = cairn.start("admin", args);
    const auto from = relay.server_bytes();
    REQUIRE(wait_for_progress(*p, relay, from + third));
    srv.stop(SIGKILL);
    auto r = p->wait();
    INFO(r.err);
    REQUIRE(r.code == 1);
    CHECK(r.err.find("the state file still holds the last safe position") != std::string::npos);
    const auto part = lines_of(read_file(out)).size();
    CHECK(part < total);
    srv.start();
    relay.set_upstream(srv.port());
    resume(part);
  }
}

TEST_CASE("cairn refuses a server its CA does not vouch for, and warns on --insecure",
          "[integration][cli]") {
  test_server srv;
  work_dir dir;
  cairn_runner cairn(srv, dir);
  REQUIRE(server::make_self_signed(dir / "other.pem", dir / "other.key"));
  const auto env = cairn.environment("admin");

  auto wrong = cairn.run_raw(
      {"discover", "--url", srv.discovery_url(), "--cacert", (dir / "other.pem").string()}, env);
  CHECK(wrong.code == 1);
  CHECK(wrong.err.find("certificate") != std::string::npos);
  CHECK(wrong.err.find("refused") != std::string::npos);
  CHECK(wrong.out.empty());

  // The system store does not know a self-signed test certificate either.
  auto system = cairn.run_raw({"collections", "--url", srv.discovery_url()}, env);
  CHECK(system.code == 1);
  CHECK(system.err.find("certificate") != std::string::npos);

  auto insecure = cairn.run_raw({"discover", "--url", srv.discovery_url(), "--insecure"}, env);
  CHECK(insecure.code == 0);
  CHECK(insecure.err.find("WARNING: --insecure") != std::string::npos);
  CHECK(insecure.err.find("NOT verified") != std::string::npos);
  CHECK(insecure.out.find("Test exchange") != std::string::npos);

  // --insecure with a CA makes no sense: a usage error.
  auto both = cairn.run_raw({"discover", "--url", srv.discovery_url(), "--insecure", "--cacert",
                             (srv.dir() / "server.pem").string()},
                            env);
  CHECK(both.code == 2);
}

TEST_CASE("bad credentials give a clear message and exit code 1", "[integration][cli]") {
  test_server srv;
  work_dir dir;
  cairn_runner cairn(srv, dir);
  const auto conn = cairn.connection();
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), conn.begin(), conn.end());
    return args;
  };

  auto wrong_password =
      cairn.run_raw(with({"collections"}), {"CAIRN_USER=admin", "CAIRN_PASSWORD=wrong"});
  CHECK(wrong_password.code == 1);
  CHECK(wrong_password.err.find("401") != std::string::npos);
  CHECK(wrong_password.err.find("--password-file") != std::string::npos);

  write_text(dir / "pw", "wrong\n");
  auto unknown_user = cairn.run_raw(
      with({"pull", "intel", "--user", "mallory", "--password-file", (dir / "pw").string()}), {});
  CHECK(unknown_user.code == 1);
  CHECK(unknown_user.err.find("401") != std::string::npos);

  write_text(dir / "token", "cairn_wrong_token_0000000000000000000000\n");
  auto wrong_token =
      cairn.run_raw(with({"discover", "--token-file", (dir / "token").string()}), {});
  CHECK(wrong_token.code == 1);
  CHECK(wrong_token.err.find("401") != std::string::npos);
  CHECK(wrong_token.err.find("--token-file") != std::string::npos);

  // No password at all is a usage error, found before any connection.
  auto no_password = cairn.run_raw(with({"discover", "--user", "admin"}), {});
  CHECK(no_password.code == 2);
  CHECK(no_password.err.find("needs a password") != std::string::npos);

  // Right credentials, missing right: refused by the server with its reason.
  write_text(dir / "ind.json",
             make_indicator(random_stix_id("indicator"), "2021-01-01T00:00:00.000Z"));
  auto no_write = cairn.run("reader", {"publish", "intel", (dir / "ind.json").string()});
  CHECK(no_write.code == 1);
  CHECK(no_write.err.find("403") != std::string::npos);
  auto hidden = cairn.run("reader", {"pull", "secret"});
  CHECK(hidden.code == 1);
  CHECK(hidden.err.find("404") != std::string::npos);
}

TEST_CASE("discover, collections, get, manifest, status and delete against cairnd",
          "[integration][cli]") {
  test_server srv;
  work_dir dir;
  cairn_runner cairn(srv, dir);

  auto discover = cairn.run("reader", {"discover"});
  REQUIRE(discover.code == 0);
  CHECK(discover.out.starts_with("Test exchange\n"));
  CHECK(discover.out.find("/api1/  (default)") != std::string::npos);
  CHECK(discover.out.find("title: API root 1") != std::string::npos);
  CHECK(discover.out.find("max_content_length: 10485760") != std::string::npos);
  auto discover_json = cairn.run("reader", {"discover", "--json"});
  REQUIRE(discover_json.code == 0);
  CHECK(text_of(parse(discover_json.out).root(), "default") == "/api1/");

  auto collections = cairn.run("reader", {"collections"});
  REQUIRE(collections.code == 0);
  const auto rows = lines_of(collections.out);
  REQUIRE(rows.size() == 4);  // root line, header, intel, open
  CHECK(rows[0] == "API root /api1/");
  std::map<std::string, std::string> by_alias;
  for (std::size_t i = 2; i < rows.size(); ++i) {
    std::istringstream row(rows[i]);
    std::string id, alias, read, write;
    row >> id >> alias >> read >> write;
    by_alias[alias] = read + " " + write;
  }
  CHECK(by_alias["intel"] == "yes no");
  CHECK(by_alias["open"] == "yes no");
  CHECK(collections.out.find(k_secret) == std::string::npos);
  auto writer = cairn.run("writer", {"collections", "--json"});
  REQUIRE(writer.code == 0);
  const auto wc = parse(writer.out);
  REQUIRE(wc.root().get("collections")->size() == 1);
  CHECK(wc.root().get("collections")->value_at(0).get("can_write")->as_bool());
  CHECK(!wc.root().get("collections")->value_at(0).get("can_read")->as_bool());

  // Two versions of one indicator, published as a bundle; TLP:GREEN, so that
  // the reader (cleared for green) receives them.
  const std::string green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
  const auto id = random_stix_id("indicator");
  const auto v1 = make_indicator(id, "2021-01-01T00:00:00.000Z", green, "first");
  const auto v2 = make_indicator(id, "2021-06-01T00:00:00.000Z", green, "second");
  write_text(dir / "bundle.json", R"({"type":"bundle","id":"bundle--)" + formats::new_uuid_v4() +
                                      R"(","objects":[)" + v1 + "," + v2 + "]}");
  auto published =
      cairn.run("admin", {"publish", "intel", (dir / "bundle.json").string(), "--json"});
  REQUIRE(published.code == 0);
  const auto report = parse(published.out);
  REQUIRE(report.root().get("status_ids")->size() == 1);
  const std::string status_id(report.root().get("status_ids")->value_at(0).as_string());
  CHECK(report.root().get("objects")->value_at(1).get("result")->as_string() == "ok");

  auto status = cairn.run("admin", {"status", status_id});
  REQUIRE(status.code == 0);
  CHECK(status.out.starts_with("status " + status_id + ": complete\n"));
  CHECK(status.out.find("total 2, succeeded 2, failed 0, pending 0") != std::string::npos);
  CHECK(status.out.find("ok       " + id + " 2021-06-01T00:00:00.000Z") != std::string::npos);
  // A status belongs to whoever made it.
  CHECK(cairn.run("reader", {"status", status_id}).code == 1);

  auto latest = cairn.run("reader", {"get", "intel", id, "--json"});
  REQUIRE(latest.code == 0);
  REQUIRE(lines_of(latest.out).size() == 1);
  CHECK(parse(latest.out).root().equals(parse(v2).root()));
  auto versions = cairn.run("reader", {"get", "intel", id, "--versions"});
  REQUIRE(versions.code == 0);
  CHECK(lines_of(versions.out) ==
        std::vector<std::string>{"2021-01-01T00:00:00.000Z", "2021-06-01T00:00:00.000Z"});

  auto manifest = cairn.run("reader", {"manifest", "intel", "--version", "all"});
  REQUIRE(manifest.code == 0);
  const auto entries = lines_of(manifest.out);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].ends_with("2021-01-01T00:00:00.000Z   " + id));
  CHECK(entries[1].ends_with("2021-06-01T00:00:00.000Z   " + id));
  CHECK(manifest.err.find("2 manifest entries") != std::string::npos);

  // Delete one version, then the rest.
  CHECK(cairn.run("reader", {"delete", "intel", id}).code == 1);  // no delete right
  auto one = cairn.run("admin", {"delete", "intel", id, "--version", "2021-01-01T00:00:00.000Z"});
  REQUIRE(one.code == 0);
  CHECK(one.err.find("deleted " + id + " (version 2021-01-01T00:00:00.000Z) from intel") !=
        std::string::npos);
  auto left = cairn.run("admin", {"get", "intel", id, "--versions"});
  REQUIRE(left.code == 0);
  CHECK(lines_of(left.out) == std::vector<std::string>{"2021-06-01T00:00:00.000Z"});
  REQUIRE(cairn.run("admin", {"delete", "intel", id}).code == 0);
  auto gone = cairn.run("admin", {"get", "intel", id});
  CHECK(gone.code == 1);
  CHECK((gone.err.find("404") != std::string::npos ||
         gone.err.find("was not found") != std::string::npos));
}

TEST_CASE("cairn lookup and cairn export: answers, files and errors", "[integration][cli]") {
  test_server srv;
  work_dir dir;
  cairn_runner cairn(srv, dir);
  const std::string id = random_stix_id("indicator");
  const std::string source = (dir.path() / "in.json").string();
  {
    formats::json_writer w;
    w.begin_object().member("type", "indicator").member("spec_version", "2.1").member("id", id);
    w.member("created", "2026-01-01T00:00:00.000Z").member("modified", "2026-01-01T00:00:00.000Z");
    w.member("pattern", "[ipv4-addr:value = '203.0.113.5'] OR [url:value = 'https://x.example/a']");
    w.member("pattern_type", "stix").member("valid_from", "2020-01-01T00:00:00Z");
    w.end_object();
    write_text(source, w.take());
  }
  REQUIRE(cairn.run("admin", {"publish", "intel", source}).code == 0);

  auto found = cairn.run("bot", {"lookup", "203.0.113.5"});
  REQUIRE(found.code == 0);
  CHECK(found.out.find(id) != std::string::npos);
  CHECK(found.err.find("1 match") != std::string::npos);
  auto json = cairn.run("bot", {"lookup", "203.0.113.5", "--type", "ipv4-addr", "--json"});
  REQUIRE(json.code == 0);
  CHECK(parse(json.out).root().get("matches")->size() == 1);
  auto none = cairn.run("bot", {"lookup", "198.51.100.1", "--json"});
  REQUIRE(none.code == 0);
  CHECK(parse(none.out).root().get("matches")->size() == 0);
  auto bad = cairn.run("bot", {"lookup", "not a value"});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("none of the observables") != std::string::npos);

  // export streams to --out, replacing the file only once complete.
  const auto out = dir.path() / "list.txt";
  auto edl = cairn.run("bot", {"export", "intel", "--format", "edl", "--out", out.string()});
  REQUIRE(edl.code == 0);
  CHECK(read_file(out) == "203.0.113.5\nx.example/a\n");
  CHECK_FALSE(fs::exists(out.string() + ".part"));
  auto csv = cairn.run("bot", {"export", "intel", "--format", "csv", "--type", "url"});
  REQUIRE(csv.code == 0);
  CHECK(csv.out.starts_with("value,type,indicator_id,"));
  CHECK(csv.out.find("https://x.example/a,url," + id) != std::string::npos);
  auto stix = cairn.run("bot", {"export", "intel", "--format", "stix"});
  REQUIRE(stix.code == 0);
  CHECK(parse(stix.out).root().get("objects")->size() == 1);

  CHECK(cairn.run("bot", {"export", "intel"}).code == 2);  // no --format
  CHECK(cairn.run("bot", {"export", "intel", "--format", "pdf"}).code == 2);
  auto missing = cairn.run("bot", {"export", "nosuch", "--format", "edl", "--out", out.string()});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("no collection 'nosuch'") != std::string::npos);
  CHECK(read_file(out) == "203.0.113.5\nx.example/a\n");  // the old file stays
}
