// The PostgreSQL backend's operator commands (server/app/db_commands.hpp,
// audit verify --config) and the store factory's settings
// (server/api/backend.hpp). Tests that need a database run against the test
// server of support/pg.hpp, each in a fresh database; without one they skip,
// visibly.

#include "server/app/db_commands.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "server/api/backend.hpp"
#include "server/api/exchange.hpp"
#include "server/app/audit_verify.hpp"
#include "server/config/credentials.hpp"
#include "storage/lmdb_store.hpp"
#include "storage/pg/pq.hpp"
#include "storage/postgres_store.hpp"
#include "support/pg.hpp"
#include "support/skip.hpp"
#include "tests/server/test_support.hpp"

using namespace cairn;
using namespace cairn::server;
namespace fs = std::filesystem;

namespace {

#define REQUIRE_PG_SERVER()                                         \
  do {                                                              \
    if (!testing::test_pg_conninfo()) {                             \
      CAIRN_SKIP("no PostgreSQL server for tests (CAIRN_TEST_PG)"); \
    }                                                               \
  } while (false)

struct run_result {
  int code;
  std::string out;
  std::string err;
};

using command = int (*)(std::span<const std::string_view>, std::ostream&, std::ostream&);

run_result run(command cmd, std::vector<std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out, err;
  const int code = cmd(views, out, err);
  return {code, out.str(), err.str()};
}

run_result init(const fs::path& config) {
  return run(run_db_init, {"--config", config.string()});
}

run_result migrate_args(std::vector<std::string> args, bool bar = false) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::ostringstream out, err;
  const int code = run_migrate(views, out, err, bar);
  return {code, out.str(), err.str()};
}

run_result migrate(const fs::path& from, const fs::path& config, bool bar = false) {
  return migrate_args({"--from", from.string(), "--config", config.string()}, bar);
}

run_result verify(const fs::path& config) {
  return run(run_audit_verify, {"--config", config.string()});
}

const std::string k_collection = "5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11";

// A config in dir with data_dir `data_dir` and this storage object.
fs::path write_config(const fs::path& dir, const std::string& storage,
                      const std::string& data_dir = "data") {
  const auto path = dir / ("cairn-" + data_dir + ".json");
  test::write_text(path, R"({"listen": "127.0.0.1:0", "data_dir": ")" + data_dir + R"(",
    "tls": {"cert": "server.pem", "key": "server.key"},
    "discovery": {"title": "t"},
    "api_roots": {"r": {"title": "r", "collections": [
      {"id": ")" + k_collection +
                             R"(", "title": "c", "alias": "c"}]}},
    "storage": )" + storage + R"(,
    "accounts": [{"name": "a", "token_hashes": [")" +
                             token_hash("t") + R"("], "read": ["c"]}]})");
  return path;
}

