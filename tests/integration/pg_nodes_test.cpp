// Several cairnd nodes on one PostgreSQL database, over TLS on 127.0.0.1
// (INTERFACE.md, "Round 2 additions / Storage backends"): concurrent
// publishers and pullers on two nodes, SIGKILL of a node under load, a
// database that goes away and comes back, and migration from LMDB with a
// checkpoint taken before and verified after.
//
// Catch2's assertions are not thread-safe: worker threads write what they
// find wrong into a `problems` list that the test's thread checks.
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "formats/json.hpp"
#include "formats/merkle.hpp"
#include "formats/taxii_read.hpp"
#include "support/pg.hpp"
#include "support/skip.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;
namespace merkle = cairn::formats::merkle;
using namespace std::chrono_literals;

namespace {

const clients::header_list k_taxii_accept = {{"Accept", "application/taxii+json;version=2.1"}};
const std::string k_objects = "/api1/collections/intel/objects/";

// Skips the running test without a PostgreSQL test cluster (fails under
// CAIRN_REQUIRE_PG=1).
#define SKIP_WITHOUT_PG_CLUSTER()                                                      \
  do {                                                                                 \
    if (!test_pg_conninfo()) {                                                         \
      if (pg_required()) FAIL("no PostgreSQL test cluster, and CAIRN_REQUIRE_PG=1");   \
      CAIRN_SKIP(                                                                      \
          "no PostgreSQL test cluster (run under ctest with PostgreSQL 15 installed, " \
          "or set CAIRN_TEST_PG)");                                                    \
    }                                                                                  \
  } while (false)

server_setup pg_setup() {
  server_setup s = default_setup();
  s.backend = storage_backend::postgresql;
  return s;
}

// A second node of first's deployment: the same database and key files.
server_setup second_node(const test_server& first) {
  server_setup s = first.setup();
  s.backend = storage_backend::postgresql;
  s.pg_conninfo = first.pg_conninfo();
  s.keys_from = first.dir() / "data";
  return s;
}

struct problem_list {
  std::mutex mutex;
  std::vector<std::string> items;
  void add(std::string what) {
    std::lock_guard lock(mutex);
    if (items.size() < 50) items.push_back(std::move(what));
  }
  std::string text() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& i : items) out += i + "\n";
    return out;
  }
  bool empty() {
    std::lock_guard lock(mutex);
    return items.empty();
  }
};

std::vector<std::string> fresh_ids(std::size_t n) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(random_stix_id("indicator"));
  return ids;
}

std::string batch_of(const std::vector<std::string>& ids) {
  std::vector<std::string> objects;
  for (const auto& id : ids) objects.push_back(make_indicator(id, "2026-01-01T00:00:00.000Z"));
  return envelope(objects);
}

// Every (id, version, date_added) of a collection, following next, in order.
std::vector<clients::manifest_record> full_manifest(clients::taxii_client& c,
                                                    const std::string& collection) {
  std::vector<clients::manifest_record> out;
  clients::object_filters f;
  f.versions = {"all"};
  for (int pages = 0; pages < 10000; ++pages) {
    auto p = c.manifest("/api1/", collection, f);
    REQUIRE(p);
    out.insert(out.end(), p->objects.begin(), p->objects.end());
    if (!p->more) return out;
    REQUIRE(!p->next.empty());
    f.next = p->next;
  }
  FAIL("the manifest of " << collection << " does not end");
  return out;
}

struct audit_entry {
  std::string json;
  formats::audit_record record;
  std::string body;
};

