#include "storage/audit_log.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "formats/json.hpp"
#include "formats/merkle.hpp"
#include "storage/audit_codec.hpp"
#include "storage/database.hpp"
#include "storage/faults.hpp"
#include "storage/lmdb.hpp"
#include "tests/storage/audit_fixture.hpp"
#include "tests/storage/temp_dir.hpp"

using namespace cairn;
using namespace cairn::storage;
using namespace cairn::storage::testing;
namespace merkle = cairn::formats::merkle;

namespace {

struct parsed {
  std::string json;
  formats::audit_record record;
  std::string body;  // from the JSON, as an outside verifier computes it
};

std::vector<parsed> query_all(const audit_log& log, audit_query q = {}) {
  std::vector<parsed> out;
  q.limit = q.limit ? q.limit : 1000;
  for (int pages = 0; pages < 10000; ++pages) {
    auto page = log.query(q);
    REQUIRE(page);
    for (auto& json : page->records) {
      auto doc = formats::parse_json(json);
      REQUIRE(doc);
      auto r = formats::parse_audit_record(doc->root());
      REQUIRE(r);
      auto body = formats::audit_body_of(doc->root());
      REQUIRE(body);
      out.push_back({json, std::move(*r), std::move(*body)});
    }
    if (!page->more) break;
    REQUIRE(page->resume > q.after);
    q.after = page->resume;
  }
  return out;
}

std::vector<std::uint64_t> seqs_of(const std::vector<parsed>& records) {
  std::vector<std::uint64_t> out;
  for (const auto& p : records) out.push_back(p.record.seq);
  return out;
}

std::vector<merkle::digest> leaves_of(const std::vector<parsed>& records) {
  std::vector<merkle::digest> out;
  for (const auto& p : records) out.push_back(merkle::leaf_hash(p.body));
  return out;
}

std::vector<new_object> batch(int first, int count, collection_key = 0) {
  std::vector<new_object> out;
  for (int i = first; i < first + count; ++i) {
    out.push_back(audit_test_object(audit_object_id(i), audit_test_version(i)));
  }
  return out;
}

// The raw value of record seq, read straight from LMDB.
std::string raw_record(database& db, std::uint64_t seq) {
  db.guard().enter_shared();
  std::string out;
  {
    auto t = lmdb::txn::begin(db.env(), nullptr, MDB_RDONLY);
    REQUIRE(t);
    auto d = lmdb::dbi::open(*t, "audit", 0);
    REQUIRE(d);
    char key[8];
    for (int i = 7; i >= 0; --i) key[7 - i] = static_cast<char>(seq >> (8 * i));
    auto v = d->find(*t, std::string_view(key, 8));
    REQUIRE(v);
    REQUIRE(*v);
    out.assign(**v);
  }
  db.guard().leave_shared();
  return out;
}

}  // namespace

