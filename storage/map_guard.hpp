#pragma once
// Keeps LMDB read transactions and map resizing apart. mdb_env_set_mapsize
// may only run while no transaction is active in the process, so every read
// txn holds a share of the guard for its (short) life and the writer takes
// the guard exclusively to resize. A waiting resize blocks new readers, so a
// steady stream of readers cannot starve it; but a thread that already holds
// a share may take more (a second read txn while one is open), since making
// it wait would deadlock it against the resize that waits for its first. The
// guard also caps the number of live read txns at the LMDB reader table size,
// so that MDB_READERS_FULL cannot happen inside this process.
//
// A share is counted for the thread that took it; leave_shared() takes that
// thread's id (the one enter_shared() returned), as a read txn may end on
// another thread than the one that began it.
//
// Deadlock rule: a thread holding a share must not wait for the writer.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace cairn::storage {

class map_guard {
 public:
  explicit map_guard(std::size_t max_readers) : max_readers_(max_readers ? max_readers : 1) {}
  map_guard(const map_guard&) = delete;
  map_guard& operator=(const map_guard&) = delete;

  // Blocks while a resize runs, while one is waiting (unless this thread
  // already holds a share), or while all reader slots are taken. Returns the
  // id to give back to leave_shared().
  std::thread::id enter_shared() {
    const auto me = std::this_thread::get_id();
    std::unique_lock lock(mutex_);
    const bool holder = holder_of(me) != holders_.end();
    changed_.wait(lock, [&] {
      return !exclusive_ && readers_ < max_readers_ && (holder || exclusive_waiting_ == 0);
    });
    ++readers_;
    if (auto it = holder_of(me); it != holders_.end()) {
      ++it->second;
    } else {
      holders_.emplace_back(me, 1);
    }
    return me;
  }

  void leave_shared(std::thread::id owner = std::this_thread::get_id()) {
    std::lock_guard lock(mutex_);
    --readers_;
    if (auto it = holder_of(owner); it != holders_.end() && --it->second == 0) {
      holders_.erase(it);
    }
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

  // Whether a resize is waiting for the readers to leave (for tests).
  bool exclusive_waiting() const {
    std::lock_guard lock(mutex_);
    return exclusive_waiting_ > 0;
  }

 private:
  using holder = std::pair<std::thread::id, std::size_t>;

  std::vector<holder>::iterator holder_of(std::thread::id id) {
    return std::find_if(holders_.begin(), holders_.end(),
                        [&](const holder& h) { return h.first == id; });
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t max_readers_;
  std::size_t readers_ = 0;
  std::size_t exclusive_waiting_ = 0;
  bool exclusive_ = false;
  std::vector<holder> holders_;  // threads holding shares, and how many
};

}  // namespace cairn::storage
