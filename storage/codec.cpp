#include "storage/codec.hpp"

namespace cairn::storage::codec {

namespace {

// 3: ranges carry a level. 2 (schema 1 stores): ranges of any level.
constexpr std::uint8_t status_format = 3;
constexpr std::uint8_t status_format_any_level = 2;

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

std::uint64_t siphash24(const hash_key& key, std::string_view data) {
  auto rotl = [](std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
  std::uint64_t v0 = key.k0 ^ 0x736f6d6570736575ULL;
  std::uint64_t v1 = key.k1 ^ 0x646f72616e646f6dULL;
  std::uint64_t v2 = key.k0 ^ 0x6c7967656e657261ULL;
  std::uint64_t v3 = key.k1 ^ 0x7465646279746573ULL;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  auto word = [](const char* p, std::size_t n) {
    std::uint64_t m = 0;
    for (std::size_t i = 0; i < n; ++i) {
      m |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return m;
  };
  const std::size_t whole = data.size() / 8 * 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    const std::uint64_t m = word(data.data() + i, 8);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  const std::uint64_t last = (static_cast<std::uint64_t>(data.size()) << 56) |
                             word(data.data() + whole, data.size() - whole);
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

bool pack_time_key(std::string_view key, char* out) {
  // "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"
  if (key.size() != 30 || key[4] != '-' || key[7] != '-' || key[10] != 'T' || key[13] != ':' ||
      key[16] != ':' || key[19] != '.' || key[29] != 'Z') {
    return false;
  }
  bool ok = true;
  auto number = [&](std::size_t at, std::size_t n) {
    std::uint32_t v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      const char c = key[i];
      if (c < '0' || c > '9') ok = false;
      v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return v;
  };
  const std::uint32_t year = number(0, 4);
  out[0] = static_cast<char>(year >> 8);
  out[1] = static_cast<char>(year & 0xff);
  out[2] = static_cast<char>(number(5, 2));
  out[3] = static_cast<char>(number(8, 2));
  out[4] = static_cast<char>(number(11, 2));
  out[5] = static_cast<char>(number(14, 2));
  out[6] = static_cast<char>(number(17, 2));
  put_u32be(out + 7, number(20, 9));
  return ok;
}

std::string encode_status(const status_record& status, micros stored_at, collection_key collection,
                          const std::vector<added_range>& added) {
  std::string out;
  out.reserve(1 + 16 + 12 + 4 + 4 + 17 * added.size() + status.id.size() + status.owner.size() +
              status.api_root.size() + details_bytes(status.successes) +
              details_bytes(status.failures) + details_bytes(status.pendings));
  out.push_back(static_cast<char>(status_format));
  put_u64(out, static_cast<std::uint64_t>(stored_at));
  put_u64(out, static_cast<std::uint64_t>(status.request_timestamp));
  put_str(out, status.id);
  put_str(out, status.owner);
  put_str(out, status.api_root);
  char n[4];
  put_u32be(n, collection);
  out.append(n, 4);
  put_u32be(n, static_cast<std::uint32_t>(added.size()));
  out.append(n, 4);
  for (const auto& r : added) {
    put_u64(out, static_cast<std::uint64_t>(r.first));
    put_u64(out, static_cast<std::uint64_t>(r.last));
    out.push_back(static_cast<char>(r.level));
  }
  put_details(out, status.successes);
  put_details(out, status.failures);
  put_details(out, status.pendings);
  return out;
}

std::optional<stored_status> decode_status(std::string_view value) {
  reader in(value);
  std::uint8_t format = 0;
  std::uint64_t stored = 0;
  std::uint64_t requested = 0;
  std::uint32_t ranges = 0;
  stored_status s;
  status_record& status = s.status;
  if (!in.u8(format) || (format != status_format && format != status_format_any_level) ||
      !in.u64(stored) || !in.u64(requested) || !in.str(status.id) || !in.str(status.owner) ||
      !in.str(status.api_root) || !in.u32(s.collection) || !in.u32(ranges) ||
      ranges > value.size() / 16) {
    return std::nullopt;
  }
  s.added.resize(ranges);
  for (auto& r : s.added) {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    if (!in.u64(a) || !in.u64(b) || a > b) return std::nullopt;
    r.first = static_cast<micros>(a);
    r.last = static_cast<micros>(b);
    r.level = any_level;
    if (format == status_format && (!in.u8(r.level) || r.level >= tlp_levels)) {
      return std::nullopt;
    }
  }
  if (!in.details(status.successes) || !in.details(status.failures) ||
      !in.details(status.pendings) || !in.done()) {
    return std::nullopt;
  }
  status.request_timestamp = static_cast<micros>(requested);
  s.stored_at = static_cast<micros>(stored);
  return s;
}

std::string status_owner_key(std::uint64_t owner_hash, micros request_timestamp,
                             std::string_view status_id) {
  std::string out;
  out.reserve(16 + status_id.size());
  put_u64(out, owner_hash);
  put_u64(out, static_cast<std::uint64_t>(request_timestamp));
  out.append(status_id);
  return out;
}

std::string encode_status_summary(const status_record& status, std::size_t successes,
                                  micros stored_at) {
  std::string out;
  out.reserve(8 * 4 + 8 + status.owner.size() + status.api_root.size());
  put_u64(out, static_cast<std::uint64_t>(stored_at));
  put_u64(out, successes);
  put_u64(out, status.failures.size());
  put_u64(out, status.pendings.size());
  put_str(out, status.owner);
  put_str(out, status.api_root);
  return out;
}

std::optional<owned_status> decode_status_summary(std::string_view key, std::string_view value) {
  if (key.size() <= 16) return std::nullopt;
  owned_status s;
  s.summary.request_timestamp = static_cast<micros>(get_u64be(key.data() + 8));
  s.summary.id.assign(key.substr(16));
  reader in(value);
  std::uint64_t stored = 0;
  std::uint64_t counts[3] = {};
  if (!in.u64(stored) || !in.u64(counts[0]) || !in.u64(counts[1]) || !in.u64(counts[2]) ||
      !in.str(s.owner) || !in.str(s.summary.api_root) || !in.done()) {
    return std::nullopt;
  }
  s.stored_at = static_cast<micros>(stored);
  s.summary.successes = static_cast<std::size_t>(counts[0]);
  s.summary.failures = static_cast<std::size_t>(counts[1]);
  s.summary.pendings = static_cast<std::size_t>(counts[2]);
  return s;
}

micros status_stored_at(std::string_view value) {
  if (value.size() < 9 || (static_cast<std::uint8_t>(value[0]) != status_format &&
                           static_cast<std::uint8_t>(value[0]) != status_format_any_level)) {
    return 0;
  }
  return static_cast<micros>(get_u64be(value.data() + 1));
}

}  // namespace cairn::storage::codec
