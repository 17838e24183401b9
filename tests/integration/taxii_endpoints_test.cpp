// The TAXII 2.1 surface of a real cairnd over TLS: every endpoint, the
// filters, the headers and the errors of TAXII 2.1 sections 3-5.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "formats/json.hpp"
#include "formats/time.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

const std::string k_root = "/api1/";
const std::string k_objects = "/api1/collections/intel/objects/";
const clients::header_list k_taxii_accept = {{"Accept", "application/taxii+json;version=2.1"}};

formats::json_document parse(const std::string& body) {
  auto d = formats::parse_json(body);
  REQUIRE(d);
  return std::move(*d);
}

clients::http_response get(clients::taxii_client& c, const std::string& target,
                           clients::header_list headers = k_taxii_accept) {
  auto r = c.request("GET", target, headers);
  REQUIRE(r);
  return std::move(*r);
}

clients::http_response post(
    clients::taxii_client& c, const std::string& target, const std::string& body,
    const std::string& content_type = "application/taxii+json;version=2.1") {
  auto r = c.request(
      "POST", target,
      {{"Accept", "application/taxii+json;version=2.1"}, {"Content-Type", content_type}}, body);
  REQUIRE(r);
  return std::move(*r);
}

void check_error_resource(const clients::http_response& r, unsigned status) {
  CHECK(r.status == status);
  CHECK(r.header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
  auto d = parse(r.body);
  CHECK(d.root().get("title"));
  REQUIRE(d.root().get("http_status"));
  CHECK(d.root().get("http_status")->as_string() == std::to_string(status));
}

clients::status_info publish(clients::taxii_client& c, const std::vector<std::string>& objects,
                             const std::string& collection = "intel") {
  auto s = c.add_objects("/api1/", collection, envelope(objects));
  REQUIRE(s);
  return *s;
}

}  // namespace