TEST_CASE("audit log: the records form a hash chain and a tree anyone can check from the JSON") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  auto config = audit_fixture::entry("config", "", 0, 0);
  config.sha256 = std::string(64, 'c');
  config.remote.clear();
  fx.record(config);
  fx.publish(fx.a(), "alice", batch(0, 10));
  auto pulled = fx.pull(fx.a(), "bob", 0, 1000);
  REQUIRE(pulled.size() == 10);
  fx.record(audit_fixture::entry("denied", "bob", fx.b(), 403));
  auto counter = audit_fixture::entry("auth-failure", "", 0, 401);
  counter.suppressed = 25;
  counter.accounts = {{"alice", 20}, {"bob", 3}};  // 2 named no known account
  fx.record(counter);
  CHECK(fx.remove(fx.a(), "alice", audit_object_id(3)) == 1);

  auto records = query_all(fx.log());
  REQUIRE(records.size() == 6);
  CHECK(*fx.log().size() == 6);
  merkle::digest prev{};
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i].record;
    CHECK(r.seq == i + 1);
    CHECK(r.prev == prev);
    CHECK(formats::audit_chain_hash(r.prev, records[i].body) == r.hash);
    // The JSON is the canonical form of the record.
    auto doc = formats::parse_json(records[i].json);
    CHECK(formats::canonical_json(doc->root()) == records[i].json);
    prev = r.hash;
  }
  CHECK(records[0].record.action == "config");
  CHECK(records[0].record.sha256 == std::string(64, 'c'));
  CHECK(records[1].record.action == "publish");
  CHECK(records[1].record.account == "alice");
  CHECK(records[1].record.status == 202);
  CHECK(records[1].record.objects.size() == 10);
  CHECK(records[2].record.action == "pull");
  CHECK(records[2].record.objects.size() == 10);
  CHECK(records[2].record.objects[4].id == audit_object_id(4));
  CHECK(records[2].record.objects[4].version == audit_test_version(4));
  CHECK(records[3].record.action == "denied");
  CHECK(records[3].record.objects.empty());
  CHECK(records[4].record.suppressed == 25);
  CHECK(records[4].record.accounts ==
        std::map<std::string, std::uint64_t>{{"alice", 20}, {"bob", 3}});
  CHECK(records[5].record.action == "delete");
  REQUIRE(records[5].record.objects.size() == 1);
  CHECK(records[5].record.objects[0].id == audit_object_id(3));
  // Times never go backwards along seq.
  for (std::size_t i = 1; i < records.size(); ++i) {
    CHECK(records[i - 1].record.time <= records[i].record.time);
  }

  const auto leaves = leaves_of(records);
  auto root = fx.log().root(leaves.size());
  REQUIRE(root);
  CHECK(*root == merkle::root_of(leaves));
  for (std::uint64_t seq = 1; seq <= leaves.size(); ++seq) {
    auto proof = fx.log().inclusion_proof(seq, leaves.size());
    REQUIRE(proof);
    CHECK(merkle::verify_inclusion(seq - 1, leaves.size(), leaves[seq - 1], *proof, *root));
  }
  auto one = fx.log().record_json(2);
  REQUIRE(one);
  REQUIRE(*one);
  CHECK(**one == records[1].json);
  auto none = fx.log().record_json(7);
  REQUIRE(none);
  CHECK_FALSE(*none);
}

TEST_CASE("audit log: a publish and its record commit together, or neither does") {
  temp_dir dir;
  auto faults = std::make_shared<store_faults>();
  std::atomic<int> fail_commits{0};
  faults->before_commit = [&] { return fail_commits.load() > 0 ? EIO : 0; };
  audit_fixture fx(dir.path(), 10'000, faults);

  auto out = fx.publish(fx.a(), "alice", batch(0, 5));
  CHECK(out.added == 5);
  // Duplicates are accepted versions too: listed by id in the record.
  auto again = fx.publish(fx.a(), "carol", batch(3, 4));
  CHECK(again.added == 2);
  CHECK(again.duplicates == 2);

  fail_commits = 1;
  auto failed = fx.try_publish(fx.a(), "alice", batch(100, 3));
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == cairn::errc::unavailable);
  fail_commits = 0;

  auto records = query_all(fx.log());
  REQUIRE(records.size() == 2);
  const auto& second = records[1].record;
  CHECK(second.account == "carol");
  REQUIRE(second.objects.size() == 4);
  // The added versions first (position order), then the duplicates.
  CHECK(second.objects[0].id == audit_object_id(5));
  CHECK(second.objects[1].id == audit_object_id(6));
  std::set<std::string> dup = {second.objects[2].id, second.objects[3].id};
  CHECK(dup == std::set<std::string>{audit_object_id(3), audit_object_id(4)});
  // Nothing of the failed publish: neither objects nor a record.
  auto txn = fx.store().begin_read();
  int found = 0;
  txn.versions(fx.a(), audit_object_id(100), [&](const object_record&) {
    ++found;
    return true;
  });
  CHECK(found == 0);
}

TEST_CASE("audit log: a pull record lists every version the page carried, and stays small") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  for (int b = 0; b < 10; ++b) fx.publish(fx.a(), "alice", batch(b * 100, 100));
  // A filter or the policy skips every seventh version.
  int n = 0;
  auto pulled = fx.pull(fx.a(), "bob", 0, 1000, [&](const object_record&) { return ++n % 7 != 0; });
  REQUIRE(pulled.size() == 858);
  audit_query q;
  q.action = "pull";
  auto records = query_all(fx.log(), q);
  REQUIRE(records.size() == 1);
  const auto& objects = records[0].record.objects;
  REQUIRE(objects.size() == pulled.size());
  for (std::size_t i = 0; i < objects.size(); ++i) {
    CHECK(objects[i].id == pulled[i].id);
    CHECK(objects[i].version == pulled[i].version);
  }
  // Stored as runs of positions, not as 858 ids (about 80 KB).
  const std::string raw = raw_record(fx.db(), records[0].record.seq);
  CHECK(raw.size() < 1200);
  CHECK(records[0].json.size() > 60'000);

  // A page of consecutive versions costs a few bytes.
  auto whole = fx.pull(fx.a(), "carol", 0, 1000);
  REQUIRE(whole.size() == 1000);
  CHECK(raw_record(fx.db(), *fx.log().size()).size() < 150);
}

