#include "formats/hex.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace cairn::formats;

TEST_CASE("hex_encode writes lower-case digits, high nibble first", "[formats][hex]") {
  CHECK(hex_encode(std::string_view{}).empty());
  CHECK(hex_encode(std::string("\x00\x01\x7f\x80\xff", 5)) == "00017f80ff");
  CHECK(hex_encode("foobar") == "666f6f626172");  // RFC 4648 section 10
  const unsigned char bytes[] = {0xde, 0xad, 0xbe, 0xef};
  CHECK(hex_encode(bytes, sizeof bytes) == "deadbeef");
}

TEST_CASE("append_hex and hex_digit write either case", "[formats][hex]") {
  std::string out = "%";
  append_hex(out, 0x2f, hex_case::upper);
  append_hex(out, 0xab);
  CHECK(out == "%2Fab");
  CHECK(hex_digit(0) == '0');
  CHECK(hex_digit(10) == 'a');
  CHECK(hex_digit(15, hex_case::upper) == 'F');
  CHECK(hex_digit(0x1c) == 'c');  // only the low four bits count
}

TEST_CASE("hex_decode reads either case and refuses anything else", "[formats][hex]") {
  CHECK(hex_decode("") == std::string());
  CHECK(hex_decode("666F6f626172") == std::string("foobar"));
  CHECK(hex_decode("00ff") == std::string("\x00\xff", 2));
  CHECK_FALSE(hex_decode("abc"));   // odd length
  CHECK_FALSE(hex_decode("zz"));    // not a digit
  CHECK_FALSE(hex_decode("0x12"));  // no prefix
  CHECK_FALSE(hex_decode(" 12"));
  CHECK(hex_value('7') == 7);
  CHECK(hex_value('E') == 14);
  CHECK(hex_value('g') == -1);
  // Every byte value round-trips.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(hex_decode(hex_encode(all)) == all);
}
