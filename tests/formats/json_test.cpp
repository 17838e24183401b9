#include "formats/json.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <tuple>
#include <utility>

using namespace cairn::formats;

TEST_CASE("parse_json reads objects, arrays and scalars") {
  auto doc = parse_json(R"({"a":1,"b":[true,null,"x"],"c":{"d":2.5}})");
  REQUIRE(doc);
  auto root = doc->root();
  REQUIRE(root.is_object());
  CHECK(root.get("a")->as_int() == 1);
  CHECK(root.get("b")->size() == 3);
  CHECK(root.get("b")->value_at(2).as_string() == "x");
  CHECK(root.get("c")->get("d")->as_double() == 2.5);
  CHECK_FALSE(root.get("zz").has_value());
}

TEST_CASE("parse_json enforces its limits") {
  json_limits limits;
  limits.max_depth = 3;
  CHECK(parse_json("[[[1]]]", limits));
  auto deep = parse_json("[[[[1]]]]", limits);
  REQUIRE_FALSE(deep);
  CHECK(deep.error().message.find("nesting") != std::string::npos);

  limits = {};
  limits.max_bytes = 10;
  CHECK_FALSE(parse_json(R"({"a":"0123456789"})", limits));

  limits = {};
  limits.max_string_bytes = 4;
  CHECK_FALSE(parse_json(R"(["abcdefgh"])", limits));
  CHECK(parse_json(R"(["ab"])", limits));
}

TEST_CASE("parse_json refuses duplicate names, bad UTF-8 and trailing garbage") {
  auto dup = parse_json(R"({"a":{"x":1,"x":2}})");
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("duplicate") != std::string::npos);
  CHECK(dup.error().where == "/a");
  CHECK_FALSE(parse_json("\"\xff\xfe\""));
  CHECK_FALSE(parse_json("{} x"));
  CHECK_FALSE(parse_json(""));
  CHECK_FALSE(parse_json("{\"a\":NaN}"));
}

// The answers below are parse_json's from before the walk wrote the pointer
// only on failure and compared small objects' names pairwise.
TEST_CASE("parse_json says which member name is doubled and where") {
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += "\"m" + std::to_string(i) + "\":1,";
  many += "\"m7\":2,\"m30\":3,\"m12\":4}";
  const std::tuple<std::string, std::string, std::string> cases[] = {
      {R"({"a":{"x":1,"x":2}})", "duplicate member name \"x\"", "/a"},
      {R"([1,{"b":[0,0,{"c":{"d":1,"d":1}}]}])", "duplicate member name \"d\"", "/1/b/2/c"},
      // Several names doubled: the first of them in byte order.
      {R"({"z":1,"b":2,"z":3,"b":4,"y":5})", "duplicate member name \"b\"", ""},
      {many, "duplicate member name \"m12\"", ""},
      {"[" + many + "]", "duplicate member name \"m12\"", "/0"},
      {R"({"a/b":{"":{"q":1,"q":2}}})", "duplicate member name \"q\"", "/a/b/"},
  };
  for (const auto& [text, message, where] : cases) {
    INFO(text);
    auto r = parse_json(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == message);
    CHECK(r.error().where == where);
  }
  json_limits limits;
  limits.max_members = 3;
  const std::tuple<std::string, std::string, std::string> too_big[] = {
      {R"({"a":[1,2,3,4]})", "an array has more than 3 items", "/a"},
      {R"([[1],{"a":1,"b":2,"c":3,"d":4}])", "an object has more than 3 members", "/1"},
      {R"({"a":1,"b":2,"c":3,"d":4})", "an object has more than 3 members", ""},
  };
  for (const auto& [text, message, where] : too_big) {
    INFO(text);
    auto r = parse_json(text, limits);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == message);
    CHECK(r.error().where == where);
  }
  CHECK(parse_json(many.substr(0, many.find(",\"m7\":2")) + "}"));
}