TEST_CASE("audit log: queries by object, account, collection, action and time, with paging") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  std::mt19937 rng(7);
  // Publishes in both collections, then partners pulling pages of a.
  for (int b = 0; b < 6; ++b) fx.publish(fx.a(), b % 2 ? "alice" : "dave", batch(b * 50, 50));
  fx.publish(fx.b(), "alice", batch(1000, 40));
  struct pull_seen {
    std::string account;
    std::set<std::string> ids;
  };
  std::vector<pull_seen> pulls;
  const std::vector<std::string> partners = {"bob", "carol", "erin", "frank"};
  for (const auto& who : partners) {
    micros after = 0;
    for (;;) {
      const std::size_t limit = 20 + rng() % 60;
      auto page =
          fx.pull(fx.a(), who, after, limit, [&](const object_record&) { return rng() % 5 != 0; });
      if (page.empty()) break;
      pull_seen seen{who, {}};
      for (const auto& d : page) seen.ids.insert(d.id);
      pulls.push_back(std::move(seen));
      after = page.back().position;
    }
  }
  fx.pull(fx.b(), "bob", 0, 1000);

  // Who received object X: exactly the pulls that carried it, plus its publish.
  for (int x : {0, 17, 150, 299}) {
    const std::string id = audit_object_id(x);
    audit_query q;
    q.object = id;
    auto records = query_all(fx.log(), q);
    std::multiset<std::string> receivers;
    int publishes = 0;
    for (const auto& p : records) {
      const auto& objs = p.record.objects;
      CHECK(std::any_of(objs.begin(), objs.end(), [&](const auto& o) { return o.id == id; }));
      if (p.record.action == "pull") receivers.insert(p.record.account);
      if (p.record.action == "publish") ++publishes;
    }
    std::multiset<std::string> expected;
    for (const auto& p : pulls) {
      if (p.ids.count(id)) expected.insert(p.account);
    }
    CHECK(receivers == expected);
    CHECK(publishes == 1);
    CHECK(std::is_sorted(records.begin(), records.end(),
                         [](const auto& l, const auto& r) { return l.record.seq < r.record.seq; }));
  }

  // Account, collection and action filters agree with a full scan.
  const auto all = query_all(fx.log());
  auto expect_filter = [&](audit_query q, auto pred) {
    std::vector<std::uint64_t> expected;
    for (const auto& p : all) {
      if (pred(p.record)) expected.push_back(p.record.seq);
    }
    CHECK(seqs_of(query_all(fx.log(), q)) == expected);
    q.limit = 3;  // paging gives the same, in pieces
    CHECK(seqs_of(query_all(fx.log(), q)) == expected);
  };
  audit_query by_account;
  by_account.account = "carol";
  expect_filter(by_account, [](const auto& r) { return r.account == "carol"; });
  audit_query by_collection;
  by_collection.collection = audit_fixture::collection_id(fx.b());
  expect_filter(by_collection,
                [&](const auto& r) { return r.collection == by_collection.collection; });
  audit_query by_action;
  by_action.action = "publish";
  expect_filter(by_action, [](const auto& r) { return r.action == "publish"; });
  audit_query both;
  both.account = "alice";
  both.action = "publish";
  both.collection = audit_fixture::collection_id(fx.a());
  expect_filter(both, [&](const auto& r) {
    return r.account == "alice" && r.action == "publish" && r.collection == both.collection;
  });

  // Time: since and until are inclusive bounds on the record time.
  const auto t_mid = *formats::parse_rfc3339(all[all.size() / 2].record.time);
  audit_query since;
  since.since = t_mid;
  expect_filter(since, [&](const auto& r) { return *formats::parse_rfc3339(r.time) >= t_mid; });
  audit_query until;
  until.until = t_mid;
  until.account = "bob";
  expect_filter(until, [&](const auto& r) {
    return *formats::parse_rfc3339(r.time) <= t_mid && r.account == "bob";
  });

  audit_query bad;
  bad.action = "read";
  CHECK_FALSE(fx.log().query(bad));
}

