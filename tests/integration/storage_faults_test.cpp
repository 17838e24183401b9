// Storage faults seen from a client: a map that must grow, a map that may not
// grow any more, and a file system that runs out of space. A write that
// cannot be committed gets a TAXII error (507 or 503), never a 202; what was
// acknowledged before stays, across a restart too; reads go on.
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "formats/json.hpp"
#include "support/skip.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

const std::string k_root = "/api1/";
const std::string k_taxii = "application/taxii+json;version=2.1";

struct fill_result {
  std::vector<std::string> acknowledged_ids;
  std::size_t acknowledged_bytes = 0;
  unsigned refusal_status = 0;
  std::string refusal_body;
};

// Posts batches of bulky indicators until the server refuses one (or max_posts).
fill_result fill(test_server& srv, int max_posts, int per_post = 50,
                 std::size_t name_bytes = 2000) {
  fill_result out;
  auto c = srv.client("admin");
  for (int post = 0; post < max_posts; ++post) {
    std::vector<std::string> objs;
    std::vector<std::string> ids;
    std::size_t bytes = 0;
    for (int i = 0; i < per_post; ++i) {
      ids.push_back(random_stix_id("indicator"));
      objs.push_back(make_indicator(ids.back(), "2021-01-01T00:00:00.000Z", {},
                                    std::string(name_bytes, static_cast<char>('a' + i % 26))));
      bytes += objs.back().size();
    }
    auto r = c.request("POST", k_root + "collections/intel/objects/",
                       {{"Accept", k_taxii}, {"Content-Type", k_taxii}}, envelope(objs));
    REQUIRE(r);
    if (r->status != 202) {
      out.refusal_status = r->status;
      out.refusal_body = r->body;
      break;
    }
    auto doc = formats::parse_json(r->body);
    REQUIRE(doc);
    REQUIRE(doc->root().get("success_count"));
    REQUIRE(doc->root().get("success_count")->as_int() == per_post);
    out.acknowledged_ids.insert(out.acknowledged_ids.end(), ids.begin(), ids.end());
    out.acknowledged_bytes += bytes;
  }
  return out;
}

std::set<std::string> stored_ids(test_server& srv) {
  std::set<std::string> ids;
  auto c = srv.client("admin");
  clients::object_filters f;
  f.limit = 1000;
  for (;;) {
    auto page = c.manifest(k_root, "intel", f);
    REQUIRE(page);
    for (const auto& m : page->objects) ids.insert(m.id);
    if (!page->more) break;
    f.next = page->next;
  }
  return ids;
}

void check_error_resource(unsigned status, const std::string& body) {
  auto d = formats::parse_json(body);
  REQUIRE(d);
  REQUIRE(d->root().get("http_status"));
  CHECK(d->root().get("http_status")->as_string() == std::to_string(status));
  REQUIRE(d->root().get("description"));
  INFO(d->root().get("description")->as_string());
  CHECK(d->root().get("description")->as_string().find("nothing was added") != std::string::npos);
}

void check_all_present(test_server& srv, const std::vector<std::string>& ids) {
  const auto stored = stored_ids(srv);
  std::size_t missing = 0;
  for (const auto& id : ids) missing += stored.count(id) == 0;
  CHECK(missing == 0);
  CHECK(stored.size() == ids.size());
}

// A tmpfs mounted for the life of the object; unmounted lazily.
class tmpfs_mount {
 public:
  tmpfs_mount(const std::filesystem::path& at, std::size_t bytes) : at_(at) {
    std::filesystem::create_directories(at);
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~tmpfs_mount() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
};

}  // namespace

