#pragma once
// Strict base64 (RFC 4648): the standard alphabet with or
// without padding, and the URL-safe alphabet without padding. Decoding refuses
// white space, characters outside the alphabet, wrong padding and
// non-canonical trailing bits, so that one byte string has exactly one
// accepted encoding. Pure functions; any thread.

#include <optional>
#include <string>
#include <string_view>

namespace cairn::formats {

enum class base64_alphabet { standard, url };
enum class base64_padding { required, none };

std::string base64_encode(std::string_view bytes,
                          base64_alphabet alphabet = base64_alphabet::standard,
                          base64_padding padding = base64_padding::required);

// std::nullopt when text is not the exact encoding of some byte string under
// the given alphabet and padding rule.
std::optional<std::string> base64_decode(std::string_view text,
                                         base64_alphabet alphabet = base64_alphabet::standard,
                                         base64_padding padding = base64_padding::required);

}  // namespace cairn::formats