// The whole text is checked for UTF-8 once; the errors stay those of the
// parser checking string by string (the messages below are what parse_json
// answered before that check existed).
TEST_CASE("parse_json names invalid UTF-8 and where it is") {
  const std::pair<std::string, std::string> cases[] = {
      {"\"\xff\xfe\"", "invalid JSON at offset 1: Invalid encoding in string."},
      {"{\"a\":\"x\xc0\xaf\"}",
       "invalid JSON at offset 7: Invalid encoding in string."},  // overlong
      {"{\"a\":\"\xed\xa0\x80\"}",
       "invalid JSON at offset 6: Invalid encoding in string."},  // surrogate
      {"{\"a\":\"\xf4\x90\x80\x80\"}",
       "invalid JSON at offset 6: Invalid encoding in string."},  // above U+10FFFF
      {"{\"a\":\"ok\xe2\x82\"}",
       "invalid JSON at offset 8: Invalid encoding in string."},  // cut short
      {"{\"a\":\"ok\xe2\x82",
       "invalid JSON at offset 8: Invalid encoding in string."},  // at the end
      {"{\"\xe0\x80\x80\":1}",
       "invalid JSON at offset 2: Invalid encoding in string."},  // in a name
      {"{\"a\":\"\x80\"}",
       "invalid JSON at offset 6: Invalid encoding in string."},  // stray continuation
      {"{\"a\":\"\xf8\x88\x80\x80\x80\"}", "invalid JSON at offset 6: Invalid encoding in string."},
      {"{\"objects\":[{\"id\":\"x\xc3\"}]}",
       "invalid JSON at offset 20: Invalid encoding in string."},
      {"[\"\xc3\xb6\",\xc3\xb6]", "invalid JSON at offset 6: Invalid value."},  // outside strings
      {"{\"a\":1}\xff",
       "invalid JSON at offset 7: The document root must not be followed by other values."},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    auto r = parse_json(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == message);
  }
  // Well-formed multi-byte text in names and values, at every alignment of
  // the eight-byte ASCII steps.
  for (std::size_t pad = 0; pad < 9; ++pad) {
    const std::string text = "{\"" + std::string(pad, 'p') +
                             "\xc3\xb6\xe2\x82\xac\":\"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}";
    auto r = parse_json(text);
    REQUIRE(r);
    CHECK(r->root().value_at(0).as_string() == "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
  }
}

TEST_CASE("is_utf8 follows RFC 3629") {
  CHECK(is_utf8(""));
  CHECK(is_utf8("plain ASCII text, longer than eight bytes"));
  CHECK(is_utf8(std::string("nul \0 inside", 13)));
  CHECK(is_utf8("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf"));
  CHECK(is_utf8("\xf0\x90\x80\x80 \xf3\xbf\xbf\xbf \xf4\x8f\xbf\xbf"));
  CHECK_FALSE(is_utf8("\x80"));              // continuation without a lead
  CHECK_FALSE(is_utf8("\xc0\x80"));          // overlong NUL
  CHECK_FALSE(is_utf8("\xc1\xbf"));          // overlong
  CHECK_FALSE(is_utf8("\xe0\x9f\xbf"));      // overlong
  CHECK_FALSE(is_utf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(is_utf8("\xf0\x8f\xbf\xbf"));  // overlong
  CHECK_FALSE(is_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_utf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(is_utf8("\xff"));
  CHECK_FALSE(is_utf8("abcdefgh\xe2\x82"));  // cut short at the end
  CHECK_FALSE(is_utf8("\xe2\x28\xa1"));      // second byte no continuation
  CHECK_FALSE(is_utf8("\xe2\x82\x28"));      // third byte no continuation
  CHECK_FALSE(is_utf8("\xf0\x9f\x98\x28"));  // fourth byte no continuation
  CHECK_FALSE(
      is_utf8("12345678123456\xfe"
              "78"));  // after whole ASCII words
}

namespace {

// JSON escaping one byte at a time, as append_escaped did before it
// skipped words of plain bytes.
std::string escaped_bytewise(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("escaping finds every byte to escape wherever it sits in a word") {
  // Each byte that needs escaping (and a few that do not: DEL, 0x80, 0xff,
  // '/') at every offset of strings of 0..24 plain bytes.
  const std::string special = std::string("\"\\\b\f\n\r\t\x01\x1f\x7f\x80\xff/") + '\0';
  for (std::size_t n = 0; n <= 24; ++n) {
    for (std::size_t at = 0; at <= n; ++at) {
      for (const char c : special) {
        std::string s(n, 'a');
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
        INFO(n << " " << at << " " << static_cast<int>(static_cast<unsigned char>(c)));
        CHECK(json_escape(s) == escaped_bytewise(s));
      }
    }
  }
  const std::string mixed = "plain text \"quoted\" \\ tab\t\x02 \xc3\xb6 and more plain text";
  CHECK(json_escape(mixed) == escaped_bytewise(mixed));
  // dump writes the same.
  const std::string doc = "{\"k\\\"ey\":\"" + escaped_bytewise(mixed) + "\"}";
  auto parsed = parse_json(doc);
  REQUIRE(parsed);
  CHECK(parsed->root().dump() == doc);
}

TEST_CASE("string lengths and escaped quotes are read right across words") {
  json_limits limits;
  limits.max_string_bytes = 20;
  for (std::size_t n = 0; n <= 30; ++n) {
    // The limit counts from the opening quote to the closing one.
    const std::string text = "[\"" + std::string(n, 'x') + "\"]";
    INFO(n);
    CHECK(parse_json(text, limits).has_value() == (n + 1 <= 20));
    // An escaped quote or backslash anywhere does not end the string, and a
    // bracket inside it is no nesting.
    for (std::size_t at = 0; at <= n; ++at) {
      std::string inside(n, '[');
      for (const char* esc : {"\\\"", "\\\\"}) {
        std::string s = inside;
        s.insert(at, esc);
        json_limits shallow;
        shallow.max_depth = 1;
        auto r = parse_json("[\"" + s + "\"]", shallow);
        REQUIRE(r);
        CHECK(r->root().value_at(0).as_string().size() == n + 1);
      }
    }
  }
}

// Text without a NUL is parsed from a NUL-terminated copy, text with one as
// given: the answers below are parse_json's from before either existed.
TEST_CASE("parse_json answers as before for text with and without a NUL") {
  const std::pair<std::string, std::string> cases[] = {
      {std::string("{\"a\":\"x\0y\"}", 11),
       "invalid JSON at offset 7: Missing a closing quotation mark in string."},
      {std::string("{\"a\":1}\0", 8), R"({"a":1})"},
      {std::string("{\"a\":1}\0{}", 10), R"({"a":1})"},
      {std::string("[1,\0 2]", 7), "invalid JSON at offset 3: Invalid value."},
      {R"({"a":"unterminated)",
       "invalid JSON at offset 18: Missing a closing quotation mark in string."},
      {R"({"a" 1})", "invalid JSON at offset 5: Missing a colon after a name of object member."},
      {"  [1, 2,]  ", "invalid JSON at offset 8: Invalid value."},
      {R"({"a":"\u00e9\ud83d\ude00"})", "{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}"},
      {"\t\n {\"a\" : [ true , null ] } \r\n", R"({"a":[true,null]})"},
      {R"({"a":"\x"})", "invalid JSON at offset 6: Invalid escape character in string."},
      {"[\"" + std::string(40, 'y') + "\\\"" + std::string(40, 'z') + "\"]",
       "[\"" + std::string(40, 'y') + "\\\"" + std::string(40, 'z') + "\"]"},
  };
  for (const auto& [text, answer] : cases) {
    INFO(text);
    auto r = parse_json(text);
    CHECK((r ? r->root().dump() : r.error().message) == answer);
  }
}

TEST_CASE("a deeply nested document is refused without recursion") {
  std::string text(100000, '[');
  auto r = parse_json(text);
  REQUIRE_FALSE(r);
}

TEST_CASE("dump round-trips and equals ignores member order") {
  auto a = parse_json(R"({"b": [1, 2.5, "q\"\n"], "a": {"x": -3}})");
  auto b = parse_json(R"({"a":{"x":-3},"b":[1,2.5,"q\"\n"]})");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->root().equals(b->root()));
  auto again = parse_json(a->root().dump());
  REQUIRE(again);
  CHECK(again->root().equals(a->root()));
  auto c = parse_json(R"({"a":{"x":-4},"b":[1,2.5,"q\"\n"]})");
  CHECK_FALSE(c->root().equals(a->root()));
}

