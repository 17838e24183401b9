// The `cairn` commands end to end against the fake TAXII server over TLS.
#include "clients/cli.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "clients/durable_file.hpp"
#include "formats/json.hpp"
#include "tests/clients/fake_taxii.hpp"

using namespace cairn::clients;
using namespace cairn::clients::testing;

namespace {

std::string uuid(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-1111-4111-8111-%012x", i, i * 7);
  return buf;
}

std::string indicator(int i, const std::string& modified = "2024-01-01T00:00:00.000Z") {
  return R"({"type":"indicator","spec_version":"2.1","id":"indicator--)" + uuid(i) +
         R"(","created":"2024-01-01T00:00:00.000Z","modified":")" + modified +
         R"(","name":"bad address )" + std::to_string(i) +
         R"(","pattern":"[ipv4-addr:value = '10.0.)" + std::to_string(i / 250) + "." +
         std::to_string(i % 250) +
         R"(']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"})";
}

std::string bundle_of(const std::vector<std::string>& objects) {
  std::string out = R"({"type":"bundle","id":"bundle--)" + uuid(999999) + R"(","objects":[)";
  for (std::size_t i = 0; i < objects.size(); ++i) out += (i ? "," : "") + objects[i];
  return out + "]}";
}

std::string slurp(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

struct cli_run {
  int rc = -1;
  std::string out;
  std::string err;
};

struct fixture {
  temp_dir dir;
  test_pki pki = make_test_pki(dir.path() / "pki", "CLI CA", "DNS:localhost,IP:127.0.0.1");
  fake_taxii taxii;
  test_tls_server server{pki, [this](const test_request& r) { return taxii.handle(r); }};
  std::filesystem::path password_file = dir.path() / "pw";
  std::string stdin_text;

  fixture() { std::ofstream(password_file) << "pw\n"; }

  std::vector<std::string> common() const {
    return {"--url",           server.url("/taxii2/"),
            "--cacert",        pki.ca_file.string(),
            "--user",          "acme",
            "--password-file", password_file.string()};
  }

  cli_run run(std::vector<std::string> args, bool with_common = true,
              const std::atomic<bool>* stop = nullptr) {
    if (with_common) {
      auto c = common();
      args.insert(args.end(), c.begin(), c.end());
    }
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    cli_io io;
    io.out = out;
    io.err = err;
    io.stop = stop;
    io.read_stdin = [this]() -> cairn::result<std::string> { return stdin_text; };
    cli_run r;
    r.rc = run_cli(args, io);
    r.out = slurp(out);
    r.err = slurp(err);
    std::fclose(out);
    std::fclose(err);
    return r;
  }

  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto p = dir.path() / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

  void load(int first, int count) {
    for (int i = first; i < first + count; ++i) taxii.add_object(indicator(i));
  }
};

// The ids of a bundle file's objects, in order.
std::vector<std::string> bundle_ids(const std::string& text) {
  auto doc = cairn::formats::parse_json(text);
  REQUIRE(doc);
  const auto root = doc->root();
  REQUIRE(root.get("type")->as_string() == "bundle");
  REQUIRE(root.get("id")->as_string().starts_with("bundle--"));
  std::vector<std::string> ids;
  const auto objects = root.get("objects");
  REQUIRE(objects);
  for (std::size_t i = 0; i < objects->size(); ++i) {
    ids.emplace_back(objects->value_at(i).get("id")->as_string());
  }
  return ids;
}

std::vector<std::string> jsonl_ids(const std::string& text) {
  std::vector<std::string> ids;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    REQUIRE(end != std::string::npos);  // every line complete
    auto doc = cairn::formats::parse_json(std::string_view(text).substr(pos, end - pos));
    REQUIRE(doc);
    ids.emplace_back(doc->root().get("id")->as_string());
    pos = end + 1;
  }
  return ids;
}

std::vector<std::string> stored_ids(const fake_taxii& t) {
  std::vector<std::string> ids;
  for (const auto& s : t.objects()) ids.push_back(s.id);
  return ids;
}

}  // namespace

