#include "storage/codec.hpp"

namespace cairn::storage::codec {

namespace {

constexpr std::uint8_t status_format = 1;

void put_str(std::string& out, std::string_view s) {
  char len[4];
  put_u32be(len, static_cast<std::uint32_t>(s.size()));
  out.append(len, 4);
  out.append(s);
}

void put_u64(std::string& out, std::uint64_t v) {
  char b[8];
  put_u64be(b, v);
  out.append(b, 8);
}

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  bool u8(std::uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (in_.size() < 4) return false;
    v = get_u32be(in_.data());
    in_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (in_.size() < 8) return false;
    v = get_u64be(in_.data());
    in_.remove_prefix(8);
    return true;
  }
  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!u32(n) || in_.size() < n) return false;
    s.assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool details(std::vector<status_detail>& list) {
    std::uint32_t n = 0;
    // Each detail takes at least 12 bytes: a bogus count cannot make us
    // reserve more than the value could hold.
    if (!u32(n) || n > in_.size() / 12) return false;
    list.resize(n);
    for (auto& d : list) {
      if (!str(d.id) || !str(d.version) || !str(d.message)) return false;
    }
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

void put_details(std::string& out, const std::vector<status_detail>& list) {
  char n[4];
  put_u32be(n, static_cast<std::uint32_t>(list.size()));
  out.append(n, 4);
  for (const auto& d : list) {
    put_str(out, d.id);
    put_str(out, d.version);
    put_str(out, d.message);
  }
}

std::size_t details_bytes(const std::vector<status_detail>& list) {
  std::size_t n = 4;
  for (const auto& d : list) n += 12 + d.id.size() + d.version.size() + d.message.size();
  return n;
}

}  // namespace

std::string encode_status(const status_record& status, micros stored_at) {
  std::string out;
  out.reserve(1 + 16 + 12 + status.id.size() + status.owner.size() + status.api_root.size() +
              details_bytes(status.successes) + details_bytes(status.failures) +
              details_bytes(status.pendings));
  out.push_back(static_cast<char>(status_format));
  put_u64(out, static_cast<std::uint64_t>(stored_at));
  put_u64(out, static_cast<std::uint64_t>(status.request_timestamp));
  put_str(out, status.id);
  put_str(out, status.owner);
  put_str(out, status.api_root);
  put_details(out, status.successes);
  put_details(out, status.failures);
  put_details(out, status.pendings);
  return out;
}

std::optional<status_record> decode_status(std::string_view value, micros* stored_at) {
  reader in(value);
  std::uint8_t format = 0;
  std::uint64_t stored = 0;
  std::uint64_t requested = 0;
  status_record s;
  if (!in.u8(format) || format != status_format || !in.u64(stored) || !in.u64(requested) ||
      !in.str(s.id) || !in.str(s.owner) || !in.str(s.api_root) || !in.details(s.successes) ||
      !in.details(s.failures) || !in.details(s.pendings) || !in.done()) {
    return std::nullopt;
  }
  s.request_timestamp = static_cast<micros>(requested);
  if (stored_at) *stored_at = static_cast<micros>(stored);
  return s;
}

}  // namespace cairn::storage::codec
