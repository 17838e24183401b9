#include "storage/pg/objects.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

#include "formats/json.hpp"
#include "formats/observables.hpp"
#include "formats/time.hpp"
#include "storage/publish_plan.hpp"

namespace cairn::storage::pg {

namespace {

// TAXII 4.3: a status is kept for at least 24 hours (as the other stores).
constexpr micros k_min_status_retention = micros{24} * 3600 * 1'000'000;
// Expired statuses are removed at most this often (per process): reads skip
// them anyway, the purge only keeps the table small.
constexpr micros k_purge_interval = micros{60} * 1'000'000;
// Rows per scan query: a page that stops early reads at most this many more.
constexpr int k_scan_chunk = 256;
constexpr int k_top_level = static_cast<int>(formats::tlp_level::red);

// The columns of a version as readers get them (see record_at()).
#define CAIRN_VERSION_COLUMNS \
  "date_added, id, version, spec_version, publisher, tlp, later_copy, id_copy, json"

// The live versions of the request's ids, for the publish plan.
const pq::statement k_versions_of_ids{
    "cairn_objects_versions_of_ids",
    "SELECT " CAIRN_VERSION_COLUMNS
    ", time_key FROM objects"
    " WHERE collection = $1 AND id = ANY($2::text[]) AND NOT deleted"};

// One request's new versions, as parallel arrays (flags: 1 later_copy, 2 id_copy).
const pq::statement k_insert_versions{
    "cairn_objects_insert",
    "INSERT INTO objects (collection, date_added, id, version, time_key, spec_version, publisher,"
    " tlp, later_copy, id_copy, json)"
    " SELECT $1::integer, u.d, u.i, u.v, u.k, u.s, $2::text, u.t, (u.f & 1) <> 0, (u.f & 2) <> 0,"
    " u.j FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],"
    " $8::smallint[], $9::integer[], $10::text[]) AS u(d, i, v, k, s, t, f, j)"};

// The same with the long text columns joined by U+001F instead of as array
// literals, which PostgreSQL parses several times faster (no quoting). Used
// when no value is empty or holds that byte (JSON, ids and timestamps never
// do).
const pq::statement k_insert_joined{
    "cairn_objects_insert_joined",
    "INSERT INTO objects (collection, date_added, id, version, time_key, spec_version, publisher,"
    " tlp, later_copy, id_copy, json)"
    " SELECT $1::integer, u.d, u.i, u.v, u.k, u.s, $2::text, u.t, (u.f & 1) <> 0, (u.f & 2) <> 0,"
    " u.j FROM unnest($3::bigint[], string_to_array($4::text, chr(31)),"
    " string_to_array($5::text, chr(31)), string_to_array($6::text, chr(31)), $7::text[],"
    " $8::smallint[], $9::integer[], string_to_array($10::text, chr(31)))"
    " AS u(d, i, v, k, s, t, f, j)"};
constexpr char k_separator = '\x1f';

// values joined by k_separator, or std::nullopt when one of them is empty or
// holds k_separator or a NUL (which would end the parameter early).
std::optional<std::string> joined(const std::vector<std::string_view>& values) {
  std::size_t size = values.size();
  for (const std::string_view v : values) {
    if (v.empty() || v.find(k_separator) != std::string_view::npos ||
        v.find('\0') != std::string_view::npos) {
      return std::nullopt;
    }
    size += v.size();
  }
  std::string out;
  out.reserve(size);
  for (const std::string_view v : values) {
    if (!out.empty()) out += k_separator;
    out.append(v);
  }
  return out;
}

const pq::statement k_insert_version{
    "cairn_objects_insert_one",
    "INSERT INTO objects (collection, date_added, id, version, time_key, spec_version, publisher,"
    " tlp, later_copy, id_copy, json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"};

const pq::statement k_remove{
    "cairn_objects_remove",
    "UPDATE objects SET deleted = true"
    " WHERE collection = $1 AND date_added = ANY($2::bigint[]) AND NOT deleted"
    " RETURNING date_added, id, version"};

// Rows of the observable index (schema_observables.cpp), as parallel arrays.
const pq::statement k_insert_observables{
    "cairn_observables_insert",
    "INSERT INTO observables (collection, date_added, kind, value, tlp, cidr, exportable)"
    " SELECT $1::integer, u.d, u.k, u.v, u.t, (u.f & 1) <> 0, (u.f & 2) <> 0"
    " FROM unnest($2::bigint[], $3::smallint[], $4::text[], $5::smallint[], $6::integer[])"
    " AS u(d, k, v, t, f)"};

const pq::statement k_count_deleted{
    "cairn_collections_count_deleted",
    "UPDATE collections SET deleted_count = deleted_count + $2 WHERE key = $1"};

const pq::statement k_generation{
    "cairn_collections_generation",
    "SELECT last_added + deleted_count FROM collections WHERE key = $1"};

// Lookup: $1 collections (in the caller's order), $2 kind, $3 the value and
// the networks containing it, $4 the value, $5 the reader's level, $6 its
// publisher name ('' for none). Per collection in the caller's order, then
// date_added, the exact value first.
const pq::statement k_lookup{
    "cairn_observables_lookup",
    "SELECT o.date_added, o.id, o.version, o.spec_version, o.publisher, o.tlp, o.later_copy,"
    " o.id_copy, o.json, x.value, x.cidr, x.exportable, x.collection"
    " FROM observables x JOIN objects o ON o.collection = x.collection"
    " AND o.date_added = x.date_added"
    " WHERE x.collection = ANY($1::integer[]) AND x.kind = $2"
    " AND md5(x.value) = ANY(ARRAY(SELECT md5(p) FROM unnest($3::text[]) AS p))"
    " AND x.value = ANY($3::text[]) AND NOT o.deleted"
    " AND (x.tlp <= $5 OR ($6 <> '' AND o.publisher = $6))"
    " ORDER BY array_position($1::integer[], x.collection), x.date_added, x.value <> $4"};

// Exports, a page at a time after ($4 kind, $5 value, $6 date_added): $1
// collection, $2 kinds, $3 the reader's level, $7 its publisher name.
constexpr int k_export_chunk = 5000;
const pq::statement k_exportable{
    "cairn_observables_exportable",
    "SELECT o.date_added, o.id, o.version, o.spec_version, o.publisher, o.tlp, o.later_copy,"
    " o.id_copy, o.json, x.value, x.cidr, x.kind"
    " FROM observables x JOIN objects o ON o.collection = x.collection"
    " AND o.date_added = x.date_added"
    " WHERE x.collection = $1 AND x.kind = ANY($2::smallint[]) AND x.exportable"
    " AND NOT o.deleted AND (x.tlp <= $3 OR ($7 <> '' AND o.publisher = $7))"
    " AND (x.kind, x.value, x.date_added) > ($4::smallint, $5::text COLLATE \"C\", $6::bigint)"
    " ORDER BY x.kind, x.value, x.date_added LIMIT 5000"};
static_assert(k_export_chunk == 5000);

// The rows of one version's observables into the arrays of
// k_insert_observables.
struct observable_rows {
  std::vector<std::int64_t> positions, kinds, levels, flags;
  std::vector<std::string_view> values;

