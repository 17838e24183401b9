// The PostgreSQL audit log's cost for pulls, run by hand (not a test):
//   CAIRN_TEST_PG='host=... user=...' pg_audit_bench [records] [objects] [per_commit]
// appends `records` pull records of `objects` versions each (as a pull of a
// page of that many objects makes), per_commit records per transaction (the
// writer's group commit), into a fresh database, and prints the listed
// objects per second; then times an object query, a proof, a page of the
// log and verify_pg_audit_log.
// CAIRN_TEST_PG_KEEP=1 keeps the database (for EXPLAIN).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "formats/ed25519.hpp"
#include "pg_audit_db.hpp"
#include "storage/pg/audit.hpp"

using namespace cairn;
using namespace cairn::storage;
using clock_type = std::chrono::steady_clock;

namespace {

std::string object_id(std::uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "indicator--%08llx-0000-4000-8000-000000000000",
                static_cast<unsigned long long>(n));
  return buf;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t records = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400;
  const std::uint64_t objects = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  const std::uint64_t per_commit = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  auto made = testing::fresh_pg_audit_database("pgaudit_bench");
  if (!made) {
    std::fprintf(stderr, "%s\n", made.error().message.c_str());
    return 2;
  }
  pg_options o;
  o.conninfo = made->conninfo;
  int rc = 0;
  {
    auto c = pq::connection::open(o).value();
    pg::audit log(formats::ed25519_key::generate().value(), {});
    const micros t0 = formats::parse_rfc3339("2026-11-27T10:00:00Z").value();
    const std::string version = "2026-01-01T00:00:00.000Z";

    // The versions a pull delivers: a page of consecutive positions.
    auto pull = [&](std::uint64_t r) {
      audit_entry e;
      e.action = "pull";
      e.account = "reader-" + std::to_string(r % 16);
      e.remote = "192.0.2.7";
      e.api_root = "root";
      e.collection = "one";
      e.status = 200;
      e.key = 1;
      for (std::uint64_t i = 0; i < objects; ++i) {
        const std::uint64_t n = (r * objects + i) % 100'000;
        e.delivered.add(t0 + static_cast<micros>(n), object_id(n), version);
      }
      return e;
    };
    // The versions pulls deliver: a pull record keeps their positions and
    // reads them back from here.
    c->exec(
         "INSERT INTO collections (key, name) VALUES (1, 'root/one');"
         "INSERT INTO objects (collection, date_added, id, version, time_key, spec_version, "
         "publisher, tlp, json) SELECT 1, " +
         std::to_string(t0) +
         " + n, format('indicator--%s-0000-4000-8000-000000000000', lpad(to_hex(n), 8, '0')), "
         "'" +
         version + "', 'k', '2.1', 'alice', 1, '{}' FROM generate_series(0, 99999) n")
        .value();
    std::vector<audit_entry> entries;
    for (std::uint64_t r = 0; r < records; ++r) entries.push_back(pull(r));

    double build = 0;
    const auto start = clock_type::now();
    for (std::uint64_t r = 0; r < records && rc == 0;) {
      const auto b = clock_type::now();
      std::vector<pg::audit_append> batch;
      for (; batch.size() < per_commit && r < records; ++r) {
        batch.push_back(pg::audit_append_of(entries[r]).value());
      }
      build += seconds_since(b);
      if (!c->begin() || !log.append(*c, std::move(batch), t0 + static_cast<micros>(r)) ||
          !c->commit()) {
        std::fprintf(stderr, "append failed\n");
        rc = 1;
      }
    }
    const double took = seconds_since(start);
    const double listed = static_cast<double>(records * objects);
    std::printf("appended %llu pull records of %llu objects, %llu per commit, in %.2f s\n",
                static_cast<unsigned long long>(records), static_cast<unsigned long long>(objects),
                static_cast<unsigned long long>(per_commit), took);
    std::printf(
        "  %.0f listed objects/s (%.1f us per object; of it %.1f us building the "
        "entry's record in the caller)\n",
        listed / took, took / listed * 1e6, build / listed * 1e6);
    std::printf("  %.2f ms per record\n", took / static_cast<double>(records) * 1e3);

    auto q = clock_type::now();
    audit_query who;
    who.object = object_id(4242);
    who.limit = 1000;
    auto page = log.query(*c, who);
    std::printf("object query: %zu records in %.1f ms\n", page ? page->records.size() : 0,
                seconds_since(q) * 1e3);
    q = clock_type::now();
    auto proof = log.inclusion_proof(*c, records / 2 + 1, records);
    auto root = log.root(*c, records);
    std::printf("inclusion proof (%zu hashes) and root: %.1f ms\n", proof ? proof->size() : 0,
                seconds_since(q) * 1e3);
    auto size = c->exec("SELECT pg_total_relation_size('audit')").value();
    q = clock_type::now();
    audit_query all;
    all.limit = 100;
    auto listed_page = log.query(*c, all);
    std::printf("a page of the log (%zu records): %.1f ms\n",
                listed_page ? listed_page->records.size() : 0, seconds_since(q) * 1e3);
    std::printf("audit table: %.1f MB (%.1f bytes per listed object)\n",
                static_cast<double>(size.integer(0, 0)) / 1e6,
                static_cast<double>(size.integer(0, 0)) / listed);
    q = clock_type::now();
    auto verdict = verify_pg_audit_log(o, log.public_key_pem());
    std::printf("verify: %s, %llu records (%.0f listed objects/s) in %.2f s\n",
                verdict && verdict->intact ? "intact" : "NOT intact",
                static_cast<unsigned long long>(verdict ? verdict->records : 0),
                listed / seconds_since(q), seconds_since(q));
    if (!page || !proof || !root || !verdict || !verdict->intact) rc = 1;
  }
  return rc;
}
