#include "storage/map_guard.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using cairn::storage::map_guard;

namespace {

// Spins (yielding) until cond holds: an ordering wait, not a timing one.
template <class F>
void wait_until(F cond) {
  while (!cond()) std::this_thread::yield();
}

}  // namespace

TEST_CASE("map_guard: a waiting resize holds back new readers, not a thread that holds a share") {
  map_guard guard(8);
  std::atomic<int> sequence{0};
  std::atomic<int> writer_entered{0};
  std::atomic<int> other_entered{0};

  const auto mine = guard.enter_shared();
  std::thread writer([&] {
    guard.enter_exclusive();
    writer_entered = ++sequence;
    guard.leave_exclusive();
  });
  wait_until([&] { return guard.exclusive_waiting(); });

  std::thread other([&] {
    const auto id = guard.enter_shared();  // must wait behind the resize
    other_entered = ++sequence;
    guard.leave_shared(id);
  });

  // This thread holds a share: a second one must not wait for the resize,
  // which itself waits for the first (that would deadlock).
  const auto again = guard.enter_shared();
  CHECK(guard.readers() == 2);
  guard.leave_shared(again);
  CHECK(writer_entered == 0);
  guard.leave_shared(mine);

  writer.join();
  other.join();
  CHECK(writer_entered == 1);
  CHECK(other_entered == 2);
  CHECK(guard.readers() == 0);
}

TEST_CASE("map_guard: shares are capped at max_readers") {
  map_guard guard(2);
  const auto a = guard.enter_shared();
  std::atomic<bool> third_in{false};
  std::thread t([&] {
    const auto b = guard.enter_shared();
    const auto c = guard.enter_shared();  // waits: two shares are taken
    third_in = true;
    guard.leave_shared(c);
    guard.leave_shared(b);
  });
  wait_until([&] { return guard.readers() == 2; });
  CHECK_FALSE(third_in);
  guard.leave_shared(a);
  t.join();
  CHECK(third_in);
  CHECK(guard.readers() == 0);
}

TEST_CASE("map_guard: a share may be given back on another thread") {
  map_guard guard(4);
  const auto id = guard.enter_shared();
  std::thread([&] { guard.leave_shared(id); }).join();
  CHECK(guard.readers() == 0);
  // The resize is not held up by a share that is gone.
  guard.enter_exclusive();
  guard.leave_exclusive();
}