// The whole audit log as a node serves it, following next.
std::vector<audit_entry> audit_log(clients::taxii_client& auditor) {
  std::vector<audit_entry> out;
  std::string next;
  for (int pages = 0; pages < 100000; ++pages) {
    std::string target = "/cairn/v1/audit?limit=1000";
    if (!next.empty()) target += "&next=" + next;
    auto r = auditor.request("GET", target, {{"Accept", "application/json"}});
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto doc = formats::parse_json(r->body);
    REQUIRE(doc);
    auto records = doc->root().get("records");
    REQUIRE(records);
    for (std::size_t i = 0; i < records->size(); ++i) {
      auto rec = formats::parse_audit_record(records->value_at(i));
      REQUIRE(rec);
      auto body = formats::audit_body_of(records->value_at(i));
      REQUIRE(body);
      out.push_back({records->value_at(i).dump(), std::move(*rec), std::move(*body)});
    }
    if (!doc->root().get("more") || !doc->root().get("more")->as_bool()) return out;
    next = std::string(doc->root().get("next")->as_string());
  }
  FAIL("the audit log does not end");
  return out;
}

// seq 1..N without a gap, and each record chained to the one before.
void check_one_chain(const std::vector<audit_entry>& log) {
  REQUIRE(!log.empty());
  merkle::digest prev{};
  for (std::size_t i = 0; i < log.size(); ++i) {
    INFO("record " << log[i].json);
    REQUIRE(log[i].record.seq == i + 1);
    REQUIRE(log[i].record.prev == prev);
    REQUIRE(log[i].record.hash == formats::audit_chain_hash(prev, log[i].body));
    prev = log[i].record.hash;
  }
}

std::vector<merkle::digest> proof_of(const formats::json_view& v, const char* member) {
  std::vector<merkle::digest> out;
  auto list = v.get(member);
  REQUIRE(list);
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto d = merkle::from_hex(list->value_at(i).as_string());
    REQUIRE(d);
    out.push_back(*d);
  }
  return out;
}

void check_audit_verify(const test_server& node) {
  auto v = node.run_cairnd({"audit", "verify", "--config", node.config_path().string()});
  INFO(v.output);
  CHECK(v.exit_code == 0);
}

}  // namespace

