#include "server/config/log.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "formats/json.hpp"
#include "formats/time.hpp"

using namespace cairn::server;
using cairn::formats::parse_json;

TEST_CASE("a log line is one JSON object with time, level, msg and fields") {
  const auto line = logger::format(log_level::warn, "config loaded",
                                   {{"sha256", "ab\"c"},
                                    {"accounts", 3},
                                    {"reload", true},
                                    {"bytes", std::uint64_t{1} << 40},
                                    {"ratio", 0.5}},
                                   1795773600123456);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.starts_with(
      R"({"time":"2026-11-27T10:00:00.123456Z","level":"warn","msg":"config loaded",)"));
  auto doc = parse_json(line);
  REQUIRE(doc);
  auto root = doc->root();
  CHECK(root.get("sha256")->as_string() == "ab\"c");
  CHECK(root.get("accounts")->as_int() == 3);
  CHECK(root.get("reload")->as_bool());
  CHECK(root.get("bytes")->as_int() == (std::int64_t{1} << 40));
  CHECK(root.get("ratio")->as_double() == 0.5);

  // Fields cannot overwrite the fixed members.
  const auto spoof = logger::format(log_level::info, "m", {{"level", "error"}}, 0);
  auto sdoc = parse_json(spoof);
  REQUIRE(sdoc);
  CHECK(sdoc->root().get("level")->as_string() == "info");
}

TEST_CASE("the logger filters by level and keeps lines whole across threads") {
  std::ostringstream out;
  logger log(out, log_level::info);
  log.debug("hidden");
  CHECK(out.str().empty());
  log.info("shown", {{"k", "v"}});
  CHECK(out.str().find("\"msg\":\"shown\"") != std::string::npos);
  log.set_level(log_level::error);
  CHECK_FALSE(log.enabled(log_level::warn));
  log.warn("hidden too");
  log.set_level(log_level::debug);
  out.str("");

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 200; ++i) {
        log.info("request", {{"thread", t}, {"i", i}, {"path", std::string(100, 'x')}});
      }
    });
  }
  for (auto& th : threads) th.join();
  std::istringstream in(out.str());
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto doc = parse_json(line);
    REQUIRE(doc);
    CHECK(doc->root().get("msg")->as_string() == "request");
    CHECK(cairn::formats::parse_rfc3339(doc->root().get("time")->as_string()));
  }
  CHECK(lines == 800);
}
