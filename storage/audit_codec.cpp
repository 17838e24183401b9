#include "storage/audit_codec.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "formats/audit_record.hpp"
#include "storage/codec.hpp"
#include "storage/object_walk.hpp"

namespace cairn::storage::audit_codec {

namespace {

constexpr std::array<std::string_view, 8> k_names = {"",       "publish",      "pull",   "delete",
                                                     "denied", "auth-failure", "config", "alert"};

constexpr std::uint8_t k_kind_codes = 0x80;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// Reads a value back, refusing anything but the canonical encoding.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  bool varint(std::uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (at_ >= in_.size()) return false;
      const auto b = static_cast<unsigned char>(in_[at_++]);
      if (shift == 63 && b > 1) return false;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return b != 0 || shift == 0;  // no zero continuation byte last
    }
    return false;
  }

  bool string(std::string_view& s) {
    std::uint64_t n = 0;
    if (!varint(n) || n > in_.size() - at_) return false;
    s = in_.substr(at_, n);
    at_ += n;
    return true;
  }

  bool done() const { return at_ == in_.size(); }
  std::size_t left() const { return in_.size() - at_; }

 private:
  std::string_view in_;
  std::size_t at_ = 0;
};

// Runs as varints: the count, then (gap, length) pairs; the first gap is the
// first position, later ones count from the end of the previous run.
void put_runs(std::string& out, const std::vector<run>& runs) {
  put_varint(out, runs.size());
  micros end = 0;  // one past the previous run
  bool first = true;
  for (const run& x : runs) {
    put_varint(out, static_cast<std::uint64_t>(first ? x.start : x.start - end));
    put_varint(out, x.length);
    end = x.start + static_cast<micros>(x.length);
    first = false;
  }
}

// count runs (its varint already read) into out; false unless canonical.
bool get_runs(reader& in, std::uint64_t count, std::vector<run>& out) {
  out.clear();
  if (count > in.left()) return false;
  out.reserve(count);
  std::uint64_t end = 0;
  constexpr auto max_position = static_cast<std::uint64_t>(std::numeric_limits<micros>::max());
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t gap = 0;
    std::uint64_t length = 0;
    if (!in.varint(gap) || !in.varint(length) || length == 0 || (i > 0 && gap == 0) ||
        gap > max_position - end || length > max_position - end - gap) {
      return false;
    }
    const std::uint64_t start = end + gap;
    out.push_back({static_cast<micros>(start), length});
    end = start + length;
  }
  return true;
}

bool runs_cover(const std::vector<run>& runs, micros position) {
  // Runs are sorted: the last run starting at or before position.
  auto it = std::upper_bound(runs.begin(), runs.end(), position,
                             [](micros p, const run& r) { return p < r.start; });
  if (it == runs.begin()) return false;
  --it;
  return static_cast<std::uint64_t>(position - it->start) < it->length;
}

}  // namespace

std::optional<action> action_of(std::string_view name) {
  for (std::size_t i = 1; i < k_names.size(); ++i) {
    if (k_names[i] == name) return static_cast<action>(i);
  }
  return std::nullopt;
}

std::string_view name_of(action a) {
  const auto i = static_cast<std::size_t>(a);
  return i < k_names.size() ? k_names[i] : std::string_view();
}

std::uint64_t record_fields::positioned() const {
  std::uint64_t n = 0;
  for (const run& r : runs) n += r.length;
  return n;
}

bool record_fields::covers(micros position) const {
  return runs_cover(runs, position);
}

std::string encode_record(const record_fields& r) {
  std::string out(record_header_bytes, '\0');
  const bool alert = r.act == action::alert;
  out[0] = static_cast<char>(alert                ? record_format_alert
                             : r.accounts.empty() ? record_format
                                                  : record_format_accounts);
  out[1] = static_cast<char>(r.act);
  codec::put_u16le(out.data() + 2, r.status);
  codec::put_u64be(out.data() + 4, static_cast<std::uint64_t>(r.time));
  std::copy(r.hash.begin(), r.hash.end(), out.begin() + 12);
  put_string(out, r.account);
  put_string(out, r.remote);
  put_string(out, r.api_root);
  put_string(out, r.collection);
  put_string(out, r.sha256);
  put_varint(out, r.suppressed);
  put_varint(out, r.runs.empty() ? 0 : r.key);
  put_runs(out, r.runs);
  put_varint(out, r.explicit_objects.size());
  for (const auto& [id, version] : r.explicit_objects) {
    put_string(out, id);
    put_string(out, version);
  }
  if (alert) {
    put_string(out, r.kind);
    put_string(out, r.detail);
    put_varint(out, r.evidence.size());
    for (const std::uint64_t seq : r.evidence) put_varint(out, seq);
  } else if (!r.accounts.empty()) {
    put_varint(out, r.accounts.size());
    for (const auto& [name, n] : r.accounts) {
      put_string(out, name);
      put_varint(out, n);
    }
  }
  return out;
}