TEST_CASE("discovery, API root, collections and collection resources") {
  test_server srv;
  auto admin = srv.client("admin");
  auto d = get(admin, "/taxii2/");
  REQUIRE(d.status == 200);
  CHECK(d.header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
  auto doc = parse(d.body);
  CHECK(doc.root().get("title")->as_string() == "Test exchange");
  CHECK(doc.root().get("default")->as_string() == "/api1/");
  CHECK(doc.root().get("api_roots")->value_at(0).as_string() == "/api1/");

  auto root = get(admin, k_root);
  REQUIRE(root.status == 200);
  auto rd = parse(root.body);
  CHECK(rd.root().get("versions")->value_at(0).as_string() == "application/taxii+json;version=2.1");
  CHECK(rd.root().get("max_content_length")->as_int() == 10485760);

  auto reader = srv.client("reader");
  auto cols = reader.collections("/api1/");
  REQUIRE(cols);
  // reader has rights on intel and open only: secret is not revealed.
  REQUIRE(cols->size() == 2);
  CHECK(cols->at(0).alias == "intel");
  CHECK(cols->at(0).can_read);
  CHECK_FALSE(cols->at(0).can_write);

  // By id and by alias.
  auto by_id = reader.collection("/api1/", k_intel);
  auto by_alias = reader.collection("/api1/", "intel");
  REQUIRE(by_id);
  REQUIRE(by_alias);
  CHECK(by_id->id == k_intel);
  CHECK(by_alias->id == k_intel);
  CHECK(by_id->media_types.at(0) == "application/stix+json;version=2.1");

  auto writer = srv.client("writer");
  auto wc = writer.collection("/api1/", "intel");
  REQUIRE(wc);
  CHECK_FALSE(wc->can_read);
  CHECK(wc->can_write);

  check_error_resource(get(reader, "/api1/collections/secret/"), 404);
  check_error_resource(get(reader, "/api1/collections/no-such/"), 404);
  check_error_resource(get(reader, "/nope/"), 404);

  auto nobody = srv.client("nobody");
  auto none = get(nobody, "/api1/collections/");
  REQUIRE(none.status == 200);
  CHECK(none.body == "{}");
}

TEST_CASE("authentication failures give 401 with WWW-Authenticate") {
  test_server srv;
  auto opts = srv.options("admin");
  opts.password = "wrong";
  auto bad = clients::taxii_client::make(opts);
  REQUIRE(bad);
  auto r = get(*bad, "/taxii2/");
  check_error_resource(r, 401);
  CHECK(r.header("WWW-Authenticate").value_or("") == "Basic realm=\"cairn\"");

  auto anon_opts = srv.options("admin");
  anon_opts.user.clear();
  anon_opts.password.clear();
  auto anon = clients::taxii_client::make(anon_opts);
  REQUIRE(anon);
  check_error_resource(get(*anon, "/api1/collections/"), 401);
  // Health needs no credentials.
  auto h = get(*anon, "/cairn/v1/health");
  CHECK(h.status == 200);
  CHECK(h.body == R"({"status":"ok"})");

  auto malformed = get(
      *anon, "/taxii2/",
      {{"Accept", "application/taxii+json;version=2.1"}, {"Authorization", "Basic !!notbase64"}});
  check_error_resource(malformed, 401);

  auto bot = srv.client("bot");
  CHECK(get(bot, "/taxii2/").status == 200);
}

TEST_CASE("content negotiation: 406 and 415") {
  test_server srv;
  auto admin = srv.client("admin");
  check_error_resource(get(admin, "/taxii2/", {{"Accept", "application/json"}}), 406);
  check_error_resource(get(admin, "/taxii2/", {{"Accept", "application/taxii+json;version=2.0"}}),
                       406);
  CHECK(get(admin, "/taxii2/", {{"Accept", "application/taxii+json"}}).status == 200);
  auto ind = make_indicator(random_stix_id("indicator"), "2020-01-01T00:00:00.000Z");
  check_error_resource(post(admin, k_objects, envelope({ind}), "application/json"), 415);
  check_error_resource(post(admin, k_objects, envelope({ind}), "application/stix+json;version=2.1"),
                       415);
}

TEST_CASE("every file of the valid corpus is accepted and read back equal") {
  test_server srv;
  auto admin = srv.client("admin");
  auto objects = valid_corpus_objects();
  REQUIRE(objects.size() > 100);
  // Post in chunks; every object must be a success.
  std::size_t successes = 0;
  for (std::size_t i = 0; i < objects.size(); i += 100) {
    std::vector<std::string> chunk(
        objects.begin() + static_cast<std::ptrdiff_t>(i),
        objects.begin() + static_cast<std::ptrdiff_t>(std::min(objects.size(), i + 100)));
    auto s = publish(admin, chunk, "open");
    CHECK(s.failure_count == 0);
    CHECK(s.complete());
    successes += static_cast<std::size_t>(s.success_count);
  }
  CHECK(successes == objects.size());

  // Read everything back (all versions) and compare as JSON, by id+version.
  std::map<std::string, std::string> stored;
  clients::object_filters f;
  f.versions = {"all"};
  f.limit = 50;
  while (true) {
    auto page = admin.get_objects("/api1/", "open", f);
    REQUIRE(page);
    for (const auto& o : page->objects) {
      auto d = parse(o);
      std::string key = std::string(d.root().get("id")->as_string());
      if (auto m = d.root().get("modified")) key += std::string(m->as_string());
      stored[key] = o;
    }
    if (!page->more) break;
    f.next = page->next;
  }
  std::size_t compared = 0;
  for (const auto& o : objects) {
    auto d = parse(o);
    std::string key = std::string(d.root().get("id")->as_string());
    if (auto m = d.root().get("modified")) key += std::string(m->as_string());
    auto it = stored.find(key);
    REQUIRE(it != stored.end());
    auto back = parse(it->second);
    // The corpus repeats some objects byte for byte; the first copy is stored.
    if (back.root().equals(d.root())) ++compared;
  }
  CHECK(compared >= stored.size());
}

TEST_CASE("POST answers 202 with a status resource, and re-posting is not an error") {
  test_server srv;
  auto admin = srv.client("admin");
  const auto id = random_stix_id("indicator");
  auto ind = make_indicator(id, "2021-01-01T00:00:00.000Z");
  auto r = post(admin, k_objects, envelope({ind, "{\"type\":\"indicator\",\"id\":\"bad\"}"}));
  REQUIRE(r.status == 202);
  auto s = parse(r.body);
  CHECK(s.root().get("status")->as_string() == "complete");
  CHECK(s.root().get("total_count")->as_int() == 2);
  CHECK(s.root().get("success_count")->as_int() == 1);
  CHECK(s.root().get("failure_count")->as_int() == 1);
  CHECK(s.root().get("pending_count")->as_int() == 0);
  CHECK(s.root().get("successes")->value_at(0).get("id")->as_string() == id);
  CHECK(s.root().get("successes")->value_at(0).get("version")->as_string() ==
        "2021-01-01T00:00:00.000Z");
  CHECK(!s.root().get("failures")->value_at(0).get("message")->as_string().empty());

  // The status can be read again by its owner, and by nobody else.
  const std::string status_id(s.root().get("id")->as_string());
  auto again = get(admin, "/api1/status/" + status_id + "/");
  CHECK(again.status == 200);
  CHECK(parse(again.body).root().get("id")->as_string() == status_id);
  auto reader = srv.client("reader");
  check_error_resource(get(reader, "/api1/status/" + status_id + "/"), 404);
  check_error_resource(get(admin, "/api1/status/0b5ff2b0-52a1-4c3e-9c3b-3f0a6b3a2f11/"), 404);

  auto dup = publish(admin, {ind});
  CHECK(dup.success_count == 1);
  CHECK(dup.failure_count == 0);
  auto versions = admin.versions("/api1/", "intel", id);
  REQUIRE(versions);
  CHECK(versions->versions.size() == 1);
}

TEST_CASE("POST errors: 413 before the body, 422 for a bad envelope, 403 and 404 by rights") {
  server_setup setup = default_setup();
  setup.limits_json = R"("max_content_length": 2000)";
  test_server srv(setup);
  auto admin = srv.client("admin");
  auto root = parse(get(admin, k_root).body);
  CHECK(root.root().get("max_content_length")->as_int() == 2000);
  std::vector<std::string> many;
  for (int i = 0; i < 10; ++i) {
    many.push_back(make_indicator(random_stix_id("indicator"), "2021-01-01T00:00:00.000Z"));
  }
  check_error_resource(post(admin, k_objects, envelope(many)), 413);
  check_error_resource(post(admin, k_objects, "{not json"), 422);
  check_error_resource(post(admin, k_objects, R"({"objects":"x"})"), 422);
  check_error_resource(post(admin, k_objects, R"({"objects":[]})"), 422);
  auto ind = make_indicator(random_stix_id("indicator"), "2021-01-01T00:00:00.000Z");
  auto reader = srv.client("reader");
  check_error_resource(post(reader, k_objects, envelope({ind})), 403);
  check_error_resource(post(reader, "/api1/collections/secret/objects/", envelope({ind})), 404);
  auto writer = srv.client("writer");
  CHECK(post(writer, k_objects, envelope({ind})).status == 202);
  check_error_resource(get(writer, k_objects), 403);
  check_error_resource(get(writer, "/api1/collections/intel/manifest/"), 403);
}

TEST_CASE("filters: added_after, limit and next, match[id], match[type], match[version]") {
  test_server srv;
  auto admin = srv.client("admin");
  const auto a = random_stix_id("indicator");
  const auto b = random_stix_id("indicator");
  const auto m = random_stix_id("malware");
  std::string malware =
      R"({"type":"malware","spec_version":"2.1","id":")" + m +
      R"(","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"x","is_family":false})";
  publish(admin, {make_indicator(a, "2020-01-01T00:00:00.000Z")});
  publish(admin, {make_indicator(b, "2020-01-01T00:00:00.000Z"), malware});
  publish(admin, {make_indicator(a, "2020-06-01T00:00:00.000Z")});
  publish(admin, {make_indicator(a, "2020-03-01T00:00:00.000Z")});

  auto ids_of = [](const clients::envelope_page& p) {
    std::vector<std::string> out;
    for (const auto& o : p.objects) {
      auto d = formats::parse_json(o);
      out.emplace_back(std::string(d->root().get("id")->as_string()) + "@" +
                       std::string(d->root().get("modified")->as_string()));
    }
    return out;
  };

  // Default: the last version of each object, in date_added order.
  auto all = admin.get_objects("/api1/", "intel");
  REQUIRE(all);
  auto got = ids_of(*all);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == b + "@2020-01-01T00:00:00.000Z");
  CHECK(got[1] == m + "@2020-01-01T00:00:00.000Z");
  CHECK(got[2] == a + "@2020-06-01T00:00:00.000Z");
  CHECK_FALSE(all->more);
  CHECK(!all->date_added_first.empty());
  CHECK(!all->date_added_last.empty());
  CHECK(all->date_added_first < all->date_added_last);

  clients::object_filters f;
  f.versions = {"all"};
  auto every = admin.get_objects("/api1/", "intel", f);
  REQUIRE(every);
  CHECK(every->objects.size() == 5);

  f.versions = {"first"};
  f.ids = {a};
  auto first = admin.get_objects("/api1/", "intel", f);
  REQUIRE(first);
  REQUIRE(ids_of(*first) == std::vector<std::string>{a + "@2020-01-01T00:00:00.000Z"});

  f.versions = {"2020-03-01T00:00:00Z"};  // equal to .000Z
  auto exact = admin.get_objects("/api1/", "intel", f);
  REQUIRE(exact);
  REQUIRE(ids_of(*exact) == std::vector<std::string>{a + "@2020-03-01T00:00:00.000Z"});

  f.versions = {"first", "last"};
  auto fl = admin.get_objects("/api1/", "intel", f);
  REQUIRE(fl);
  CHECK(fl->objects.size() == 2);

  clients::object_filters t;
  t.types = {"malware"};
  auto mal = admin.get_objects("/api1/", "intel", t);
  REQUIRE(mal);
  REQUIRE(mal->objects.size() == 1);
  t.types = {"malware", "indicator"};
  CHECK(admin.get_objects("/api1/", "intel", t)->objects.size() == 3);

  clients::object_filters sv;
  sv.spec_versions = {"2.0"};
  auto none = admin.get_objects("/api1/", "intel", sv);
  REQUIRE(none);
  CHECK(none->objects.empty());
  CHECK(none->date_added_first.empty());
  sv.spec_versions = {"2.0", "2.1"};
  CHECK(admin.get_objects("/api1/", "intel", sv)->objects.size() == 3);

  // added_after is strict and uses date_added.
  clients::object_filters after;
  after.added_after = all->date_added_first;
  auto later = admin.get_objects("/api1/", "intel", after);
  REQUIRE(later);
  CHECK(later->objects.size() == 2);

  // Paging with limit and next, all versions: 5 versions in pages of 2.
  clients::object_filters pg;
  pg.versions = {"all"};
  pg.limit = 2;
  std::vector<std::string> paged;
  int pages = 0;
  while (true) {
    auto p = admin.get_objects("/api1/", "intel", pg);
    REQUIRE(p);
    ++pages;
    CHECK(p->objects.size() <= 2);
    for (auto& s : ids_of(*p)) paged.push_back(s);
    if (!p->more) break;
    REQUIRE(!p->next.empty());
    pg.next = p->next;
  }
  CHECK(pages == 3);
  CHECK(paged.size() == 5);
  CHECK(ids_of(*every) == paged);

  // A next token with other filters is refused.
  clients::object_filters other;
  other.limit = 2;
  other.next = pg.next.empty() ? std::string("x") : pg.next;
  other.types = {"malware"};
  auto refused = admin.request("GET", k_objects + "?" + other.to_query(), k_taxii_accept);
  REQUIRE(refused);
  check_error_resource(*refused, 400);
}