TEST_CASE("publish validates, splits under max_content_length and reports every object",
          "[clients][cli][publish]") {
  fixture f;
  f.taxii.max_content_length = 2000;
  std::vector<std::string> objects;
  for (int i = 0; i < 30; ++i) objects.push_back(indicator(i));
  // One invalid object: an indicator without a pattern.
  objects.push_back(
      R"({"type":"indicator","spec_version":"2.1","id":"indicator--)" + uuid(77) +
      R"(","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"})");
  const auto file = f.write("report.json", bundle_of(objects));

  auto r = f.run({"publish", "ind", file.string(), "--json"});
  CHECK(r.rc == 1);
  auto doc = cairn::formats::parse_json(r.out);
  REQUIRE(doc);
  CHECK(doc->root().get("total")->as_int() == 31);
  CHECK(doc->root().get("succeeded")->as_int() == 30);
  CHECK(doc->root().get("failed")->as_int() == 1);
  const auto outcomes = doc->root().get("objects");
  REQUIRE(outcomes->size() == 31);
  CHECK(outcomes->value_at(0).get("result")->as_string() == "invalid");
  CHECK(outcomes->value_at(0).get("id")->as_string() == "indicator--" + uuid(77));
  CHECK(outcomes->value_at(0).get("message")->as_string().find("pattern") != std::string::npos);

  CHECK(f.taxii.objects().size() == 30);
  const auto sizes = f.taxii.post_sizes();
  CHECK(sizes.size() > 1);
  for (auto s : sizes) CHECK(s <= 2000);
  CHECK(r.err.find("published 30 of 31") != std::string::npos);
}

TEST_CASE("publish waits for pending statuses and reads stdin and JSON lines",
          "[clients][cli][publish]") {
  fixture f;
  f.taxii.pending_polls = 2;
  f.stdin_text = indicator(1) + "\n" + indicator(2) + "\n" + indicator(3) + "\n";
  auto r = f.run({"publish", "ind", "-", "--batch", "2"});
  CHECK(r.rc == 0);
  CHECK(f.taxii.objects().size() == 3);
  CHECK(f.taxii.post_sizes().size() == 2);
  CHECK(r.out.find("ok       indicator--" + uuid(1)) != std::string::npos);
  CHECK(r.out.find("ok       indicator--" + uuid(3)) != std::string::npos);
  CHECK(r.err.find("published 3 of 3") != std::string::npos);
}

TEST_CASE("publish reports objects the server refused and exits 1", "[clients][cli][publish]") {
  fixture f;
  f.taxii.refuse_ids = {"indicator--" + uuid(2)};
  const auto file = f.write("list.json", "[" + indicator(1) + "," + indicator(2) + "]");
  auto r = f.run({"publish", "ind", file.string()});
  CHECK(r.rc == 1);
  CHECK(r.out.find("failed   indicator--" + uuid(2)) != std::string::npos);
  CHECK(r.out.find("refused by policy") != std::string::npos);
  CHECK(r.out.find("ok       indicator--" + uuid(1)) != std::string::npos);
}

TEST_CASE("pull follows next, or added_after without next, and writes a bundle",
          "[clients][cli][pull]") {
  fixture f;
  f.load(0, 35);
  f.taxii.page_size = 10;
  const bool use_next = GENERATE(true, false);
  f.taxii.use_next = use_next;
  const auto out = f.dir.path() / "all.json";
  auto r = f.run({"pull", "ind", "--out", out.string()});
  CHECK(r.rc == 0);
  CHECK(bundle_ids(*read_whole_file(out, 1u << 24)) == stored_ids(f.taxii));
  CHECK_FALSE(std::filesystem::exists(out.string() + ".partial"));
  CHECK(f.taxii.pages_served.load() == 4);

  // The objects come back byte for byte as stored.
  auto doc = cairn::formats::parse_json(*read_whole_file(out, 1u << 24));
  REQUIRE(doc);
  CHECK(doc->root().get("objects")->value_at(7).dump() == f.taxii.objects()[7].json);
}

TEST_CASE("pull to stdout in JSON lines", "[clients][cli][pull]") {
  fixture f;
  f.load(0, 12);
  f.taxii.page_size = 5;
  auto r = f.run({"pull", "ind", "--format", "jsonl", "--type", "indicator"});
  CHECK(r.rc == 0);
  CHECK(jsonl_ids(r.out) == stored_ids(f.taxii));
  CHECK(r.err.find("pulled 12 objects") != std::string::npos);
}

