#include "formats/taxii_read.hpp"

#include <catch2/catch.hpp>

#include "formats/taxii.hpp"
#include "formats/time.hpp"

using namespace cairn::formats;

namespace {

// 2024-01-02T03:04:05.678901Z
constexpr micros k_time = 1'704'164'645'678'901;

}  // namespace

TEST_CASE("read_discovery reads what write_discovery writes", "[formats][taxii]") {
  discovery_resource d;
  d.title = "Exchange";
  d.description = "for tests";
  d.contact = "soc@example.org";
  d.default_root = "https://example.org/sharing/";
  d.api_roots = {"https://example.org/sharing/", "https://example.org/other/"};
  const auto text = write_discovery(d);
  auto r = read_discovery(text);
  REQUIRE(r);
  CHECK(r->title == d.title);
  CHECK(r->description == d.description);
  CHECK(r->contact == d.contact);
  CHECK(r->default_root == d.default_root);
  CHECK(r->api_roots == d.api_roots);
  CHECK(r->json == text);
}

TEST_CASE("read_api_root reads what write_api_root writes", "[formats][taxii]") {
  api_root_resource a;
  a.title = "Sharing";
  a.description = "the sharing root";
  a.max_content_length = 10'485'760;
  auto r = read_api_root(write_api_root(a));
  REQUIRE(r);
  CHECK(r->title == a.title);
  CHECK(r->description == a.description);
  CHECK(r->max_content_length == a.max_content_length);
  CHECK(r->versions == std::vector<std::string>{std::string(taxii_media_type)});
}

TEST_CASE("read_collections and read_collection read the collection writers", "[formats][taxii]") {
  collection_resource a;
  a.id = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
  a.title = "Indicators";
  a.alias = "indicators";
  a.can_read = true;
  collection_resource b;
  b.id = "52892447-4d7e-4f70-b94d-d7f22742ff63";
  b.title = "Reports";
  b.description = "write only";
  b.can_write = true;
  auto list = read_collections(write_collections({a, b}));
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& want = i == 0 ? a : b;
    const auto& got = (*list)[i];
    CHECK(got.id == want.id);
    CHECK(got.title == want.title);
    CHECK(got.description == want.description);
    CHECK(got.alias == want.alias);
    CHECK(got.can_read == want.can_read);
    CHECK(got.can_write == want.can_write);
    CHECK(got.media_types == std::vector<std::string>{std::string(stix_media_type)});
    CHECK(got.json == write_collection(want));
  }
  auto none = read_collections(write_collections({}));
  REQUIRE(none);
  CHECK(none->empty());
  auto one = read_collection(write_collection(b));
  REQUIRE(one);
  CHECK(one->id == b.id);
  CHECK(one->can_write);
}

TEST_CASE("read_status reads what write_status writes", "[formats][taxii]") {
  status_resource s;
  s.id = "2d086da7-4bdc-4f91-900e-d77486753710";
  s.complete = false;
  s.request_timestamp = k_time;
  s.successes = {{"indicator--1", "2024-01-01T00:00:00.000Z", ""}};
  s.failures = {{"indicator--2", "2024-01-01T00:00:00.000Z", "not valid STIX"},
                {"indicator--3", "2024-01-02T00:00:00.000Z", "too large"}};
  s.pendings = {{"indicator--4", "2024-01-03T00:00:00.000Z", ""}};
  auto r = read_status(write_status(s));
  REQUIRE(r);
  CHECK(r->id == s.id);
  CHECK(r->status == "pending");
  CHECK_FALSE(r->complete());
  CHECK(r->request_timestamp == format_taxii_time(k_time));
  CHECK(r->total_count == 4);
  CHECK(r->success_count == 1);
  CHECK(r->failure_count == 2);
  CHECK(r->pending_count == 1);
  auto same = [](const std::vector<status_detail>& a, const std::vector<status_detail>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].id != b[i].id || a[i].version != b[i].version || a[i].message != b[i].message) {
        return false;
      }
    }
    return true;
  };
  CHECK(same(r->successes, s.successes));
  CHECK(same(r->failures, s.failures));
  CHECK(same(r->pendings, s.pendings));
}

TEST_CASE("read_status reads a TAXII 2.0 server's bare ids", "[formats][taxii]") {
  auto r = read_status(R"({"id":"s1","status":"complete","successes":["indicator--1"]})");
  REQUIRE(r);
  CHECK(r->complete());
  REQUIRE(r->successes.size() == 1);
  CHECK(r->successes[0].id == "indicator--1");
  CHECK(r->successes[0].version.empty());
}