// Before: one node per LMDB file; nothing to run two nodes on.
TEST_CASE("two nodes on one database: concurrent publishers and pullers on both agree") {
  SKIP_WITHOUT_PG_CLUSTER();
  test_server a(pg_setup());
  test_server b(second_node(a));
  test_server* nodes[2] = {&a, &b};

  constexpr int k_publishers_per_node = 2;
  constexpr int k_batches = 12;
  constexpr std::size_t k_batch = 20;
  problem_list problems;
  std::mutex acked_mutex;
  std::set<std::string> acknowledged;
  std::atomic<std::size_t> delivered{0};  // object versions every read received
  std::atomic<int> publish_requests{0};
  std::atomic<int> publishers_left{2 * k_publishers_per_node};

  std::vector<std::thread> threads;
  for (int n = 0; n < 2; ++n) {
    for (int p = 0; p < k_publishers_per_node; ++p) {
      threads.emplace_back([&, n] {
        auto here = nodes[n]->client("admin");
        auto there = nodes[1 - n]->client("admin");
        for (int i = 0; i < k_batches; ++i) {
          const auto ids = fresh_ids(k_batch);
          auto s = here.add_objects("/api1/", "intel", batch_of(ids));
          ++publish_requests;
          if (!s) {
            problems.add("publish failed: " + s.error().to_string());
            continue;
          }
          if (!s->complete() || s->success_count != static_cast<std::int64_t>(k_batch)) {
            problems.add("publish not a full success: " + s->json);
            continue;
          }
          {
            std::lock_guard lock(acked_mutex);
            acknowledged.insert(ids.begin(), ids.end());
          }
          // A 202 from one node means every node returns those objects, and
          // the status is readable there too.
          clients::object_filters f;
          f.ids = ids;
          auto m = there.manifest("/api1/", "intel", f);
          if (!m) {
            problems.add("manifest on the other node failed: " + m.error().to_string());
            continue;
          }
          delivered += m->objects.size();
          if (m->objects.size() != ids.size()) {
            problems.add("the other node returns " + std::to_string(m->objects.size()) + " of " +
                         std::to_string(ids.size()) + " acknowledged objects");
          }
          auto st = there.get_status("/api1/", s->id);
          if (!st || st->success_count != s->success_count) {
            problems.add("status " + s->id + " not readable on the other node");
          }
        }
        --publishers_left;
      });
    }
  }

  // Pullers: on each node one paging by next (alternating nodes, so each
  // token is used on the node that did not make it) and one by added_after.
  struct puller {
    bool by_next;
    int node;
    std::vector<std::string> seen;
  };
  std::vector<puller> pullers = {{true, 0, {}}, {false, 0, {}}, {true, 1, {}}, {false, 1, {}}};
  for (std::size_t k = 0; k < pullers.size(); ++k) {
    threads.emplace_back([&, k] {
      auto& pl = pullers[k];
      clients::taxii_client clients_of[2] = {nodes[pl.node]->client("admin"),
                                             nodes[1 - pl.node]->client("admin")};
      std::set<std::string> seen;
      std::string last;
      int turn = 0;
      for (int walks = 0; walks < 100000; ++walks) {
        // Publishers all done before this walk began: it is the last one.
        const bool last_walk = publishers_left.load() == 0;
        clients::object_filters f;
        f.limit = 37;
        f.added_after = last;
        bool more = true;
        while (more) {
          auto& c = pl.by_next ? clients_of[turn++ % 2] : clients_of[0];
          auto p = c.manifest("/api1/", "intel", f);
          if (!p) {
            problems.add("pull failed: " + p.error().to_string());
            return;
          }
          delivered += p->objects.size();
          for (const auto& r : p->objects) {
            if (!seen.insert(r.id).second) problems.add("pulled twice: " + r.id);
            if (!(r.date_added > last)) {
              problems.add("date_added " + r.date_added + " after " + last + " (" + r.id + ")");
            }
            last = r.date_added;
            pl.seen.push_back(r.id);
          }
          more = p->more;
          if (pl.by_next) {
            if (more && p->next.empty()) problems.add("more without next");
            f.next = p->next;
          } else {
            f.added_after = last;
          }
        }
        if (last_walk) return;
      }
      problems.add("a puller never caught up");
    });
  }
  for (auto& t : threads) t.join();
  INFO(problems.text());
  REQUIRE(problems.empty());
  REQUIRE(acknowledged.size() == 2 * k_publishers_per_node * k_batches * k_batch);

  // Nothing skipped: every puller saw exactly what was acknowledged.
  for (const auto& pl : pullers) {
    INFO("puller by " << (pl.by_next ? "next" : "added_after") << " on node " << pl.node);
    CHECK(pl.seen.size() == acknowledged.size());
    CHECK(std::set<std::string>(pl.seen.begin(), pl.seen.end()) == acknowledged);
  }
  // Both nodes list the same versions with the same date_added, strictly
  // increasing.
  auto admin_a = a.client("admin");
  auto admin_b = b.client("admin");
  auto ma = full_manifest(admin_a, "intel");
  auto mb = full_manifest(admin_b, "intel");
  delivered += ma.size() + mb.size();
  REQUIRE(ma.size() == acknowledged.size());
  REQUIRE(mb.size() == ma.size());
  for (std::size_t i = 0; i < ma.size(); ++i) {
    CHECK(ma[i].id == mb[i].id);
    CHECK(ma[i].date_added == mb[i].date_added);
    if (i) CHECK(ma[i - 1].date_added < ma[i].date_added);
  }

  // One audit log, the same on both nodes: no gap, one chain, every publish
  // and every delivery of either node in it.
  auto auditor_a = a.client("auditor");
  auto auditor_b = b.client("auditor");
  const auto log = audit_log(auditor_a);
  check_one_chain(log);
  const auto log_b = audit_log(auditor_b);
  REQUIRE(log_b.size() >= log.size());
  for (std::size_t i = 0; i < log.size(); ++i) CHECK(log_b[i].json == log[i].json);
  std::size_t publish_records = 0;
  std::size_t pulled_versions = 0;
  std::set<std::string> published;
  for (const auto& e : log) {
    if (e.record.action == "publish" && e.record.status == 202) {
      ++publish_records;
      for (const auto& o : e.record.objects) published.insert(o.id);
    }
    if (e.record.action == "pull") pulled_versions += e.record.objects.size();
  }
  CHECK(publish_records == static_cast<std::size_t>(publish_requests.load()));
  CHECK(published == acknowledged);
  CHECK(pulled_versions == delivered.load());

  // Checkpoints: each node's is signed with the deployment's key, and the
  // other node proves that the larger tree extends the smaller one.
  const std::string public_pem = read_file(a.dir() / "data" / "audit-signing.pub");
  std::vector<formats::audit_checkpoint> cps;
  for (auto* auditor : {&auditor_a, &auditor_b}) {
    auto r =
        auditor->request("GET", "/cairn/v1/audit/checkpoint", {{"Accept", "application/json"}});
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto cp = formats::parse_checkpoint(r->body);
    REQUIRE(cp);
    CHECK(formats::checkpoint_signature_ok(*cp, public_pem));
    cps.push_back(*cp);
  }
  std::sort(cps.begin(), cps.end(),
            [](const auto& x, const auto& y) { return x.tree_size < y.tree_size; });
  for (auto* auditor : {&auditor_b, &auditor_a}) {
    auto r =
        auditor->request("GET",
                         "/cairn/v1/audit/consistency?from=" + std::to_string(cps[0].tree_size) +
                             "&to=" + std::to_string(cps[1].tree_size),
                         {{"Accept", "application/json"}});
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto d = formats::parse_json(r->body);
    REQUIRE(d);
    CHECK(merkle::verify_consistency(cps[0].tree_size, cps[1].tree_size, cps[0].root_hash,
                                     cps[1].root_hash, proof_of(d->root(), "proof")));
  }

  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  check_audit_verify(a);
  check_audit_verify(b);
}