TEST_CASE("incremental pulls give only new objects, none twice", "[clients][cli][pull]") {
  fixture f;
  f.load(0, 35);
  f.taxii.page_size = 10;
  const auto state = f.dir.path() / "ind.state";
  const auto first = f.dir.path() / "first.json";
  auto r1 = f.run({"pull", "ind", "--state", state.string(), "--out", first.string()});
  REQUIRE(r1.rc == 0);
  CHECK(bundle_ids(*read_whole_file(first, 1u << 24)).size() == 35);
  REQUIRE(std::filesystem::exists(state));

  f.load(100, 5);
  const auto second = f.dir.path() / "second.json";
  auto r2 = f.run({"pull", "ind", "--state", state.string(), "--out", second.string()});
  REQUIRE(r2.rc == 0);
  const auto ids = bundle_ids(*read_whole_file(second, 1u << 24));
  const auto all = stored_ids(f.taxii);
  CHECK(ids == std::vector<std::string>(all.begin() + 35, all.end()));

  // Nothing new: an empty bundle, and the state stays where it was.
  const auto state_before = *read_whole_file(state, 1u << 20);
  const auto third = f.dir.path() / "third.json";
  auto r3 = f.run({"pull", "ind", "--state", state.string(), "--out", third.string()});
  REQUIRE(r3.rc == 0);
  CHECK(bundle_ids(*read_whole_file(third, 1u << 24)).empty());
  CHECK(*read_whole_file(state, 1u << 20) == state_before);

  // The alias and the id name the same collection: the state is shared.
  auto by_id = f.run({"pull", fake_collection_id, "--state", state.string()});
  CHECK(by_id.rc == 0);
  CHECK(bundle_ids(by_id.out).empty());

  // A state file belongs to one collection.
  auto text = *read_whole_file(state, 1u << 20);
  text.replace(text.find(fake_collection_id), 36, "00000000-0000-4000-8000-000000000000");
  REQUIRE(write_file_atomically(state, text));
  auto other = f.run({"pull", "ind", "--state", state.string()});
  CHECK(other.rc == 1);
  CHECK(other.err.find("use another --state") != std::string::npos);
}

TEST_CASE("an interrupted JSON-lines pull resumes with every object exactly once",
          "[clients][cli][pull]") {
  fixture f;
  f.load(0, 35);
  f.taxii.page_size = 10;
  const auto state = f.dir.path() / "feed.state";
  const auto out = f.dir.path() / "feed.jsonl";
  const std::vector<std::string> pull = {"pull",      "ind",        "--state",  state.string(),
                                         "--out",     out.string(), "--format", "jsonl",
                                         "--retries", "0"};

  // The connection drops after two pages.
  f.taxii.drop_pages_after = 2;
  auto r1 = f.run(pull);
  CHECK(r1.rc == 1);
  CHECK(r1.err.find("503") != std::string::npos);
  CHECK(jsonl_ids(*read_whole_file(out, 1u << 24)).size() == 20);

  // As if the process had died after writing part of a page it never
  // recorded.
  std::ofstream(out, std::ios::app) << R"({"id":"indicator--half-written"})"
                                    << "\n{\"id\":";

  f.taxii.drop_pages_after = -1;
  auto r2 = f.run(pull);
  CHECK(r2.rc == 0);
  CHECK(r2.err.find("discarded") != std::string::npos);
  CHECK(jsonl_ids(*read_whole_file(out, 1u << 24)) == stored_ids(f.taxii));

  // And a later pull appends only what is new.
  f.load(200, 3);
  auto r3 = f.run(pull);
  CHECK(r3.rc == 0);
  CHECK(jsonl_ids(*read_whole_file(out, 1u << 24)) == stored_ids(f.taxii));
}

