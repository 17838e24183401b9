#include "storage/codec.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "formats/time.hpp"

using namespace cairn;
using namespace cairn::storage;

TEST_CASE("codec: SipHash-2-4 gives the reference test vectors") {
  // Key 00 01 .. 0f, message 00 01 .. (n-1), from the SipHash paper.
  const codec::hash_key key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  std::string message;
  CHECK(codec::siphash24(key, message) == 0x726fdb47dd0e0e31ULL);
  for (int i = 0; i < 15; ++i) message.push_back(static_cast<char>(i));
  CHECK(codec::siphash24(key, message) == 0xa129ca6149be45e5ULL);
  CHECK(codec::siphash24(key, message.substr(0, 1)) == 0x74f839c593dc67fdULL);
  CHECK(codec::siphash24(key, message.substr(0, 8)) == 0x93f5f5799a932462ULL);
  // Another key gives another hash.
  CHECK(codec::siphash24({1, 2}, message) != codec::siphash24(key, message));
}

TEST_CASE("codec: packed time keys sort as the timestamps do") {
  auto pack = [](std::string_view stix) {
    auto key = formats::stix_time_key(stix);
    REQUIRE(key);
    char out[codec::packed_time_bytes];
    REQUIRE(codec::pack_time_key(*key, out));
    return std::string(out, sizeof out);
  };
  CHECK(pack("2026-01-01T00:00:01Z") == pack("2026-01-01T00:00:01.000Z"));
  CHECK(pack("2026-01-01T00:00:01.000000001Z") > pack("2026-01-01T00:00:01Z"));
  CHECK(pack("2026-01-01T00:00:01.1Z") < pack("2026-01-01T00:00:01.2Z"));
  CHECK(pack("2025-12-31T23:59:59.999Z") < pack("2026-01-01T00:00:00Z"));
  CHECK(pack("0001-01-01T00:00:00Z") < pack("9999-12-31T23:59:59Z"));
  CHECK(pack("2026-02-01T00:00:00Z") > pack("2026-01-31T23:00:00Z"));
  char out[codec::packed_time_bytes];
  CHECK_FALSE(codec::pack_time_key("2026-01-01T00:00:01Z", out));  // not a key
  CHECK_FALSE(codec::pack_time_key("2026-01-01T00:00:01.00000000xZ", out));
}

TEST_CASE("codec: object values round-trip, and malformed ones are refused") {
  const codec::object_fields in{"indicator--1", "2026-01-01T00:00:00.000Z",       "2.1", "acme",
                                R"({"a":1})",   formats::tlp_level::amber_strict, false};
  std::string value(codec::object_value_bytes(in), '\0');
  codec::encode_object(value.data(), in);
  codec::object_fields out;
  REQUIRE(codec::decode_object(value, out));
  CHECK(out.id == in.id);
  CHECK(out.version == in.version);
  CHECK(out.spec_version == in.spec_version);
  CHECK(out.publisher == in.publisher);
  CHECK(out.json == in.json);
  CHECK(out.tlp == in.tlp);
  CHECK_FALSE(out.deleted);
  CHECK_FALSE(out.later_copy);

  // The flags are independent bits.
  auto copy = in;
  copy.later_copy = true;
  codec::encode_object(value.data(), copy);
  CHECK(static_cast<std::uint8_t>(value[1]) == codec::flag_later_copy);
  REQUIRE(codec::decode_object(value, out));
  CHECK(out.later_copy);
  CHECK_FALSE(out.deleted);
  copy.deleted = true;
  codec::encode_object(value.data(), copy);
  REQUIRE(codec::decode_object(value, out));
  CHECK((out.later_copy && out.deleted));
  CHECK_FALSE(out.id_copy);
  copy.id_copy = true;
  codec::encode_object(value.data(), copy);
  CHECK(static_cast<std::uint8_t>(value[1]) ==
        (codec::flag_deleted | codec::flag_later_copy | codec::flag_id_copy));
  REQUIRE(codec::decode_object(value, out));
  CHECK((out.id_copy && out.later_copy && out.deleted));
  CHECK_FALSE(out.newest);
  copy.newest = true;
  codec::encode_object(value.data(), copy);
  CHECK(static_cast<std::uint8_t>(value[1]) ==
        (codec::flag_deleted | codec::flag_later_copy | codec::flag_id_copy | codec::flag_newest));
  REQUIRE(codec::decode_object(value, out));
  CHECK((out.newest && out.id_copy && out.later_copy && out.deleted));
  codec::encode_object(value.data(), in);
  REQUIRE(codec::decode_object(value, out));
  CHECK_FALSE(out.id_copy);
  CHECK_FALSE(out.newest);

  CHECK_FALSE(codec::decode_object(value.substr(0, 11), out));  // short header
  CHECK_FALSE(codec::decode_object(value.substr(0, 20), out));  // strings cut off
  std::string bad_tlp = value;
  bad_tlp[2] = 9;
  CHECK_FALSE(codec::decode_object(bad_tlp, out));
  std::string bad_format = value;
  bad_format[0] = 7;
  CHECK_FALSE(codec::decode_object(bad_format, out));
}