TEST_CASE("json_writer nests and escapes") {
  json_writer w;
  w.begin_object().member("t", "a\"b").key("list").begin_array().integer(1).boolean(false).null();
  w.end_array().key("raw").raw(R"({"k":1})").member("n", std::int64_t{-2}).end_object();
  CHECK(w.str() == R"({"t":"a\"b","list":[1,false,null],"raw":{"k":1},"n":-2})");
}

TEST_CASE("canonical_json follows RFC 8785") {
  // RFC 8785 section 3.2.2 ordering and number examples.
  auto doc =
      parse_json(R"({"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],
    "string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]})");
  REQUIRE(doc);
  CHECK(canonical_json(doc->root()) ==
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
        "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
  auto order = parse_json(
      "{\"\\u20ac\":1,\"\\r\":2,\"\\ud83d\\ude00\":3,\"1\":4,\"\\u0080\":5,\"\\u00f6\":6}");
  REQUIRE(order);
  CHECK(canonical_json(order->root()) ==
        "{\"\\r\":2,\"1\":4,\"\xc2\x80\":5,\"\xc3\xb6\":6,\"\xe2\x82\xac\":1,\"\xf0\x9f\x98\x80\":"
        "3}");
}

TEST_CASE("canonical_json leaves out the top-level members it is told to skip") {
  auto doc = parse_json(R"({"hash":"h","b":{"hash":"kept","prev":1},"prev":"p","a":[{"hash":2}]})");
  REQUIRE(doc);
  static constexpr std::array<std::string_view, 2> skip = {"prev", "hash"};
  // Only the top level: the nested "hash" and "prev" stay.
  CHECK(canonical_json(doc->root(), skip) == R"({"a":[{"hash":2}],"b":{"hash":"kept","prev":1}})");
  CHECK(canonical_json(doc->root()) ==
        R"({"a":[{"hash":2}],"b":{"hash":"kept","prev":1},"hash":"h","prev":"p"})");
  // Not an object: nothing to skip.
  auto list = parse_json(R"(["prev","hash"])");
  REQUIRE(list);
  CHECK(canonical_json(list->root(), skip) == R"(["prev","hash"])");
}

TEST_CASE("canonical_key_less orders names by UTF-16 code units") {
  CHECK(canonical_key_less("a", "b"));
  CHECK_FALSE(canonical_key_less("b", "a"));
  CHECK_FALSE(canonical_key_less("a", "a"));
  CHECK(canonical_key_less("1", "a"));
  // U+20AC (one unit 0x20AC) sorts before U+1F600 (surrogates 0xD83D 0xDE00).
  CHECK(canonical_key_less("\xe2\x82\xac", "\xf0\x9f\x98\x80"));
  // U+FB01 (0xFB01) sorts after U+1F600 (0xD83D...), unlike by code point.
  CHECK(canonical_key_less("\xf0\x9f\x98\x80", "\xef\xac\x81"));
}
