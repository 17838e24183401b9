#include "formats/base64.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace cairn::formats;

TEST_CASE("base64 follows RFC 4648 and is strict") {
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
  CHECK(base64_encode("\xfb\xff", base64_alphabet::url, base64_padding::none) == "-_8");
  CHECK(base64_decode("-_8", base64_alphabet::url, base64_padding::none) == "\xfb\xff");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK_FALSE(base64_decode("-_8=", base64_alphabet::standard));
  CHECK_FALSE(base64_decode("Zg="));     // wrong padding length
  CHECK_FALSE(base64_decode("Zg"));      // padding required
  CHECK_FALSE(base64_decode("Zh=="));    // non-zero trailing bits
  CHECK_FALSE(base64_decode("Zm9v\n"));  // white space
  CHECK_FALSE(base64_decode("Z==="));    // a lone sextet
  CHECK_FALSE(base64_decode("=Zm9"));    // padding in front
  CHECK_FALSE(base64_decode("Zm9v", base64_alphabet::standard, base64_padding::none) !=
              std::optional<std::string>("foo"));
  CHECK_FALSE(base64_decode("Zg==", base64_alphabet::standard, base64_padding::none));
  // Every byte string of a few lengths round-trips in every mode.
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    bytes += static_cast<char>(i * 37 + 11);
    for (auto a : {base64_alphabet::standard, base64_alphabet::url}) {
      for (auto p : {base64_padding::required, base64_padding::none}) {
        CHECK(base64_decode(base64_encode(bytes, a, p), a, p) == bytes);
      }
    }
  }
}

TEST_CASE("base64_encode encodes Basic credentials", "[formats][base64]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
}