formats::audit_record record_of(std::uint64_t seq, const record_fields& f) {
  formats::audit_record r;
  r.seq = seq;
  r.time = formats::format_taxii_time(f.time);
  r.account = f.account;
  r.action = name_of(f.act);
  r.remote = f.remote;
  r.api_root = f.api_root;
  r.collection = f.collection;
  r.status = f.status;
  r.sha256 = f.sha256;
  r.suppressed = f.suppressed;
  for (const auto& [name, n] : f.accounts) r.accounts.emplace(name, n);
  r.kind = f.kind;
  r.detail = f.detail;
  r.evidence = f.evidence;
  r.hash = f.hash;
  return r;
}

bool decode_record(std::string_view value, record_fields& out) {
  if (value.size() < record_header_bytes) return false;
  const auto format = static_cast<std::uint8_t>(value[0]);
  if (format != record_format && format != record_format_accounts &&
      format != record_format_alert) {
    return false;
  }
  const auto code = static_cast<std::uint8_t>(value[1]);
  if (code == 0 || code >= k_names.size()) return false;
  out.act = static_cast<action>(code);
  if ((format == record_format_alert) != (out.act == action::alert)) return false;
  out.status = codec::get_u16le(value.data() + 2);
  const std::uint64_t time = codec::get_u64be(value.data() + 4);
  if (time > static_cast<std::uint64_t>(std::numeric_limits<micros>::max())) return false;
  out.time = static_cast<micros>(time);
  std::copy(value.begin() + 12, value.begin() + 44, out.hash.begin());

  reader in(value.substr(record_header_bytes));
  std::uint64_t key = 0;
  std::uint64_t runs = 0;
  if (!in.string(out.account) || !in.string(out.remote) || !in.string(out.api_root) ||
      !in.string(out.collection) || !in.string(out.sha256) || !in.varint(out.suppressed) ||
      !in.varint(key) || key > 0xffffffffu || !in.varint(runs) || (runs == 0) != (key == 0)) {
    return false;
  }
  out.key = static_cast<collection_key>(key);
  if (!get_runs(in, runs, out.runs)) return false;
  std::uint64_t n = 0;
  if (!in.varint(n) || n > value.size()) return false;
  out.explicit_objects.clear();
  out.explicit_objects.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view id;
    std::string_view version;
    if (!in.string(id) || !in.string(version)) return false;
    out.explicit_objects.emplace_back(id, version);
  }
  out.accounts.clear();
  out.kind = {};
  out.detail = {};
  out.evidence.clear();
  if (format == record_format_alert) {
    if (!in.string(out.kind) || !formats::is_alert_kind(out.kind) || !in.string(out.detail) ||
        !in.varint(n) || n > in.left() || n > formats::max_alert_evidence) {
      return false;
    }
    out.evidence.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t seq = 0;
      if (!in.varint(seq) || seq == 0 || (i > 0 && seq <= out.evidence.back())) return false;
      out.evidence.push_back(seq);
    }
  } else if (format == record_format_accounts) {
    if (!in.varint(n) || n == 0 || n > in.left()) return false;
    out.accounts.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      std::string_view name;
      std::uint64_t failures = 0;
      if (!in.string(name) || !in.varint(failures) || failures == 0 ||
          (i > 0 && name <= out.accounts.back().first)) {
        return false;
      }
      out.accounts.emplace_back(name, failures);
    }
  }
  return in.done();
}

bool record_head(std::string_view value, micros& time, formats::merkle::digest& hash) {
  if (value.size() < record_header_bytes) return false;
  time = static_cast<micros>(codec::get_u64be(value.data() + 4));
  std::copy(value.begin() + 12, value.begin() + 44, hash.begin());
  return true;
}

std::vector<run> runs_of(std::span<const micros> sorted_positions) {
  std::vector<run> out;
  for (const micros p : sorted_positions) {
    if (!out.empty() && out.back().start + static_cast<micros>(out.back().length) == p) {
      ++out.back().length;
    } else {
      out.push_back({p, 1});
    }
  }
  return out;
}

std::array<char, 8> u64_key(std::uint64_t v) {
  std::array<char, 8> k;
  codec::put_u64be(k.data(), v);
  return k;
}

std::uint64_t u64_of(std::string_view key) {
  return key.size() >= 8 ? codec::get_u64be(key.data()) : 0;
}

std::array<char, 8> key_hash(std::string_view text) {
  const auto d = formats::merkle::sha256(text);
  std::array<char, 8> k;
  std::copy(d.begin(), d.begin() + 8, k.begin());
  return k;
}

std::string hashed_key(std::string_view text, std::uint64_t seq) {
  const auto h = key_hash(text);
  const auto s = u64_key(seq);
  std::string k(h.begin(), h.end());
  k.append(s.begin(), s.end());
  return k;
}