std::string postgresql(const std::string& conninfo) {
  return R"({"backend": "postgresql", "conninfo": ")" + conninfo + R"(", "pool_size": 2})";
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

storage::pg_options options_of(const std::string& conninfo) {
  storage::pg_options o;
  o.conninfo = conninfo;
  return o;
}

// An LMDB data directory as a server leaves it: a collection, a publish, a
// pull, a status and signed checkpoints.
void fill_lmdb(const fs::path& data_dir) {
  storage::lmdb_store_options o;
  o.path = (data_dir / "store").string();
  o.key_path = (data_dir / "audit-signing.key").string();
  o.public_key_path = (data_dir / "audit-signing.pub").string();
  auto s = storage::open_lmdb_store(o);
  REQUIRE(s);
  auto c = (*s)->collection("r/" + k_collection);
  REQUIRE(c);
  storage::publish_request r;
  r.collection = *c;
  r.publisher = "a";
  for (int n = 0; n < 3; ++n) {
    storage::new_object obj;
    obj.id = "indicator--00000000-0000-4000-8000-00000000000" + std::to_string(n);
    obj.type = "indicator";
    obj.version = "2026-01-01T00:00:00.000Z";
    obj.spec_version = "2.1";
    obj.tlp = formats::tlp_level::green;
    obj.json = R"({"type":"indicator","id":")" + obj.id + R"("})";
    r.objects.push_back(std::move(obj));
  }
  r.status.id = "1a2b3c4d-0000-4000-8000-000000000001";
  r.status.owner = "a";
  r.status.api_root = "r";
  storage::audit_entry e;
  e.action = "publish";
  e.account = "a";
  e.api_root = "r";
  e.collection = k_collection;
  e.status = 202;
  std::promise<result<storage::publish_outcome>> done;
  (*s)->publish(std::move(r), e,
                [&](result<storage::publish_outcome> out) { done.set_value(std::move(out)); });
  auto published = done.get_future().get();
  REQUIRE(published);
  std::promise<result<formats::audit_checkpoint>> signed_now;
  (*s)->checkpoint_now(
      [&](result<formats::audit_checkpoint> cp) { signed_now.set_value(std::move(cp)); });
  REQUIRE(signed_now.get_future().get());
  storage::audit_entry pull = e;
  pull.action = "pull";
  pull.status = 200;
  pull.key = *c;
  for (std::size_t i = 0; i < published->added_positions.size(); ++i) {
    const auto& done_object = published->status.successes[i];
    pull.delivered.add(published->added_positions[i], done_object.id, done_object.version);
  }
  std::promise<result<std::uint64_t>> recorded;
  (*s)->record(pull, [&](result<std::uint64_t> seq) { recorded.set_value(std::move(seq)); });
  REQUIRE(recorded.get_future().get());
  // The next-token key a server that ran leaves beside the store.
  REQUIRE(load_or_create_secret((data_dir / "page-token.key").string()));
}

}  // namespace

TEST_CASE("db commands: usage and an lmdb config are exit 2, before any database is touched") {
  test::temp_dir dir;
  const auto lmdb = write_config(dir.path(), R"({"backend": "lmdb"})");
  auto r = init(lmdb);
  CHECK(r.code == 2);
  CHECK(r.err.find("storage.backend is \"lmdb\"") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "data"));  // no key made for nothing
  r = migrate(dir.path(), lmdb);
  CHECK(r.code == 2);
  CHECK(r.err.find("\"postgresql\"") != std::string::npos);

  CHECK(run(run_db_init, {}).code == 2);
  CHECK(run(run_db_init, {"--config"}).code == 2);
  CHECK(run(run_db_init, {"--config", lmdb.string(), "--bogus"}).code == 2);
  r = run(run_db_init, {"--config", (dir.path() / "missing.json").string()});
  CHECK(r.code == 2);
  CHECK(r.err.find("not valid") != std::string::npos);
  CHECK(migrate_args({}).code == 2);
  CHECK(migrate_args({"--from", dir.path().string()}).code == 2);
  CHECK(migrate_args({"--config", lmdb.string()}).code == 2);

  // A postgresql config, but DIR holds no LMDB store: usage, no connection.
  const auto pg = write_config(dir.path(), postgresql("host=127.0.0.1 port=1 dbname=none"), "pg");
  r = migrate(dir.path() / "nothing", pg);
  CHECK(r.code == 2);
  CHECK(r.err.find("no LMDB store") != std::string::npos);
}

