#pragma once
// Starts the real cairnd on 127.0.0.1 (port 0) in a temporary directory with
// a freshly generated certificate, and hands out TLS clients for it. The node
// stores in LMDB (its data_dir) or in a PostgreSQL database of the test
// cluster (tests/support/pg_cluster.sh, started by a ctest fixture).

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "clients/taxii_client.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace cairn::testing {

struct test_account {
  std::string name;
  std::string password;  // empty: no password
  std::vector<std::string> read;
  std::vector<std::string> write;
  std::string clearance = "red";
  bool auditor = false;
  std::string token{};               // set: a token_hashes entry is made for it
  std::string client_cert_sha256{};  // set: written as the account's fingerprint
  bool suspended = false;            // set: written as "suspended": true
};

struct test_collection {
  std::string id;
  std::string alias;
  std::string title;
  std::string default_tlp = "amber";  // empty: the key is left out
};

enum class storage_backend { lmdb, postgresql };

// The backend of a server whose setup names none: postgresql when the
// environment has CAIRN_TEST_BACKEND=postgresql (ctest runs the TAXII suite
// a second time so), else lmdb.
storage_backend backend_under_test();

// CAIRN_REQUIRE_PG=1 (CI): a test that needs PostgreSQL fails without it
// instead of skipping.
bool pg_required();

struct server_setup {
  std::vector<test_collection> collections;  // in API root "api1"
  std::vector<test_account> accounts;
  std::string limits_json;  // extra members of "limits", e.g. R"("page_size": 5)"
  std::string extra_json;   // extra top-level members, with a leading comma
  std::string tls_json;     // extra members of "tls", e.g. R"("client_ca": "ca.pem")"
  std::optional<storage_backend> backend;  // unset: backend_under_test()
  // postgresql only. The database's conninfo; empty: a fresh database of the
  // test cluster (without a cluster the running test skips).
  std::string pg_conninfo;
  // postgresql only. Another node's data_dir: this node is a second node of
  // that deployment and copies its key files (*.key, *.pub) as an operator
  // would; otherwise the constructor runs `cairnd db init` first.
  std::filesystem::path keys_from;
  std::string storage_json;  // extra members of "storage", e.g. R"("pool_size": 2)"
};

// The outcome of a cairnd command other than serve.
struct command_result {
  int exit_code = -1;  // 128+signal when killed
  std::string output;  // stdout and stderr
};

// The default: collections intel (amber), open (clear), secret (amber);
// accounts admin (all, red), reader (intel+open, green), writer (write-only
// intel), auditor, bot (token, intel, amber), nobody (no rights).
server_setup default_setup();

inline constexpr const char* k_intel = "2f1e4c3a-9b8d-4e7f-a6b5-1c2d3e4f5a6b";
inline constexpr const char* k_open = "3a2b1c0d-8e7f-4a6b-9c5d-2e3f4a5b6c7d";
inline constexpr const char* k_secret = "4b3c2d1e-7f6a-4b5c-8d9e-3f4a5b6c7d8e";

class test_server {
 public:
  explicit test_server(server_setup setup = default_setup(), bool start_now = true);
  ~test_server();
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  void start();
  // Sends sig and waits for the exit; returns the exit status (or 128+signal).
  int stop(int sig = SIGTERM);
  void restart() {
    stop();
    start();
  }
  // Rewrites the config file from setup (or raw text) and sends SIGHUP.
  void reload(const server_setup& setup);
  void reload_raw(const std::string& config_text);
  bool running() const { return pid_ > 0; }

  unsigned short port() const { return port_; }
  std::string base_url() const;  // https://127.0.0.1:PORT
  std::string discovery_url() const { return base_url() + "/taxii2/"; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path config_path() const { return dir_ / "cairn.json"; }
  std::string log_text() const;
  // Waits until the log holds `needle` (counting from the given offset).
  bool wait_for_log(const std::string& needle, std::size_t from = 0, int timeout_ms = 10000) const;

  clients::client_options options(const std::string& account) const;
  clients::taxii_client client(const std::string& account) const;
  const server_setup& setup() const { return setup_; }

  std::string config_text(const server_setup& setup) const;

  storage_backend backend() const { return backend_; }
  // The database of a node on PostgreSQL (empty on LMDB).
  const std::string& pg_conninfo() const { return pg_conninfo_; }
  // Rewrites the config file from setup without starting, stopping or
  // signalling anything (a backend switch before `cairnd migrate`). A new
  // PostgreSQL database is not initialised: run `cairnd db init` yourself.
  void rewrite_config(const server_setup& setup);
  // Runs `cairnd ARGS...` in dir() and waits (at most timeout_s, then kills it).
  command_result run_cairnd(const std::vector<std::string>& args, int timeout_s = 300) const;

 private:
  // Resolves the backend and the database of setup_ (a fresh one if needed).
  void resolve_storage();

  server_setup setup_;
  storage_backend backend_ = storage_backend::lmdb;
  std::string pg_conninfo_;
  temp_dir temp_;  // removed after the server stops
  std::filesystem::path dir_;
  int pid_ = -1;
  unsigned short port_ = 0;
};

// An envelope {"objects":[...]} of the given minified objects.
std::string envelope(const std::vector<std::string>& objects);

// A valid STIX 2.1 indicator; marking is a marking-definition id or empty.
std::string make_indicator(const std::string& id, const std::string& modified,
                           const std::string& marking = {}, const std::string& name = "test");

std::string random_stix_id(const std::string& type);

// Every object of every file in corpus/valid, minified.
std::vector<std::string> valid_corpus_objects();

}  // namespace cairn::testing