// Before: audit_query had no scope; every record of every collection came back.
TEST_CASE("audit log: a scoped query sees its collections' records and those of none") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  auto config = audit_fixture::entry("config", "", 0, 0);
  config.sha256 = std::string(64, 'c');
  fx.record(config);
  fx.publish(fx.a(), "alice", batch(0, 10));
  fx.publish(fx.b(), "alice", batch(100, 10));
  for (int i = 0; i < 5; ++i) {
    fx.pull(fx.a(), "bob", 0, 4 + i);
    fx.pull(fx.b(), "bob", 0, 3 + i);
    fx.record(audit_fixture::entry("denied", "bob", i % 2 ? fx.a() : fx.b(), 403));
    fx.record(audit_fixture::entry("denied", "carol", 0, 403));
    auto counter = audit_fixture::entry("auth-failure", "", 0, 401);
    counter.suppressed = 3;
    counter.accounts = {{"bob", 2}};
    fx.record(counter);
  }
  CHECK(fx.remove(fx.b(), "alice", audit_object_id(101)) == 1);
  const std::string id_a = audit_fixture::collection_id(fx.a());
  const std::string id_b = audit_fixture::collection_id(fx.b());

  const auto all = query_all(fx.log());
  audit_scope scope;
  scope.collections = {{"api1", id_a}};
  scope.keys = {fx.a()};
  auto expect_scoped = [&](audit_query q, auto pred) {
    q.scope = scope;
    std::vector<std::uint64_t> expected;
    for (const auto& p : all) {
      if ((p.record.collection.empty() || p.record.collection == id_a) && pred(p.record)) {
        expected.push_back(p.record.seq);
      }
    }
    CHECK(seqs_of(query_all(fx.log(), q)) == expected);
    q.limit = 3;
    CHECK(seqs_of(query_all(fx.log(), q)) == expected);
    return expected.size();
  };
  auto any = [](const auto&) { return true; };
  // 1 config + 1 publish + 5 pulls + 2 denied in a + 5 without + 5 counters.
  CHECK(expect_scoped({}, any) == 19);
  for (const char* action : {"pull", "publish", "delete", "denied", "auth-failure", "config"}) {
    audit_query q;
    q.action = action;
    expect_scoped(q, [&](const auto& r) { return r.action == action; });
  }
  audit_query by_account;
  by_account.account = "bob";  // pulls, denials and the counters that name bob
  CHECK(expect_scoped(by_account, [](const auto& r) {
          return r.account == "bob" || r.accounts.contains("bob");
        }) == 12);
  audit_query in_a;
  in_a.collection = id_a;
  expect_scoped(in_a, [&](const auto& r) { return r.collection == id_a; });
  const auto t_mid = *formats::parse_rfc3339(all[all.size() / 2].record.time);
  audit_query since;
  since.since = t_mid;
  expect_scoped(since, [&](const auto& r) { return *formats::parse_rfc3339(r.time) >= t_mid; });

  // The other collection, by id or by one of its objects: nothing.
  audit_query in_b;
  in_b.collection = id_b;
  in_b.scope = scope;
  CHECK(query_all(fx.log(), in_b).empty());
  audit_query object_b;
  object_b.object = audit_object_id(101);  // published, pulled and deleted in b
  CHECK(query_all(fx.log(), object_b).size() >= 3);
  object_b.scope = scope;
  CHECK(query_all(fx.log(), object_b).empty());
  audit_query object_a;
  object_a.object = audit_object_id(1);
  object_a.scope = scope;
  CHECK(query_all(fx.log(), object_a).size() == 6);  // its publish and five pulls

  // The same collection id in another API root is another collection.
  audit_query elsewhere;
  elsewhere.scope = audit_scope{{{"api2", id_a}}, {}};
  for (const auto& p : query_all(fx.log(), elsewhere)) CHECK(p.record.collection.empty());
}

