#pragma once
// Keeps LMDB read transactions and map resizing apart. mdb_env_set_mapsize
// may only run while no transaction is active in the process, so every read
// txn holds a share of the guard for its (short) life and the writer takes
// the guard exclusively to resize. Waiting resizes block new readers, so a
// steady stream of readers cannot starve them. The guard also caps the
// number of live read txns at the LMDB reader table size, so that
// MDB_READERS_FULL cannot happen inside this process.
//
// Deadlock rule: a thread holding a share must not wait for the writer.

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace cairn::storage {

class map_guard {
 public:
  explicit map_guard(std::size_t max_readers) : max_readers_(max_readers ? max_readers : 1) {}
  map_guard(const map_guard&) = delete;
  map_guard& operator=(const map_guard&) = delete;

  // Blocks while a resize is waiting or running, or all reader slots are taken.
  void enter_shared() {
    std::unique_lock lock(mutex_);
    changed_.wait(
        lock, [&] { return exclusive_waiting_ == 0 && !exclusive_ && readers_ < max_readers_; });
    ++readers_;
  }

  void leave_shared() {
    std::lock_guard lock(mutex_);
    --readers_;
    changed_.notify_all();
  }

  // Blocks until no share is held, then holds the guard alone.
  void enter_exclusive() {
    std::unique_lock lock(mutex_);
    ++exclusive_waiting_;
    changed_.wait(lock, [&] { return readers_ == 0 && !exclusive_; });
    --exclusive_waiting_;
    exclusive_ = true;
  }

  void leave_exclusive() {
    std::lock_guard lock(mutex_);
    exclusive_ = false;
    changed_.notify_all();
  }

  std::size_t readers() const {
    std::lock_guard lock(mutex_);
    return readers_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t max_readers_;
  std::size_t readers_ = 0;
  std::size_t exclusive_waiting_ = 0;
  bool exclusive_ = false;
};

}  // namespace cairn::storage