TEST_CASE("a small map grows up to max_map_size, then writes get 507 and reads go on",
          "[storage-faults]") {
  constexpr std::size_t map_size = 1u << 20;
  constexpr std::size_t max_map_size = 6u << 20;
  auto setup = default_setup();
  setup.extra_json = ", \"storage\": {\"map_size\": " + std::to_string(map_size) +
                     ", \"max_map_size\": " + std::to_string(max_map_size) + "}";
  test_server srv(setup);

  auto filled = fill(srv, 200);
  // The map grew: more was acknowledged than the initial map could hold.
  CHECK(filled.acknowledged_bytes > map_size);
  // And it stopped at its limit with a TAXII error.
  REQUIRE(filled.refusal_status == 507);
  check_error_resource(507, filled.refusal_body);
  WARN("small map: " << filled.acknowledged_ids.size() << " objects (" << filled.acknowledged_bytes
                     << " bytes) acknowledged with map_size " << map_size << " and max_map_size "
                     << max_map_size << ", then " << filled.refusal_status << ": "
                     << filled.refusal_body);

  // Reads go on while the store is full, and nothing acknowledged is lost.
  check_all_present(srv, filled.acknowledged_ids);
  auto c = srv.client("reader");
  CHECK(c.get_objects(k_root, "intel"));
  CHECK(c.request("GET", "/cairn/v1/health"));

  // A request that still fits is accepted.
  auto admin = srv.client("admin");
  auto small = admin.request(
      "POST", k_root + "collections/intel/objects/",
      {{"Accept", k_taxii}, {"Content-Type", k_taxii}},
      envelope({make_indicator(random_stix_id("indicator"), "2021-01-01T00:00:00.000Z")}));
  REQUIRE(small);
  CHECK((small->status == 202 || small->status == 507));

  // After a restart the same objects are there.
  srv.stop(SIGKILL);
  srv.start();
  std::vector<std::string> ids = filled.acknowledged_ids;
  auto all = stored_ids(srv);
  for (const auto& id : ids) CHECK(all.count(id) == 1);
}

TEST_CASE("a file system without space: 507/503, nothing acknowledged lost, reads go on",
          "[storage-faults]") {
  if (::geteuid() != 0) {
    CAIRN_SKIP("needs root to mount a size-limited tmpfs");
  }
  auto setup = default_setup();
  // The map may grow far beyond the file system: the disk runs out first.
  setup.extra_json = R"(, "storage": {"map_size": 1048576, "max_map_size": 1073741824})";
  test_server srv(setup, false);
  tmpfs_mount fs(srv.dir() / "data", 3u << 20);
  if (!fs.mounted()) {
    CAIRN_SKIP("cannot mount a tmpfs here (no CAP_SYS_ADMIN?)");
  }
  srv.start();

  auto filled = fill(srv, 200);
  CHECK(!filled.acknowledged_ids.empty());
  REQUIRE((filled.refusal_status == 507 || filled.refusal_status == 503));
  check_error_resource(filled.refusal_status, filled.refusal_body);
  WARN("full tmpfs: " << filled.acknowledged_ids.size() << " objects (" << filled.acknowledged_bytes
                      << " bytes) acknowledged on a 3 MiB tmpfs, then " << filled.refusal_status
                      << ": " << filled.refusal_body);

  check_all_present(srv, filled.acknowledged_ids);
  auto c = srv.client("reader");
  CHECK(c.request("GET", "/cairn/v1/health"));
  // Another write either fits into pages the failed commit left free or is
  // refused the same way; whichever it is, the answer is the truth.
  auto again = fill(srv, 1);
  if (again.acknowledged_ids.empty()) {
    CHECK((again.refusal_status == 507 || again.refusal_status == 503));
  }
  filled.acknowledged_ids.insert(filled.acknowledged_ids.end(), again.acknowledged_ids.begin(),
                                 again.acknowledged_ids.end());
  check_all_present(srv, filled.acknowledged_ids);

  // Killed and restarted on the full disk: everything acknowledged is there.
  srv.stop(SIGKILL);
  srv.start();
  check_all_present(srv, filled.acknowledged_ids);
  srv.stop(SIGTERM);
}
