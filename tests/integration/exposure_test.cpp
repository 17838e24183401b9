// Exposure and delivery statistics on a real cairnd over TLS: interleaved
// publishes (new versions, a revocation) and pulls by several partners, then
// who holds which version of each object (GET /cairn/v1/audit/exposure and
// `cairn audit exposure`) checked exactly against the pull records, and the
// statistics' totals (GET /cairn/v1/audit/stats) equal to those records'.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "clients/cli.hpp"
#include "formats/json.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

const char* const k_tlp_green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";

std::string version(int n) {
  return "2026-0" + std::to_string(n) + "-01T00:00:00.000Z";
}

// An indicator marked green, revoked when asked.
std::string green(const std::string& id, int v, bool revoked = false) {
  std::string json = make_indicator(id, version(v), k_tlp_green);
  if (revoked) json.insert(1, R"("revoked":true,)");
  return json;
}

void publish(clients::taxii_client& c, const std::vector<std::string>& objects) {
  auto st = c.add_objects("/api1/", "intel", envelope(objects));
  REQUIRE(st);
  REQUIRE(st->success_count == objects.size());
}

std::string get_body(clients::taxii_client& c, const std::string& target, unsigned status) {
  auto r = c.request("GET", target, {{"Accept", "application/json"}});
  REQUIRE(r);
  CHECK(r->status == status);
  return r->body;
}

// Every pull record (of one object, when given) as (account, time, versions of
// the object or count of objects), following next.
struct pull_record {
  std::string account;
  std::string time;
  std::vector<std::pair<std::string, std::string>> objects;  // id, version
};
std::vector<pull_record> pulls(clients::taxii_client& auditor, const std::string& object = {}) {
  std::vector<pull_record> out;
  std::string next;
  for (int pages = 0; pages < 1000; ++pages) {
    std::string target = "/cairn/v1/audit?action=pull&limit=5";
    if (!object.empty()) target += "&object=" + object;
    if (!next.empty()) target += "&next=" + next;
    auto doc = formats::parse_json(get_body(auditor, target, 200));
    REQUIRE(doc);
    auto records = doc->root().get("records");
    REQUIRE(records);
    for (std::size_t i = 0; i < records->size(); ++i) {
      const auto r = records->value_at(i);
      pull_record p{
          std::string(r.get("account")->as_string()), std::string(r.get("time")->as_string()), {}};
      const auto objects = *r.get("objects");
      for (std::size_t j = 0; j < objects.size(); ++j) {
        p.objects.emplace_back(objects.value_at(j).get("id")->as_string(),
                               objects.value_at(j).get("version")->as_string());
      }
      out.push_back(std::move(p));
    }
    if (!doc->root().get("more")->as_bool()) break;
    next = std::string(doc->root().get("next")->as_string());
  }
  return out;
}

std::string recipient(const std::string& account, int v, const std::string& time, bool current) {
  return R"({"account":")" + account + R"(","last_version_received":")" + version(v) +
         R"(","time":")" + time + R"(","current":)" + (current ? "true" : "false") + "}";
}

// The time of the last pull record of account that carried the object.
std::string last_time(const std::vector<pull_record>& records, const std::string& account) {
  std::string t;
  for (const auto& r : records) {
    if (r.account == account) t = r.time;
  }
  REQUIRE_FALSE(t.empty());
  return t;
}

// Runs `cairn ARGS` in-process as the auditor; the exit code, and what it printed.
int run_cairn(const test_server& srv, std::vector<std::string> args, std::string& out,
              std::string& err) {
  const auto out_path = srv.dir() / "cli.out";
  const auto err_path = srv.dir() / "cli.err";
  std::FILE* o = std::fopen(out_path.c_str(), "w+");
  std::FILE* e = std::fopen(err_path.c_str(), "w+");
  REQUIRE(o);
  REQUIRE(e);
  clients::cli_io io;
  io.out = o;
  io.err = e;
  io.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "CAIRN_PASSWORD") return std::string("auditor-password");
    return std::nullopt;
  };
  args.insert(args.end(), {"--url", srv.discovery_url(), "--cacert",
                           (srv.dir() / "server.pem").string(), "--user", "auditor"});
  const int rc = clients::run_cli(args, io);
  std::fclose(o);
  std::fclose(e);
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  out = slurp(out_path);
  err = slurp(err_path);
  return rc;
}

}  // namespace