// Before: a node's crash could only be survived by the node itself.
TEST_CASE("SIGKILL of a node under publish load: the other node has every acknowledged object") {
  SKIP_WITHOUT_PG_CLUSTER();
  test_server a(pg_setup());
  test_server b(second_node(a));

  problem_list problems;
  std::mutex acked_mutex;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<bool> killed{false};
  std::atomic<int> batches_on_a{0};
  std::atomic<int> batches_on_b_after_kill{0};
  std::vector<std::thread> threads;
  auto publish_loop = [&](test_server& node, bool on_b) {
    auto opts = node.options("admin");
    opts.timeout = 20s;
    auto c = clients::taxii_client::make(opts);
    if (!c) {
      problems.add("no client: " + c.error().to_string());
      return;
    }
    while (!stop.load()) {
      const auto ids = fresh_ids(50);
      const bool after_kill = killed.load();
      auto r = c->request("POST", k_objects,
                          {{"Accept", "application/taxii+json;version=2.1"},
                           {"Content-Type", "application/taxii+json;version=2.1"}},
                          batch_of(ids));
      if (!r) {
        // The node that is killed stops answering: expected there only.
        if (on_b) problems.add("node b failed a publish: " + r.error().to_string());
        if (!on_b && !killed.load()) problems.add("node a failed before the kill");
        if (!on_b) return;
        continue;
      }
      if (r->status != 202) {
        problems.add("publish answered " + std::to_string(r->status) + ": " + r->body);
        continue;
      }
      auto s = formats::read_status(r->body);
      if (!s) {
        problems.add("not a status: " + r->body);
        continue;
      }
      // Acknowledged: a 202 whose status lists the object as a success.
      std::lock_guard lock(acked_mutex);
      for (const auto& d : s->successes) acknowledged.insert(d.id);
      if (!on_b) ++batches_on_a;
      if (on_b && after_kill) ++batches_on_b_after_kill;
    }
  };
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] { publish_loop(a, false); });
  threads.emplace_back([&] { publish_loop(b, true); });

  auto wait_until = [](const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    return done();
  };
  const bool loaded = wait_until([&] { return batches_on_a.load() >= 15; }, 120s);
  killed = true;
  CHECK(a.stop(SIGKILL) == 128 + SIGKILL);
  // The other node goes on serving.
  const bool b_went_on = wait_until([&] { return batches_on_b_after_kill.load() >= 5; }, 120s);
  stop = true;
  for (auto& t : threads) t.join();
  INFO(problems.text());
  CHECK(problems.empty());
  REQUIRE(loaded);
  CHECK(b_went_on);

  // Every acknowledged object is readable on b, with its JSON.
  auto admin_b = b.client("admin");
  const auto m = full_manifest(admin_b, "intel");
  std::set<std::string> on_b;
  for (const auto& r : m) on_b.insert(r.id);
  std::size_t missing = 0;
  for (const auto& id : acknowledged) missing += on_b.count(id) == 0 ? 1 : 0;
  CHECK(missing == 0);
  CHECK(acknowledged.size() >= 15 * 50);
  int sampled = 0;
  for (const auto& id : acknowledged) {
    if (sampled++ % 97 != 0) continue;
    auto o = admin_b.get_object("/api1/", "intel", id);
    REQUIRE(o);
    REQUIRE(o->objects.size() == 1);
    CHECK(o->objects[0].find(id) != std::string::npos);
  }

  // The log of the crash is one intact chain, and it records every
  // acknowledged publish; the killed node comes back.
  auto auditor_b = b.client("auditor");
  const auto log = audit_log(auditor_b);
  check_one_chain(log);
  std::set<std::string> recorded;
  for (const auto& e : log) {
    if (e.record.action != "publish") continue;
    for (const auto& o : e.record.objects) recorded.insert(o.id);
  }
  std::size_t unrecorded = 0;
  for (const auto& id : acknowledged) unrecorded += recorded.count(id) == 0 ? 1 : 0;
  CHECK(unrecorded == 0);
  a.start();
  auto admin_a = a.client("admin");
  CHECK(full_manifest(admin_a, "intel").size() == m.size());
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  check_audit_verify(b);
}

