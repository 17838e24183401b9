#include "storage/lmdb_store.hpp"

#include <future>
#include <utility>
#include <vector>

#include "storage/audit_log.hpp"
#include "storage/database.hpp"
#include "storage/lmdb_store_parts.hpp"
#include "storage/object_store.hpp"
#include "storage/writer.hpp"

namespace cairn::storage {

namespace {

// A publish and its audit record: the object store's job, then the record
// in the same transaction (so both commit or neither). The publish job's
// prepare() lets it be numbered with the other publishes of the commit.
class audited_publish final : public write_job {
 public:
  audited_publish(std::unique_ptr<publish_job> publish, audit_log& log, audit_entry entry,
                  collection_key c)
      : publish_(std::move(publish)), log_(log), entry_(std::move(entry)), collection_(c) {}

  std::size_t weight() const override { return publish_->weight() + 512; }
  bool solo() const override { return publish_->solo(); }
  void prepare(const lmdb::txn& t, std::uint64_t attempt) override {
    publish_->prepare(t, attempt);
  }
  lmdb::status run(lmdb::txn& t) override {
    if (auto st = publish_->run(t); !st) return st;
    return log_.write_publish_record(t, entry_, collection_, publish_->outcome());
  }
  void complete(std::optional<error> failure) override { publish_->complete(std::move(failure)); }

 private:
  std::unique_ptr<publish_job> publish_;
  audit_log& log_;
  audit_entry entry_;
  collection_key collection_;
};

// The same for a delete.
class audited_remove final : public write_job {
 public:
  audited_remove(std::unique_ptr<remove_job> remove, audit_log& log, audit_entry entry,
                 collection_key c)
      : remove_(std::move(remove)), log_(log), entry_(std::move(entry)), collection_(c) {}

  std::size_t weight() const override { return remove_->weight() + 512; }
  bool solo() const override { return remove_->solo(); }
  void prepare(const lmdb::txn& t, std::uint64_t attempt) override { remove_->prepare(t, attempt); }
  lmdb::status run(lmdb::txn& t) override {
    if (auto st = remove_->run(t); !st) return st;
    return log_.write_delete_record(t, entry_, collection_, remove_->removed());
  }
  void complete(std::optional<error> failure) override { remove_->complete(std::move(failure)); }

 private:
  std::unique_ptr<remove_job> remove_;
  audit_log& log_;
  audit_entry entry_;
  collection_key collection_;
};

class lmdb_store final : public store {
 public:
  lmdb_store(std::shared_ptr<database> db, std::unique_ptr<object_store> objects)
      : db_(std::move(db)), objects_(std::move(objects)) {}
  ~lmdb_store() override { close(); }

  result<void> open_log(const lmdb_store_options& options) {
    audit_options ao;
    ao.key_path = options.key_path;
    ao.public_key_path = options.public_key_path;
    ao.checkpoint_interval = options.checkpoint_interval;
    ao.checkpoint_records = options.checkpoint_records;
    ao.notice = options.notice;
    audit_log::sources from;
    const object_store* objects = objects_.get();
    from.objects = [objects](collection_key c) { return objects->objects_database(c); };
    from.live_versions = [objects](std::string_view id, const std::vector<collection_key>& keys)
        -> result<std::vector<std::pair<collection_key, micros>>> {
      std::vector<std::pair<collection_key, micros>> out;
      auto txn = objects->begin_read();
      for (const collection_key c : keys) {
        txn.versions(c, id, [&](const object_record& r) {
          out.emplace_back(c, r.date_added);
          return true;
        });
      }
      if (txn.last_error())
        return fail(errc::io, "the store cannot be read: " + txn.last_error()->message);
      return out;
    };
    auto log = audit_log::open(db_, std::move(ao), std::move(from));
    if (!log) return std::unexpected(log.error());
    log_ = std::move(*log);
    return {};
  }

  result<collection_key> collection(std::string_view collection_id) override {
    return objects_->collection(collection_id);
  }

  void publish(publish_request request, audit_entry record,
               std::function<void(result<publish_outcome>)> done) override {
    const collection_key c = request.collection;
    auto job = objects_->publish_job_of(std::move(request), std::move(done));
    db_->writer().submit(
        std::make_unique<audited_publish>(std::move(job), *log_, std::move(record), c));
    objects_->maybe_purge();
  }

  void remove(delete_request request, audit_entry record,
              std::function<void(result<std::size_t>)> done) override {
    const collection_key c = request.collection;
    auto job = objects_->remove_job_of(std::move(request), std::move(done));
    db_->writer().submit(
        std::make_unique<audited_remove>(std::move(job), *log_, std::move(record), c));
  }

  void record(audit_entry entry, std::function<void(result<std::uint64_t>)> done) override {
    log_->record(std::move(entry), std::move(done));
  }

  std::unique_ptr<reader> begin_read() const override {
    return std::make_unique<read_txn>(objects_->begin_read());
  }

  result<audit_page> audit_records(const audit_query& q) const override { return log_->query(q); }
  result<std::optional<std::string>> audit_record_json(std::uint64_t seq) const override {
    return log_->record_json(seq);
  }
  result<std::uint64_t> audit_size() const override { return log_->size(); }
  result<std::vector<audit_stats_point>> audit_stats(const audit_stats_query& q) const override {
    return log_->stats(q);
  }
  result<std::optional<formats::audit_checkpoint>> checkpoint() const override {
    return log_->checkpoint();
  }
  void checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done) override {
    log_->checkpoint_now(std::move(done));
  }
  result<std::vector<formats::merkle::digest>> inclusion_proof(
      std::uint64_t seq, std::uint64_t tree_size) const override {
    return log_->inclusion_proof(seq, tree_size);
  }
  result<std::vector<formats::merkle::digest>> consistency_proof(std::uint64_t from,
                                                                 std::uint64_t to) const override {
    return log_->consistency_proof(from, to);
  }
  result<formats::merkle::digest> audit_root(std::uint64_t tree_size) const override {
    return log_->root(tree_size);
  }
  const std::string& public_key_pem() const override { return log_->public_key_pem(); }

  store_stats stats() const override {
    store_stats s = objects_->stats();
    s.capacity_bytes = db_->map_size();
    s.used_bytes = db_->used_bytes();
    return s;
  }

  // The log's last checkpoint goes in before the writer stops.
  void close() override {
    if (log_) log_->close();
    db_->close();
  }

  database& db() { return *db_; }
  object_store& objects() { return *objects_; }
  audit_log& log() { return *log_; }

 private:
  std::shared_ptr<database> db_;
  std::unique_ptr<object_store> objects_;
  std::unique_ptr<audit_log> log_;
};

lmdb_store& parts(store& s) {
  return dynamic_cast<lmdb_store&>(s);
}

}  // namespace

result<std::unique_ptr<store>> open_lmdb_store(const lmdb_store_options& options) {
  auto d = object_store::environment(options, audit_log::databases);
  if (!d) return std::unexpected(d.error());
  auto db = database::open(*d);
  if (!db) return std::unexpected(db.error());
  auto objects = object_store::open(*db, options);
  if (!objects) return std::unexpected(objects.error());
  (*db)->start();

  auto s = std::make_unique<lmdb_store>(std::move(*db), std::move(*objects));
  if (auto opened = s->open_log(options); !opened) return std::unexpected(opened.error());
  return s;
}

database& database_of(store& s) {
  return parts(s).db();
}
object_store& objects_of(store& s) {
  return parts(s).objects();
}
audit_log& audit_of(store& s) {
  return parts(s).log();
}

}  // namespace cairn::storage
