#include "support/pg.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <vector>

namespace cairn::testing {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

// A conninfo value in single quotes, \ and ' escaped.
std::string quoted(std::string_view v) {
  std::string out = "'";
  for (const char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

// The databases this process made, dropped when it exits (unless
// CAIRN_TEST_PG_KEEP is set, to look at them after a failure).
class made_databases {
 public:
  void add(std::string admin_conninfo, std::string name) {
    std::lock_guard lock(mutex_);
    admin_ = std::move(admin_conninfo);
    names_.push_back(std::move(name));
  }
  ~made_databases() {
    const char* keep = std::getenv("CAIRN_TEST_PG_KEEP");
    if (names_.empty() || (keep && *keep)) return;
    PGconn* c = PQconnectdb(admin_.c_str());
    if (c && PQstatus(c) == CONNECTION_OK) {
      for (const auto& name : names_) {
        // Names of [a-z0-9_] only (fresh_pg_database); FORCE ends any
        // session a test left behind.
        PQclear(PQexec(c, ("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").c_str()));
      }
    }
    if (c) PQfinish(c);
  }

 private:
  std::mutex mutex_;
  std::string admin_;
  std::vector<std::string> names_;
};

made_databases& made() {
  static made_databases all;
  return all;
}

}  // namespace

std::optional<std::string> test_pg_conninfo() {
  if (const char* direct = std::getenv("CAIRN_TEST_PG"); direct && *direct) {
    return std::string(direct);
  }
  const char* file = std::getenv("CAIRN_TEST_PG_FILE");
  if (!file || !*file) return std::nullopt;
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::string conninfo = trimmed(text.str());
  if (conninfo.empty()) return std::nullopt;
  return conninfo;
}

result<std::string> with_pg_database(const std::string& conninfo, std::string_view dbname) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(conninfo.c_str(), &err), PQconninfoFree);
  if (!options) {
    std::string why = err ? err : "out of memory";
    PQfreemem(err);
    return fail("not a PostgreSQL conninfo: " + why);
  }
  std::string out;
  for (const PQconninfoOption* o = options.get(); o->keyword; ++o) {
    if (!o->val || std::string_view(o->keyword) == "dbname") continue;
    out.append(o->keyword).append("=").append(quoted(o->val)).append(" ");
  }
  out.append("dbname=").append(quoted(dbname));
  return out;
}

result<std::string> fresh_pg_database(std::string_view prefix) {
  auto base = test_pg_conninfo();
  if (!base) return fail(errc::unavailable, "no PostgreSQL server for tests (CAIRN_TEST_PG)");
  static std::atomic<unsigned> counter{0};
  std::string name;
  for (const char c : prefix) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front()))) {
    name.insert(0, "t_");
  }
  name = name.substr(0, 30);
  std::random_device random;
  name += "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
          std::to_string(random() % 1'000'000);

  // CREATE DATABASE from the server's maintenance database.
  auto admin_info = with_pg_database(*base, "postgres");
  if (!admin_info) return std::unexpected(admin_info.error());
  std::unique_ptr<PGconn, decltype(&PQfinish)> admin(PQconnectdb(admin_info->c_str()), PQfinish);
  if (!admin || PQstatus(admin.get()) != CONNECTION_OK) {
    return fail(errc::unavailable, std::string("cannot connect to the test PostgreSQL: ") +
                                       (admin ? PQerrorMessage(admin.get()) : "out of memory"));
  }
  // The name holds only [a-z0-9_]: safe to write into the statement.
  std::unique_ptr<PGresult, decltype(&PQclear)> created(
      PQexec(admin.get(), ("CREATE DATABASE " + name).c_str()), PQclear);
  if (!created || PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
    return fail(errc::io,
                std::string("cannot create a test database: ") + PQerrorMessage(admin.get()));
  }
  made().add(*admin_info, name);
  return with_pg_database(*base, name);
}

}  // namespace cairn::testing