// Before: nothing tied a node's signing key to a database.
TEST_CASE("a node whose signing key is not the deployment's refuses to start and says so") {
  SKIP_WITHOUT_PG_CLUSTER();
  test_server a(pg_setup());
  test_server b(second_node(a), false);
  auto other = formats::ed25519_key::generate();
  REQUIRE(other);
  write_file(b.dir() / "data" / "audit-signing.key", other->private_pem());
  write_file(b.dir() / "data" / "audit-signing.pub", other->public_pem());
  // Bounded: a node that serves anyway is killed after 60 s and fails here.
  auto serve = b.run_cairnd({"serve", "--config", b.config_path().string()}, 60);
  INFO(serve.output);
  CHECK(serve.exit_code != 0);
  CHECK(serve.exit_code < 128);
  CHECK(serve.output.find("key") != std::string::npos);
  // The deployment's own node goes on.
  auto admin = a.client("admin");
  CHECK(admin.add_objects("/api1/", "intel", batch_of(fresh_ids(3))));
}

namespace {

// A PostgreSQL cluster of the test's own (support/pg_cluster.sh), removed at
// the end of the test.
class own_cluster {
 public:
  own_cluster() : dir_("cairn-pg-own") {}
  ~own_cluster() { run("remove"); }
  own_cluster(const own_cluster&) = delete;
  own_cluster& operator=(const own_cluster&) = delete;