TEST_CASE("malformed query parameters give 400") {
  test_server srv;
  auto admin = srv.client("admin");
  for (const std::string q : {"limit=0", "limit=-3", "limit=abc", "added_after=yesterday",
                              "added_after=2020-13-01T00:00:00Z", "match[version]=all,first",
                              "match[version]=sometime", "next=garbage", "limit=5&limit=6",
                              "match[spec_version]=two", "match[id]=a,,b", "limit=%zz"}) {
    INFO(q);
    check_error_resource(get(admin, k_objects + "?" + q), 400);
  }
  // A limit above the page size is reduced, not refused.
  CHECK(get(admin, k_objects + "?limit=999999999").status == 200);
}

TEST_CASE("manifest, object, versions and delete") {
  test_server srv;
  auto admin = srv.client("admin");
  const auto a = random_stix_id("indicator");
  publish(admin, {make_indicator(a, "2020-01-01T00:00:00.000Z")});
  publish(admin, {make_indicator(a, "2020-02-01T00:00:00.000Z")});

  clients::object_filters all;
  all.versions = {"all"};
  auto man = admin.manifest("/api1/", "intel", all);
  REQUIRE(man);
  REQUIRE(man->objects.size() == 2);
  CHECK(man->objects[0].id == a);
  CHECK(man->objects[0].version == "2020-01-01T00:00:00.000Z");
  CHECK(man->objects[1].version == "2020-02-01T00:00:00.000Z");
  CHECK(man->objects[0].media_type == "application/stix+json;version=2.1");
  CHECK(man->objects[0].date_added.size() == 27);  // 6 fraction digits

  auto obj = admin.get_object("/api1/", "intel", a);
  REQUIRE(obj);
  REQUIRE(obj->objects.size() == 1);
  CHECK(obj->objects[0].find("2020-02-01T00:00:00.000Z") != std::string::npos);
  auto both = admin.get_object("/api1/", "intel", a, all);
  REQUIRE(both);
  CHECK(both->objects.size() == 2);
  CHECK(!both->date_added_first.empty());

  auto v = admin.versions("/api1/", "intel", a);
  REQUIRE(v);
  CHECK(v->versions ==
        std::vector<std::string>{"2020-01-01T00:00:00.000Z", "2020-02-01T00:00:00.000Z"});
  check_error_resource(get(admin, k_objects + random_stix_id("indicator") + "/"), 404);
  check_error_resource(get(admin, k_objects + random_stix_id("indicator") + "/versions/"), 404);

  // Delete rights (TAXII 5.7): read-only 403, write-only 403, nothing 404.
  auto reader = srv.client("reader");
  auto r1 = reader.request("DELETE", k_objects + a + "/", k_taxii_accept);
  REQUIRE(r1);
  check_error_resource(*r1, 403);
  auto writer = srv.client("writer");
  auto r2 = writer.request("DELETE", k_objects + a + "/", k_taxii_accept);
  REQUIRE(r2);
  check_error_resource(*r2, 403);
  auto nobody = srv.client("nobody");
  auto r3 = nobody.request("DELETE", k_objects + a + "/", k_taxii_accept);
  REQUIRE(r3);
  check_error_resource(*r3, 404);

  // Delete one version, then the rest.
  clients::object_filters one;
  one.versions = {"2020-01-01T00:00:00.000Z"};
  REQUIRE(admin.delete_object("/api1/", "intel", a, one));
  v = admin.versions("/api1/", "intel", a);
  REQUIRE(v);
  CHECK(v->versions == std::vector<std::string>{"2020-02-01T00:00:00.000Z"});
  REQUIRE(admin.delete_object("/api1/", "intel", a));
  check_error_resource(get(admin, k_objects + a + "/"), 404);
  auto gone = admin.get_objects("/api1/", "intel", all);
  REQUIRE(gone);
  CHECK(gone->objects.empty());
}

