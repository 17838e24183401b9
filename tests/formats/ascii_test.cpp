#include "formats/ascii.hpp"

#include <catch2/catch.hpp>

using namespace cairn::formats;

TEST_CASE("ascii_lower lowers ASCII letters only", "[formats][ascii]") {
  CHECK(ascii_lower('A') == 'a');
  CHECK(ascii_lower('z') == 'z');
  CHECK(ascii_lower('@') == '@');
  CHECK(ascii_lower('[') == '[');
  CHECK(ascii_lower("Content-Type: X") == "content-type: x");
  // Bytes of UTF-8 text are left alone, whatever the locale.
  CHECK(ascii_lower("\xc3\x84") == "\xc3\x84");
}

TEST_CASE("trim_ows removes spaces and tabs at both ends only", "[formats][ascii]") {
  CHECK(trim_ows(" \t a b \t") == "a b");
  CHECK(trim_ows("").empty());
  CHECK(trim_ows(" \t ").empty());
  CHECK(trim_ows("\na\r") == "\na\r");  // only optional white space (RFC 9110 5.6.3)
}

TEST_CASE("iequals compares ASCII without case", "[formats][ascii]") {
  CHECK(iequals("Retry-After", "retry-after"));
  CHECK(iequals("", ""));
  CHECK_FALSE(iequals("Retry-After", "retry-afte"));
  CHECK_FALSE(iequals("a", "b"));
  CHECK_FALSE(iequals("@", "`"));  // 0x40 and 0x60 differ by the case bit but are not letters
  CHECK_FALSE(iequals("\xc3\xa4", "\xc3\x84"));
  static_assert(iequals("SHA-256", "sha-256"));
}