  void add(micros date_added, formats::tlp_level level,
           const std::vector<formats::observable>& observables) {
    for (const auto& o : observables) {
      // Normal forms never hold a NUL (it would end the parameter).
      if (o.value.empty() || o.value.find('\0') != std::string::npos) continue;
      positions.push_back(date_added);
      kinds.push_back(static_cast<std::int64_t>(o.kind));
      values.push_back(o.value);
      levels.push_back(static_cast<std::int64_t>(level));
      flags.push_back((o.cidr ? 1 : 0) | (o.exportable ? 2 : 0));
    }
  }

  result<void> insert(pq::connection& c, collection_key collection) const {
    if (positions.empty()) return {};
    auto r = c.run(k_insert_observables, pq::params()
                                             .integer(collection)
                                             .integer_array(positions)
                                             .integer_array(kinds)
                                             .text_array(values)
                                             .integer_array(levels)
                                             .integer_array(flags));
    if (!r) return std::unexpected(r.error());
    return {};
  }
};

const pq::statement k_put_status{
    "cairn_statuses_put",
    "INSERT INTO statuses (id, owner, stored_at, json) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, stored_at = EXCLUDED.stored_at,"
    " json = EXCLUDED.json"};

// At most k_purge_rows at a time, skipping rows another node's purge holds
// (two writers purging at once neither wait for nor deadlock each other).
constexpr int k_purge_rows = 10'000;
const pq::statement k_purge_statuses{
    "cairn_statuses_purge",
    "DELETE FROM statuses WHERE id IN (SELECT id FROM statuses WHERE stored_at <= $1"
    " ORDER BY stored_at LIMIT 10000 FOR UPDATE SKIP LOCKED)"};

const pq::statement k_get_status{"cairn_statuses_get",
                                 "SELECT json FROM statuses WHERE id = $1 AND stored_at > $2"};

// An owner's statuses, newest first, by the statuses_by_owner index
// (schema_statuses.cpp); the counts from the stored lists.
#define CAIRN_STATUS_TIME "((json::jsonb ->> 'request_timestamp')::bigint)"
#define CAIRN_OWNED_STATUSES(after)                                                      \
  "SELECT id, j ->> 'api_root', (j ->> 'request_timestamp')::bigint,"                    \
  " jsonb_array_length(j -> 'successes'), jsonb_array_length(j -> 'failures'),"          \
  " jsonb_array_length(j -> 'pendings') FROM (SELECT id, json::jsonb AS j FROM statuses" \
  " WHERE owner = $1 AND stored_at > $2" after " ORDER BY " CAIRN_STATUS_TIME            \
  " DESC,"                                                                               \
  " id COLLATE \"C\" DESC LIMIT $3) AS s ORDER BY 3 DESC, id COLLATE \"C\" DESC"
const pq::statement k_owned_statuses{"cairn_statuses_owned", CAIRN_OWNED_STATUSES("")};
const pq::statement k_owned_statuses_after{
    "cairn_statuses_owned_after",
    CAIRN_OWNED_STATUSES(" AND (" CAIRN_STATUS_TIME ", id COLLATE \"C\") < ($4, $5)")};
#undef CAIRN_OWNED_STATUSES
#undef CAIRN_STATUS_TIME

const pq::statement k_at{"cairn_objects_at",
                         "SELECT " CAIRN_VERSION_COLUMNS
                         " FROM objects WHERE collection = $1 AND date_added = $2 AND NOT deleted"};

const pq::statement k_versions{"cairn_objects_versions",
                               "SELECT " CAIRN_VERSION_COLUMNS
                               ", time_key FROM objects"
                               " WHERE collection = $1 AND id = $2 AND NOT deleted"};

// How many live versions each id has (and where, when it is one).
const pq::statement k_version_counts{
    "cairn_objects_version_counts",
    "SELECT id, count(*), min(date_added) FROM objects"
    " WHERE collection = $1 AND id = ANY($2::text[]) AND NOT deleted GROUP BY id"};

// Scans: $1 collection, $2 after, $3 rows, $4 the reader's own publisher
// name. A reader who sees every level reads the primary key's range; any
// other reads one objects_by_level range per level it sees, plus its own
// versions above them (objects_by_publisher), merged by date_added: a
// withheld version is never read. The "ranked" forms add whether each
// version's object has other live versions (column 9), for version_rank().
struct scan_statements {
  static constexpr std::size_t k_count = 4 * (k_top_level + 1);
  std::array<std::string, k_count> names, sql;
  std::array<pq::statement, k_count> statements;

