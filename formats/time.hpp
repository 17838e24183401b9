#pragma once
// RFC 3339 timestamps, as TAXII 2.1 and STIX 2.1 use them.
//
// TAXII timestamps (date_added, added_after, request_timestamp, the
// X-TAXII-Date-Added-* headers) are held as microseconds since the Unix epoch
// and always written with exactly six fraction digits. STIX timestamps
// (created, modified, valid_from, ...) are kept as published; to compare them,
// use stix_time_key().

#include <cstdint>
#include <string>
#include <string_view>

#include "formats/error.hpp"

namespace cairn::formats {

using micros = std::int64_t;  // microseconds since 1970-01-01T00:00:00Z

// Parses "YYYY-MM-DDTHH:MM:SS[.f+]Z" (any number of fraction digits, which
// beyond six are truncated; 'T' and 'Z' may be lower case; a "+00:00" or
// "-00:00" offset is accepted, other offsets are refused). Calendar-checked (no Feb 30, no month
// 13). Leap second 60 is refused.
result<micros> parse_rfc3339(std::string_view text);

// "2026-11-27T10:00:00.123456Z"
std::string format_taxii_time(micros t);

// Wall clock, microseconds since the epoch.
micros now_micros();

// True for a valid STIX timestamp: "YYYY-MM-DDTHH:MM:SS[.s+]Z", upper-case T
// and Z, calendar-checked (leap second 60 refused, as above);
// min_fraction_digits of 3 for created/modified.
bool is_stix_timestamp(std::string_view text, int min_fraction_digits = 0);

// Ok for a valid STIX timestamp, else an error whose message is a short
// reason a person can act on ("month 13", "must end in 'Z' (UTC)", "needs at
// least 3 fraction digits ..."), without the text itself.
result<void> check_stix_timestamp(std::string_view text, int min_fraction_digits = 0);

// Orders two valid STIX timestamps (-1, 0, 1) as instants at nanosecond
// precision and beyond: "...:01Z" equals "...:01.000Z". Both must pass
// is_stix_timestamp(); the result is unspecified otherwise.
int compare_stix_timestamps(std::string_view a, std::string_view b);

// A fixed-width key (nanosecond precision, 30 bytes) that sorts as the
// timestamps do, so that "...:01Z" and "...:01.000Z" have the same key.
// Errors on text that is not a STIX timestamp.
result<std::string> stix_time_key(std::string_view text);

}  // namespace cairn::formats
