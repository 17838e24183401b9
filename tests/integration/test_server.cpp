#include "test_server.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "formats/json.hpp"
#include "formats/stix.hpp"
#include "server/config/credentials.hpp"
#include "server/transport/tls.hpp"
#include "support/pg.hpp"
#include "support/skip.hpp"

namespace cairn::testing {

namespace fs = std::filesystem;

namespace {

std::string hash_for_test(const std::string& secret) {
  // The server takes no hash cheaper than `cairnd hash-secret` makes; each
  // password is hashed once per test process, so the suite pays the KDF a
  // few times, not once per server.
  static std::mutex mutex;
  static std::map<std::string, std::string> made;
  std::lock_guard lock(mutex);
  auto it = made.find(secret);
  if (it == made.end()) {
    auto h = server::hash_secret(secret);
    REQUIRE(h);
    it = made.emplace(secret, std::move(*h)).first;
  }
  return it->second;
}

}  // namespace

bool pg_required() {
  const char* r = std::getenv("CAIRN_REQUIRE_PG");
  return r && std::string_view(r) == "1";
}

storage_backend backend_under_test() {
  const char* b = std::getenv("CAIRN_TEST_BACKEND");
  if (b && std::string_view(b) == "postgresql") return storage_backend::postgresql;
  if (b && *b && std::string_view(b) != "lmdb") FAIL("CAIRN_TEST_BACKEND is lmdb or postgresql");
  return storage_backend::lmdb;
}

server_setup default_setup() {
  server_setup s;
  s.collections = {{k_intel, "intel", "Intel", "amber"},
                   {k_open, "open", "Open", "clear"},
                   {k_secret, "secret", "Secret", "amber"}};
  s.accounts = {
      {"admin", "admin-password", {"*"}, {"*"}, "red", false, {}},
      {"reader", "reader-password", {"intel", "open"}, {}, "green", false, {}},
      {"writer", "writer-password", {}, {"intel"}, "red", false, {}},
      {"auditor", "auditor-password", {"*"}, {}, "red", true, {}},
      {"bot",
       {},
       {"intel"},
       {"intel"},
       "amber",
       false,
       "cairn_test_token_0123456789abcdef0123456789"},
      {"nobody", "nobody-password", {}, {}, "red", false, {}},
  };
  return s;
}

test_server::test_server(server_setup setup, bool start_now)
    : setup_(std::move(setup)), temp_("cairn-test"), dir_(temp_.path()) {
  REQUIRE(server::make_self_signed(dir_ / "server.pem", dir_ / "server.key"));
  resolve_storage();
  write_file(config_path(), config_text(setup_));
  if (backend_ == storage_backend::postgresql) {
    if (!setup_.keys_from.empty()) {
      // A second node of a deployment: the same key files, mode 0600.
      fs::create_directories(dir_ / "data");
      std::size_t copied = 0;
      for (const auto& e : fs::directory_iterator(setup_.keys_from)) {
        const auto ext = e.path().extension();
        if (!e.is_regular_file() || (ext != ".key" && ext != ".pub")) continue;
        const auto to = dir_ / "data" / e.path().filename();
        fs::copy_file(e.path(), to, fs::copy_options::overwrite_existing);
        fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write);
        ++copied;
      }
      REQUIRE(copied > 0);
    } else {
      auto init = run_cairnd({"db", "init", "--config", config_path().string()});
      INFO(init.output);
      REQUIRE(init.exit_code == 0);
    }
  }
  if (start_now) start();
}