  static std::size_t slot(int level, bool own, bool ranked) {
    return static_cast<std::size_t>(level * 4 + own * 2 + ranked);
  }

  scan_statements() {
    const std::string range = " AND NOT deleted AND date_added > $2 ORDER BY date_added LIMIT $3)";
    for (int level = 0; level <= k_top_level; ++level) {
      for (const bool own : {false, true}) {
        for (const bool ranked : {false, true}) {
          const std::size_t i = slot(level, own, ranked);
          names[i] = "cairn_objects_scan_" + std::to_string(level) + (own ? "_own" : "") +
                     (ranked ? "_ranked" : "");
          // Deleted versions count too (an answer on the safe side: such a
          // record takes version_rank()'s full path), so that the probe can
          // be an index-only scan of objects_by_id.
          const std::string others =
              ranked ? ", EXISTS (SELECT 1 FROM objects o WHERE o.collection = $1 AND o.id = v.id"
                       " AND o.date_added <> v.date_added)"
                     : "";
          std::string& q = sql[i];
          q = "SELECT " CAIRN_VERSION_COLUMNS + others;
          if (level == k_top_level) {
            q += " FROM objects AS v WHERE collection = $1 AND date_added > $2 AND NOT deleted"
                 " ORDER BY date_added LIMIT $3";
          } else {
            q += " FROM (";
            for (int l = 0; l <= level; ++l) {
              if (l > 0) q += " UNION ALL ";
              q += "(SELECT " CAIRN_VERSION_COLUMNS
                   " FROM objects WHERE collection = $1 AND tlp = " +
                   std::to_string(l) + range;
            }
            if (own) {
              q += " UNION ALL (SELECT " CAIRN_VERSION_COLUMNS
                   " FROM objects WHERE collection = $1 AND publisher = $4 AND tlp > " +
                   std::to_string(level) + range;
            }
            q += ") AS v ORDER BY date_added LIMIT $3";
          }
          statements[i] = {names[i].c_str(), q.c_str()};
        }
      }
    }
  }

  const pq::statement& get(int level, bool own, bool ranked) const {
    level = std::clamp(level, 0, k_top_level);
    return statements[slot(level, own && level < k_top_level, ranked)];
  }
};

const scan_statements& scans() {
  static const scan_statements s;
  return s;
}

micros retention_of(micros status_retention) {
  return std::max(status_retention, k_min_status_retention);
}

// The version in row i of rows selected with CAIRN_VERSION_COLUMNS.
object_record record_at(const pq::rows& r, int i, collection_key c) {
  object_record o;
  o.collection = c;
  o.date_added = r.integer(i, 0);
  o.id = r.text(i, 1);
  o.version = r.text(i, 2);
  o.spec_version = r.text(i, 3);
  o.publisher = r.text(i, 4);
  o.tlp =
      static_cast<formats::tlp_level>(std::clamp<std::int64_t>(r.integer(i, 5), 0, k_top_level));
  o.later_copy = r.boolean(i, 6);
  o.id_copy = r.boolean(i, 7);
  o.json = r.text(i, 8);
  return o;
}

// A version with its time key (column 9), in versions() order.
struct keyed_version {
  object_record record;
  std::string_view time_key;
};

bool versions_order(const keyed_version& a, const keyed_version& b) {
  if (a.time_key != b.time_key) return a.time_key < b.time_key;
  return a.record.date_added < b.record.date_added;
}

// The length of the well-formed UTF-8 sequence at s[i], 0 when there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

// s when it is valid UTF-8 (PostgreSQL's text refuses anything else);
// otherwise a copy in scratch where each byte that does not belong to a
// well-formed sequence is U+FFFD.
std::string_view valid_utf8(std::string_view s, std::string& scratch) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) return s;
  scratch.assign(s.substr(0, i));
  while (i < s.size()) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      scratch += "\xEF\xBF\xBD";
      ++i;
    } else {
      scratch.append(s.substr(i, n));
      i += n;
    }
  }
  return scratch;
}