std::vector<std::string> account_keys(const record_fields& r, std::uint64_t seq) {
  std::vector<std::string> out{hashed_key(r.account, seq)};
  for (const auto& [name, n] : r.accounts) out.push_back(hashed_key(name, seq));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string action_key(action a, std::uint64_t seq) {
  const auto s = u64_key(seq);
  std::string k(1, static_cast<char>(a));
  k.append(s.begin(), s.end());
  return k;
}

std::optional<std::string> kind_prefix(std::string_view kind) {
  const auto& kinds = formats::alert_kinds;
  const auto it = std::find(std::begin(kinds), std::end(kinds), kind);
  if (it == std::end(kinds)) return std::nullopt;
  const auto place = static_cast<std::uint8_t>(it - std::begin(kinds));
  return std::string(1, static_cast<char>(k_kind_codes + 1 + place));
}

std::string node_key(unsigned height, std::uint64_t index) {
  const auto s = u64_key(index);
  std::string k(1, static_cast<char>(height));
  k.append(s.begin(), s.end());
  return k;
}

namespace {

std::string bin_prefix(collection_key c, unsigned height, std::uint64_t bin, int side) {
  std::string k(bin_prefix_bytes, '\0');
  codec::put_u32be(k.data(), c);
  k[4] = static_cast<char>(height);
  codec::put_u64be(k.data() + 5, bin);
  k[13] = static_cast<char>(side);
  return k;
}

}  // namespace

unsigned bin_height(micros first, micros last) {
  const auto a = static_cast<std::uint64_t>(first);
  const auto b = static_cast<std::uint64_t>(last);
  // The smallest h with a >> h == b >> h: one past the highest differing bit.
  return a == b ? 0 : static_cast<unsigned>(64 - std::countl_zero(a ^ b));
}

std::array<std::string, 2> bin_keys(collection_key c, micros first, micros last,
                                    std::uint64_t seq) {
  const unsigned h = std::min(bin_height(first, last), bin_heights - 1);
  const std::uint64_t bin = static_cast<std::uint64_t>(first) >> h;
  std::array<std::string, 2> out = {bin_prefix(c, h, bin, 0), bin_prefix(c, h, bin, 1)};
  char tail[16];
  codec::put_u64be(tail, static_cast<std::uint64_t>(first));
  codec::put_u64be(tail + 8, seq);
  out[0].append(tail, 16);
  codec::put_u64be(tail, ~static_cast<std::uint64_t>(last));
  out[1].append(tail, 16);
  return out;
}

bin_probe probe(collection_key c, unsigned height, micros p) {
  const auto at = static_cast<std::uint64_t>(p);
  const std::uint64_t bin = at >> height;
  bool by_first = true;
  if (height > 0) {
    const std::uint64_t middle = (bin << height) + (std::uint64_t{1} << (height - 1));
    by_first = at < middle;
  }
  return {bin_prefix(c, height, bin, by_first ? 0 : 1), by_first};
}

bool probe_hit(const bin_probe& b, std::string_view key, micros p, std::uint64_t& seq) {
  if (key.size() != bin_key_bytes) return false;
  const std::uint64_t coordinate = codec::get_u64be(key.data() + bin_prefix_bytes);
  const auto at = static_cast<std::uint64_t>(p);
  seq = codec::get_u64be(key.data() + bin_prefix_bytes + 8);
  return b.by_first ? coordinate <= at : ~coordinate >= at;
}

std::string bin_value(const std::vector<run>& runs) {
  std::string v;
  put_runs(v, runs);
  return v;
}

bool bin_covers(std::string_view value, micros position) {
  reader in(value);
  std::uint64_t count = 0;
  std::vector<run> runs;
  return in.varint(count) && get_runs(in, count, runs) && in.done() && runs_cover(runs, position);
}

lmdb::result<bool> expand_objects(const lmdb::txn& t, lmdb::dbi objects, const record_fields& r,
                                  std::string& objects_json, const object_visitor& visit) {
  objects_json += '[';
  bool first = true;
  if (!r.runs.empty()) {
    if (objects.handle() == 0) return false;
    for (const run& x : r.runs) {
      if (x.length == 0) continue;
      // A run's versions may be of any levels: a merge of the levels' keys
      // over the run's positions.
      auto walk = level_walk::open(t, objects, all_levels, x.start,
                                   x.start + static_cast<micros>(x.length - 1));
      if (!walk) return std::unexpected(walk.error());
      for (std::uint64_t i = 0; i < x.length; ++i) {
        std::string_view k;
        std::string_view v;
        auto found = walk->next(k, v);
        if (!found) return std::unexpected(found.error());
        const micros expected = x.start + static_cast<micros>(i);
        codec::object_fields f;
        if (!*found || codec::position_of(k) != expected || !codec::decode_object(v, f)) {
          return false;
        }
        formats::append_audit_object(objects_json, first, f.id, f.version);
        if (visit) visit(expected, f.id, f.version);
        first = false;
      }
    }
  }
  for (const auto& [id, version] : r.explicit_objects) {
    formats::append_audit_object(objects_json, first, id, version);
    if (visit) visit(0, id, version);
    first = false;
  }
  objects_json += ']';
  return true;
}

}  // namespace cairn::storage::audit_codec
