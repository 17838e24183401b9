#include "formats/time.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace cairn::formats;

namespace {

micros parsed(std::string_view text) {
  auto r = parse_rfc3339(text);
  INFO(text);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  return *r;
}

std::string refused(std::string_view text) {
  auto r = parse_rfc3339(text);
  INFO(text);
  REQUIRE(!r);
  return r.error().message;
}

std::string stix_reason(std::string_view text, int digits = 0) {
  auto r = check_stix_timestamp(text, digits);
  INFO(text);
  REQUIRE(!r);
  return r.error().message;
}

}  // namespace

TEST_CASE("parse_rfc3339 reads UTC timestamps to microseconds", "[time]") {
  CHECK(parsed("1970-01-01T00:00:00Z") == 0);
  CHECK(parsed("2026-11-27T10:00:00Z") == 1795773600LL * 1000000);
  CHECK(parsed("2026-11-27T10:00:00.123456Z") == 1795773600LL * 1000000 + 123456);
  CHECK(parsed("2000-02-29T12:34:56.5Z") == 951827696LL * 1000000 + 500000);
  CHECK(parsed("1969-12-31T23:59:59Z") == -1000000);
  CHECK(parsed("1969-12-31T23:59:59.999999Z") == -1);
  CHECK(parsed("9999-12-31T23:59:59Z") == 253402300799LL * 1000000);
  CHECK(parsed("0001-01-01T00:00:00Z") == -62135596800LL * 1000000);
}

TEST_CASE("parse_rfc3339 takes any number of fraction digits and truncates beyond six", "[time]") {
  CHECK(parsed("2016-12-31T23:59:59.1Z") == 1483228799LL * 1000000 + 100000);
  CHECK(parsed("2016-12-31T23:59:59.123Z") == 1483228799LL * 1000000 + 123000);
  CHECK(parsed("2016-12-31T23:59:59.1234567Z") == 1483228799LL * 1000000 + 123456);
  CHECK(parsed("2016-12-31T23:59:59.123456999999999999Z") == 1483228799LL * 1000000 + 123456);
  CHECK(refused("2016-12-31T23:59:59.Z").find("fraction digits") != std::string::npos);
}

TEST_CASE("parse_rfc3339 accepts lower-case t and z and a zero offset only", "[time]") {
  const micros t = 1483228799LL * 1000000;
  CHECK(parsed("2016-12-31t23:59:59z") == t);
  CHECK(parsed("2016-12-31T23:59:59+00:00") == t);
  CHECK(parsed("2016-12-31T23:59:59-00:00") == t);
  CHECK(refused("2016-12-31T23:59:59+01:00").find("UTC") != std::string::npos);
  CHECK(refused("2016-12-31T23:59:59").find("UTC") != std::string::npos);
  CHECK(refused("2016-12-31 23:59:59Z").find("'T'") != std::string::npos);
  CHECK(refused("2016-12-31T23:59:59ZZ").find("UTC") != std::string::npos);
}

TEST_CASE("parse_rfc3339 checks the calendar", "[time]") {
  CHECK(parsed("2024-02-29T00:00:00Z") > 0);
  CHECK(parsed("2000-02-29T00:00:00Z") > 0);
  CHECK(refused("2023-02-29T00:00:00Z").find("not a leap year") != std::string::npos);
  CHECK(refused("1900-02-29T00:00:00Z").find("not a leap year") != std::string::npos);
  CHECK(refused("2016-02-30T00:00:00Z").find("day 30 of month 2") != std::string::npos);
  CHECK(refused("2016-04-31T00:00:00Z").find("day 31 of month 4") != std::string::npos);
  CHECK(refused("2016-13-01T00:00:00Z") ==
        "'2016-13-01T00:00:00Z' is not an RFC 3339 UTC "
        "timestamp (month 13)");
  CHECK(refused("2016-00-01T00:00:00Z").find("month 0") != std::string::npos);
  CHECK(refused("2016-01-00T00:00:00Z").find("day 0") != std::string::npos);
  CHECK(refused("2016-01-01T24:00:00Z").find("hour 24") != std::string::npos);
  CHECK(refused("2016-01-01T23:60:00Z").find("minute 60") != std::string::npos);
  CHECK(refused("2016-12-31T23:59:60Z").find("second 60") != std::string::npos);
}

TEST_CASE("parse_rfc3339 says which field is malformed", "[time]") {
  CHECK(refused("2022-101-27T13:49:54.326Z").find("month '101' must have 2 digits") !=
        std::string::npos);
  CHECK(refused("22-10-27T13:49:54Z").find("year '22' must have 4 digits") != std::string::npos);
  CHECK(refused("2022-10-27T1:49:54Z").find("hour '1'") != std::string::npos);
  CHECK(refused("").find("expected the year") != std::string::npos);
  CHECK(refused("2022/10/27T13:49:54Z").find("expected '-' after the year") != std::string::npos);
  CHECK(refused("yesterday").find("year") != std::string::npos);
}