TEST_CASE("read_envelope reads what envelope_writer writes", "[formats][taxii]") {
  envelope_writer w;
  w.add_object(R"({"type":"indicator","id":"indicator--1"})");
  w.add_object(R"({"type":"malware","id":"malware--2"})");
  const auto text = w.finish(true, "page-2");
  auto r = read_envelope(text);
  REQUIRE(r);
  CHECK(r->more);
  CHECK(r->next == "page-2");
  CHECK(r->objects == std::vector<std::string>{R"({"type":"indicator","id":"indicator--1"})",
                                               R"({"type":"malware","id":"malware--2"})"});
  CHECK(r->body_bytes == text.size());
  CHECK(r->date_added_first.empty());

  auto empty = read_envelope(envelope_writer().finish(false, ""));
  REQUIRE(empty);
  CHECK(empty->objects.empty());
  CHECK_FALSE(empty->more);
  CHECK(empty->next.empty());
}

TEST_CASE("envelope_writer: a reserved body is the same body, never grown", "[formats][taxii]") {
  std::vector<std::string> objects;
  std::size_t json_bytes = 0;
  for (int i = 0; i < 200; ++i) {
    objects.push_back(R"({"type":"indicator","id":"indicator--)" + std::to_string(i) +
                      R"(","description":")" + std::string(300 + i, 'x') + R"("})");
    json_bytes += objects.back().size();
  }
  const std::string next(100, 'n');
  envelope_writer plain;
  envelope_writer sized;
  sized.reserve(json_bytes, objects.size());
  for (const auto& o : objects) {
    plain.add_object(o);
    sized.add_object(o);
  }
  const auto expected = plain.finish(true, next);
  const auto text = sized.finish(true, next);
  CHECK(text == expected);
  // Grown once past the reservation, it would hold about twice its size.
  CHECK(text.capacity() - text.size() < 1024 + objects.size());
  auto r = read_envelope(text);
  REQUIRE(r);
  CHECK(r->objects == objects);
}

TEST_CASE("read_manifest reads what manifest_writer writes", "[formats][taxii]") {
  manifest_writer w;
  w.add("indicator--1", k_time, "2024-01-01T00:00:00.000Z");
  w.add("malware--2", k_time + 1, "2024-01-02T00:00:00.000Z", "application/stix+json");
  auto r = read_manifest(w.finish(false, ""));
  REQUIRE(r);
  CHECK_FALSE(r->more);
  REQUIRE(r->objects.size() == 2);
  CHECK(r->objects[0].id == "indicator--1");
  CHECK(r->objects[0].date_added == format_taxii_time(k_time));
  CHECK(r->objects[0].version == "2024-01-01T00:00:00.000Z");
  CHECK(r->objects[0].media_type == stix_media_type);
  CHECK(r->objects[1].date_added == format_taxii_time(k_time + 1));
  CHECK(r->objects[1].media_type == "application/stix+json");
}

TEST_CASE("read_versions reads what versions_writer writes", "[formats][taxii]") {
  versions_writer w;
  w.add("2024-01-01T00:00:00.000Z");
  w.add("2024-01-02T00:00:00.000Z");
  auto r = read_versions(w.finish(true, "n"));
  REQUIRE(r);
  CHECK(r->more);
  CHECK(r->next == "n");
  CHECK(r->versions ==
        std::vector<std::string>{"2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z"});
}

TEST_CASE("TAXII readers refuse wrong types", "[formats][taxii]") {
  CHECK_FALSE(read_discovery("[]"));
  CHECK_FALSE(read_discovery(R"({"title":1})"));
  CHECK_FALSE(read_api_root(R"({"title":"x","max_content_length":"big"})"));
  CHECK_FALSE(read_envelope(R"({"objects":{}})"));
  CHECK_FALSE(read_envelope(R"({"objects":[1]})"));
  CHECK_FALSE(read_status(R"({"status":"complete"})"));
  CHECK_FALSE(read_status(R"({"id":"s","status":"complete","failures":[1]})"));
  CHECK_FALSE(read_collections(R"({"collections":[{"title":"no id"}]})"));
  CHECK_FALSE(read_manifest(R"({"objects":[{"id":7}]})"));
  CHECK_FALSE(read_versions(R"({"versions":"2024"})"));
  CHECK_FALSE(read_collection("not json"));
  auto empty = read_envelope("{}");
  REQUIRE(empty);
  CHECK(empty->objects.empty());
  CHECK_FALSE(empty->more);
}