TEST_CASE("objects persist across a restart with the same date_added") {
  test_server srv;
  std::vector<std::string> before;
  std::string first;
  {
    auto admin = srv.client("admin");
    std::vector<std::string> objs;
    for (int i = 0; i < 30; ++i) {
      objs.push_back(make_indicator(random_stix_id("indicator"), "2020-01-01T00:00:00.000Z"));
    }
    publish(admin, objs);
    auto m = admin.manifest("/api1/", "intel");
    REQUIRE(m);
    for (const auto& r : m->objects) before.push_back(r.id + r.date_added + r.version);
  }
  CHECK(srv.stop() == 0);
  srv.start();
  auto admin = srv.client("admin");
  auto m = admin.manifest("/api1/", "intel");
  REQUIRE(m);
  std::vector<std::string> after;
  for (const auto& r : m->objects) after.push_back(r.id + r.date_added + r.version);
  CHECK(after == before);
  CHECK(after.size() == 30);
}

TEST_CASE("SIGHUP applies a good config and keeps the old one when the new is bad") {
  test_server srv;
  auto reader = srv.client("reader");
  CHECK(get(reader, "/api1/collections/secret/").status == 404);
  auto setup = srv.setup();
  setup.accounts[1].read.push_back("secret");
  auto offset = srv.log_text().size();
  srv.reload(setup);
  REQUIRE(srv.wait_for_log("config loaded", offset));
  // The same connection sees the new rights on its next request.
  CHECK(get(reader, "/api1/collections/secret/").status == 200);

  offset = srv.log_text().size();
  srv.reload_raw(R"({"listen": "127.0.0.1:0", "unknown_key": 1})");
  REQUIRE(srv.wait_for_log("reload refused", offset));
  CHECK(get(reader, "/api1/collections/secret/").status == 200);
  CHECK(get(reader, "/taxii2/").status == 200);
  CHECK(srv.log_text().find("reader-password") == std::string::npos);
}

