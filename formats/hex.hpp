#pragma once
// Hexadecimal (RFC 4648 section 8, "base16"): lower case out, either case in.
// Pure functions; any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::formats {

enum class hex_case { lower, upper };

// The digit of a value 0-15 (only its low four bits are read).
char hex_digit(unsigned value, hex_case c = hex_case::lower);

// Appends the two digits of byte, high first.
void append_hex(std::string& out, unsigned char byte, hex_case c = hex_case::lower);

std::string hex_encode(std::string_view bytes);
std::string hex_encode(const unsigned char* bytes, std::size_t n);

// 0-15 for a hex digit of either case; -1 for anything else.
int hex_value(char c);

// The bytes of text (an even number of digits of either case); std::nullopt
// for anything else.
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace cairn::formats