TEST_CASE("codec: statuses round-trip with their ranges, damage is detected") {
  status_record s;
  s.id = "2d5a4a5b-0000-4000-8000-000000000001";
  s.owner = "acme";
  s.api_root = "sharing";
  s.request_timestamp = 123;
  s.successes.push_back({"indicator--1", "2026-01-01T00:00:00Z", ""});
  s.failures.push_back({"indicator--2", "", "bad"});
  s.pendings.push_back({"indicator--3", "v", "later"});
  const std::string value = codec::encode_status(s, 456, 7, {{10, 20, 1}, {30, 30, 4}});
  CHECK(codec::status_stored_at(value) == 456);

  auto out = codec::decode_status(value);
  REQUIRE(out);
  CHECK(out->stored_at == 456);
  CHECK(out->collection == 7);
  CHECK(out->added == std::vector<codec::added_range>{{10, 20, 1}, {30, 30, 4}});
  CHECK(out->status.id == s.id);
  CHECK(out->status.owner == "acme");
  CHECK(out->status.api_root == "sharing");
  CHECK(out->status.request_timestamp == 123);
  REQUIRE(out->status.successes.size() == 1);
  CHECK(out->status.successes[0].version == "2026-01-01T00:00:00Z");
  REQUIRE(out->status.failures.size() == 1);
  CHECK(out->status.failures[0].message == "bad");
  REQUIRE(out->status.pendings.size() == 1);
  CHECK(out->status.pendings[0].message == "later");

  for (std::size_t cut = 0; cut < value.size(); ++cut) {
    CHECK_FALSE(codec::decode_status(value.substr(0, cut)));
  }
  CHECK_FALSE(codec::decode_status(value + "x"));
  CHECK(codec::status_stored_at("") == 0);

  // A range's level must be one of the five.
  std::string bad_level = value;
  const std::size_t ranges_at = 1 + 16 + 4 + s.id.size() + 4 + 4 + 4 + 7 + 4 + 4;
  bad_level[ranges_at + 16] = 5;
  CHECK_FALSE(codec::decode_status(bad_level));

  // Schema 1 stores wrote format 2: ranges without a level, of any level.
  std::string legacy = value;
  legacy[0] = 2;
  legacy.erase(ranges_at + 16 + 17, 1);
  legacy.erase(ranges_at + 16, 1);
  auto old = codec::decode_status(legacy);
  REQUIRE(old);
  CHECK(old->added ==
        std::vector<codec::added_range>{{10, 20, codec::any_level}, {30, 30, codec::any_level}});
  CHECK(codec::status_stored_at(legacy) == 456);
  CHECK(old->status.pendings.size() == 1);
}