TEST_CASE("store settings: the password file is read, one line, and never shown") {
  test::temp_dir dir;
  storage_config st;
  st.backend = storage_backend::postgresql;
  st.conninfo = "host=db dbname=cairn";
  st.pool_size = 3;
  auto none = pg_options_of(st);
  REQUIRE(none);
  CHECK(none->conninfo == "host=db dbname=cairn");
  CHECK(none->password.empty());
  CHECK(none->pool_size == 3);

  st.password_file = dir.path() / "pg.pw";
  test::write_text(*st.password_file, "s3cret pass\n");
  auto read = pg_options_of(st);
  REQUIRE(read);
  CHECK(read->password == "s3cret pass");
  test::write_text(*st.password_file, "s3cret\r\n");
  CHECK(pg_options_of(st)->password == "s3cret");

  for (const char* bad : {"", "\n", "two\nlines", "s3cret\n\n"}) {
    INFO(bad);
    test::write_text(*st.password_file, bad);
    auto r = pg_options_of(st);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("one line") != std::string::npos);
    CHECK(r.error().message.find("s3cret") == std::string::npos);
  }
  test::write_text(*st.password_file, std::string(max_password_file_bytes + 1, 'x'));
  CHECK_FALSE(pg_options_of(st));
  st.password_file = dir.path() / "missing.pw";
  auto missing = pg_options_of(st);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing.pw") != std::string::npos);
}

TEST_CASE("store factory: a PostgreSQL node without the shared key files refuses to start") {
  test::temp_dir dir;
  // Nothing listens on port 1: had the keys been there, the failure would
  // be the connection's.
  auto cfg = load_config(write_config(dir.path(), postgresql("host=127.0.0.1 port=1")));
  REQUIRE(cfg);
  std::ostringstream log_text;
  logger log(log_text);
  auto s = open_configured_store(*cfg, log);
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find("no audit-signing.key") != std::string::npos);
  CHECK(s.error().message.find("cairnd db init") != std::string::npos);
  CHECK_FALSE(fs::exists(cfg->data_dir / "audit-signing.key"));  // none made up

  REQUIRE(ensure_node_keys(cfg->data_dir));
  fs::remove(cfg->data_dir / "page-token.key");
  s = open_configured_store(*cfg, log);
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find("no page-token.key") != std::string::npos);
}

TEST_CASE("node keys: made once with mode 0600, then kept, and a stale public key is rewritten") {
  test::temp_dir dir;
  const auto data = dir.path() / "data";
  auto first = ensure_node_keys(data);
  REQUIRE(first);
  CHECK(first->created ==
        std::vector<std::string>{"audit-signing.key", "audit-signing.pub", "page-token.key"});
  CHECK(first->kept.empty());
  CHECK(mode_of(data / "audit-signing.key") == 0600);
  CHECK(mode_of(data / "page-token.key") == 0600);
  CHECK(test::read_text(data / "audit-signing.pub") == first->public_pem);
  const auto key = test::read_text(data / "audit-signing.key");
  const auto token = test::read_text(data / "page-token.key");

  auto second = ensure_node_keys(data);
  REQUIRE(second);
  CHECK(second->created.empty());
  CHECK(second->public_pem == first->public_pem);
  CHECK(test::read_text(data / "audit-signing.key") == key);
  CHECK(test::read_text(data / "page-token.key") == token);

  auto other = formats::ed25519_key::generate();
  REQUIRE(other);
  test::write_text(data / "audit-signing.pub", other->public_pem());
  auto third = ensure_node_keys(data);
  REQUIRE(third);
  CHECK(third->created == std::vector<std::string>{"audit-signing.pub"});
  CHECK(test::read_text(data / "audit-signing.pub") == first->public_pem);

  test::write_text(data / "audit-signing.key", "not a key");
  CHECK_FALSE(ensure_node_keys(data));
}

TEST_CASE("audit verify --config: an LMDB config is checked as --data with its data_dir") {
  test::temp_dir dir;
  fill_lmdb(dir.path() / "data");
  const auto cfg = write_config(dir.path(), R"({"backend": "lmdb"})");
  auto r = verify(cfg);
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "audit log intact: 2 records, 2 signed checkpoints verified\n");
  CHECK(run(run_audit_verify, {"--config", cfg.string(), "--data", dir.path().string()}).code == 2);
  CHECK(run(run_audit_verify, {"--config", (dir.path() / "none.json").string()}).code == 2);
}

