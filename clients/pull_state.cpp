#include "clients/pull_state.hpp"

#include <system_error>

#include "clients/durable_file.hpp"
#include "formats/json.hpp"
#include "formats/time.hpp"

namespace cairn::clients {

std::string pull_state::to_json() const {
  formats::json_writer w;
  w.begin_object();
  w.member("version", std::int64_t{1});
  w.member("url", url);
  w.member("collection", collection);
  w.member("added_after", added_after);
  if (!output.empty()) {
    w.member("output", output);
    w.member("output_bytes", static_cast<std::int64_t>(output_bytes));
  }
  w.end_object();
  return w.take() + "\n";
}

result<pull_state> parse_pull_state(std::string_view text) {
  formats::json_limits limits;
  limits.max_bytes = 1u << 20;
  limits.max_depth = 4;
  auto doc = formats::parse_json(text, limits);
  if (!doc) return fail("not valid JSON: " + doc.error().to_string());
  const auto root = doc->root();
  if (!root.is_object()) return fail("not a JSON object");
  auto version = root.get("version");
  if (!version || !version->is_integer() || version->as_int() != 1) {
    return fail("unknown state file version (expected \"version\": 1)");
  }
  pull_state s;
  auto text_member = [&](std::string_view key, std::string& out, bool required) -> result<void> {
    auto v = root.get(key);
    if (!v) {
      if (required) return fail("\"" + std::string(key) + "\" is missing");
      return {};
    }
    if (!v->is_string()) return fail("\"" + std::string(key) + "\" is not a string");
    out = std::string(v->as_string());
    return {};
  };
  if (auto r = text_member("url", s.url, true); !r) return std::unexpected(r.error());
  if (auto r = text_member("collection", s.collection, true); !r) return std::unexpected(r.error());
  if (auto r = text_member("added_after", s.added_after, true); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = text_member("output", s.output, false); !r) return std::unexpected(r.error());
  if (!s.added_after.empty() && !formats::parse_rfc3339(s.added_after)) {
    return fail("\"added_after\" is not an RFC 3339 time");
  }
  if (auto bytes = root.get("output_bytes")) {
    if (!bytes->is_integer() || bytes->as_int() < 0) {
      return fail("\"output_bytes\" is not a size");
    }
    s.output_bytes = static_cast<std::uint64_t>(bytes->as_int());
  }
  return s;
}

result<std::optional<pull_state>> read_pull_state(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<pull_state>{};
  auto text = read_whole_file(path, 1u << 20);
  if (!text) return std::unexpected(text.error());
  auto s = parse_pull_state(*text);
  if (!s) return fail("the state file " + path.string() + " is damaged: " + s.error().message);
  return std::optional<pull_state>(std::move(*s));
}

result<void> write_pull_state(const std::filesystem::path& path, const pull_state& state) {
  return write_file_atomically(path, state.to_json());
}

}  // namespace cairn::clients