  // The script's exit code (4: no PostgreSQL binaries here).
  int run(const std::string& command) {
    const std::string cmd = std::string("bash '") + CAIRN_PG_CLUSTER_SCRIPT + "' " + command +
                            " '" + (dir_.path() / "cluster").string() + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return -1;
    char buf[512];
    output_.clear();
    while (std::fgets(buf, sizeof buf, p)) output_ += buf;
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string conninfo() const {
    auto text = read_file(dir_.path() / "cluster" / "conninfo");
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }
  const std::string& output() const { return output_; }

 private:
  temp_dir dir_;
  std::string output_;
};

struct raw_answer {
  unsigned status = 0;
  std::string retry_after;
  std::string content_type;
  std::string body;
};

}  // namespace

// Before: a node stored in its own LMDB file; the database could not go away.
TEST_CASE("a database outage: 503 with Retry-After, health degraded, recovery by itself") {
  own_cluster cluster;
  const int started = cluster.run("start");
  if (started == 4 && !pg_required()) CAIRN_SKIP("no PostgreSQL binaries: " + cluster.output());
  INFO(cluster.output());
  REQUIRE(started == 0);
  auto setup = pg_setup();
  setup.pg_conninfo = cluster.conninfo();
  REQUIRE(!setup.pg_conninfo.empty());
  test_server node(setup);

  // Bounded client timeouts everywhere: a hang shows as a transport error.
  auto client_for = [&](const std::string& account) {
    auto o = node.options(account);
    o.timeout = 15s;
    o.retries = 0;
    auto c = clients::taxii_client::make(o);
    REQUIRE(c);
    return std::move(*c);
  };
  auto ask = [](clients::taxii_client& c, const std::string& method, const std::string& target,
                const std::string& body = {}) -> std::optional<raw_answer> {
    clients::header_list h = {{"Accept", "application/taxii+json;version=2.1"}};
    if (!body.empty()) h.push_back({"Content-Type", "application/taxii+json;version=2.1"});
    auto r = c.request(method, target, h, body);
    if (!r) return std::nullopt;
    return raw_answer{r->status, r->header("Retry-After").value_or(""),
                      r->header("Content-Type").value_or(""), r->body};
  };

  problem_list problems;
  std::mutex acked_mutex;
  std::set<std::string> acknowledged;
  std::atomic<int> acked_batches{0};
  std::atomic<int> unavailable{0};
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    auto o = node.options("admin");
    o.timeout = 15s;
    o.retries = 0;
    auto c = clients::taxii_client::make(o);
    if (!c) return problems.add("no client");
    while (!stop.load()) {
      const auto ids = fresh_ids(10);
      auto r = ask(*c, "POST", k_objects, batch_of(ids));
      if (!r) {
        // A request may meet the database going away; it must still get an
        // answer, never a hang or a dropped connection.
        problems.add("a publish got no answer");
        auto again = clients::taxii_client::make(o);
        if (again) *c = std::move(*again);
        continue;
      }
      if (r->status == 202) {
        auto s = formats::read_status(r->body);
        if (!s) {
          problems.add("not a status: " + r->body);
          continue;
        }
        std::lock_guard lock(acked_mutex);
        for (const auto& d : s->successes) acknowledged.insert(d.id);
        ++acked_batches;
      } else if (r->status == 503) {
        ++unavailable;
        if (r->retry_after.empty()) problems.add("503 without Retry-After");
        std::this_thread::sleep_for(50ms);
      } else {
        problems.add("publish answered " + std::to_string(r->status) + ": " + r->body);
      }
    }
  });
  auto wait_until = [](const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    return done();
  };
  CHECK(wait_until([&] { return acked_batches.load() >= 3; }, 60s));

  // The database goes away (a fast shutdown ends every session).
  REQUIRE(cluster.run("stop") == 0);
  const int acked_before_outage = acked_batches.load();
  auto admin = client_for("admin");
  for (const std::string& target : {k_objects, std::string("/api1/collections/intel/manifest/")}) {
    INFO(target);
    auto r = ask(admin, "GET", target);
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(!r->retry_after.empty());
    CHECK(r->content_type == "application/taxii+json;version=2.1");
    auto d = formats::parse_json(r->body);
    REQUIRE(d);
    CHECK(d->root().get("http_status"));
  }
  {
    auto r = ask(admin, "POST", k_objects, batch_of(fresh_ids(3)));
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(!r->retry_after.empty());
  }
  // Health tells the load balancer (it may learn of the outage from the
  // failed requests: wait for it, bounded).
  std::optional<raw_answer> health;
  wait_until(
      [&] {
        health = ask(admin, "GET", "/cairn/v1/health");
        return health && health->status == 503;
      },
      20s);
  REQUIRE(health);
  CHECK(health->status == 503);
  auto hd = formats::parse_json(health->body);
  REQUIRE(hd);
  REQUIRE(hd->root().get("status"));
  CHECK(hd->root().get("status")->as_string() == "degraded");
  // The publisher keeps meeting the outage for a while.
  CHECK(wait_until([&] { return unavailable.load() >= 3; }, 30s));
  CHECK(acked_batches.load() == acked_before_outage);

  // Back: the node reconnects by itself.
  REQUIRE(cluster.run("start") == 0);
  CHECK(wait_until(
      [&] {
        health = ask(admin, "GET", "/cairn/v1/health");
        return health && health->status == 200;
      },
      60s));
  REQUIRE(health);
  CHECK(health->body == R"({"status":"ok"})");
  CHECK(wait_until([&] { return acked_batches.load() >= acked_before_outage + 3; }, 60s));
  stop = true;
  publisher.join();
  INFO(problems.text());
  CHECK(problems.empty());

  // Nothing acknowledged is lost.
  const auto m = full_manifest(admin, "intel");
  std::set<std::string> stored;
  for (const auto& r : m) stored.insert(r.id);
  std::size_t missing = 0;
  for (const auto& id : acknowledged) missing += stored.count(id) == 0 ? 1 : 0;
  CHECK(missing == 0);
  CHECK(acknowledged.size() >= 60);
  auto auditor = client_for("auditor");
  check_one_chain(audit_log(auditor));
  CHECK(node.stop() == 0);
  check_audit_verify(node);
}

