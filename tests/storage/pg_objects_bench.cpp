// What the PostgreSQL objects part costs, without the server: publishes of
// --batch objects (one transaction each, as one writer batch with one job),
// then pages of --page objects read the way the objects endpoint reads them
// (a reader per page, a scan, version_rank for the default match[version]
// "last"). Not a test: run by hand against a server where it may create a
// database.
//
//   storage_pg_objects_bench --conninfo "host=... user=..." [--objects N] [--batch N]
//                            [--page N] [--size BYTES] [--level 0-4] [--rank 0|1]

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "formats/time.hpp"
#include "storage/pg/objects.hpp"
#include "storage/pg/pq.hpp"
#include "storage/pg/schema.hpp"

using namespace cairn;
using namespace cairn::storage;

namespace {

std::string arg(int argc, char** argv, const char* name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

// CPU seconds a process has used (user + system), from /proc: the machine
// is shared, so CPU per object says more than wall time.
double cpu_seconds(long pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return 0;
  char buf[1024] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const char* p = std::strrchr(buf, ')');
  if (!p || n == 0) return 0;
  // Fields after the command: state is 3rd; utime and stime are 14th, 15th.
  unsigned long utime = 0, stime = 0;
  int field = 2;
  for (const char* q = p + 1; *q && field < 15; ++q) {
    if (*q == ' ') {
      ++field;
      if (field == 14) utime = std::strtoul(q + 1, nullptr, 10);
      if (field == 15) stime = std::strtoul(q + 1, nullptr, 10);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long backend_pid(pq::connection& c) {
  auto r = c.exec("SELECT pg_backend_pid()");
  return r && r->size() == 1 ? static_cast<long>(r->integer(0, 0)) : 0;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int die(const std::string& what) {
  std::fprintf(stderr, "storage_pg_objects_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string server = arg(argc, argv, "--conninfo", "");
  const std::size_t objects = std::stoul(arg(argc, argv, "--objects", "100000"));
  const std::size_t batch = std::stoul(arg(argc, argv, "--batch", "1000"));
  const std::size_t page = std::stoul(arg(argc, argv, "--page", "1000"));
  const std::size_t size = std::stoul(arg(argc, argv, "--size", "400"));
  const int level = std::stoi(arg(argc, argv, "--level", "4"));
  // 0: no version_rank per record (as match[version]=all).
  const bool rank_each = arg(argc, argv, "--rank", "1") != "0";
  if (server.empty()) return die("--conninfo is required");

  pg_options o;
  o.conninfo = server;
  auto admin = pq::connection::open(o);
  if (!admin) return die(admin.error().message);
  const std::string name = "cairn_pgobj_bench_" + std::to_string(::getpid());
  if (auto r = (*admin)->exec("CREATE DATABASE " + name); !r) return die(r.error().message);
  struct dropper {
    pq::connection& c;
    std::string name;
    ~dropper() { (void)c.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); }
  } drop{**admin, name};

  o.conninfo = server + " dbname=" + name;
  auto w = pq::connection::open(o);
  if (!w) return die(w.error().message);
  pq::connection& c = **w;
  if (auto r = c.exec(pg::core_schema_sql); !r) return die(r.error().message);
  if (auto r = c.exec("INSERT INTO collections (key, name) VALUES (1, 'root/one')"); !r) {
    return die(r.error().message);
  }

  // Publish.
  const long writer_pid = backend_pid(c);
  double server_cpu = cpu_seconds(writer_pid);
  double client_cpu = cpu_seconds(::getpid());
  micros now = formats::now_micros();
  micros last = 0;
  const std::string padding(size > 120 ? size - 120 : 0, 'x');
  auto start = std::chrono::steady_clock::now();
  for (std::size_t done = 0; done < objects; done += batch) {
    publish_request req;
    req.collection = 1;
    req.publisher = "alice";
    req.status.id = "status-" + std::to_string(done);
    req.status.owner = "alice";
    for (std::size_t i = done; i < std::min(objects, done + batch); ++i) {
      char id[64];
      std::snprintf(id, sizeof id, "indicator--%08zx-0000-4000-8000-000000000000", i);
      new_object ob;
      ob.id = id;
      ob.type = "indicator";
      ob.version = "2026-01-01T00:00:00.000Z";
      ob.spec_version = "2.1";
      ob.tlp = static_cast<formats::tlp_level>(i % 5);
      ob.json =
          std::string(R"({"type":"indicator","id":")") + id + R"(","pad":")" + padding + R"("})";
      req.objects.push_back(std::move(ob));
    }
    if (auto b = c.begin(); !b) return die(b.error().message);
    auto out = pg::publish(c, req, now, last, micros{48} * 3600 * 1'000'000);
    if (!out) return die(out.error().message);
    if (auto k = c.commit(); !k) return die(k.error().message);
  }
  const double publish_s = seconds_since(start);
  const double publish_server_cpu = cpu_seconds(writer_pid) - server_cpu;
  const double publish_client_cpu = cpu_seconds(::getpid()) - client_cpu;
  (void)c.exec("ANALYZE objects");

  // Pull, page by page.
  o.pool_size = 1;  // one reader at a time: one backend to measure
  pq::pool pool(o);
  long reader_pid = 0;
  if (auto l = pool.acquire()) reader_pid = backend_pid(**l);
  server_cpu = cpu_seconds(reader_pid);
  client_cpu = cpu_seconds(::getpid());
  // A partner (not the publisher): levels above --level are withheld.
  const visibility who{static_cast<formats::tlp_level>(level), "partner"};
  start = std::chrono::steady_clock::now();
  std::size_t pulled = 0, pages = 0, bytes = 0;
  micros after = 0;
  for (;;) {
    auto r = pg::make_reader(pool.acquire(), {}, micros{48} * 3600 * 1'000'000);
    std::size_t n = 0;
    bool more = false;
    r->scan(1, after, who, [&](const object_record& rec) {
      if (n == page) {
        more = true;
        return false;
      }
      if (rank_each && !r->version_rank(rec).last) return true;
      ++n;
      bytes += rec.json.size();
      after = rec.date_added;
      return true;
    });
    if (r->last_error()) return die(r->last_error()->message);
    pulled += n;
    ++pages;
    if (!more) break;
  }
  const double pull_s = seconds_since(start);
  const double pull_server_cpu = cpu_seconds(reader_pid) - server_cpu;
  const double pull_client_cpu = cpu_seconds(::getpid()) - client_cpu;
  auto per_object = [](double s, std::size_t n) { return s * 1e6 / static_cast<double>(n); };
  std::printf(
      "publish: %zu objects in batches of %zu: %.2f s, %.0f objects/s;"
      " CPU per object: server %.1f us, client %.1f us\n",
      objects, batch, publish_s, static_cast<double>(objects) / publish_s,
      per_object(publish_server_cpu, objects), per_object(publish_client_cpu, objects));
  std::printf(
      "pull:    %zu objects (level %d) in %zu pages of %zu: %.2f s, %.0f objects/s, %.1f MB;"
      " CPU per object: server %.1f us, client %.1f us\n",
      pulled, level, pages, page, pull_s, static_cast<double>(pulled) / pull_s,
      static_cast<double>(bytes) / 1e6, per_object(pull_server_cpu, pulled),
      per_object(pull_client_cpu, pulled));
  return 0;
}
