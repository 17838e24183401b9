#include "clients/load_generator.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>

#include "clients/publisher.hpp"
#include "clients/synthetic_stix.hpp"
#include "formats/json.hpp"
#include "formats/stix.hpp"
#include "formats/tlp.hpp"
#include "tests/clients/fake_taxii.hpp"

using namespace cairn::clients;
using namespace cairn::clients::testing;

namespace {

env_lookup no_env() {
  return [](std::string_view) { return std::optional<std::string>{}; };
}

}  // namespace

TEST_CASE("synthetic indicators are valid, varied and reproducible", "[clients][bench]") {
  synthetic_options o;
  o.seed = 42;
  const auto objects = synthetic_indicators(5000, o);
  REQUIRE(objects.size() == 5000);
  CHECK(synthetic_indicators(5000, o) == objects);
  o.seed = 43;
  CHECK(synthetic_indicators(10, o) !=
        std::vector<std::string>(objects.begin(), objects.begin() + 10));

  std::map<std::string, std::vector<std::string>> versions;  // id -> modified, in order
  std::set<std::string> pattern_kinds;
  std::set<int> levels;
  std::size_t unmarked = 0;
  for (const auto& text : objects) {
    auto doc = cairn::formats::parse_json(text);
    REQUIRE(doc);
    auto info = cairn::formats::validate_stix_object(doc->root());
    INFO(text);
    REQUIRE(info);
    versions[info->id].push_back(info->version);
    const std::string pattern(doc->root().get("pattern")->as_string());
    pattern_kinds.insert(pattern.substr(1, pattern.find(':') - 1));
    if (info->tlp) {
      levels.insert(static_cast<int>(*info->tlp));
    } else {
      ++unmarked;
    }
  }
  CHECK(pattern_kinds == std::set<std::string>{"domain-name", "file", "ipv4-addr", "url"});
  CHECK(levels.size() == 5);  // clear, green, amber, amber+strict, red
  CHECK(unmarked > 0);
  std::size_t multi = 0;
  for (const auto& [id, mods] : versions) {
    if (mods.size() > 1) ++multi;
    // Later versions come later and are newer.
    CHECK(std::is_sorted(mods.begin(), mods.end()));
    CHECK(std::set<std::string>(mods.begin(), mods.end()).size() == mods.size());
  }
  CHECK(multi > 50);
  CHECK(versions.size() < objects.size());
}

TEST_CASE("scan_envelope finds what paging needs without a full parse", "[clients][bench]") {
  synthetic_options o;
  o.seed = 7;
  const auto objects = synthetic_indicators(300, o);
  std::vector<std::string_view> views(objects.begin(), objects.end());
  std::string body = make_envelope(views, 0, views.size());
  // make_envelope writes {"objects":[...]}; add paging members around it.
  body.insert(1, R"("more":true,"next":"abc\/def\"g",)");
  auto s = scan_envelope(body);
  CHECK(s.ok);
  CHECK(s.more);
  CHECK(s.next == "abc/def\"g");
  CHECK(s.objects == 300);
  auto doc = cairn::formats::parse_json(body);
  REQUIRE(doc);
  CHECK(doc->root().get("objects")->size() == s.objects);
  CHECK(doc->root().get("next")->as_string() == s.next);

  // Braces, brackets and keys inside strings do not count.
  auto tricky = scan_envelope(
      R"({"objects":[{"a":"}{[\"more\":true"},{"objects":[{},{}]}],"x":{"more":true},"more":false})");
  CHECK(tricky.ok);
  CHECK(tricky.objects == 2);
  CHECK_FALSE(tricky.more);
  CHECK(tricky.next.empty());

  auto empty = scan_envelope("{}");
  CHECK(empty.ok);
  CHECK(empty.objects == 0);
  CHECK_FALSE(scan_envelope("").ok);
  CHECK_FALSE(scan_envelope("[1,2]").ok);
  CHECK_FALSE(scan_envelope(R"({"objects":[{"a":"unterminated)").ok);
  CHECK_FALSE(scan_envelope(R"({"objects":[)").ok);
}

TEST_CASE("summarize_latency uses nearest-rank percentiles", "[clients][bench]") {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  auto s = summarize_latency(samples);
  CHECK(s.p50_ms == 50);
  CHECK(s.p99_ms == 99);
  CHECK(s.max_ms == 100);
  CHECK(s.mean_ms == Approx(50.5));
  auto one = summarize_latency({7});
  CHECK(one.p50_ms == 7);
  CHECK(one.p99_ms == 7);
  auto none = summarize_latency({});
  CHECK(none.max_ms == 0);
}