// A walk of the whole log filtered by scope would stop at
// max_audit_examined records here, with more:true and nothing found, and so
// would every later page: the scope's collection index finds the records.
TEST_CASE("audit log: a scoped query reads its collections' indexes, not the whole log") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  fx.publish(fx.a(), "alice", batch(0, 5));
  fx.publish(fx.b(), "alice", batch(100, 1));
  const auto seen = fx.pull(fx.b(), "bob", 0, 1);
  REQUIRE(seen.size() == 1);
  for (std::size_t i = 0; i < max_audit_examined + 100; ++i) {
    audit_entry e = audit_fixture::entry("pull", "bob", fx.b(), 200);
    e.key = fx.b();
    e.delivered.add(seen[0].position, seen[0].id, seen[0].version);
    fx.log().record(std::move(e));
  }
  fx.pull(fx.a(), "carol", 0, 5);
  fx.record(audit_fixture::entry("config", "", 0, 0));

  audit_query q;
  q.scope = audit_scope{{{"api1", audit_fixture::collection_id(fx.a())}}, {fx.a()}};
  for (const char* action : {"", "pull"}) {
    INFO(action);
    q.action = action;
    auto page = fx.log().query(q);
    REQUIRE(page);
    CHECK_FALSE(page->more);
    std::vector<std::string> got;
    for (const auto& json : page->records) {
      auto doc = formats::parse_json(json);
      REQUIRE(doc);
      got.push_back(std::string(doc->root().get("action")->as_string()) + " " +
                    std::string(doc->root().get("account")->as_string()));
    }
    if (q.action.empty()) {
      CHECK(got == std::vector<std::string>{"publish alice", "pull carol", "config "});
    } else {
      CHECK(got == std::vector<std::string>{"pull carol"});
    }
  }
}

TEST_CASE("audit log: a deleted object is still found, with who received it") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  fx.publish(fx.a(), "alice", batch(0, 10));
  fx.publish(fx.a(), "alice", {audit_test_object(audit_object_id(4), audit_test_version(5000))});
  fx.pull(fx.a(), "bob", 0, 1000);
  CHECK(fx.remove(fx.a(), "alice", audit_object_id(4)) == 2);
  fx.pull(fx.a(), "carol", 0, 1000);  // after the delete: not received

  audit_query q;
  q.object = audit_object_id(4);
  auto records = query_all(fx.log(), q);
  std::vector<std::string> actions;
  for (const auto& p : records) actions.push_back(p.record.action + ":" + p.record.account);
  CHECK(actions ==
        std::vector<std::string>{"publish:alice", "publish:alice", "pull:bob", "delete:alice"});
  REQUIRE(records[3].record.objects.size() == 2);
  CHECK(records[3].record.objects[1].version == audit_test_version(5000));
}