TEST_CASE("exposure over TLS: who holds which version after interleaved publishes and pulls") {
  test_server srv;
  auto admin = srv.client("admin");
  auto reader = srv.client("reader");
  auto bot = srv.client("bot");
  auto auditor = srv.client("auditor");
  const std::string x = random_stix_id("indicator");
  const std::string y = random_stix_id("indicator");
  const std::string never = random_stix_id("indicator");

  publish(admin, {green(x, 1), green(y, 1)});
  REQUIRE(reader.get_objects("/api1/", "intel"));  // x v1, y v1
  REQUIRE(bot.get_objects("/api1/", "intel"));     // x v1, y v1
  publish(admin, {green(x, 2)});
  REQUIRE(bot.get_objects("/api1/", "intel"));       // x v2, y v1
  publish(admin, {green(x, 3, true)});               // x is revoked
  REQUIRE(reader.get_object("/api1/", "intel", y));  // y v1 only
  REQUIRE(admin.get_object("/api1/", "intel", x));   // x v3
  publish(admin, {green(never, 1)});

  const auto x_pulls = pulls(auditor, x);
  REQUIRE(x_pulls.size() == 4);  // reader, bot, bot, admin
  const std::string x_expected = R"({"object":")" + x + R"(","current_version":")" + version(3) +
                                 R"(","revoked":true,"recipients":[)" +
                                 recipient("admin", 3, last_time(x_pulls, "admin"), true) + "," +
                                 recipient("bot", 2, last_time(x_pulls, "bot"), false) + "," +
                                 recipient("reader", 1, last_time(x_pulls, "reader"), false) + "]}";
  CHECK(get_body(auditor, "/cairn/v1/audit/exposure?object=" + x, 200) == x_expected);

  const auto y_pulls = pulls(auditor, y);
  REQUIRE(y_pulls.size() == 4);  // reader, bot, bot, reader
  CHECK(get_body(auditor, "/cairn/v1/audit/exposure?object=" + y, 200) ==
        R"({"object":")" + y + R"(","current_version":")" + version(1) +
            R"(","revoked":false,"recipients":[)" +
            recipient("bot", 1, last_time(y_pulls, "bot"), true) + "," +
            recipient("reader", 1, last_time(y_pulls, "reader"), true) + "]}");
  CHECK(get_body(auditor, "/cairn/v1/audit/exposure?object=" + never, 200) ==
        R"({"object":")" + never + R"(","current_version":")" + version(1) +
            R"(","revoked":false,"recipients":[]})");

  // The same through the command line, as JSON and as a table.
  std::string out;
  std::string err;
  REQUIRE(run_cairn(srv, {"audit", "exposure", "--object", x, "--json"}, out, err) == 0);
  CHECK(out == x_expected + "\n");
  REQUIRE(run_cairn(srv, {"audit", "exposure", "--object", x}, out, err) == 0);
  CHECK(out.starts_with(x + ": current version " + version(3) + ", revoked\n"));
  CHECK(out.find("bot                 " + version(2) + "   " + last_time(x_pulls, "bot")) !=
        std::string::npos);
  CHECK(out.find(version(1) + "   " + last_time(x_pulls, "reader")) != std::string::npos);
  CHECK(err.find("3 recipients") != std::string::npos);

  // Refusals: TAXII errors, and the CLI's usage error.
  CHECK(get_body(auditor, "/cairn/v1/audit/exposure", 400).find("object is required") !=
        std::string::npos);
  CHECK(get_body(reader, "/cairn/v1/audit/exposure?object=" + x, 403).find("not an auditor") !=
        std::string::npos);
  CHECK(run_cairn(srv, {"audit", "exposure"}, out, err) == 2);

  // The statistics count exactly the pull records: per account, in total.
  const auto all = pulls(auditor);
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> expected;
  for (const auto& r : all) {
    ++expected[r.account].first;
    expected[r.account].second += static_cast<std::int64_t>(r.objects.size());
  }
  REQUIRE(expected.size() == 3);
  for (const std::string bucket : {"hour", "day"}) {
    auto doc =
        formats::parse_json(get_body(auditor, "/cairn/v1/audit/stats?bucket=" + bucket, 200));
    REQUIRE(doc);
    CHECK(doc->root().get("bucket")->as_string() == bucket);
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> got;
    const auto series = *doc->root().get("series");
    for (std::size_t i = 0; i < series.size(); ++i) {
      const auto s = series.value_at(i);
      auto& n = got[std::string(s.get("account")->as_string())];
      const auto points = *s.get("points");
      for (std::size_t j = 0; j < points.size(); ++j) {
        n.first += points.value_at(j).get("records")->as_int();
        n.second += points.value_at(j).get("objects")->as_int();
      }
    }
    CHECK(got == expected);
  }
  CHECK(get_body(auditor, "/cairn/v1/audit/stats?bucket=week", 400).find("bucket must be") !=
        std::string::npos);
}