TEST_CASE(
    "db init: schema and keys once, then already at schema version 2, and exit 2 for another "
    "version or key") {
  REQUIRE_PG_SERVER();
  test::temp_dir dir;
  auto db = testing::fresh_pg_database("pgserver_init");
  REQUIRE(db);
  const auto cfg = write_config(dir.path(), postgresql(*db));
  auto r = init(cfg);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("created audit-signing.key, audit-signing.pub, page-token.key") !=
        std::string::npos);
  CHECK(r.out.find("created the schema (version 2)") != std::string::npos);
  CHECK(mode_of(dir.path() / "data" / "audit-signing.key") == 0600);
  CHECK(mode_of(dir.path() / "data" / "page-token.key") == 0600);

  r = init(cfg);
  CHECK(r.code == 0);
  CHECK(r.out.find("kept audit-signing.key, audit-signing.pub, page-token.key") !=
        std::string::npos);
  CHECK(r.out.find("already at schema version 2") != std::string::npos);

  // A node with another signing key: the database is not its deployment's.
  const auto other = write_config(dir.path(), postgresql(*db), "other");
  r = init(other);
  CHECK(r.code == 2);
  CHECK(r.err.find("another audit signing key") != std::string::npos);

  // A database written by another release.
  {
    auto c = storage::pq::connection::open(options_of(*db));
    REQUIRE(c);
    REQUIRE((*c)->exec("UPDATE cairn_meta SET value = '7' WHERE key = 'schema_version'"));
  }
  r = init(cfg);
  CHECK(r.code == 2);
  CHECK(r.err.find('7') != std::string::npos);
  CHECK(r.err.find("knows 2") != std::string::npos);

  // No server there: a failure, not usage.
  r = init(write_config(dir.path(), postgresql("host=127.0.0.1 port=1 connect_timeout=2"), "down"));
  CHECK(r.code == 1);
}

TEST_CASE(
    "migrate: an LMDB data directory into an initialised, empty database, whose log then "
    "verifies") {
  REQUIRE_PG_SERVER();
  test::temp_dir dir;
  const auto lmdb_data = dir.path() / "data";
  fill_lmdb(lmdb_data);
  auto db = testing::fresh_pg_database("pgserver_migrate");
  REQUIRE(db);

  // Not initialised: refused, nothing created.
  const auto cfg = write_config(dir.path(), postgresql(*db), "pgdata");
  auto r = migrate(lmdb_data, cfg);
  CHECK(r.code == 1);
  CHECK(r.err.find("cairnd db init") != std::string::npos);

  // Initialised with a fresh key (db init in an empty data_dir): the old
  // checkpoints would not verify against it, so migrate refuses.
  REQUIRE(init(cfg).code == 0);
  r = migrate(lmdb_data, cfg);
  CHECK(r.code == 1);
  CHECK(r.err.find("another audit signing key") != std::string::npos);

  // The right way: the LMDB signing key in data_dir, then db init. Its
  // page-token.key is a new one, not the LMDB one: refused.
  auto db2 = testing::fresh_pg_database("pgserver_migrate2");
  REQUIRE(db2);
  const auto cfg2 = write_config(dir.path(), postgresql(*db2), "pgdata2");
  fs::create_directories(dir.path() / "pgdata2");
  fs::copy_file(lmdb_data / "audit-signing.key", dir.path() / "pgdata2" / "audit-signing.key");
  REQUIRE(init(cfg2).code == 0);
  r = migrate(lmdb_data, cfg2);
  CHECK(r.code == 1);
  CHECK(r.err.find("page-token.key") != std::string::npos);

  // Another node's config on the same database, its data_dir still empty:
  // the LMDB keys are copied there (DIR given as the store folder this time).
  const auto cfg2b = write_config(dir.path(), postgresql(*db2), "pgdata2b");
  r = migrate(lmdb_data / "store", cfg2b, true);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out ==
        "migrated " + (lmdb_data / "store").string() +
            ": 1 collections, 3 object versions, 1 statuses, 2 audit records, 2 checkpoints\n");
  // The progress bar went to err, and ended its line.
  CHECK(r.err.find("100%") != std::string::npos);
  CHECK(r.err.ends_with("\n"));
  const auto b = dir.path() / "pgdata2b";
  CHECK(test::read_text(b / "page-token.key") == test::read_text(lmdb_data / "page-token.key"));
  CHECK(test::read_text(b / "audit-signing.key") ==
        test::read_text(lmdb_data / "audit-signing.key"));
  CHECK(mode_of(b / "page-token.key") == 0600);
  CHECK(mode_of(b / "audit-signing.key") == 0600);
  auto v = verify(cfg2b);
  INFO(v.err);
  CHECK(v.code == 0);
  CHECK(v.out == "audit log intact: 2 records, 2 signed checkpoints verified\n");

  // Twice: the database is no longer empty.
  r = migrate(lmdb_data, cfg2b);
  CHECK(r.code == 1);
  CHECK(r.err.find("already holds") != std::string::npos);
}