TEST_CASE("audit log: checkpoints every N records, at open when needed and at close") {
  temp_dir dir;
  std::string public_pem;
  {
    audit_fixture fx(dir.path(), 50);
    CHECK_FALSE(*fx.log().checkpoint());  // an empty log has none
    std::promise<result<formats::audit_checkpoint>> none;
    fx.log().checkpoint_now([&](result<formats::audit_checkpoint> x) { none.set_value(x); });
    auto empty = none.get_future().get();
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == cairn::errc::not_found);
    for (int i = 0; i < 120; ++i) fx.record(audit_fixture::entry("denied", "bob", fx.a(), 403));
    auto c = fx.log().checkpoint();
    REQUIRE(c);
    REQUIRE(*c);
    CHECK((*c)->tree_size == 100);
    public_pem = fx.log().public_key_pem();
    CHECK(formats::checkpoint_signature_ok(**c, public_pem));
    auto root = fx.log().root(100);
    REQUIRE(root);
    CHECK((*c)->root_hash == *root);

    std::ifstream pub(fx.public_key_path());
    std::string text((std::istreambuf_iterator<char>(pub)), {});
    CHECK(text == public_pem);
    struct stat st {};
    REQUIRE(::stat((dir.path() + "/audit-signing.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }  // close: a checkpoint of all 120
  {
    audit_fixture fx(dir.path(), 50);
    CHECK(fx.log().public_key_pem() == public_pem);  // the same key
    auto c = fx.log().checkpoint();
    REQUIRE(c);
    REQUIRE(*c);
    CHECK((*c)->tree_size == 120);
    CHECK(formats::checkpoint_signature_ok(**c, public_pem));
    const auto records = query_all(fx.log());
    CHECK((*c)->chain_hash == records.back().record.hash);
    CHECK((*c)->root_hash == merkle::root_of(leaves_of(records)));

    fx.record(audit_fixture::entry("denied", "bob", fx.a(), 403));
    std::promise<result<formats::audit_checkpoint>> p;
    auto f = p.get_future();
    fx.log().checkpoint_now([&](result<formats::audit_checkpoint> x) { p.set_value(x); });
    auto fresh = f.get();
    REQUIRE(fresh);
    CHECK(fresh->tree_size == 121);
    // Consistency between the two signed sizes.
    auto proof = fx.log().consistency_proof(120, 121);
    REQUIRE(proof);
    CHECK(merkle::verify_consistency(120, 121, (*c)->root_hash, fresh->root_hash, *proof));
  }
}

TEST_CASE("audit log: proofs across the stored tree levels") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  // Records that cross the stored heights (256-leaf nodes) several times.
  for (int b = 0; b < 4; ++b) fx.publish(fx.a(), "alice", batch(b * 10, 10));
  for (int i = 0; i < 1100; ++i) {
    if (i % 3 == 0) {
      fx.pull(fx.a(), "bob", 0, 1 + i % 40);
    } else {
      fx.record(audit_fixture::entry("denied", "p" + std::to_string(i % 9), fx.b(), 403));
    }
  }
  const auto records = query_all(fx.log());
  const auto leaves = leaves_of(records);
  const std::uint64_t n = leaves.size();
  REQUIRE(n == 1104);
  std::mt19937_64 rng(11);
  std::vector<std::uint64_t> sizes = {1, 255, 256, 257, 511, 512, 513, 1024, 1025, n};
  for (int i = 0; i < 10; ++i) sizes.push_back(1 + rng() % n);
  for (const std::uint64_t size : sizes) {
    INFO("tree size " << size);
    const auto root = merkle::root_of(std::span(leaves).first(size));
    auto stored = fx.log().root(size);
    REQUIRE(stored);
    CHECK(*stored == root);
    for (int k = 0; k < 6; ++k) {
      const std::uint64_t seq = k == 0 ? size : 1 + rng() % size;
      auto proof = fx.log().inclusion_proof(seq, size);
      REQUIRE(proof);
      CHECK(merkle::verify_inclusion(seq - 1, size, leaves[seq - 1], *proof, root));
      const std::uint64_t from = 1 + rng() % size;
      auto cproof = fx.log().consistency_proof(from, size);
      REQUIRE(cproof);
      CHECK(merkle::verify_consistency(from, size, merkle::root_of(std::span(leaves).first(from)),
                                       root, *cproof));
    }
  }
  CHECK_FALSE(fx.log().inclusion_proof(0, 5));
  CHECK_FALSE(fx.log().inclusion_proof(6, 5));
  CHECK_FALSE(fx.log().inclusion_proof(5, n + 1));
  CHECK_FALSE(fx.log().consistency_proof(0, 5));
  CHECK_FALSE(fx.log().consistency_proof(6, 5));
  CHECK_FALSE(fx.log().consistency_proof(5, n + 1));
}

TEST_CASE("audit log: bad entries are refused at once") {
  temp_dir dir;
  audit_fixture fx(dir.path());
  std::optional<result<std::uint64_t>> got;
  fx.log().record(audit_fixture::entry("read", "bob", 0, 200),
                  [&](result<std::uint64_t> r) { got = r; });
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->has_value());
  CHECK(got->error().code == cairn::errc::internal);  // the server's own mistake, not a client's
  audit_entry e = audit_fixture::entry("pull", "bob", 0, 200);
  e.delivered.add(5, "indicator--x", "2026-01-01T00:00:00Z");
  got.reset();
  fx.log().record(std::move(e), [&](result<std::uint64_t> r) { got = r; });
  REQUIRE(got.has_value());
  CHECK_FALSE(got->has_value());
  // Scoped queries rely on publish, pull and delete records naming their
  // collection (before: this one was stored).
  got.reset();
  fx.log().record(audit_fixture::entry("pull", "bob", 0, 200),
                  [&](result<std::uint64_t> r) { got = r; });
  REQUIRE(got.has_value());
  CHECK_FALSE(got->has_value());
  CHECK(*fx.log().size() == 0);
}

TEST_CASE("audit codec: the position index finds exactly the records covering a position") {
  namespace ac = cairn::storage::audit_codec;
  std::mt19937_64 rng(5);
  std::map<std::string, std::uint64_t> index;  // sorted as LMDB sorts keys
  std::vector<std::pair<micros, micros>> ranges(1);
  for (std::uint64_t seq = 1; seq <= 4000; ++seq) {
    const micros base = seq % 7 == 0 ? static_cast<micros>(rng() % (micros{1} << 50))
                                     : static_cast<micros>(rng() % 100'000);
    const std::uint64_t kind = rng() % 4;
    const micros span = kind == 0   ? 0
                        : kind == 1 ? static_cast<micros>(rng() % 50)
                        : kind == 2 ? static_cast<micros>(rng() % 5'000)
                                    : static_cast<micros>(rng() % 100'000'000);
    ranges.emplace_back(base, base + span);
    for (const auto& k : ac::bin_keys(3, base, base + span, seq)) {
      REQUIRE(k.size() == ac::bin_key_bytes);
      index.emplace(k, seq);
    }
  }
  std::vector<micros> points;
  for (int i = 0; i < 150; ++i) points.push_back(static_cast<micros>(rng() % 120'000));
  for (int i = 0; i < 50; ++i) {
    const auto& r = ranges[1 + rng() % (ranges.size() - 1)];
    points.push_back(r.first);
    points.push_back(r.second);
    if (r.first > 0) points.push_back(r.first - 1);
    points.push_back(r.second + 1);
  }
  std::size_t read = 0;
  for (const micros p : points) {
    std::set<std::uint64_t> expected;
    for (std::uint64_t seq = 1; seq < ranges.size(); ++seq) {
      if (ranges[seq].first <= p && p <= ranges[seq].second) expected.insert(seq);
    }
    std::set<std::uint64_t> got;
    for (unsigned h = 0; h < ac::bin_heights; ++h) {
      const auto b = ac::probe(3, h, p);
      std::uint64_t seq = 0;
      for (auto it = index.lower_bound(b.prefix);
           it != index.end() && it->first.starts_with(b.prefix) &&
           ac::probe_hit(b, it->first, p, seq);
           ++it) {
        CHECK(seq == it->second);
        got.insert(seq);
        ++read;
      }
    }
    CHECK(got == expected);
  }
  CHECK(read > 1000);
  // Another collection's entries are never read.
  std::uint64_t seq = 0;
  const auto other = ac::probe(4, 10, 5000);
  CHECK(index.lower_bound(other.prefix) == index.end());
  CHECK_FALSE(ac::probe_hit(other, "short", 5000, seq));
}

TEST_CASE("audit codec: a counter's accounts round-trip, in one canonical encoding") {
  namespace ac = cairn::storage::audit_codec;
  ac::record_fields f;
  f.act = ac::action::auth_failure;
  f.status = 401;
  f.time = 1'700'000'000'000'000;
  f.remote = "192.0.2.1";
  f.suppressed = 7;
  const std::string plain = ac::encode_record(f);
  CHECK(plain[0] == 1);  // without accounts: format 1, as before
  f.accounts = {{"*", 1}, {"alice", 4}, {"bob", 2}};
  const std::string named = ac::encode_record(f);
  CHECK(named[0] == 2);
  CHECK(named.substr(1, plain.size() - 1) == plain.substr(1));  // format 1 + a section
  ac::record_fields back;
  REQUIRE(ac::decode_record(named, back));
  CHECK(back.accounts == f.accounts);
  CHECK(ac::encode_record(back) == named);
  CHECK(ac::account_keys(back, 9).size() == 4);  // "", "*", alice, bob

  auto refused = [&](std::vector<std::pair<std::string_view, std::uint64_t>> accounts) {
    ac::record_fields g = f;
    g.accounts = std::move(accounts);
    ac::record_fields out;
    return !ac::decode_record(ac::encode_record(g), out);
  };
  CHECK(refused({{"bob", 2}, {"alice", 4}}));  // out of order
  CHECK(refused({{"alice", 4}, {"alice", 4}}));
  CHECK(refused({{"alice", 0}}));
  std::string bad = named;
  bad[0] = 1;  // a format 1 record with a trailing section
  CHECK_FALSE(ac::decode_record(bad, back));
  bad = plain;
  bad[0] = 2;  // format 2 without one
  CHECK_FALSE(ac::decode_record(bad, back));
}
