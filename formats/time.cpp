#include "formats/time.hpp"

#include <chrono>
#include <cstdio>

namespace cairn::formats {

namespace {

// H. Hinnant's days-from-civil: proleptic Gregorian calendar, valid for the
// whole int range, no locale or time zone involved.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(11017).month == 3);

constexpr bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr int days_in_month(int y, int m) {
  constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

struct fields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::uint32_t nanos = 0;  // the first nine fraction digits
  int fraction_digits = 0;
};

enum class dialect { rfc3339, stix };

// The one timestamp parser behind every public function. On failure, returns
// a short reason that names the field ("month '101' must have 2 digits",
// "day 30 of month 2") for the caller's message.
result<fields> parse_fields(std::string_view t, dialect d) {
  fields f;
  std::size_t pos = 0;
  // One fixed-width number, then the separator that must follow it.
  auto field = [&](const char* name, std::size_t width, int& out, char sep) -> result<void> {
    const std::size_t start = pos;
    while (pos < t.size() && is_digit(t[pos]) && pos - start <= width) ++pos;
    const std::size_t n = pos - start;
    if (n == 0) {
      return fail(std::string("expected the ") + name + " at offset " + std::to_string(start) +
                  " (form YYYY-MM-DDTHH:MM:SS[.fraction]Z)");
    }
    if (n != width) {
      while (pos < t.size() && is_digit(t[pos])) ++pos;
      return fail(std::string(name) + " '" + std::string(t.substr(start, pos - start)) +
                  "' must have " + std::to_string(width) + " digits");
    }
    int v = 0;
    for (std::size_t i = start; i < pos; ++i) v = v * 10 + (t[i] - '0');
    out = v;
    if (sep == 0) return {};
    const bool ok =
        pos < t.size() && (t[pos] == sep || (sep == 'T' && d == dialect::rfc3339 && t[pos] == 't'));
    if (!ok) {
      return fail(std::string("expected '") + sep + "' after the " + name + " at offset " +
                  std::to_string(pos));
    }
    ++pos;
    return {};
  };
  if (auto r = field("year", 4, f.year, '-'); !r) return std::unexpected(r.error());
  if (auto r = field("month", 2, f.month, '-'); !r) return std::unexpected(r.error());
  if (auto r = field("day", 2, f.day, 'T'); !r) return std::unexpected(r.error());
  if (auto r = field("hour", 2, f.hour, ':'); !r) return std::unexpected(r.error());
  if (auto r = field("minute", 2, f.minute, ':'); !r) return std::unexpected(r.error());
  if (auto r = field("second", 2, f.second, 0); !r) return std::unexpected(r.error());
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < t.size() && is_digit(t[pos])) {
      if (pos - start < 9) f.nanos = f.nanos * 10 + static_cast<std::uint32_t>(t[pos] - '0');
      ++pos;
    }
    const std::size_t n = pos - start;
    if (n == 0) return fail("a '.' must be followed by fraction digits");
    for (std::size_t i = n; i < 9; ++i) f.nanos *= 10;
    f.fraction_digits = n > 1000000 ? 1000000 : static_cast<int>(n);
  }
  const std::string_view zone = t.substr(pos);
  if (d == dialect::stix) {
    if (zone != "Z") return fail("must end in 'Z' (UTC)");
  } else if (zone != "Z" && zone != "z" && zone != "+00:00" && zone != "-00:00") {
    return fail("must end in 'Z' or '+00:00' (UTC)");
  }
  if (f.month < 1 || f.month > 12) return fail("month " + std::to_string(f.month));
  if (f.day < 1 || f.day > days_in_month(f.year, f.month)) {
    return fail("day " + std::to_string(f.day) + " of month " + std::to_string(f.month) +
                (f.month == 2 && f.day == 29 ? " in a year that is not a leap year" : ""));
  }
  if (f.hour > 23) return fail("hour " + std::to_string(f.hour));
  if (f.minute > 59) return fail("minute " + std::to_string(f.minute));
  if (f.second > 59) return fail("second " + std::to_string(f.second));
  return f;
}

std::int64_t seconds_since_epoch(const fields& f) {
  return days_from_civil(f.year, static_cast<unsigned>(f.month), static_cast<unsigned>(f.day)) *
             86400 +
         f.hour * 3600 + f.minute * 60 + f.second;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

result<micros> parse_rfc3339(std::string_view text) {
  auto f = parse_fields(text, dialect::rfc3339);
  if (!f) {
    return fail("'" + std::string(text.substr(0, 64)) + "' is not an RFC 3339 UTC timestamp (" +
                f.error().message + ")");
  }
  return seconds_since_epoch(*f) * 1000000 + static_cast<micros>(f->nanos / 1000);
}

std::string format_taxii_time(micros t) {
  const std::int64_t secs = floor_div(t, 1000000);
  const auto us = static_cast<long>(t - secs * 1000000);
  const std::int64_t days = floor_div(secs, 86400);
  const auto sod = static_cast<long>(secs - days * 86400);
  const civil c = civil_from_days(days);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ",
                static_cast<long long>(c.year), c.month, c.day, sod / 3600, (sod / 60) % 60,
                sod % 60, us);
  return buf;
}

micros now_micros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

bool is_stix_timestamp(std::string_view text, int min_fraction_digits) {
  auto f = parse_fields(text, dialect::stix);
  return f && f->fraction_digits >= min_fraction_digits;
}

result<void> check_stix_timestamp(std::string_view text, int min_fraction_digits) {
  auto f = parse_fields(text, dialect::stix);
  if (!f) return fail(f.error().message);
  if (f->fraction_digits < min_fraction_digits) {
    return fail("needs at least " + std::to_string(min_fraction_digits) +
                " fraction digits after the seconds, e.g. '" + std::string(text.substr(0, 19)) +
                "." + std::string(static_cast<std::size_t>(min_fraction_digits), '0') + "Z'");
  }
  return {};
}

result<std::string> stix_time_key(std::string_view text) {
  auto f = parse_fields(text, dialect::stix);
  if (!f) {
    return fail("'" + std::string(text.substr(0, 64)) + "' is not a valid STIX timestamp (" +
                f.error().message + ")");
  }
  // The date and time fields are already fixed width; only the fraction
  // needs normalising to nine digits.
  std::string key;
  key.reserve(30);
  key.append(text.substr(0, 19));
  key += '.';
  char frac[10];
  std::snprintf(frac, sizeof frac, "%09u", static_cast<unsigned>(f->nanos));
  key.append(frac, 9);
  key += 'Z';
  return key;
}

int compare_stix_timestamps(std::string_view a, std::string_view b) {
  // Both are valid: the first 19 bytes are fixed width; then compare the
  // fractions digit by digit, a missing digit counting as zero.
  if (int c = a.substr(0, 19).compare(b.substr(0, 19)); c != 0) return c < 0 ? -1 : 1;
  auto frac = [](std::string_view t) {
    // "" for no fraction, else the digits between '.' and 'Z'.
    return t.size() > 20 && t[19] == '.' ? t.substr(20, t.size() - 21) : std::string_view{};
  };
  const std::string_view fa = frac(a), fb = frac(b);
  const std::size_t n = fa.size() > fb.size() ? fa.size() : fb.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char ca = i < fa.size() ? fa[i] : '0';
    const char cb = i < fb.size() ? fb[i] : '0';
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  return 0;
}

}  // namespace cairn::formats