TEST_CASE("Ctrl-C stops a pull at a safe point", "[clients][cli][pull]") {
  fixture f;
  f.load(0, 35);
  f.taxii.page_size = 10;
  std::atomic<bool> stop{false};
  f.taxii.on_page = [&stop](int served) {
    if (served == 2) stop = true;
  };
  const auto state = f.dir.path() / "s.state";

  SECTION("a bundle is not written and nothing is recorded") {
    const auto out = f.dir.path() / "all.json";
    auto r = f.run({"pull", "ind", "--state", state.string(), "--out", out.string()}, true, &stop);
    CHECK(r.rc == 1);
    CHECK(r.err.find("interrupted") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK_FALSE(std::filesystem::exists(out.string() + ".partial"));
    CHECK_FALSE(std::filesystem::exists(state));
    stop = false;
    f.taxii.on_page = nullptr;
    auto again = f.run({"pull", "ind", "--state", state.string(), "--out", out.string()});
    CHECK(again.rc == 0);
    CHECK(bundle_ids(*read_whole_file(out, 1u << 24)) == stored_ids(f.taxii));
  }
  SECTION("JSON lines keep what was written and resume after it") {
    const auto out = f.dir.path() / "feed.jsonl";
    const std::vector<std::string> pull = {"pull",  "ind",        "--state",  state.string(),
                                           "--out", out.string(), "--format", "jsonl"};
    auto r = f.run(pull, true, &stop);
    CHECK(r.rc == 1);
    CHECK(r.err.find("resume") != std::string::npos);
    CHECK(jsonl_ids(*read_whole_file(out, 1u << 24)).size() == 20);
    stop = false;
    f.taxii.on_page = nullptr;
    auto again = f.run(pull);
    CHECK(again.rc == 0);
    CHECK(jsonl_ids(*read_whole_file(out, 1u << 24)) == stored_ids(f.taxii));
  }
}

TEST_CASE("trust and credential problems are clear", "[clients][cli]") {
  fixture f;
  SECTION("a wrong CA is refused") {
    const test_pki other = make_test_pki(f.dir.path() / "other", "Other CA", "IP:127.0.0.1");
    auto r =
        f.run({"discover", "--url", f.server.url("/taxii2/"), "--cacert", other.ca_file.string(),
               "--user", "acme", "--password-file", f.password_file.string()},
              false);
    CHECK(r.rc == 1);
    CHECK(r.err.find("refused") != std::string::npos);
  }
  SECTION("--insecure works and warns") {
    auto r = f.run({"discover", "--url", f.server.url("/taxii2/"), "--insecure", "--user", "acme",
                    "--password-file", f.password_file.string()},
                   false);
    CHECK(r.rc == 0);
    CHECK(r.err.find("WARNING: --insecure") != std::string::npos);
    CHECK(r.out.find("Fake exchange") != std::string::npos);
  }
  SECTION("bad credentials") {
    const auto wrong = f.write("wrong", "nope\n");
    auto r = f.run({"collections", "--url", f.server.url("/taxii2/"), "--cacert",
                    f.pki.ca_file.string(), "--user", "acme", "--password-file", wrong.string()},
                   false);
    CHECK(r.rc == 1);
    CHECK(r.err.find("401 Unauthorized: Authentication required") != std::string::npos);
    CHECK(r.err.find("--password-file") != std::string::npos);
  }
  SECTION("usage errors exit 2") {
    auto r = f.run({"pull"});
    CHECK(r.rc == 2);
    CHECK(r.err.find("usage: cairn pull") != std::string::npos);
    auto missing_pw = f.run({"discover", "--url", f.server.url("/taxii2/"), "--user", "acme",
                             "--password-file", (f.dir.path() / "none").string()},
                            false);
    CHECK(missing_pw.rc == 2);
  }
  SECTION("help exits 0") {
    auto r = f.run({"pull", "--help"}, false);
    CHECK(r.rc == 0);
    CHECK(r.out.find("--state FILE") != std::string::npos);
  }
}

TEST_CASE("discover, collections, get, manifest, status and delete", "[clients][cli]") {
  fixture f;
  f.load(0, 3);
  f.taxii.add_object(indicator(1, "2024-02-01T00:00:00.000Z"));
  const std::string id1 = "indicator--" + uuid(1);

  auto d = f.run({"discover"});
  CHECK(d.rc == 0);
  CHECK(d.out.find("/api1/  (default)") != std::string::npos);
  CHECK(d.out.find("max_content_length: 10485760") != std::string::npos);

  auto dj = f.run({"discover", "--json"});
  CHECK(dj.rc == 0);
  CHECK(cairn::formats::parse_json(dj.out)->root().get("default")->as_string() == "/api1/");

  auto c = f.run({"collections"});
  CHECK(c.rc == 0);
  CHECK(c.out.find(std::string(fake_collection_id) + "  ind    yes  yes   Indicators") !=
        std::string::npos);

  auto g = f.run({"get", "ind", id1});
  CHECK(g.rc == 0);
  CHECK(g.out.find("2024-02-01T00:00:00.000Z") != std::string::npos);

  auto v = f.run({"get", "ind", id1, "--versions"});
  CHECK(v.rc == 0);
  CHECK(v.out == "2024-01-01T00:00:00.000Z\n2024-02-01T00:00:00.000Z\n");

  auto missing = f.run({"get", "ind", "indicator--" + uuid(555)});
  CHECK(missing.rc == 1);
  CHECK(missing.err.find("404") != std::string::npos);

  auto m = f.run({"manifest", "ind", "--json"});
  CHECK(m.rc == 0);
  CHECK(cairn::formats::parse_json(m.out)->root().get("objects")->size() == 4);

  const auto file = f.write("one.json", indicator(9));
  REQUIRE(f.run({"publish", "ind", file.string()}).rc == 0);
  auto s = f.run({"status", "s1"});
  CHECK(s.rc == 0);
  CHECK(s.out.find("status s1: complete") != std::string::npos);
  CHECK(s.out.find("ok       indicator--" + uuid(9)) != std::string::npos);

  auto del = f.run({"delete", "ind", id1});
  CHECK(del.rc == 0);
  CHECK(del.err.find("deleted " + id1) != std::string::npos);
  CHECK(f.run({"get", "ind", id1}).rc == 1);
}

TEST_CASE("audit follows pages of the Cairn audit endpoint", "[clients][cli]") {
  fixture f;
  auto r = f.run({"audit", "--object", "indicator--x", "--action", "pull", "--since",
                  "2026-01-01T00:00:00Z", "--json"});
  CHECK(r.rc == 0);
  std::vector<std::int64_t> seqs;
  std::size_t pos = 0;
  while (pos < r.out.size()) {
    const auto end = r.out.find('\n', pos);
    auto doc = cairn::formats::parse_json(std::string_view(r.out).substr(pos, end - pos));
    REQUIRE(doc);
    seqs.push_back(doc->root().get("seq")->as_int());
    pos = end + 1;
  }
  CHECK(seqs == std::vector<std::int64_t>{1, 2, 3});
  const auto queries = f.taxii.audit_queries();
  REQUIRE(queries.size() == 2);
  CHECK(queries[0] == "object=indicator--x&action=pull&since=2026-01-01T00:00:00Z");
  CHECK(queries[1] == queries[0] + "&next=p2");

  auto human = f.run({"audit", "--account", "acme"});
  CHECK(human.rc == 0);
  CHECK(human.out.find("pull") != std::string::npos);
  CHECK(human.out.find("indicator--x 2024-01-01T00:00:00.000Z") != std::string::npos);
  CHECK(human.err.find("3 audit records") != std::string::npos);

  // Before: a counter record showed as a bare auth-failure row.
  auto counters = f.run({"audit", "--action", "auth-failure"});
  CHECK(counters.rc == 0);
  CHECK(counters.out.find("counted 7 failures: reader 3, writer 2\n") != std::string::npos);
}

TEST_CASE("alerts follows pages of the Cairn alerts endpoint", "[clients][cli]") {
  fixture f;
  auto r = f.run({"alerts", "--kind", "denied-burst", "--since", "2026-01-01T00:00:00Z", "--json"});
  CHECK(r.rc == 0);
  // One alert per line, as the server sent it.
  CHECK(
      r.out ==
      R"({"account":"acme","detail":"20 refused requests within 60 s","evidence":[3,4],)"
      R"("kind":"denied-burst","remote":"192.0.2.7","seq":5,"time":"2026-01-01T00:00:05.000000Z"})"
      "\n"
      R"({"account":"","detail":"20 refused requests within 60 s","evidence":[],)"
      R"("kind":"auth-failure-burst","remote":"192.0.2.7","seq":8,)"
      R"("time":"2026-01-01T00:00:08.000000Z"})"
      "\n"
      R"({"account":"acme","detail":"20 refused requests within 60 s","evidence":[7],)"
      R"("kind":"denied-burst","remote":"192.0.2.7","seq":9,"time":"2026-01-01T00:00:09.000000Z"})"
      "\n");
  const auto queries = f.taxii.audit_queries();
  REQUIRE(queries.size() == 2);
  CHECK(queries[0] == "alerts:kind=denied-burst&since=2026-01-01T00:00:00Z");
  CHECK(queries[1] == queries[0] + "&next=a2");

  // A table for people: a header, one row per alert, its evidence below.
  auto human = f.run({"alerts"});
  CHECK(human.rc == 0);
  std::istringstream lines(human.out);
  std::string header, first, evidence, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, evidence);
  std::getline(lines, second);
  CHECK(header.starts_with("SEQ     TIME"));
  CHECK(header.find("KIND") != std::string::npos);
  CHECK(header.ends_with("DETAIL"));
  CHECK(first ==
        "5       2026-01-01T00:00:05.000000Z  denied-burst        acme          192.0.2.7        "
        "20 refused requests within 60 s");
  CHECK(evidence == "        evidence [3,4]");
  // An alert about an address only: "-" for the account, no evidence line.
  CHECK(second ==
        "8       2026-01-01T00:00:08.000000Z  auth-failure-burst  -             192.0.2.7        "
        "20 refused requests within 60 s");
  CHECK(human.err.find("3 alerts") != std::string::npos);

  // Options that belong to other commands are refused.
  CHECK(f.run({"alerts", "--action", "pull"}).rc == 2);
  CHECK(f.run({"audit", "--kind", "volume"}).rc == 2);
  CHECK(f.run({"alerts", "extra"}).rc == 2);
}