TEST_CASE("parse_bench_args", "[clients][bench]") {
  auto a = parse_bench_args({"--url",
                             "https://h/taxii2/",
                             "--insecure",
                             "--objects",
                             "5000",
                             "--publishers",
                             "8",
                             "--batch=100",
                             "--pullers",
                             "2",
                             "--page",
                             "500",
                             "--connections",
                             "64",
                             "--seconds",
                             "3",
                             "--phases",
                             "publish,discovery",
                             "--json",
                             "--seed",
                             "9"},
                            no_env());
  REQUIRE(a);
  CHECK(a->objects == 5000);
  CHECK(a->publishers == 8);
  CHECK(a->batch == 100);
  CHECK(a->pullers == 2);
  CHECK(a->page == 500);
  CHECK(a->connections == 64);
  CHECK(a->seconds == 3);
  CHECK(a->phases == std::vector<std::string>{"publish", "discovery"});
  CHECK(a->json);
  CHECK(a->seed == 9);
  CHECK(a->connection.insecure);
  CHECK(a->connection.retries == 0);

  auto g = parse_bench_args({"--url", "https://h/", "--insecure", "--get", "/page.json"}, no_env());
  REQUIRE(g);
  CHECK(g->phases.back() == "get");
  CHECK(g->get_path == "/page.json");

  CHECK_FALSE(parse_bench_args({"--url", "https://h/", "--phases", "get"}, no_env()));
  CHECK_FALSE(parse_bench_args({"--url", "https://h/", "--phases", "publish,fly"}, no_env()));
  CHECK_FALSE(parse_bench_args({"--url", "https://h/", "--objects", "0"}, no_env()));
  CHECK_FALSE(parse_bench_args({"--url", "https://h/", "--bogus"}, no_env()));
  CHECK_FALSE(parse_bench_args({"--objects", "10"}, no_env()));  // no URL
  auto help = parse_bench_args({"--help"}, no_env());
  REQUIRE(help);
  CHECK(help->help);
  CHECK(bench_help().find("--publishers") != std::string::npos);
}

TEST_CASE("the load generator publishes, pulls and repeats GETs", "[clients][bench]") {
  temp_dir dir;
  const test_pki pki = make_test_pki(dir.path(), "Bench CA", "IP:127.0.0.1");
  fake_taxii taxii;
  taxii.page_size = 7;
  test_tls_server server(pki, [&](const test_request& r) { return taxii.handle(r); });
  const auto pw = dir.path() / "pw";
  std::ofstream(pw) << "pw\n";

  auto args = parse_bench_args({"--url",           server.url("/taxii2/"),
                                "--cacert",        pki.ca_file.string(),
                                "--user",          "acme",
                                "--password-file", pw.string(),
                                "--collection",    "ind",
                                "--objects",       "50",
                                "--publishers",    "3",
                                "--batch",         "10",
                                "--pullers",       "2",
                                "--page",          "1000",
                                "--connections",   "2",
                                "--seconds",       "1",
                                "--seed",          "5"},
                               no_env());
  REQUIRE(args);
  REQUIRE(load_secret_files(args->connection, args->password_file, args->token_file));
  load_generator generator(*args);
  auto results = generator.run();
  REQUIRE(results);
  REQUIRE(results->size() == 3);

  const auto& publish = (*results)[0];
  CHECK(publish.phase == "publish");
  CHECK(publish.requests == 5);
  CHECK(publish.objects == 50);
  CHECK(publish.errors == 0);
  CHECK(taxii.objects().size() == 50);
  CHECK(publish.parameters == "50 objects, 3 publishers, batch 10");

  const auto& pull = (*results)[1];
  CHECK(pull.phase == "pull");
  CHECK(pull.errors == 0);
  CHECK(pull.objects == 100);     // each of the two partners reads all 50
  CHECK(pull.requests == 2 * 8);  // pages of 7 (the server's limit)

  const auto& discovery = (*results)[2];
  CHECK(discovery.phase == "discovery");
  CHECK(discovery.errors == 0);
  CHECK(discovery.requests > 0);
  CHECK(discovery.latency.p50_ms > 0);

  const std::string text = format_bench_report(*args, *results, false);
  CHECK(text.find("publish   50 objects, 3 publishers, batch 10") != std::string::npos);
  auto json = cairn::formats::parse_json(format_bench_report(*args, *results, true));
  REQUIRE(json);
  CHECK(json->root().get("phases")->size() == 3);
  CHECK(json->root().get("parameters")->get("batch")->as_int() == 10);
}
