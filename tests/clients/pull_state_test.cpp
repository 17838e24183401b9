#include "clients/pull_state.hpp"

#include <catch2/catch.hpp>
#include <fstream>

#include "clients/durable_file.hpp"
#include "tests/clients/test_tls_server.hpp"

using namespace cairn::clients;
using cairn::clients::testing::temp_dir;

TEST_CASE("the pull state survives a round trip", "[clients][state]") {
  temp_dir dir;
  const auto path = dir.path() / "ind.state";
  auto none = read_pull_state(path);
  REQUIRE(none);
  CHECK_FALSE(none->has_value());

  pull_state s;
  s.url = "https://h:1/api1/";
  s.collection = "ind";
  s.added_after = "2026-01-02T03:04:05.123456Z";
  s.output = "/tmp/feed.jsonl";
  s.output_bytes = 12345;
  REQUIRE(write_pull_state(path, s));
  auto back = read_pull_state(path);
  REQUIRE(back);
  REQUIRE(back->has_value());
  CHECK((*back)->url == s.url);
  CHECK((*back)->collection == "ind");
  CHECK((*back)->added_after == s.added_after);
  CHECK((*back)->output == s.output);
  CHECK((*back)->output_bytes == 12345);

  // Replacing it leaves no temporary files behind.
  s.added_after = "2026-01-02T03:04:06.000000Z";
  REQUIRE(write_pull_state(path, s));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);
  CHECK((*read_pull_state(path))->added_after == s.added_after);
}

TEST_CASE("a damaged state file is refused, not ignored", "[clients][state]") {
  CHECK_FALSE(parse_pull_state("not json"));
  CHECK_FALSE(parse_pull_state("[]"));
  CHECK_FALSE(parse_pull_state(R"({"url":"u","collection":"c","added_after":""})"));  // no version
  CHECK_FALSE(parse_pull_state(R"({"version":2,"url":"u","collection":"c","added_after":""})"));
  CHECK_FALSE(parse_pull_state(R"({"version":1,"collection":"c","added_after":""})"));
  CHECK_FALSE(
      parse_pull_state(R"({"version":1,"url":"u","collection":"c","added_after":"yesterday"})"));
  CHECK_FALSE(parse_pull_state(
      R"({"version":1,"url":"u","collection":"c","added_after":"","output_bytes":-1})"));
  auto ok = parse_pull_state(R"({"version":1,"url":"u","collection":"c","added_after":""})");
  REQUIRE(ok);
  CHECK(ok->added_after.empty());
  CHECK(ok->output.empty());

  temp_dir dir;
  const auto path = dir.path() / "bad.state";
  std::ofstream(path) << "{\"version\":1,";
  auto r = read_pull_state(path);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("damaged") != std::string::npos);
}

TEST_CASE("durable_file appends, truncates and replaces atomically", "[clients][state]") {
  temp_dir dir;
  const auto path = dir.path() / "out.jsonl";
  {
    auto f = durable_file::open(path, durable_file::open_mode::truncate);
    REQUIRE(f);
    REQUIRE(f->write("one\n"));
    REQUIRE(f->write("two\n"));
    CHECK(f->size() == 8);
    REQUIRE(f->close());
    CHECK_FALSE(f->write("late"));
  }
  {
    auto f = durable_file::open(path, durable_file::open_mode::append);
    REQUIRE(f);
    CHECK(f->size() == 8);
    REQUIRE(f->write("three\n"));
    REQUIRE(f->sync());
    REQUIRE(f->truncate(4));
    REQUIRE(f->write("2\n"));
    REQUIRE(f->close());
  }
  CHECK(read_whole_file(path, 100) == "one\n2\n");
  CHECK_FALSE(read_whole_file(path, 3));

  // Larger than the internal buffer.
  const std::string big(3u << 20, 'b');
  {
    auto f = durable_file::open(path, durable_file::open_mode::truncate);
    REQUIRE(f);
    REQUIRE(f->write("a"));
    REQUIRE(f->write(big));
    REQUIRE(f->close());
  }
  CHECK(read_whole_file(path, 4u << 20) == "a" + big);

  REQUIRE(write_file_atomically(path, "replaced"));
  CHECK(read_whole_file(path, 100) == "replaced");
  CHECK_FALSE(write_file_atomically(dir.path() / "no-such-dir" / "x", "y"));
  CHECK_FALSE(
      durable_file::open(dir.path() / "no-such-dir" / "x", durable_file::open_mode::append));
}

// Before: output and state files were created 0644 (0644 & ~umask), so a
// partner's TLP:RED objects pulled to disk were readable by every local user.
TEST_CASE("durable_file creates files only its owner can read", "[clients][state]") {
  temp_dir dir;
  const auto mode_of = [](const std::filesystem::path& p) {
    return std::filesystem::status(p).permissions() & std::filesystem::perms::all;
  };
  const auto out = dir.path() / "pulled.jsonl";
  {
    auto f = durable_file::open(out, durable_file::open_mode::append);
    REQUIRE(f);
    REQUIRE(f->write("{}\n"));
    REQUIRE(f->close());
  }
  CHECK(mode_of(out) == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  const auto state = dir.path() / "pull.state";
  REQUIRE(write_file_atomically(state, "{}"));
  CHECK(mode_of(state) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
}