// Before: an exchange's history lived in one LMDB file only.
TEST_CASE(
    "migration from LMDB keeps objects, date_added and the audit log, and old checkpoints verify") {
  SKIP_WITHOUT_PG_CLUSTER();
  auto lmdb = default_setup();
  lmdb.backend = storage_backend::lmdb;
  test_server srv(lmdb);
  {
    auto admin = srv.client("admin");
    const auto ids = fresh_ids(40);
    REQUIRE(admin.add_objects("/api1/", "intel", batch_of(ids)));
    // Later versions of some, objects in another collection, a delete.
    std::vector<std::string> later;
    for (std::size_t i = 0; i < 10; ++i) {
      later.push_back(make_indicator(ids[i], "2026-02-01T00:00:00.000Z"));
    }
    REQUIRE(admin.add_objects("/api1/", "intel", envelope(later)));
    REQUIRE(admin.add_objects("/api1/", "open", batch_of(fresh_ids(15))));
    REQUIRE(admin.delete_object("/api1/", "intel", ids[39]));
    auto reader = srv.client("reader");
    REQUIRE(reader.get_objects("/api1/", "intel"));
    REQUIRE(reader.get_objects("/api1/", "open"));
  }
  auto auditor = srv.client("auditor");
  auto cp_answer =
      auditor.request("GET", "/cairn/v1/audit/checkpoint", {{"Accept", "application/json"}});
  REQUIRE(cp_answer);
  REQUIRE(cp_answer->status == 200);
  const auto old_cp = formats::parse_checkpoint(cp_answer->body);
  REQUIRE(old_cp);
  const std::string public_pem = read_file(srv.dir() / "data" / "audit-signing.pub");
  REQUIRE(formats::checkpoint_signature_ok(*old_cp, public_pem));

  auto admin = srv.client("admin");
  std::map<std::string, std::vector<clients::manifest_record>> manifests;
  std::map<std::string, std::vector<std::string>> objects;
  for (const std::string col : {"intel", "open"}) {
    manifests[col] = full_manifest(admin, col);
    clients::object_filters all;
    all.versions = {"all"};
    auto page = admin.get_objects("/api1/", col, all);
    REQUIRE(page);
    REQUIRE_FALSE(page->more);
    objects[col] = page->objects;
  }
  REQUIRE(manifests["intel"].size() == 49);
  const auto old_log = audit_log(auditor);
  REQUIRE(old_log.size() >= old_cp->tree_size);
  CHECK(srv.stop() == 0);

  // The same node, its config switched to PostgreSQL (same data_dir, so the
  // same keys): db init, migrate, serve.
  auto pg = srv.setup();
  pg.backend = storage_backend::postgresql;
  srv.rewrite_config(pg);
  auto init = srv.run_cairnd({"db", "init", "--config", srv.config_path().string()});
  INFO("db init: " << init.output);
  REQUIRE(init.exit_code == 0);
  auto migrate = srv.run_cairnd(
      {"migrate", "--from", (srv.dir() / "data").string(), "--config", srv.config_path().string()});
  INFO("migrate: " << migrate.output);
  REQUIRE(migrate.exit_code == 0);
  srv.start();

  auto admin_pg = srv.client("admin");
  for (const std::string col : {"intel", "open"}) {
    INFO(col);
    const auto m = full_manifest(admin_pg, col);
    REQUIRE(m.size() == manifests[col].size());
    for (std::size_t i = 0; i < m.size(); ++i) {
      CHECK(m[i].id == manifests[col][i].id);
      CHECK(m[i].version == manifests[col][i].version);
      CHECK(m[i].date_added == manifests[col][i].date_added);
    }
    clients::object_filters all;
    all.versions = {"all"};
    auto page = admin_pg.get_objects("/api1/", col, all);
    REQUIRE(page);
    CHECK(page->objects == objects[col]);
  }

  // The old records, byte for byte, and the old checkpoint verifies against
  // the new one: a consistency proof, the same key.
  auto auditor_pg = srv.client("auditor");
  const auto new_log = audit_log(auditor_pg);
  check_one_chain(new_log);
  REQUIRE(new_log.size() >= old_log.size());
  for (std::size_t i = 0; i < old_log.size(); ++i) CHECK(new_log[i].json == old_log[i].json);
  auto new_answer =
      auditor_pg.request("GET", "/cairn/v1/audit/checkpoint", {{"Accept", "application/json"}});
  REQUIRE(new_answer);
  REQUIRE(new_answer->status == 200);
  const auto new_cp = formats::parse_checkpoint(new_answer->body);
  REQUIRE(new_cp);
  CHECK(new_cp->public_key == old_cp->public_key);
  CHECK(formats::checkpoint_signature_ok(*new_cp, public_pem));
  REQUIRE(new_cp->tree_size >= old_cp->tree_size);
  auto proof =
      auditor_pg.request("GET",
                         "/cairn/v1/audit/consistency?from=" + std::to_string(old_cp->tree_size) +
                             "&to=" + std::to_string(new_cp->tree_size),
                         {{"Accept", "application/json"}});
  REQUIRE(proof);
  REQUIRE(proof->status == 200);
  auto pd = formats::parse_json(proof->body);
  REQUIRE(pd);
  CHECK(merkle::verify_consistency(old_cp->tree_size, new_cp->tree_size, old_cp->root_hash,
                                   new_cp->root_hash, proof_of(pd->root(), "proof")));
  CHECK(srv.stop() == 0);
  check_audit_verify(srv);
}
