// `cairnd backup` of a data directory while the real cairnd serves and takes
// publishes: the copy verifies, and a cairnd started on it serves what was
// acknowledged before the backup began.
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "test_server.hpp"

using namespace cairn::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string publish_one(cairn::clients::taxii_client& c) {
  const std::string id = random_stix_id("indicator");
  auto st =
      c.add_objects("/api1/", "intel", envelope({make_indicator(id, "2026-01-01T00:00:00.000Z")}));
  if (!st || st->success_count != 1) return {};
  return id;
}

}  // namespace

TEST_CASE("cairnd backup copies a live LMDB data directory that restores and verifies",
          "[backup]") {
  test_server srv(default_setup());
  REQUIRE(srv.backend() == storage_backend::lmdb);
  auto admin = srv.client("admin");
  std::vector<std::string> before;
  for (int i = 0; i < 20; ++i) {
    const auto id = publish_one(admin);
    REQUIRE_FALSE(id.empty());
    before.push_back(id);
  }
  REQUIRE(srv.client("reader").get_objects("/api1/", "open"));

  // A publisher keeps writing through the backup.
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::thread writer([&] {
    auto c = srv.client("admin");
    while (!stop.load()) {
      if (!publish_one(c).empty()) published.fetch_add(1);
    }
  });
  while (published.load() < 3) std::this_thread::sleep_for(5ms);
  const int at_start = published.load();

  temp_dir backups("cairn-backup");
  const fs::path dest = backups / "copy";
  const std::string data = (srv.dir() / "data").string();
  auto backup = srv.run_cairnd({"backup", "--data", data, "--to", dest.string()});
  const int at_end = published.load();
  stop = true;
  writer.join();
  INFO(backup.output);
  REQUIRE(backup.exit_code == 0);
  CHECK(backup.output.find("written to") != std::string::npos);
  CHECK(at_end >= at_start);
  CHECK(srv.running());

  // The copy: the store and the keys, private.
  CHECK(fs::exists(dest / "store" / "data.mdb"));
  CHECK(mode_of(dest / "store" / "data.mdb") == 0600);
  for (const char* key : {"audit-signing.key", "audit-signing.pub", "page-token.key"}) {
    INFO(key);
    REQUIRE(fs::exists(dest / key));
    CHECK(mode_of(dest / key) == 0600);
    CHECK(read_file(dest / key) == read_file(srv.dir() / "data" / key));
  }
  CHECK(mode_of(dest) == 0700);

  // A second backup into the same place is refused and changes nothing.
  const auto size = fs::file_size(dest / "store" / "data.mdb");
  auto again = srv.run_cairnd({"backup", "--data", data, "--to", dest.string()});
  CHECK(again.exit_code == 1);
  CHECK(again.output.find("not an empty directory") != std::string::npos);
  CHECK(fs::file_size(dest / "store" / "data.mdb") == size);
  // Bad usage and a folder that is no data directory.
  CHECK(srv.run_cairnd({"backup", "--data", data}).exit_code == 2);
  CHECK(srv.run_cairnd({"backup", "--data", (srv.dir() / "nothing").string(), "--to",
                        (backups / "other").string()})
            .exit_code == 1);

  // The copy's audit log verifies offline, with its own key.
  auto verify = srv.run_cairnd({"audit", "verify", "--data", dest.string()});
  INFO(verify.output);
  CHECK(verify.exit_code == 0);
  CHECK(verify.output.find("audit log intact") != std::string::npos);

  // Restore: a cairnd on the copy serves every object acknowledged before the
  // backup began, and takes new publishes.
  admin.disconnect();
  REQUIRE(srv.stop(SIGTERM) == 0);
  test_server restored(default_setup(), false);
  fs::remove_all(restored.dir() / "data");
  fs::copy(dest, restored.dir() / "data", fs::copy_options::recursive);
  restored.start();
  auto reader = restored.client("admin");
  for (const auto& id : before) {
    INFO(id);
    auto page = reader.get_object("/api1/", "intel", id);
    REQUIRE(page);
    CHECK(page->objects.size() == 1);
  }
  auto fresh = restored.client("admin");
  CHECK_FALSE(publish_one(fresh).empty());
  reader.disconnect();
  fresh.disconnect();
  REQUIRE(restored.stop(SIGTERM) == 0);
  auto after =
      restored.run_cairnd({"audit", "verify", "--data", (restored.dir() / "data").string()});
  INFO(after.output);
  CHECK(after.exit_code == 0);
}