void write_details(formats::json_writer& w, std::string_view name,
                   const std::vector<status_detail>& details) {
  std::string scratch;
  w.key(name).begin_array();
  for (const auto& d : details) {
    w.begin_array();
    w.string(valid_utf8(d.id, scratch));
    w.string(valid_utf8(d.version, scratch));
    w.string(valid_utf8(d.message, scratch));
    w.end_array();
  }
  w.end_array();
}

bool read_details(const formats::json_view& root, std::string_view name,
                  std::vector<status_detail>& out) {
  auto list = root.get(name);
  if (!list || !list->is_array()) return false;
  out.reserve(list->size());
  for (std::size_t i = 0; i < list->size(); ++i) {
    const formats::json_view d = list->value_at(i);
    if (!d.is_array() || d.size() != 3) return false;
    for (std::size_t k = 0; k < 3; ++k) {
      if (!d.value_at(k).is_string()) return false;
    }
    out.push_back({std::string(d.value_at(0).as_string()), std::string(d.value_at(1).as_string()),
                   std::string(d.value_at(2).as_string())});
  }
  return true;
}

result<std::uint64_t> purge_statuses(pq::connection& c, micros now, micros retention) {
  // Once a minute per process, and whenever the clock went back (tests).
  static std::atomic<micros> last_purge{0};
  micros last = last_purge.load();
  if (last != 0 && now >= last && now - last < k_purge_interval) return 0;
  if (!last_purge.compare_exchange_strong(last, now)) return 0;  // another writer purges
  auto gone = c.run(k_purge_statuses, pq::params().integer(now - retention));
  if (!gone) return std::unexpected(gone.error());
  // More left: the next publish goes on.
  if (gone->affected() >= static_cast<std::uint64_t>(k_purge_rows)) last_purge = 0;
  return gone->affected();
}

}  // namespace

// ---------------------------------------------------------------- statuses

std::string encode_status(const status_record& s) {
  std::string scratch;
  formats::json_writer w;
  w.begin_object()
      .member("id", std::string(valid_utf8(s.id, scratch)))
      .member("owner", std::string(valid_utf8(s.owner, scratch)))
      .member("api_root", std::string(valid_utf8(s.api_root, scratch)))
      .member("request_timestamp", static_cast<std::int64_t>(s.request_timestamp));
  write_details(w, "successes", s.successes);
  write_details(w, "failures", s.failures);
  write_details(w, "pendings", s.pendings);
  w.end_object();
  return w.take();
}

std::optional<status_record> decode_status(std::string_view json) {
  auto doc = formats::parse_json(json);
  if (!doc || !doc->root().is_object()) return std::nullopt;
  const formats::json_view root = doc->root();
  status_record s;
  auto text = [&](std::string_view name, std::string& out) {
    auto v = root.get(name);
    if (!v || !v->is_string()) return false;
    out = v->as_string();
    return true;
  };
  auto stamp = root.get("request_timestamp");
  if (!text("id", s.id) || !text("owner", s.owner) || !text("api_root", s.api_root) || !stamp ||
      !stamp->is_integer()) {
    return std::nullopt;
  }
  s.request_timestamp = stamp->as_int();
  if (!read_details(root, "successes", s.successes) ||
      !read_details(root, "failures", s.failures) || !read_details(root, "pendings", s.pendings)) {
    return std::nullopt;
  }
  return s;
}

// ---------------------------------------------------------------- writes

