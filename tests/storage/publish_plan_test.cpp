// The publish decisions (storage/publish_plan.hpp) on their own: stored
// versions come from a list in the test, nothing is written anywhere.

#include "storage/publish_plan.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "formats/time.hpp"

namespace cairn::storage {
namespace {

using formats::tlp_level;

const micros t0 = formats::parse_rfc3339("2026-11-27T10:00:00Z").value();
const std::string v1 = "2026-01-01T00:00:00.000Z";
const std::string v2 = "2026-02-01T00:00:00.000Z";

std::string object_id(int n) {
  return "indicator--0000000" + std::to_string(n) + "-0000-4000-8000-000000000000";
}

new_object object(const std::string& id, std::string version, tlp_level tlp = tlp_level::green) {
  new_object o;
  o.id = id;
  o.type = "indicator";
  o.version = std::move(version);
  o.spec_version = "2.1";
  o.tlp = tlp;
  o.json = R"({"id":")" + id + R"("})";
  return o;
}

// Stored versions, in the order the lookup must give them (time key, then
// position), and the ids the plan asked for.
struct stored_list {
  struct version {
    micros date_added;
    std::string id, version, publisher;
    tlp_level tlp;
    std::string time_key;
  };
  std::vector<version> versions;
  std::vector<std::string> asked;
  std::size_t passed = 0;  // versions given to the plan

