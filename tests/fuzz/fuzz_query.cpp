// TAXII query strings and `next` tokens. Invariants: a parsed limit is within
// 1..page_size; a token decodes only with the binding it was made for, to the
// position it was made with; no input decodes as a token of another binding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "server/api/query.hpp"

using namespace cairn::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const page_token_codec codec(std::string(32, 'k'));
  constexpr std::size_t page_size = 100;

  (void)percent_decode(text);
  (void)parse_query_string(text);
  std::string binding = "account|/api1/collections/x/objects/|";
  if (auto q = parse_taxii_query(text, page_size)) {
    if (q->limit < 1 || q->limit > page_size) std::abort();
    binding += q->filter_binding();
  }
  // The input as a token: random bytes must not decode (the HMAC would have
  // to match by chance).
  if (codec.decode(text, binding)) std::abort();

  // A real token round-trips, and only for its binding.
  micros position = 0;
  std::memcpy(&position, data, std::min(size, sizeof position));
  const auto token = codec.encode(position, binding);
  auto decoded = codec.decode(token, binding);
  if (!decoded || *decoded != position) std::abort();
  if (codec.decode(token, binding + "x")) std::abort();
  return 0;
}