result<publish_result> publish(pq::connection& c, const publish_request& req, micros now,
                               micros& last_added, micros status_retention) {
  // The stored versions of the request's ids, in one query.
  std::vector<std::string_view> ids;
  ids.reserve(req.objects.size());
  for (const auto& o : req.objects) {
    if (!o.id.empty() && o.id.size() <= max_object_id_bytes) ids.push_back(o.id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  pq::rows found;
  std::vector<keyed_version> stored;
  if (!ids.empty()) {
    auto r = c.run(k_versions_of_ids, pq::params().integer(req.collection).text_array(ids));
    if (!r) return std::unexpected(r.error());
    found = std::move(*r);
    stored.reserve(static_cast<std::size_t>(found.size()));
    for (int i = 0; i < found.size(); ++i) {
      stored.push_back({record_at(found, i, req.collection), found.text(i, 9)});
    }
    std::sort(stored.begin(), stored.end(), [](const keyed_version& a, const keyed_version& b) {
      if (a.record.id != b.record.id) return a.record.id < b.record.id;
      return versions_order(a, b);
    });
  }
  auto lookup = [&](std::string_view id,
                    const std::function<bool(const stored_version_view&)>& fn) {
    auto first = std::lower_bound(
        stored.begin(), stored.end(), id,
        [](const keyed_version& v, std::string_view key) { return v.record.id < key; });
    for (auto v = first; v != stored.end() && v->record.id == id; ++v) {
      if (!fn({v->record, v->time_key})) return;
    }
  };
  auto plan = plan_publish(req, now, last_added, lookup);
  if (!plan) return std::unexpected(plan.error());

  if (!plan->added.empty()) {
    const std::size_t n = plan->added.size();
    std::vector<std::int64_t> positions, levels, flags;
    std::vector<std::string_view> new_ids, versions, keys, spec_versions, json;
    positions.reserve(n);
    levels.reserve(n);
    flags.reserve(n);
    new_ids.reserve(n);
    versions.reserve(n);
    keys.reserve(n);
    spec_versions.reserve(n);
    json.reserve(n);
    for (const auto& v : plan->added) {
      const new_object& o = req.objects[v.index];
      positions.push_back(v.date_added);
      new_ids.push_back(o.id);
      versions.push_back(v.version);
      keys.push_back(v.time_key);
      spec_versions.push_back(o.spec_version);
      levels.push_back(static_cast<std::int64_t>(o.tlp));
      flags.push_back((v.later_copy ? 1 : 0) | (v.id_copy ? 2 : 0));
      json.push_back(o.json);
    }
    auto joined_ids = joined(new_ids);
    auto joined_versions = joined(versions);
    auto joined_keys = joined(keys);
    auto joined_json = joined(json);
    const bool fast = joined_ids && joined_versions && joined_keys && joined_json;
    pq::params p;
    p.integer(req.collection).text(req.publisher).integer_array(positions);
    if (fast) {
      p.text(*joined_ids).text(*joined_versions).text(*joined_keys);
    } else {
      p.text_array(new_ids).text_array(versions).text_array(keys);
    }
    p.text_array(spec_versions).integer_array(levels).integer_array(flags);
    if (fast) {
      p.text(*joined_json);
    } else {
      p.text_array(json);
    }
    auto inserted = c.run(fast ? k_insert_joined : k_insert_versions, p);
    if (!inserted) return std::unexpected(inserted.error());
    observable_rows index;
    for (const auto& v : plan->added) {
      const new_object& o = req.objects[v.index];
      index.add(v.date_added, o.tlp, o.observables);
    }
    if (auto st = index.insert(c, req.collection); !st) return std::unexpected(st.error());
  }

  publish_result out;
  const micros retention = retention_of(status_retention);
  const status_record& status = plan->outcome.status;
  if (!status.id.empty()) {
    std::string scratch;
    auto purged = purge_statuses(c, now, retention);
    if (!purged) return std::unexpected(purged.error());
    out.statuses_purged = *purged;
    auto put = c.run(k_put_status, pq::params()
                                       .text(status.id)
                                       .text(valid_utf8(status.owner, scratch))
                                       .integer(now)
                                       .text(encode_status(status)));
    if (!put) return std::unexpected(put.error());
  }
  last_added = plan->last_added;
  out.outcome = std::move(plan->outcome);
  out.recorded = std::move(plan->recorded);
  return out;
}

result<std::vector<formats::audit_object>> remove(pq::connection& c, const delete_request& req) {
  std::vector<std::int64_t> positions(req.positions.begin(), req.positions.end());
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  std::vector<formats::audit_object> out;
  if (positions.empty()) return out;
  auto r = c.run(k_remove, pq::params().integer(req.collection).integer_array(positions));
  if (!r) return std::unexpected(r.error());
  std::vector<std::pair<micros, int>> order;
  order.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) order.emplace_back(r->integer(i, 0), i);
  std::sort(order.begin(), order.end());
  if (!order.empty()) {
    auto counted = c.run(
        k_count_deleted,
        pq::params().integer(req.collection).integer(static_cast<std::int64_t>(order.size())));
    if (!counted) return std::unexpected(counted.error());
  }
  out.reserve(order.size());
  for (const auto& [at, i] : order) {
    out.push_back({std::string(r->text(i, 1)), std::string(r->text(i, 2))});
  }
  return out;
}

// ---------------------------------------------------------------- importer

result<void> import_version(pq::connection& c, const object_record& v) {
  auto key = formats::stix_time_key(v.version);
  if (!key) {
    return fail("version " + std::string(v.version) + " of " + std::string(v.id) +
                " is not a STIX timestamp: " + key.error().message);
  }
  pq::params p;
  p.integer(v.collection)
      .integer(v.date_added)
      .text(v.id)
      .text(v.version)
      .text(*key)
      .text(v.spec_version)
      .text(v.publisher)
      .integer(static_cast<std::int64_t>(v.tlp))
      .boolean(v.later_copy)
      .boolean(v.id_copy)
      .text(v.json);
  auto r = c.run(k_insert_version, p);
  if (!r) return std::unexpected(r.error());
  const auto observables = formats::observables_of(v.json);
  observable_rows index;
  index.add(v.date_added, v.tlp, observables);
  return index.insert(c, v.collection);
}

namespace {
const pq::statement k_unindexed_versions{
    "cairn_objects_to_index",
    "SELECT collection, date_added, tlp, json FROM objects"
    " WHERE NOT deleted AND (collection, date_added) > ($1::integer, $2::bigint)"
    " ORDER BY collection, date_added LIMIT 1000"};
}  // namespace

result<std::uint64_t> index_observables(pq::connection& c) {
  std::int64_t collection = 0;
  micros after = 0;
  std::uint64_t versions = 0;
  for (;;) {
    auto r = c.run(k_unindexed_versions, pq::params().integer(collection).integer(after));
    if (!r) return std::unexpected(r.error());
    if (r->size() == 0) return versions;
    // Rows of one collection per insert.
    std::vector<std::vector<formats::observable>> kept;
    kept.reserve(static_cast<std::size_t>(r->size()));
    observable_rows index;
    collection_key current = static_cast<collection_key>(r->integer(0, 0));
    for (int i = 0; i < r->size(); ++i) {
      const auto key = static_cast<collection_key>(r->integer(i, 0));
      if (key != current) {
        if (auto st = index.insert(c, current); !st) return std::unexpected(st.error());
        index = {};
        current = key;
      }
      ++versions;
      kept.push_back(formats::observables_of(r->text(i, 3)));
      const auto level = static_cast<formats::tlp_level>(
          std::clamp<std::int64_t>(r->integer(i, 2), 0, k_top_level));
      index.add(r->integer(i, 1), level, kept.back());
      collection = key;
      after = r->integer(i, 1);
    }
    if (auto st = index.insert(c, current); !st) return std::unexpected(st.error());
  }
}

result<void> import_status(pq::connection& c, const status_record& s, micros stored_at) {
  if (s.id.empty() || s.id.size() > max_status_id_bytes) {
    return fail("a status id must have 1 to " + std::to_string(max_status_id_bytes) + " bytes");
  }
  std::string scratch;
  auto r = c.run(k_put_status, pq::params()
                                   .text(s.id)
                                   .text(valid_utf8(s.owner, scratch))
                                   .integer(stored_at)
                                   .text(encode_status(s)));
  if (!r) return std::unexpected(r.error());
  return {};
}

// ---------------------------------------------------------------- reader

namespace {

class pg_reader final : public reader {
 public:
  pg_reader(result<pq::pool::lease> lease, std::function<micros()> now, micros retention)
      : now_(std::move(now)), retention_(retention) {
    if (lease && *lease) {
      lease_ = std::move(*lease);
    } else {
      error_ = lease ? error{"no PostgreSQL connection", {}, errc::unavailable} : lease.error();
      error_->code = errc::unavailable;
    }
  }

  ~pg_reader() override {
    if (lease_ && begun_) (*lease_)->rollback();  // read only: nothing to keep
  }

  void lookup(std::span<const collection_key> cs, formats::observable_kind k,
              std::string_view value, const visibility& who,
              const observable_fn& fn) const override {
    if (cs.empty()) return;
    std::vector<std::int64_t> keys(cs.begin(), cs.end());
    std::vector<std::string> probes{std::string(value)};
    for (auto& n : formats::containing_networks(k, value)) probes.push_back(std::move(n));
    std::vector<std::string_view> probe_views(probes.begin(), probes.end());
    const pq::rows* r = run(k_lookup, pq::params()
                                          .integer_array(keys)
                                          .integer(static_cast<std::int64_t>(k))
                                          .text_array(probe_views)
                                          .text(value)
                                          .integer(static_cast<std::int64_t>(who.max_level))
                                          .text(who.publisher));
    if (!r) return;
    for (int i = 0; i < r->size(); ++i) {
      const auto c = static_cast<collection_key>(r->integer(i, 12));
      // One call per version: the first of its rows (the exact value first).
      if (i > 0 && r->integer(i - 1, 12) == r->integer(i, 12) &&
          r->integer(i - 1, 0) == r->integer(i, 0)) {
        continue;
      }
      const observable_hit hit{k, r->text(i, 9), r->boolean(i, 10), r->boolean(i, 11)};
      if (!fn(hit, record_at(*r, i, c))) return;
    }
  }

  void exportable_values(collection_key c, std::span<const formats::observable_kind> kinds,
                         const visibility& who, const observable_fn& fn) const override {
    std::vector<std::int64_t> wanted;
    for (const auto k : kinds) wanted.push_back(static_cast<std::int64_t>(k));
    if (wanted.empty()) {
      for (std::int64_t k = 1; k <= 8; ++k) wanted.push_back(k);
    }
    std::int64_t kind = 0;
    std::string value;
    micros after = 0;
    for (;;) {
      const pq::rows* r = run(k_exportable, pq::params()
                                                .integer(c)
                                                .integer_array(wanted)
                                                .integer(static_cast<std::int64_t>(who.max_level))
                                                .integer(kind)
                                                .text(value)
                                                .integer(after)
                                                .text(who.publisher));
      if (!r) return;
      for (int i = 0; i < r->size(); ++i) {
        const auto k = static_cast<formats::observable_kind>(r->integer(i, 11));
        const observable_hit hit{k, r->text(i, 9), r->boolean(i, 10), true};
        if (!fn(hit, record_at(*r, i, c))) return;
      }
      if (r->size() < k_export_chunk) return;
      const int last = r->size() - 1;
      kind = r->integer(last, 11);
      value = r->text(last, 9);
      after = r->integer(last, 0);
      // A page passed on is not kept (exports are long; see store.hpp),
      // unless fn read more since (a deque frees its ends only safely).
      if (&kept_.back() == r) kept_.pop_back();
    }
  }

  std::uint64_t collection_generation(collection_key c) const override {
    const pq::rows* r = run(k_generation, pq::params().integer(c));
    if (!r || r->size() == 0) return 0;
    return static_cast<std::uint64_t>(r->integer(0, 0));
  }

  void scan(collection_key c, micros after, const visibility& who,
            const record_fn& fn) const override {
    const int level = static_cast<int>(who.max_level);
    const bool own = !who.publisher.empty();
    micros from = after;
    for (;;) {
      pq::params p;
      p.integer(c).integer(from).integer(k_scan_chunk);
      if (own && level < k_top_level) p.text(who.publisher);
      // Chunks come with what version_rank() needs while it is asked about
      // them (the objects endpoint's default, match[version]=last).
      const pq::rows* r = run(scans().get(level, own, rank_wanted_), p);
      if (!r) return;
      chunk_ = r;
      chunk_ranked_ = rank_wanted_;
      chunk_collection_ = c;
      rank_asked_ = false;
      const int n = r->size();
      for (int i = 0; i < n; ++i) {
        ++read_;
        const object_record rec = record_at(*r, i, c);
        if (!fn(rec)) return;
        from = rec.date_added;
      }
      rank_wanted_ = rank_asked_;
      if (n < k_scan_chunk) return;
    }
  }

  void versions(collection_key c, std::string_view object_id, const record_fn& fn) const override {
    for (const keyed_version& v : versions_of(c, object_id)) {
      ++read_;
      if (!fn(v.record)) return;
    }
  }

  std::optional<object_record> at(collection_key c, micros date_added) const override {
    if (auto known = by_position_.find({c, date_added}); known != by_position_.end()) {
      ++read_;
      return known->second;
    }
    const pq::rows* r = run(k_at, pq::params().integer(c).integer(date_added));
    if (!r || r->size() == 0) return std::nullopt;
    ++read_;
    return record_at(*r, 0, c);
  }

  rank version_rank(const object_record& r, const record_fn& counts) const override {
    // Most objects have one version: the scan's page learns which in one
    // query instead of one per record.
    if (auto single = single_position(r)) {
      if (*single == 0 || *single != r.date_added) return {};  // not live here
      return {true, true};
    }
    const auto& all = versions_of(r.collection, r.id);
    auto self = std::find_if(all.begin(), all.end(), [&](const keyed_version& v) {
      return v.record.date_added == r.date_added;
    });
    if (self == all.end()) return {};  // not a live version of this store
    const std::string_view key = self->time_key;
    rank out{true, true};
    // Other copies of r's own version are neither before nor after it.
    for (const keyed_version& v : all) {
      if (v.time_key == key) continue;
      ++read_;
      if (counts && !counts(v.record)) continue;
      if (v.time_key < key) out.first = false;
      if (v.time_key > key) out.last = false;
    }
    return out;
  }

  bool earlier_copy(const object_record& r, const record_fn& counts) const override {
    if (!r.later_copy) return false;
    auto key = formats::stix_time_key(r.version);
    if (!r.id_copy && !key) return false;
    for (const keyed_version& v : versions_of(r.collection, r.id)) {
      if (v.record.date_added == r.date_added || (!r.id_copy && v.time_key != *key)) continue;
      // Stored before r: unflagged, or flagged at a lower position (one
      // publish numbers its versions by level, not in request order).
      if (v.record.later_copy && v.record.date_added > r.date_added) continue;
      ++read_;
      if (!counts || counts(v.record)) return true;
    }
    return false;
  }

  std::optional<status_record> status(std::string_view status_id) const override {
    if (status_id.empty() || status_id.size() > max_status_id_bytes) return std::nullopt;
    const micros now = now_ ? now_() : formats::now_micros();
    const pq::rows* r = run(k_get_status, pq::params().text(status_id).integer(now - retention_));
    if (!r || r->size() == 0) return std::nullopt;
    auto s = decode_status(r->text(0, 0));
    if (!s) note(error{"a stored status cannot be read", {}, errc::io});
    return s;
  }

  status_page owned_statuses(std::string_view owner, const std::optional<status_cursor>& after,
                             std::size_t limit) const override {
    status_page page;
    const std::size_t n = std::min(limit, max_status_page);
    if (n == 0) return page;
    const micros now = now_ ? now_() : formats::now_micros();
    std::string scratch;
    std::string id_scratch;
    pq::params p;
    p.text(valid_utf8(owner, scratch))
        .integer(now - retention_)
        .integer(static_cast<std::int64_t>(n) + 1);
    if (after) {
      p.integer(after->request_timestamp).text(valid_utf8(after->id, id_scratch));
    }
    const pq::rows* r = run(after ? k_owned_statuses_after : k_owned_statuses, p);
    if (!r) return page;
    for (int i = 0; i < r->size(); ++i) {
      if (page.statuses.size() == n) {
        page.more = true;
        break;
      }
      page.statuses.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)),
                               r->integer(i, 2), static_cast<std::size_t>(r->integer(i, 3)),
                               static_cast<std::size_t>(r->integer(i, 4)),
                               static_cast<std::size_t>(r->integer(i, 5))});
    }
    if (page.more) {
      page.resume = {page.statuses.back().request_timestamp, page.statuses.back().id};
    }
    return page;
  }

  std::uint64_t records_read() const override { return read_; }
  const std::optional<error>& last_error() const override { return error_; }

 private:
  // The first error is kept; once the snapshot is lost, nothing is read.
  void note(error e) const {
    if (!error_) error_ = std::move(e);
  }

  // Runs s in the reader's transaction; its rows live as long as the reader
  // (object_record views point into them). nullptr after any error.
  const pq::rows* run(const pq::statement& s, const pq::params& p) const {
    if (!lease_ || failed_) return nullptr;
    if (!begun_) {
      auto b = (*lease_)->begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      if (!b) {
        failed_ = true;
        note(b.error());
        return nullptr;
      }
      begun_ = true;
    }
    auto r = (*lease_)->run(s, p);
    if (!r) {
      // The transaction is aborted (or the connection gone): its snapshot
      // cannot be read any more.
      failed_ = true;
      note(r.error());
      return nullptr;
    }
    kept_.push_back(std::move(*r));
    return &kept_.back();
  }

  // The live versions of one object in versions() order, read once.
  const std::vector<keyed_version>& versions_of(collection_key c, std::string_view id) const {
    auto key = std::make_pair(c, std::string(id));
    if (auto known = versions_.find(key); known != versions_.end()) return known->second;
    std::vector<keyed_version> out;
    if (const pq::rows* r = run(k_versions, pq::params().integer(c).text(id))) {
      out.reserve(static_cast<std::size_t>(r->size()));
      for (int i = 0; i < r->size(); ++i) {
        out.push_back({record_at(*r, i, c), r->text(i, 9)});
        by_position_.emplace(std::make_pair(c, out.back().record.date_added), out.back().record);
      }
      std::sort(out.begin(), out.end(), versions_order);
    }
    return versions_.emplace(std::move(key), std::move(out)).first->second;
  }

  // For a record of the last scan chunk: the position of its object's only
  // live version, 0 when it has none, std::nullopt when it has several (or
  // r is not from that chunk). A chunk read without column 9 asks for its
  // ids' counts in one query.
  std::optional<micros> single_position(const object_record& r) const {
    if (!chunk_ || r.collection != chunk_collection_) return std::nullopt;
    rank_asked_ = true;
    if (chunk_ranked_) {
      // Column 9: whether the object has other live versions.
      int lo = 0, hi = chunk_->size();
      while (lo < hi) {
        const int mid = lo + (hi - lo) / 2;
        if (chunk_->integer(mid, 0) < r.date_added) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      if (lo == chunk_->size() || chunk_->integer(lo, 0) != r.date_added ||
          chunk_->text(lo, 1) != r.id || chunk_->boolean(lo, 9)) {
        return std::nullopt;
      }
      return r.date_added;
    }
    if (counted_ != chunk_) {
      counted_ = chunk_;
      if (single_collection_ != r.collection) {
        single_.clear();
        single_collection_ = r.collection;
      }
      std::vector<std::string_view> ids;
      for (int i = 0; i < chunk_->size(); ++i) {
        const std::string_view id = chunk_->text(i, 1);
        if (!single_.contains(id)) ids.push_back(id);
      }
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      if (!ids.empty()) {
        const pq::rows* counts =
            run(k_version_counts, pq::params().integer(r.collection).text_array(ids));
        if (!counts) return std::nullopt;
        for (const std::string_view id : ids) single_.emplace(id, 0);
        for (int i = 0; i < counts->size(); ++i) {
          single_[counts->text(i, 0)] = counts->integer(i, 1) == 1 ? counts->integer(i, 2) : -1;
        }
      }
    }
    auto known = single_.find(r.id);
    if (known == single_.end() || known->second < 0) return std::nullopt;
    return known->second;
  }

  mutable std::optional<pq::pool::lease> lease_;
  std::function<micros()> now_;
  micros retention_;
  mutable bool begun_ = false;
  mutable bool failed_ = false;
  mutable std::optional<error> error_;
  mutable std::deque<pq::rows> kept_;
  mutable std::uint64_t read_ = 0;
  mutable std::map<std::pair<collection_key, std::string>, std::vector<keyed_version>> versions_;
  mutable std::map<std::pair<collection_key, micros>, object_record> by_position_;
  // The last scan chunk, and what its ids' version counts said (views into
  // kept_ rows; -1: several versions).
  mutable const pq::rows* chunk_ = nullptr;
  mutable bool chunk_ranked_ = false;  // chunk_ has column 9
  mutable bool rank_wanted_ = true;    // the next chunk gets column 9
  mutable bool rank_asked_ = false;    // version_rank() asked about chunk_
  mutable collection_key chunk_collection_ = 0;
  mutable const pq::rows* counted_ = nullptr;
  mutable collection_key single_collection_ = 0;
  mutable std::unordered_map<std::string_view, micros> single_;
};

}  // namespace

std::unique_ptr<reader> make_reader(result<pq::pool::lease> lease, std::function<micros()> now,
                                    micros status_retention) {
  return std::make_unique<pg_reader>(std::move(lease), std::move(now),
                                     retention_of(status_retention));
}

}  // namespace cairn::storage::pg