  void add(micros at, const std::string& id, const std::string& version, tlp_level tlp,
           const std::string& publisher = "bob") {
    versions.push_back({at, id, version, publisher, tlp, formats::stix_time_key(version).value()});
  }
  stored_versions_fn lookup() {
    return [this](std::string_view id, const std::function<bool(const stored_version_view&)>& fn) {
      asked.emplace_back(id);
      for (const auto& v : versions) {
        if (v.id != id) continue;
        ++passed;
        object_record r;
        r.collection = 1;
        r.date_added = v.date_added;
        r.id = v.id;
        r.version = v.version;
        r.spec_version = "2.1";
        r.publisher = v.publisher;
        r.tlp = v.tlp;
        r.json = "{}";
        if (!fn({r, v.time_key})) return;
      }
    };
  }
};

publish_request request(std::vector<new_object> objects) {
  publish_request r;
  r.collection = 1;
  r.publisher = "alice";
  r.objects = std::move(objects);
  r.status.id = "s-1";
  r.status.owner = "alice";
  return r;
}

std::vector<std::string> ids_of(const std::vector<status_detail>& details) {
  std::vector<std::string> out;
  for (const auto& d : details) out.push_back(d.id);
  return out;
}

TEST_CASE("publish plan: objects that cannot be stored fail alone, with the reason",
          "[store][plan]") {
  stored_list stored;
  auto req = request({object("", v1), object(std::string(301, 'x'), v1),
                      object(object_id(1), "2026-13-01T00:00:00Z"),
                      object(object_id(2), std::string(65, '1')), object(object_id(3), v1),
                      object(object_id(4), v1)});
  req.objects[4].tlp = static_cast<tlp_level>(7);
  req.status.failures = {{"indicator--bad", "", "not valid STIX"}};
  auto plan = plan_publish(req, t0, 0, stored.lookup());
  REQUIRE(plan);
  CHECK(plan->outcome.added == 1);
  CHECK(plan->added.size() == 1);
  CHECK(plan->added[0].index == 5);
  const auto& failures = plan->outcome.status.failures;
  REQUIRE(failures.size() == 6);
  CHECK(failures[0].id == "indicator--bad");  // the caller's own come first
  CHECK(failures[1].message == "object id is empty or longer than 300 bytes");
  CHECK(failures[2].id == std::string(300, 'x'));  // cut to the limit
  CHECK(failures[3].message.starts_with("version is not a STIX timestamp"));
  CHECK(failures[4].message == "version or spec_version too long");
  CHECK(failures[4].version == std::string(64, '1'));
  CHECK(failures[5].message == "unknown TLP level");
  // Only the one storable object was looked up.
  CHECK(stored.asked == std::vector<std::string>{object_id(4)});
}

TEST_CASE("publish plan: a publisher or status id over its limit fails the job", "[store][plan]") {
  stored_list stored;
  auto req = request({object(object_id(1), v1)});
  req.publisher = std::string(1025, 'p');
  CHECK_FALSE(plan_publish(req, t0, 0, stored.lookup()));
  req.publisher = std::string(1024, 'p');
  CHECK(plan_publish(req, t0, 0, stored.lookup()));
  req.status.id = std::string(257, 's');
  auto refused = plan_publish(req, t0, 0, stored.lookup());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "status id longer than 256 bytes");
}

TEST_CASE("publish plan: numbered by TLP level then request order, from max(now, last + 1)",
          "[store][plan]") {
  stored_list stored;
  auto req = request(
      {object(object_id(1), v1, tlp_level::red), object(object_id(2), v1, tlp_level::clear),
       object(object_id(3), v1, tlp_level::amber), object(object_id(4), v1, tlp_level::clear)});
  auto plan = plan_publish(req, t0, 0, stored.lookup());
  REQUIRE(plan);
  std::vector<std::size_t> order;
  for (const auto& v : plan->added) order.push_back(v.index);
  CHECK(order == std::vector<std::size_t>{1, 3, 2, 0});
  CHECK(plan->outcome.added_positions == std::vector<micros>{t0, t0 + 1, t0 + 2, t0 + 3});
  CHECK(plan->added[3].date_added == t0 + 3);
  CHECK(plan->outcome.first_date_added == t0);
  CHECK(plan->outcome.last_date_added == t0 + 3);
  CHECK(plan->last_added == t0 + 3);
  CHECK(ids_of(plan->outcome.status.successes) ==
        std::vector<std::string>{object_id(2), object_id(4), object_id(3), object_id(1)});

  // The clock behind the last position: numbering goes on after it.
  auto behind = plan_publish(request({object(object_id(5), v1)}), t0, t0 + 3, stored.lookup());
  REQUIRE(behind);
  CHECK(behind->added.at(0).date_added == t0 + 4);
  // Nothing added: the last position stays, no first/last.
  stored.add(t0, object_id(5), v1, tlp_level::green);
  auto none = plan_publish(request({object(object_id(5), v1)}), t0 + 100, t0 + 4, stored.lookup());
  REQUIRE(none);
  CHECK(none->added.empty());
  CHECK(none->last_added == t0 + 4);
  CHECK(none->outcome.first_date_added == 0);
  CHECK(none->outcome.last_date_added == 0);
  CHECK(none->outcome.added_positions.empty());
}

TEST_CASE("publish plan: stored duplicates, later copies and id copies", "[store][plan]") {
  stored_list stored;
  stored.add(t0 - 10, object_id(1), "2026-01-01T00:00:01Z", tlp_level::red);
  stored.add(t0 - 9, object_id(2), v1, tlp_level::green);
  stored.add(t0 - 8, object_id(2), v2, tlp_level::red);

  // The same instant written otherwise is a duplicate, reported as sent.
  auto same = plan_publish(request({object(object_id(1), "2026-01-01T00:00:01.000Z")}), t0, t0,
                           stored.lookup());
  REQUIRE(same);
  CHECK(same->added.empty());
  CHECK(same->outcome.duplicates == 1);
  CHECK(same->outcome.status.successes.at(0).version == "2026-01-01T00:00:01.000Z");
  CHECK(same->recorded ==
        std::vector<formats::audit_object>{{object_id(1), "2026-01-01T00:00:01.000Z"}});

  // A stored copy duplicate_if refuses: a later copy.
  auto not_red = [](const object_record& r) { return r.tlp != tlp_level::red; };
  auto req = request({object(object_id(1), "2026-01-01T00:00:01Z")});
  req.duplicate_if = not_red;
  auto copy = plan_publish(req, t0, t0, stored.lookup());
  REQUIRE(copy);
  REQUIRE(copy->added.size() == 1);
  CHECK(copy->added[0].later_copy);
  CHECK_FALSE(copy->added[0].id_copy);
  CHECK(copy->added[0].version == "2026-01-01T00:00:01Z");
  CHECK(copy->added[0].time_key == formats::stix_time_key("2026-01-01T00:00:01Z").value());

  // Without a version: a duplicate of the first version duplicate_if takes,
  // reported with that version; the lookup stops there.
  req = request({object(object_id(2), "")});
  req.duplicate_if = not_red;
  stored.passed = 0;
  auto dup = plan_publish(req, t0, t0, stored.lookup());
  REQUIRE(dup);
  CHECK(dup->outcome.duplicates == 1);
  CHECK(dup->outcome.status.successes.at(0).version == v1);
  CHECK(stored.passed == 1);

  // Without a version, when every version is refused: an id copy with its
  // date_added as version.
  req.duplicate_if = [](const object_record&) { return false; };
  auto id_copy = plan_publish(req, t0 + 5, t0, stored.lookup());
  REQUIRE(id_copy);
  REQUIRE(id_copy->added.size() == 1);
  CHECK(id_copy->added[0].later_copy);
  CHECK(id_copy->added[0].id_copy);
  CHECK(id_copy->added[0].version == formats::format_taxii_time(t0 + 5));
  CHECK(id_copy->added[0].time_key ==
        formats::stix_time_key(formats::format_taxii_time(t0 + 5)).value());
  CHECK(id_copy->outcome.status.successes.at(0).version == formats::format_taxii_time(t0 + 5));

  // A new version of a stored id is neither a duplicate nor a copy.
  auto fresh = plan_publish(request({object(object_id(2), "2026-03-01T00:00:00Z")}), t0, t0,
                            stored.lookup());
  REQUIRE(fresh);
  REQUIRE(fresh->added.size() == 1);
  CHECK_FALSE(fresh->added[0].later_copy);
}

TEST_CASE("publish plan: copies within one request", "[store][plan]") {
  stored_list stored;
  // The second copy of a version is a duplicate of the first; an object
  // without a version is a duplicate of the first added version of its id,
  // and a later one of an assigned version reports that.
  auto req =
      request({object(object_id(1), v1), object(object_id(1), "2026-01-01T00:00:00Z"),
               object(object_id(1), ""), object(object_id(2), ""), object(object_id(2), "")});
  auto plan = plan_publish(req, t0, 0, stored.lookup());
  REQUIRE(plan);
  CHECK(plan->outcome.added == 2);
  CHECK(plan->outcome.duplicates == 3);
  const std::string assigned = formats::format_taxii_time(t0 + 1);
  CHECK(plan->added.at(1).version == assigned);
  const auto& successes = plan->outcome.status.successes;
  REQUIRE(successes.size() == 5);
  CHECK(successes[0].version == v1);
  CHECK(successes[1].version == assigned);
  CHECK(successes[2].version == "2026-01-01T00:00:00Z");
  CHECK(successes[3].version == v1);
  CHECK(successes[4].version == assigned);

  // duplicate_if refusing the earlier one: stored again as a later copy.
  req = request({object(object_id(3), v1, tlp_level::red), object(object_id(3), v1),
                 object(object_id(3), "")});
  req.duplicate_if = [](const object_record& r) { return r.tlp != tlp_level::red; };
  plan = plan_publish(req, t0, 0, stored.lookup());
  REQUIRE(plan);
  // The second is a duplicate of nothing it may see: a later copy; the third
  // (no version) is a duplicate of the second, which it may see.
  CHECK(plan->outcome.added == 2);
  CHECK(plan->outcome.duplicates == 1);
  REQUIRE(plan->added.size() == 2);
  CHECK(plan->added[0].index == 1);  // green before red
  CHECK(plan->added[0].later_copy);
  CHECK_FALSE(plan->added[0].id_copy);
  CHECK(plan->added[1].index == 0);
  CHECK_FALSE(plan->added[1].later_copy);
}

TEST_CASE(
    "publish plan: successes and the record list added versions by position, then the "
    "rest",
    "[store][plan]") {
  stored_list stored;
  stored.add(t0 - 1, object_id(9), v1, tlp_level::green);
  auto req = request({object(object_id(9), v1), object(object_id(1), v1, tlp_level::amber),
                      object(object_id(2), v1, tlp_level::clear)});
  req.status.successes = {{"indicator--earlier", v1, ""}};
  auto plan = plan_publish(req, t0, 0, stored.lookup());
  REQUIRE(plan);
  CHECK(ids_of(plan->outcome.status.successes) ==
        std::vector<std::string>{object_id(2), object_id(1), "indicator--earlier", object_id(9)});
  CHECK(plan->recorded == std::vector<formats::audit_object>{{object_id(2), v1},
                                                             {object_id(1), v1},
                                                             {"indicator--earlier", v1},
                                                             {object_id(9), v1}});
  CHECK(plan->outcome.status.id == "s-1");
  CHECK(plan->outcome.status.owner == "alice");
}

}  // namespace
}  // namespace cairn::storage