void test_server::resolve_storage() {
  backend_ = setup_.backend.value_or(backend_under_test());
  if (backend_ != storage_backend::postgresql) return;
  if (!setup_.pg_conninfo.empty()) {
    pg_conninfo_ = setup_.pg_conninfo;
    return;
  }
  if (!pg_conninfo_.empty()) return;
  if (!test_pg_conninfo()) {
    if (pg_required()) FAIL("no PostgreSQL test cluster, and CAIRN_REQUIRE_PG=1");
    // Nothing of this test can run on PostgreSQL here: say so, and end the
    // process as skipped (ctest shows "Skipped"), not as passed.
    mark_skipped(
        "no PostgreSQL test cluster (set CAIRN_TEST_PG, or run under ctest, whose fixture "
        "starts one when PostgreSQL 15 is installed)");
    std::error_code ec;
    fs::remove_all(dir_, ec);
    std::_Exit(k_skip_exit_code);
  }
  auto db = fresh_pg_database("cairn_it");
  INFO((db ? std::string() : db.error().to_string()));
  REQUIRE(db);
  pg_conninfo_ = *db;
}

void test_server::rewrite_config(const server_setup& setup) {
  setup_ = setup;
  resolve_storage();
  write_file(config_path(), config_text(setup_));
}

command_result test_server::run_cairnd(const std::vector<std::string>& args, int timeout_s) const {
  const std::string binary = std::string(CAIRN_BINARY_DIR) + "/server/cairnd";
  const auto out_path = dir_ / "command.out";
  std::vector<std::string> argv_text{"cairnd"};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (chdir(dir_.c_str()) != 0) _exit(127);
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL("cairnd " << argv_text[1] << " did not finish in " << timeout_s
                     << " s: " << read_file(out_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  command_result r;
  r.output = read_file(out_path);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

test_server::~test_server() {
  if (pid_ > 0) stop(SIGKILL);
}

std::string test_server::config_text(const server_setup& setup) const {
  formats::json_writer w;
  w.begin_object();
  w.member("listen", "127.0.0.1:0").member("data_dir", "data");
  if (setup.backend.value_or(backend_) == storage_backend::postgresql) {
    formats::json_writer st;
    st.begin_object().member("backend", "postgresql");
    st.member("conninfo", setup.pg_conninfo.empty() ? pg_conninfo_ : setup.pg_conninfo);
    st.end_object();
    std::string storage = st.take();
    if (!setup.storage_json.empty()) {
      storage.pop_back();
      storage += ", " + setup.storage_json + "}";
    }
    w.key("storage").raw(storage);
  } else if (!setup.storage_json.empty()) {
    w.key("storage").raw("{" + setup.storage_json + "}");
  }
  std::string tls = R"({"cert": "server.pem", "key": "server.key")";
  if (!setup.tls_json.empty()) tls += ", " + setup.tls_json;
  tls += "}";
  w.key("tls").raw(tls);
  // Short timeouts keep the suite quick, unless the setup sets its own.
  std::string limits = "{" + setup.limits_json;
  for (const char* key : {"request_timeout_s", "idle_timeout_s"}) {
    if (setup.limits_json.find(key) == std::string::npos) {
      if (limits.size() > 1) limits += ", ";
      limits += "\"" + std::string(key) + "\": 10";
    }
  }
  limits += "}";
  w.key("limits").raw(limits);
  w.key("discovery").begin_object().member("title", "Test exchange").member("default", "api1");
  w.end_object();
  w.key("api_roots").begin_object().key("api1").begin_object().member("title", "API root 1");
  w.key("collections").begin_array();
  for (const auto& c : setup.collections) {
    w.begin_object().member("id", c.id).member("title", c.title).member("alias", c.alias);
    if (!c.default_tlp.empty()) w.member("default_tlp", c.default_tlp);
    w.end_object();
  }
  w.end_array().end_object().end_object();
  w.key("accounts").begin_array();
  for (const auto& a : setup.accounts) {
    w.begin_object().member("name", a.name);
    if (!a.password.empty()) w.member("password_hash", hash_for_test(a.password));
    if (!a.token.empty()) {
      w.key("token_hashes").begin_array().string(server::token_hash(a.token)).end_array();
    }
    if (!a.client_cert_sha256.empty()) w.member("client_cert_sha256", a.client_cert_sha256);
    w.key("read").begin_array();
    for (const auto& r : a.read) w.string(r);
    w.end_array().key("write").begin_array();
    for (const auto& r : a.write) w.string(r);
    w.end_array();
    w.member("clearance", a.clearance).member("auditor", a.auditor);
    if (a.suspended) w.member("suspended", true);
    w.end_object();
  }
  w.end_array().end_object();
  std::string text = w.take();
  if (!setup.extra_json.empty()) {
    text.pop_back();
    text += setup.extra_json + "}";
  }
  return text;
}

void test_server::start() {
  const auto log_path = dir_ / "cairnd.log";
  const std::size_t offset = log_text().size();
  const std::string binary = std::string(CAIRN_BINARY_DIR) + "/server/cairnd";
  const std::string config = config_path().string();
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 2);
      close(fd);
    }
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    execl(binary.c_str(), "cairnd", "serve", "--config", config.c_str(), nullptr);
    _exit(127);
  }
  // The port is in the "listening" log line.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = log_text().substr(offset);
    auto pos = text.find("\"msg\":\"listening\"");
    if (pos != std::string::npos) {
      auto p = text.find("\"port\":", pos);
      REQUIRE(p != std::string::npos);
      port_ = static_cast<unsigned short>(std::stoi(text.substr(p + 7)));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("cairnd exited during start-up: " << text << "\nconfig: " << read_file(config_path()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("cairnd did not start listening: " << log_text());
}

int test_server::stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

void test_server::reload(const server_setup& setup) {
  setup_ = setup;
  reload_raw(config_text(setup));
}

void test_server::reload_raw(const std::string& config_text) {
  write_file(config_path(), config_text);
  REQUIRE(pid_ > 0);
  kill(pid_, SIGHUP);
}

std::string test_server::base_url() const {
  return "https://127.0.0.1:" + std::to_string(port_);
}

std::string test_server::log_text() const {
  return read_file(dir_ / "cairnd.log");
}

bool test_server::wait_for_log(const std::string& needle, std::size_t from, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = log_text();
    if (text.size() > from && text.find(needle, from) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

clients::client_options test_server::options(const std::string& account) const {
  clients::client_options o;
  o.url = discovery_url();
  o.cacert_file = (dir_ / "server.pem").string();
  o.timeout = std::chrono::seconds(20);
  o.retries = 0;
  for (const auto& a : setup_.accounts) {
    if (a.name == account) {
      if (!a.token.empty()) {
        o.token = a.token;
      } else if (!a.password.empty()) {
        o.user = a.name;
        o.password = a.password;
      }
    }
  }
  return o;
}

clients::taxii_client test_server::client(const std::string& account) const {
  auto c = clients::taxii_client::make(options(account));
  REQUIRE(c);
  return std::move(*c);
}

std::string envelope(const std::vector<std::string>& objects) {
  std::string out = "{\"objects\":[";
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (i) out += ',';
    out += objects[i];
  }
  return out + "]}";
}

std::string make_indicator(const std::string& id, const std::string& modified,
                           const std::string& marking, const std::string& name) {
  formats::json_writer w;
  w.begin_object().member("type", "indicator").member("spec_version", "2.1").member("id", id);
  w.member("created", "2020-01-01T00:00:00.000Z").member("modified", modified);
  w.member("name", name).member("pattern", "[ipv4-addr:value = '198.51.100.7']");
  w.member("pattern_type", "stix").member("valid_from", "2020-01-01T00:00:00Z");
  if (!marking.empty()) w.key("object_marking_refs").begin_array().string(marking).end_array();
  w.end_object();
  return w.take();
}

std::string random_stix_id(const std::string& type) {
  return type + "--" + formats::new_uuid_v4();
}

std::vector<std::string> valid_corpus_objects() {
  std::vector<std::string> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(CAIRN_CORPUS_DIR) / "valid")) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto parsed = formats::parse_stix_content(read_file(f), {}, 100000);
    REQUIRE(parsed);
    for (auto& p : *parsed) {
      REQUIRE(p.info);
      out.push_back(p.info->json);
    }
  }
  return out;
}

}  // namespace cairn::testing