TEST_CASE("format_taxii_time writes exactly six fraction digits", "[time]") {
  CHECK(format_taxii_time(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_taxii_time(1795773600LL * 1000000 + 123456) == "2026-11-27T10:00:00.123456Z");
  CHECK(format_taxii_time(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_taxii_time(951827696LL * 1000000 + 5) == "2000-02-29T12:34:56.000005Z");
  CHECK(format_taxii_time(253402300799LL * 1000000 + 999999) == "9999-12-31T23:59:59.999999Z");
}

TEST_CASE("format_taxii_time and parse_rfc3339 round-trip", "[time]") {
  // Steps that are coprime with days and seconds, so that every month, leap
  // day and time of day comes up.
  for (micros t = -62135596800LL * 1000000; t < 253402300799LL * 1000000;
       t += 86400LL * 1000000 * 37 + 3600LL * 1000000 * 5 + 61LL * 1000000 + 123457) {
    const auto text = format_taxii_time(t);
    auto back = parse_rfc3339(text);
    INFO(text);
    REQUIRE(back);
    REQUIRE(*back == t);
  }
}

TEST_CASE("now_micros is the wall clock", "[time]") {
  const micros a = now_micros();
  CHECK(a > parsed("2024-01-01T00:00:00Z"));
  CHECK(now_micros() >= a);
}

TEST_CASE("is_stix_timestamp is strict about the form", "[time]") {
  CHECK(is_stix_timestamp("2016-04-06T20:03:48Z"));
  CHECK(is_stix_timestamp("2016-04-06T20:03:48.123456789123Z"));
  CHECK(!is_stix_timestamp("2016-04-06t20:03:48Z"));
  CHECK(!is_stix_timestamp("2016-04-06T20:03:48z"));
  CHECK(!is_stix_timestamp("2016-04-06T20:03:48+00:00"));
  CHECK(!is_stix_timestamp("2016-02-30T20:03:48Z"));
  CHECK(!is_stix_timestamp("2016-04-06T20:03:48.Z"));
  CHECK(!is_stix_timestamp(" 2016-04-06T20:03:48Z"));
}

TEST_CASE("is_stix_timestamp checks the minimum number of fraction digits", "[time]") {
  CHECK(!is_stix_timestamp("2016-04-06T20:03:48Z", 3));
  CHECK(!is_stix_timestamp("2016-04-06T20:03:48.12Z", 3));
  CHECK(is_stix_timestamp("2016-04-06T20:03:48.123Z", 3));
  CHECK(is_stix_timestamp("2016-04-06T20:03:48.1234Z", 3));
  CHECK(stix_reason("2016-04-06T20:03:48Z", 3) ==
        "needs at least 3 fraction digits after the seconds, e.g. '2016-04-06T20:03:48.000Z'");
  CHECK(stix_reason("2016-13-06T20:03:48.000Z", 3) == "month 13");
  CHECK(stix_reason("2016-04-06T20:03:48.000+00:00") == "must end in 'Z' (UTC)");
}

TEST_CASE("stix_time_key is fixed width and equal for equal instants", "[time]") {
  auto a = stix_time_key("2016-04-06T20:03:01Z");
  auto b = stix_time_key("2016-04-06T20:03:01.000Z");
  auto c = stix_time_key("2016-04-06T20:03:01.000000000Z");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(*a == "2016-04-06T20:03:01.000000000Z");
  CHECK(a->size() == 30);
  CHECK(*a == *b);
  CHECK(*b == *c);
  // Beyond nanoseconds the key truncates.
  CHECK(*stix_time_key("2016-04-06T20:03:01.1234567899Z") == "2016-04-06T20:03:01.123456789Z");
  CHECK(!stix_time_key("2016-04-06T20:03:01"));
  CHECK(!stix_time_key("2016-02-30T20:03:01Z"));
  CHECK(stix_time_key("2016-02-30T20:03:01Z").error().message.find("day 30") != std::string::npos);
}

TEST_CASE("stix_time_key and compare_stix_timestamps order like the instants", "[time]") {
  const std::vector<std::string> ordered{
      "1999-12-31T23:59:59.999999999Z", "2000-01-01T00:00:00Z",     "2000-01-01T00:00:00.0000001Z",
      "2000-01-01T00:00:00.001Z",       "2000-01-01T00:00:00.01Z",  "2000-01-01T00:00:00.1Z",
      "2000-01-01T00:00:00.9Z",         "2000-01-01T00:00:01Z",     "2000-01-01T00:01:00Z",
      "2000-02-01T00:00:00Z",           "2018-11-01T23:24:48.456Z", "2018-11-01T23:24:48.457Z",
  };
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    for (std::size_t j = 0; j < ordered.size(); ++j) {
      INFO(ordered[i] << " vs " << ordered[j]);
      const int expected = i < j ? -1 : (i > j ? 1 : 0);
      CHECK(compare_stix_timestamps(ordered[i], ordered[j]) == expected);
      const auto ki = *stix_time_key(ordered[i]);
      const auto kj = *stix_time_key(ordered[j]);
      CHECK((ki < kj) == (expected < 0));
      CHECK((ki == kj) == (expected == 0));
    }
  }
  CHECK(compare_stix_timestamps("2000-01-01T00:00:00Z", "2000-01-01T00:00:00.000Z") == 0);
  CHECK(compare_stix_timestamps("2000-01-01T00:00:00.10Z", "2000-01-01T00:00:00.1Z") == 0);
}