// Alert records (action "alert": kind, detail, evidence) come through
// migrate byte for byte, keep their kind filter, and the log verifies.
TEST_CASE("migrate: alert records are carried byte for byte and the log verifies") {
  REQUIRE_PG_SERVER();
  test::temp_dir dir;
  const auto lmdb_data = dir.path() / "data";
  fill_lmdb(lmdb_data);
  std::vector<std::string> records;
  {
    storage::lmdb_store_options o;
    o.path = (lmdb_data / "store").string();
    o.key_path = (lmdb_data / "audit-signing.key").string();
    o.public_key_path = (lmdb_data / "audit-signing.pub").string();
    auto s = storage::open_lmdb_store(o);
    REQUIRE(s);
    storage::audit_entry alert;
    alert.action = "alert";
    alert.kind = "volume";
    alert.account = "a";
    alert.remote = "192.0.2.44";
    alert.detail = "12000 objects in an hour, usually 40";
    alert.evidence = {2};
    std::promise<result<std::uint64_t>> recorded;
    (*s)->record(alert, [&](result<std::uint64_t> seq) { recorded.set_value(std::move(seq)); });
    REQUIRE(recorded.get_future().get().value() == 3);
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
      records.push_back((*s)->audit_record_json(seq).value().value());
    }
    (*s)->close();
  }
  REQUIRE(records[2].find(R"("kind":"volume")") != std::string::npos);

  auto db = testing::fresh_pg_database("pgserver_migrate_alerts");
  REQUIRE(db);
  const auto cfg = write_config(dir.path(), postgresql(*db), "pgdata");
  // The operator's way: the LMDB node's keys in data_dir, then db init.
  fs::create_directories(dir.path() / "pgdata");
  for (const char* key : {"audit-signing.key", "page-token.key"}) {
    fs::copy_file(lmdb_data / key, dir.path() / "pgdata" / key);
  }
  REQUIRE(init(cfg).code == 0);
  auto r = migrate(lmdb_data, cfg);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("3 audit records") != std::string::npos);
  auto v = verify(cfg);
  INFO(v.err);
  CHECK(v.code == 0);
  CHECK(v.out.starts_with("audit log intact: 3 records"));

  storage::pg_store_options o;
  o.conninfo = *db;
  o.pool_size = 2;
  o.key_path = (dir.path() / "pgdata" / "audit-signing.key").string();
  auto pg = storage::open_pg_store(o);
  REQUIRE(pg);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    CHECK((*pg)->audit_record_json(seq).value().value() == records[seq - 1]);
  }
  storage::audit_query q;
  q.kind = "volume";
  auto page = (*pg)->audit_records(q);
  REQUIRE(page);
  CHECK(page->records == std::vector<std::string>{records[2]});
  (*pg)->close();
}