TEST_CASE("pagination while another client inserts: nothing missed, nothing twice") {
  test_server srv;
  auto admin = srv.client("admin");
  std::vector<std::string> first;
  for (int i = 0; i < 50; ++i) {
    first.push_back(make_indicator(random_stix_id("indicator"), "2020-01-01T00:00:00.000Z"));
  }
  publish(admin, first);
  std::atomic<bool> done{false};
  std::atomic<int> inserted{0};
  std::thread writer([&] {
    auto w = srv.client("admin");
    while (!done) {
      auto ind = make_indicator(random_stix_id("indicator"), "2020-01-01T00:00:00.000Z");
      if (w.add_objects("/api1/", "intel", envelope({ind}))) ++inserted;
      if (inserted > 200) break;
    }
  });
  std::set<std::string> seen;
  int duplicates = 0;
  clients::object_filters f;
  f.limit = 7;
  std::string last_added;
  for (int pages = 0; pages < 400; ++pages) {
    auto p = admin.manifest("/api1/", "intel", f);
    REQUIRE(p);
    for (const auto& r : p->objects) {
      if (!seen.insert(r.id).second) ++duplicates;
      CHECK(r.date_added > last_added);
      last_added = r.date_added;
    }
    if (!p->more) break;
    f.next = p->next;
  }
  done = true;
  writer.join();
  CHECK(duplicates == 0);
  // Everything that existed before paging started was seen.
  for (const auto& o : first) {
    auto d = formats::parse_json(o);
    CHECK(seen.count(std::string(d->root().get("id")->as_string())) == 1);
  }
  // And a final pass from the last position finds only what came after.
  clients::object_filters rest;
  rest.added_after = last_added;
  auto tail = admin.manifest("/api1/", "intel", rest);
  REQUIRE(tail);
  for (const auto& r : tail->objects) CHECK(seen.count(r.id) == 0);
  CHECK(seen.size() + tail->objects.size() == 50 + static_cast<std::size_t>(inserted.load()));
}

