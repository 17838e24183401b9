#include "formats/error.hpp"

#include <catch2/catch.hpp>

using cairn::errc;

TEST_CASE("error: fail() without a code is the caller's mistake, fail(code, ...) keeps its code") {
  cairn::result<int> bad = cairn::fail("must be a string", "/objects/0/type");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::invalid_input);
  CHECK(bad.error().to_string() == "/objects/0/type: must be a string");

  cairn::result<int> full = cairn::fail(errc::storage_full, "storage full");
  REQUIRE_FALSE(full);
  CHECK(full.error().code == errc::storage_full);
  CHECK(full.error().message == "storage full");
  CHECK(full.error().where.empty());

  CHECK(cairn::error{"x", {}}.code == errc::invalid_input);
}

TEST_CASE("error: every code has a name") {
  CHECK(to_string(errc::invalid_input) == "invalid_input");
  CHECK(to_string(errc::not_found) == "not_found");
  CHECK(to_string(errc::too_many) == "too_many");
  CHECK(to_string(errc::storage_full) == "storage_full");
  CHECK(to_string(errc::unavailable) == "unavailable");
  CHECK(to_string(errc::io) == "io");
  CHECK(to_string(errc::internal) == "internal");
}
