#include "storage/lmdb.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "tests/storage/temp_dir.hpp"

using namespace cairn::storage;
using cairn::storage::testing::temp_dir;

namespace {

lmdb::env open_env(const std::string& path, std::size_t map_size = std::size_t{16} << 20) {
  auto e = lmdb::env::create();
  REQUIRE(e);
  REQUIRE(e->set_maxdbs(4));
  REQUIRE(e->set_mapsize(map_size));
  auto opened = e->open(path.c_str(), MDB_NOTLS, 0600);
  REQUIRE(opened);
  return std::move(*e);
}

lmdb::dbi open_db(lmdb::env& e, const char* name) {
  auto t = lmdb::txn::begin(e);
  REQUIRE(t);
  auto d = lmdb::dbi::open(*t, name, MDB_CREATE);
  REQUIRE(d);
  REQUIRE(t->commit());
  return *d;
}

}  // namespace

TEST_CASE("lmdb: put, find, insert and erase, not-found is a value") {
  temp_dir dir;
  auto e = open_env(dir.path());
  auto db = open_db(e, "kv");

  auto t = lmdb::txn::begin(e);
  REQUIRE(t);
  REQUIRE(db.put(*t, "alpha", "1"));
  auto first = db.insert(*t, "beta", "2");
  REQUIRE(first);
  CHECK(*first);
  auto again = db.insert(*t, "beta", "3");
  REQUIRE(again);
  CHECK_FALSE(*again);  // kept as it was
  REQUIRE(t->commit());
  CHECK_FALSE(t->active());

  auto r = lmdb::txn::begin(e, nullptr, MDB_RDONLY);
  REQUIRE(r);
  auto beta = db.find(*r, "beta");
  REQUIRE(beta);
  REQUIRE(beta->has_value());
  CHECK(**beta == "2");
  auto missing = db.find(*r, "gamma");
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());
  r->abort();

  auto w = lmdb::txn::begin(e);
  REQUIRE(w);
  auto erased = db.erase(*w, "alpha");
  REQUIRE(erased);
  CHECK(*erased);
  auto erased_again = db.erase(*w, "alpha");
  REQUIRE(erased_again);
  CHECK_FALSE(*erased_again);
  REQUIRE(w->commit());
}

TEST_CASE("lmdb: a txn that is not committed is aborted by its destructor") {
  temp_dir dir;
  auto e = open_env(dir.path());
  auto db = open_db(e, "kv");
  {
    auto t = lmdb::txn::begin(e);
    REQUIRE(t);
    REQUIRE(db.put(*t, "k", "v"));
  }
  auto r = lmdb::txn::begin(e, nullptr, MDB_RDONLY);
  REQUIRE(r);
  auto found = db.find(*r, "k");
  REQUIRE(found);
  CHECK_FALSE(found->has_value());

  // A moved-from txn is inactive; the moved-to one owns the handle.
  lmdb::txn moved = std::move(*r);
  CHECK_FALSE(r->active());
  CHECK(moved.active());
  auto commit_twice = r->commit();
  CHECK_FALSE(commit_twice);
}

TEST_CASE("lmdb: a nested txn can be aborted without spoiling its parent") {
  temp_dir dir;
  auto e = open_env(dir.path());
  auto db = open_db(e, "kv");

  auto parent = lmdb::txn::begin(e);
  REQUIRE(parent);
  REQUIRE(db.put(*parent, "kept", "1"));
  {
    auto child = lmdb::txn::begin(e, &*parent);
    REQUIRE(child);
    REQUIRE(db.put(*child, "dropped", "2"));
    // The child sees its parent's writes.
    auto seen = db.find(*child, "kept");
    REQUIRE(seen);
    CHECK(seen->has_value());
  }  // aborted
  {
    auto child = lmdb::txn::begin(e, &*parent);
    REQUIRE(child);
    REQUIRE(db.put(*child, "merged", "3"));
    REQUIRE(child->commit());
  }
  REQUIRE(parent->commit());

  auto r = lmdb::txn::begin(e, nullptr, MDB_RDONLY);
  REQUIRE(r);
  CHECK(db.find(*r, "kept")->has_value());
  CHECK_FALSE(db.find(*r, "dropped")->has_value());
  CHECK(db.find(*r, "merged")->has_value());
}

