#include "formats/base64.hpp"

#include <array>
#include <cstdint>

namespace cairn::formats {

namespace {

constexpr std::string_view k_standard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view k_url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string_view chars_of(base64_alphabet a) {
  return a == base64_alphabet::standard ? k_standard : k_url;
}

constexpr std::array<std::int8_t, 256> make_table(std::string_view chars) {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < chars.size(); ++i) {
    t[static_cast<unsigned char>(chars[i])] = static_cast<std::int8_t>(i);
  }
  return t;
}

constexpr auto k_standard_table = make_table(k_standard);
constexpr auto k_url_table = make_table(k_url);

}  // namespace

std::string base64_encode(std::string_view bytes, base64_alphabet alphabet,
                          base64_padding padding) {
  const auto chars = chars_of(alphabet);
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += chars[(n >> 18) & 63];
    out += chars[(n >> 12) & 63];
    out += chars[(n >> 6) & 63];
    out += chars[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    out += chars[(n >> 18) & 63];
    out += chars[(n >> 12) & 63];
    if (padding == base64_padding::required) out += "==";
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8);
    out += chars[(n >> 18) & 63];
    out += chars[(n >> 12) & 63];
    out += chars[(n >> 6) & 63];
    if (padding == base64_padding::required) out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, base64_alphabet alphabet,
                                         base64_padding padding) {
  const auto& table = alphabet == base64_alphabet::standard ? k_standard_table : k_url_table;
  std::size_t pad = 0;
  if (padding == base64_padding::required) {
    if (text.size() % 4 != 0) return std::nullopt;
    while (pad < 2 && !text.empty() && text.back() == '=') {
      text.remove_suffix(1);
      ++pad;
    }
  }
  // A lone trailing sextet cannot encode a whole byte.
  if (text.size() % 4 == 1) return std::nullopt;
  if (padding == base64_padding::required && pad != (4 - text.size() % 4) % 4) return std::nullopt;

  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, or two encodings would decode alike.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace cairn::formats
