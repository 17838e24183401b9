// cairnd migrate's target (postgres_store.hpp's pg_importer): one
// transaction from open to finish(), so that a failed migration leaves the
// database as empty as it was. Versions and statuses are
// storage/pg/objects.hpp's rows, audit records and checkpoints
// storage/pg/audit.hpp's.

#include <set>

#include "storage/pg/audit.hpp"
#include "storage/pg/objects.hpp"
#include "storage/pg/pq.hpp"
#include "storage/pg/schema.hpp"
#include "storage/postgres_store.hpp"

namespace cairn::storage {

namespace {

// No node writes while the import runs (they would wait, then find the
// migrated data): reads go on.
const pq::statement k_lock_tables{
    "import_lock", "LOCK TABLE collections, objects, statuses, audit_head IN EXCLUSIVE MODE"};
const pq::statement k_is_empty{
    "import_is_empty",
    "SELECT NOT EXISTS (SELECT 1 FROM collections) AND NOT EXISTS (SELECT 1 FROM objects) AND "
    "NOT EXISTS (SELECT 1 FROM statuses) AND (SELECT seq FROM audit_head) = 0"};
const pq::statement k_add_collection{"import_collection",
                                     "INSERT INTO collections (key, name) VALUES ($1, $2)"};
const pq::statement k_set_last_added{
    "import_last_added",
    "UPDATE collections SET last_added = coalesce((SELECT max(o.date_added) FROM objects o "
    "WHERE o.collection = collections.key), 0)"};

class importer final : public pg_importer {
 public:
  explicit importer(std::unique_ptr<pq::connection> c)
      : c_(std::move(c)), audit_(std::make_unique<pg::audit_importer>(*c_)) {}

  ~importer() override {
    audit_.reset();
    if (!finished_) c_->rollback();
  }

  result<void> collection(std::string_view name, collection_key key) override {
    return step([&]() -> result<void> {
      if (name.empty() || key == 0) return fail("a collection needs a name and a key above 0");
      auto added = c_->run(k_add_collection, pq::params().integer(key).text(name));
      if (!added) return std::unexpected(added.error());
      keys_.insert(key);
      return {};
    });
  }

  result<void> version(const object_record& v) override {
    return step([&]() -> result<void> {
      if (!keys_.contains(v.collection)) {
        return fail("a version of unknown collection key " + std::to_string(v.collection));
      }
      return pg::import_version(*c_, v);
    });
  }

  result<void> status(const status_record& s, micros stored_at) override {
    return step([&] { return pg::import_status(*c_, s, stored_at); });
  }

  result<void> audit_record(std::string_view record_json) override {
    return step([&] { return audit_->record(record_json); });
  }

  result<void> checkpoint(const formats::audit_checkpoint& c) override {
    return step([&] { return audit_->checkpoint(c); });
  }

  result<void> finish() override {
    return step([&]() -> result<void> {
      if (auto audit_done = audit_->finish(); !audit_done) return audit_done;
      if (auto set = c_->run(k_set_last_added); !set) return std::unexpected(set.error());
      if (auto committed = c_->commit(); !committed) return committed;
      finished_ = true;
      return {};
    });
  }

 private:
  // One part of the transfer; the first failure ends it (rolled back).
  template <class F>
  result<void> step(F&& f) {
    if (finished_) return fail("the import is finished");
    if (failed_) return fail("the import failed earlier; nothing was stored");
    auto out = f();
    if (!out) {
      failed_ = true;
      c_->rollback();
    }
    return out;
  }

  std::unique_ptr<pq::connection> c_;
  std::unique_ptr<pg::audit_importer> audit_;
  std::set<collection_key> keys_;
  bool failed_ = false;
  bool finished_ = false;
};

}  // namespace

result<std::unique_ptr<pg_importer>> open_pg_importer(const pg_options& options) {
  auto c = pq::connection::open(options);
  if (!c) return std::unexpected(c.error());
  pq::connection& db = **c;
  if (auto schema = pg::check_schema(db); !schema) return std::unexpected(schema.error());
  auto checked = [&]() -> result<void> {
    if (auto begun = db.begin(); !begun) return begun;
    if (auto locked = db.run(k_lock_tables); !locked) return std::unexpected(locked.error());
    auto empty = db.run(k_is_empty);
    if (!empty) return std::unexpected(empty.error());
    if (empty->size() != 1 || !empty->boolean(0, 0)) {
      return fail(
          "the database already holds collections, objects, statuses or audit records: "
          "migrate into a freshly initialised database");
    }
    return {};
  };
  if (auto ok = checked(); !ok) {
    db.rollback();
    return std::unexpected(ok.error());
  }
  return std::make_unique<importer>(std::move(*c));
}

}  // namespace cairn::storage
