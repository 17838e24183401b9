#pragma once
// ASCII text helpers for protocol text that compares case-insensitively in
// ASCII only (HTTP field names, tokens and parameters per RFC 9110, STIX
// hash names, TLP names): unlike std::tolower, no locale is involved. Pure
// functions, any thread.

#include <algorithm>
#include <string>
#include <string_view>

namespace cairn::formats {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
  return out;
}

// Without optional white space (spaces and tabs) at either end.
constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

}  // namespace cairn::formats