namespace {

const std::string k_tlp_green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const std::string k_tlp_red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

formats::micros time_of(std::string_view text) {
  auto t = formats::parse_rfc3339(text);
  REQUIRE(t);
  return *t;
}

}  // namespace

// Before: one request's versions were numbered in request order, so the
// green reader's manifest showed date_added gaps of exactly the number of
// RED objects between two green ones (here +3 and +2 microseconds).
TEST_CASE("a green reader's date_added values do not count the RED objects between them") {
  test_server srv;
  auto admin = srv.client("admin");
  std::vector<std::string> objects;
  std::vector<std::string> green_ids;
  const char* pattern = "GRRRGRRG";
  for (const char* p = pattern; *p; ++p) {
    const std::string id = random_stix_id("indicator");
    const bool green = *p == 'G';
    if (green) green_ids.push_back(id);
    objects.push_back(
        make_indicator(id, "2021-01-01T00:00:00.000Z", green ? k_tlp_green : k_tlp_red));
  }
  auto s = publish(admin, objects);
  CHECK(s.success_count == static_cast<std::int64_t>(objects.size()));

  auto reader = srv.client("reader");
  auto m = get(reader, "/api1/collections/intel/manifest/");
  REQUIRE(m.status == 200);
  auto doc = parse(m.body);
  const auto list = doc.root().get("objects");
  REQUIRE(list);
  REQUIRE(list->size() == green_ids.size());
  std::vector<formats::micros> added;
  for (std::size_t i = 0; i < list->size(); ++i) {
    CHECK(list->value_at(i).get("id")->as_string() == green_ids[i]);
    added.push_back(time_of(list->value_at(i).get("date_added")->as_string()));
  }
  for (std::size_t i = 1; i < added.size(); ++i) CHECK(added[i] == added[i - 1] + 1);
  // The headers of the page agree.
  CHECK(time_of(m.header("X-TAXII-Date-Added-First").value_or("")) == added.front());
  CHECK(time_of(m.header("X-TAXII-Date-Added-Last").value_or("")) == added.back());
}