TEST_CASE("statuses follows pages of the Cairn statuses endpoint", "[clients][cli]") {
  fixture f;
  auto r = f.run({"statuses", "--limit", "1", "--json"});
  CHECK(r.rc == 0);
  // One status per line, as the server sent it, newest first.
  CHECK(r.out == R"({"id":"2d1b6c1e-0000-4000-8000-000000000002","api_root":"api1",)"
                 R"("request_timestamp":"2026-01-01T00:00:05.000000Z","status":"complete",)"
                 R"("total_count":3,"success_count":2,"failure_count":1,"pending_count":0})"
                 "\n"
                 R"({"id":"2d1b6c1e-0000-4000-8000-000000000001","api_root":"api1",)"
                 R"("request_timestamp":"2026-01-01T00:00:05.000000Z","status":"complete",)"
                 R"("total_count":3,"success_count":3,"failure_count":0,"pending_count":0})"
                 "\n");
  const auto queries = f.taxii.audit_queries();
  REQUIRE(queries.size() == 2);
  CHECK(queries[0] == "statuses:limit=1");
  CHECK(queries[1] == "statuses:limit=1&next=s2");

  // A table for people.
  auto human = f.run({"statuses"});
  CHECK(human.rc == 0);
  std::istringstream lines(human.out);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  CHECK(header.starts_with("STATUS ID"));
  CHECK(header.ends_with("PENDING"));
  CHECK(first ==
        "2d1b6c1e-0000-4000-8000-000000000002  api1        2026-01-01T00:00:05.000000Z  complete  "
        "3      2      1      0");
  CHECK(second.starts_with("2d1b6c1e-0000-4000-8000-000000000001"));
  CHECK(human.err.find("2 statuses") != std::string::npos);
  CHECK(f.taxii.audit_queries().back() == "statuses:next=s2");

  // The server's bound, and options of other commands, are refused before
  // any request.
  CHECK(f.run({"statuses", "--limit", "101"}).rc == 2);
  CHECK(f.run({"statuses", "--kind", "volume"}).rc == 2);
  CHECK(f.run({"statuses", "extra"}).rc == 2);
}

TEST_CASE("pretty_json indents for people", "[clients][cli]") {
  CHECK(pretty_json(R"({"a":[1,{"b":"c"}],"d":{}})") ==
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"c\"\n    }\n  ],\n  \"d\": {}\n}");
  CHECK(pretty_json("not json") == "not json");
}
