#pragma once
// An LMDB store (objects and audit log) in a directory, and the traffic the
// server makes: publishes and deletes with their records in the same commit
// (through the seam), pulls recorded with the versions they carried, other
// records. store() and log() are its parts, for tests of the parts.

#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "formats/stix.hpp"
#include "storage/audit_log.hpp"
#include "storage/lmdb_store.hpp"
#include "storage/lmdb_store_parts.hpp"
#include "storage/object_store.hpp"

namespace cairn::storage::testing {

inline std::string audit_object_id(int n, const char* type = "indicator") {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%s--%08x-0000-4000-8000-%012x", type, n, n * 7 + 1);
  return buf;
}

inline new_object audit_test_object(const std::string& id, const std::string& version,
                                    formats::tlp_level tlp = formats::tlp_level::green) {
  new_object o;
  o.id = id;
  o.type = id.substr(0, id.find("--"));
  o.version = version;
  o.spec_version = "2.1";
  o.tlp = tlp;
  o.json = R"({"type":")" + o.type + R"(","id":")" + id + R"(","modified":")" + version + R"("})";
  return o;
}

inline std::string audit_test_version(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-01-%02dT00:%02d:%02d.000Z", 1 + n / 3600 % 28, n / 60 % 60,
                n % 60);
  return buf;
}

struct delivered_version {
  micros position = 0;
  std::string id;
  std::string version;
};

class audit_fixture {
 public:
  explicit audit_fixture(const std::string& dir, std::uint64_t checkpoint_records = 10'000,
                         std::shared_ptr<store_faults> faults = {})
      : dir_(dir) {
    lmdb_store_options so;
    so.path = dir + "/store";
    so.faults = std::move(faults);
    so.key_path = dir + "/audit-signing.key";
    so.public_key_path = dir + "/audit-signing.pub";
    so.checkpoint_records = checkpoint_records;
    so.checkpoint_interval = std::chrono::hours(1);
    auto s = open_lmdb_store(so);
    REQUIRE(s);
    store_ = std::move(*s);
    auto a = store_->collection("api1/coll-a");
    auto b = store_->collection("api1/coll-b");
    REQUIRE(a);
    REQUIRE(b);
    a_ = *a;
    b_ = *b;
  }
  ~audit_fixture() { close(); }

  storage::store& seam() { return *store_; }
  object_store& store() { return objects_of(*store_); }
  audit_log& log() { return audit_of(*store_); }
  storage::database& db() { return database_of(*store_); }
  collection_key a() const { return a_; }
  collection_key b() const { return b_; }
  static std::string collection_id(collection_key c) { return "coll-" + std::to_string(c); }
  const std::string& dir() const { return dir_; }
  std::string store_path() const { return dir_ + "/store"; }
  std::string public_key_path() const { return dir_ + "/audit-signing.pub"; }

  publish_outcome publish(collection_key c, const std::string& account,
                          std::vector<new_object> objects, bool audited = true) {
    publish_request r;
    r.collection = c;
    r.publisher = account;
    r.objects = std::move(objects);
    std::promise<result<publish_outcome>> p;
    auto f = p.get_future();
    auto done = [&p](result<publish_outcome> o) { p.set_value(std::move(o)); };
    if (audited) {
      store_->publish(std::move(r), entry("publish", account, c, 202), std::move(done));
    } else {
      store().publish(std::move(r), std::move(done));
    }
    auto out = f.get();
    REQUIRE(out);
    return *out;
  }

  // The same, returning the failure instead of requiring success.
  result<publish_outcome> try_publish(collection_key c, const std::string& account,
                                      std::vector<new_object> objects) {
    publish_request r;
    r.collection = c;
    r.publisher = account;
    r.objects = std::move(objects);
    std::promise<result<publish_outcome>> p;
    auto f = p.get_future();
    store_->publish(std::move(r), entry("publish", account, c, 202),
                    [&p](result<publish_outcome> o) { p.set_value(std::move(o)); });
    return f.get();
  }

  // A pull page: live versions after `after`, those that take() accepts, at
  // most limit; recorded before it returns.
  std::vector<delivered_version> pull(collection_key c, const std::string& account, micros after,
                                      std::size_t limit,
                                      const std::function<bool(const object_record&)>& take = {}) {
    std::vector<delivered_version> out;
    audit_entry e = entry("pull", account, c, 200);
    {
      auto txn = store().begin_read();
      txn.scan(c, after, [&](const object_record& r) {
        if (take && !take(r)) return true;
        out.push_back({r.date_added, std::string(r.id), std::string(r.version)});
        e.delivered.add(r.date_added, r.id, r.version);
        return out.size() < limit;
      });
    }
    e.key = c;
    if (!out.empty()) record(std::move(e));
    return out;
  }

  std::size_t remove(collection_key c, const std::string& account, const std::string& id) {
    delete_request d;
    d.collection = c;
    {
      auto txn = store().begin_read();
      txn.versions(c, id, [&](const object_record& r) {
        d.positions.push_back(r.date_added);
        return true;
      });
    }
    std::promise<result<std::size_t>> p;
    auto f = p.get_future();
    store_->remove(std::move(d), entry("delete", account, c, 200),
                   [&p](result<std::size_t> n) { p.set_value(std::move(n)); });
    auto n = f.get();
    REQUIRE(n);
    return *n;
  }

  std::uint64_t record(audit_entry e) {
    std::promise<result<std::uint64_t>> p;
    auto f = p.get_future();
    store_->record(std::move(e), [&p](result<std::uint64_t> s) { p.set_value(std::move(s)); });
    auto seq = f.get();
    REQUIRE(seq);
    return *seq;
  }

  static audit_entry entry(std::string action, std::string account, collection_key c, int status) {
    audit_entry e;
    e.action = std::move(action);
    e.account = std::move(account);
    e.remote = "127.0.0.1";
    e.api_root = "api1";
    e.collection = c ? collection_id(c) : std::string();
    e.status = status;
    return e;
  }

  void close() {
    if (store_) store_->close();
    store_.reset();
  }

 private:
  std::string dir_;
  std::unique_ptr<storage::store> store_;
  collection_key a_ = 0;
  collection_key b_ = 0;
};

}  // namespace cairn::storage::testing