// A collection of versions above the reader's clearance answers exactly like
// an empty one: body, more/next and the date headers. (With fewer than
// 200,000 withheld versions the old code already answered the same body; the
// storage test "a scan reads nothing above the reader's clearance" shows
// that nothing withheld is read any more.)
TEST_CASE("a collection of RED objects looks empty to a green reader") {
  auto setup = default_setup();
  setup.collections.push_back({"5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f", "vault", "Vault", "red"});
  setup.collections.push_back({"6d5e4f3a-2b1c-4d0e-9f8a-7b6c5d4e3f2a", "void", "Void", "red"});
  for (auto& a : setup.accounts) {
    if (a.name == "reader") {
      a.read.push_back("vault");
      a.read.push_back("void");
    }
  }
  test_server srv(setup);
  auto admin = srv.client("admin");
  std::vector<std::string> reds;
  for (int i = 0; i < 50; ++i) {
    reds.push_back(make_indicator(random_stix_id("indicator"), "2021-01-01T00:00:00.000Z"));
  }
  publish(admin, reds, "vault");
  CHECK(parse(get(admin, "/api1/collections/vault/objects/").body).root().get("objects")->size() ==
        50);

  auto reader = srv.client("reader");
  for (const std::string query :
       {"", "?limit=1", "?match[type]=indicator", "?limit=5&added_after=2020-01-01T00:00:00Z"}) {
    for (const std::string endpoint : {"objects/", "manifest/"}) {
      INFO(endpoint << query);
      auto held = get(reader, "/api1/collections/vault/" + endpoint + query);
      auto none = get(reader, "/api1/collections/void/" + endpoint + query);
      CHECK(held.status == 200);
      CHECK(held.status == none.status);
      CHECK(held.body == none.body);
      auto d = parse(held.body);
      CHECK_FALSE(d.root().get("objects"));
      CHECK_FALSE(d.root().get("next"));
      CHECK_FALSE((d.root().get("more") && d.root().get("more")->as_bool()));
      for (const char* h : {"X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last"}) {
        CHECK_FALSE(held.header(h));
        CHECK_FALSE(none.header(h));
      }
    }
  }
}

// A publisher receives its own versions above its clearance. Numbered by
// level, they came after every other account's versions between its
// clearance and theirs in the same commit: a green writer posting one GREEN
// and one RED object, while an amber writer published AMBER ones, saw its two
// date_added values apart by exactly the number of AMBER objects that shared
// the commit. Before: most rounds showed a gap (5, 10, ...). Such a publish
// now gets a commit of its own.
TEST_CASE("a writer's own versions above its clearance do not count others' withheld versions") {
  auto setup = default_setup();
  setup.accounts.push_back(
      {"greenie", "greenie-password", {"intel"}, {"intel"}, "green", false, {}});
  setup.accounts.push_back({"amberly", "amberly-password", {}, {"intel"}, "amber", false, {}});
  test_server srv(setup);

  // AMBER objects (the collection's default) flow in all along, from two
  // connections, so that the writer's queue is never empty.
  std::atomic<bool> stop{false};
  std::atomic<int> amber_published{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 2; ++t) {
    flood.emplace_back([&] {
      auto amberly = srv.client("amberly");
      while (!stop.load()) {
        std::vector<std::string> batch;
        for (int i = 0; i < 5; ++i) {
          batch.push_back(make_indicator(random_stix_id("indicator"), "2022-01-01T00:00:00.000Z"));
        }
        auto s = amberly.add_objects("/api1/", "intel", envelope(batch));
        if (s && s->success_count == 5) amber_published += 5;
      }
    });
  }

  auto greenie = srv.client("greenie");
  std::vector<formats::micros> gaps;
  for (int round = 0; round < 30; ++round) {
    const auto g = random_stix_id("indicator");
    const auto r = random_stix_id("indicator");
    auto s = publish(greenie, {make_indicator(g, "2022-01-01T00:00:00.000Z", k_tlp_green),
                               make_indicator(r, "2022-01-01T00:00:00.000Z", k_tlp_red)});
    REQUIRE(s.success_count == 2);
    clients::object_filters both;
    both.ids = {g, r};
    auto m = greenie.manifest("/api1/", "intel", both);
    REQUIRE(m);
    REQUIRE(m->objects.size() == 2);
    // Its GREEN version first, then its RED one; nothing it may receive lies
    // between (the flood is AMBER only).
    REQUIRE(m->objects[0].id == g);
    REQUIRE(m->objects[1].id == r);
    gaps.push_back(time_of(m->objects[1].date_added) - time_of(m->objects[0].date_added) - 1);
  }
  stop = true;
  for (auto& t : flood) t.join();
  REQUIRE(amber_published.load() > 0);
  INFO("AMBER objects published meanwhile: " << amber_published.load());
  CHECK(gaps == std::vector<formats::micros>(gaps.size(), 0));
}
