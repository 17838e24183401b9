#pragma once
// An in-memory storage::store, for unit tests of the API layer: the same
// observable behaviour as the LMDB store (store.hpp, and object_store.hpp and
// audit_log.hpp for the details), nothing durable, nothing optimised.
//
// Model: one immutable state (collections, versions, statuses, audit log)
// behind a shared_ptr. A write copies it, changes the copy and swaps it in,
// so a reader is that shared_ptr: a snapshot whose strings live as long as
// the reader does. Reads scan the state linearly.
//
// Threads: as store.hpp says. Writes run one at a time, in submission order,
// on a writer thread of the store's, and their callbacks run there after the
// swap; collection() called from a callback fails. Each write is a commit of
// its own (no group commit).
//
// Not modelled: map size and growth ("storage full"), damaged data
// (reader::last_error() is empty unless set_unavailable()), the automatic checkpoints every
// 10,000 records or every few minutes (checkpoint_now() and close() sign
// one), and the query limit of examined records counts every record in the
// seq range, not index entries.

#include <functional>
#include <memory>

#include "storage/store.hpp"

namespace cairn::storage {

struct memory_store_options {
  // The clock for date_added, audit times and status expiry. Empty:
  // formats::now_micros().
  std::function<micros()> clock;
  micros status_retention = micros{48} * 3600 * 1'000'000;  // at least 24 h, as the LMDB store
  unsigned max_collections = 1000;
  // Called on the writer thread before each write commits (publish, remove,
  // record, collection, checkpoint). A non-zero errno value fails that write
  // as a failed commit would: nothing of it is stored, done() gets an error.
  std::function<int()> before_commit;
};

class memory_store final : public store {
 public:
  // Fails only when no signing key can be made.
  static result<std::unique_ptr<memory_store>> open(memory_store_options options = {});
  ~memory_store() override;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  // Makes the next n writes fail as failed commits (any errno), on top of
  // options.before_commit.
  void fail_next_writes(unsigned n = 1);

  // Plays a database that cannot be reached (tests of the 503 paths): while
  // set, writes fail with errc::unavailable and store nothing, readers find
  // nothing and report errc::unavailable through last_error(), the audit
  // log's reads fail with it, and healthy() is false.
  void set_unavailable(bool unavailable);
  bool healthy() const override;

  result<collection_key> collection(std::string_view collection_id) override;
  void publish(publish_request request, audit_entry record,
               std::function<void(result<publish_outcome>)> done) override;
  void remove(delete_request request, audit_entry record,
              std::function<void(result<std::size_t>)> done) override;
  void record(audit_entry entry, std::function<void(result<std::uint64_t>)> done = {}) override;
  std::unique_ptr<reader> begin_read() const override;

  result<audit_page> audit_records(const audit_query& q) const override;
  result<std::optional<std::string>> audit_record_json(std::uint64_t seq) const override;
  result<std::uint64_t> audit_size() const override;
  result<std::vector<audit_stats_point>> audit_stats(const audit_stats_query& q) const override;
  result<std::optional<formats::audit_checkpoint>> checkpoint() const override;
  void checkpoint_now(std::function<void(result<formats::audit_checkpoint>)> done) override;
  result<std::vector<formats::merkle::digest>> inclusion_proof(
      std::uint64_t seq, std::uint64_t tree_size) const override;
  result<std::vector<formats::merkle::digest>> consistency_proof(std::uint64_t from,
                                                                 std::uint64_t to) const override;
  result<formats::merkle::digest> audit_root(std::uint64_t tree_size) const override;
  const std::string& public_key_pem() const override;

  store_stats stats() const override;
  void close() override;

 private:
  memory_store();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cairn::storage