TEST_CASE("lmdb: cursors seek, walk, append and reserve") {
  temp_dir dir;
  auto e = open_env(dir.path());
  auto db = open_db(e, "kv");

  auto t = lmdb::txn::begin(e);
  REQUIRE(t);
  {
    auto c = lmdb::cursor::open(*t, db);
    REQUIRE(c);
    REQUIRE(c->put("a1", "x", MDB_APPEND));
    REQUIRE(c->put("a2", "y", MDB_APPEND));
    auto space = c->reserve("b1", 5, MDB_APPEND);
    REQUIRE(space);
    std::memcpy(*space, "hello", 5);
    // Appending a key that is not past the last one is refused.
    auto out_of_order = c->put("a3", "z", MDB_APPEND);
    REQUIRE_FALSE(out_of_order);
    CHECK(out_of_order.error().code == MDB_KEYEXIST);
    CHECK(out_of_order.error().message.find("MDB_KEYEXIST") != std::string::npos);
  }
  REQUIRE(t->commit());

  auto r = lmdb::txn::begin(e, nullptr, MDB_RDONLY);
  REQUIRE(r);
  auto c = lmdb::cursor::open(*r, db);
  REQUIRE(c);
  std::string_view k;
  std::string_view v;
  auto found = c->seek("a15", k, v);
  REQUIRE(found);
  REQUIRE(*found);
  CHECK(k == "a2");
  CHECK(v == "y");
  found = c->get(k, v, MDB_NEXT);
  REQUIRE(found);
  REQUIRE(*found);
  CHECK(k == "b1");
  CHECK(v == "hello");
  found = c->get(k, v, MDB_NEXT);
  REQUIRE(found);
  CHECK_FALSE(*found);  // past the end: a value, not an error
  found = c->seek("c", k, v);
  REQUIRE(found);
  CHECK_FALSE(*found);
  found = c->get(k, v, MDB_LAST);
  REQUIRE(found);
  REQUIRE(*found);
  CHECK(k == "b1");
}

TEST_CASE("lmdb: a full map is reported as map_full and growing the map cures it") {
  temp_dir dir;
  auto e = open_env(dir.path(), std::size_t{256} << 10);
  auto db = open_db(e, "kv");
  const std::string value(1000, 'v');

  auto fill = [&](int n) -> lmdb::status {
    auto t = lmdb::txn::begin(e);
    if (!t) return std::unexpected(t.error());
    for (int i = 0; i < n; ++i) {
      if (auto st = db.put(*t, "key" + std::to_string(i), value); !st) return st;
    }
    return t->commit();
  };
  auto full = fill(1000);
  REQUIRE_FALSE(full);
  CHECK(full.error().map_full());
  CHECK(full.error().to_error().message.find("MDB_MAP_FULL") != std::string::npos);
  CHECK(full.error().to_error().code == cairn::errc::storage_full);

  REQUIRE(e.set_mapsize(std::size_t{8} << 20));
  CHECK(fill(1000));
  auto info = e.info();
  REQUIRE(info);
  CHECK(info->me_mapsize == std::size_t{8} << 20);
}

TEST_CASE("lmdb: return codes map to error codes by the kind of trouble") {
  using cairn::errc;
  CHECK(lmdb::kind_of(MDB_MAP_FULL) == errc::storage_full);
  CHECK(lmdb::kind_of(ENOSPC) == errc::storage_full);
  CHECK(lmdb::kind_of(EDQUOT) == errc::storage_full);
  CHECK(lmdb::kind_of(MDB_NOTFOUND) == errc::not_found);
  CHECK(lmdb::kind_of(EIO) == errc::io);
  CHECK(lmdb::kind_of(MDB_CORRUPTED) == errc::io);
  CHECK(lmdb::kind_of(MDB_PAGE_NOTFOUND) == errc::io);
  CHECK(lmdb::kind_of(MDB_READERS_FULL) == errc::unavailable);
  CHECK(lmdb::kind_of(ENOMEM) == errc::unavailable);
  CHECK(lmdb::kind_of(EINVAL) == errc::internal);
  CHECK(lmdb::kind_of(MDB_BAD_TXN) == errc::internal);

  auto f = lmdb::failure("mdb_txn_commit", EIO);
  CHECK(f.error().kind() == errc::io);
  CHECK(f.error().to_error().code == errc::io);
  CHECK(f.error().to_error().message == f.error().message);
}

TEST_CASE("lmdb: reader_check finds nothing to clear in a healthy environment") {
  temp_dir dir;
  auto e = open_env(dir.path());
  auto r = lmdb::txn::begin(e, nullptr, MDB_RDONLY);
  REQUIRE(r);
  auto cleared = e.reader_check();
  REQUIRE(cleared);
  CHECK(*cleared == 0);
}
