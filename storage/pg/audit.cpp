#include "storage/pg/audit.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "formats/base64.hpp"
#include "formats/json.hpp"
#include "formats/time.hpp"
#include "storage/audit_stats.hpp"
#include "storage/postgres_store.hpp"

namespace cairn::storage::pg {

const char* const audit_schema_sql = R"sql(
CREATE TABLE audit (
  seq bigint PRIMARY KEY,
  time bigint NOT NULL,
  action smallint NOT NULL,
  account text NOT NULL,
  api_root text NOT NULL,
  collection text NOT NULL,
  objects integer NOT NULL,
  key integer NOT NULL DEFAULT 0,
  first_position bigint,
  last_position bigint,
  runs bigint[],
  hash bytea NOT NULL,
  leaf bytea NOT NULL,
  json text NOT NULL);
CREATE INDEX audit_by_time ON audit (time, seq);
CREATE INDEX audit_by_collection ON audit (collection, seq);
CREATE INDEX audit_by_action ON audit (action, seq);
CREATE INDEX audit_by_position ON audit USING gist
  (box(point(key, first_position), point(key, last_position))) WHERE key <> 0;
CREATE TABLE audit_accounts (account text NOT NULL, seq bigint NOT NULL,
                             PRIMARY KEY (account, seq));
CREATE TABLE audit_objects (object bigint NOT NULL, seq bigint NOT NULL,
                            PRIMARY KEY (object, seq));
CREATE TABLE audit_nodes (height smallint NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL,
                          PRIMARY KEY (height, idx));
CREATE TABLE audit_checkpoints (tree_size bigint PRIMARY KEY, json text NOT NULL);
)sql";

namespace {

namespace merkle = formats::merkle;
using merkle::digest;

constexpr unsigned k_node_stride = 8;  // stored node heights are multiples of this
// An object query gives up beyond this many candidate records (as the LMDB log).
constexpr std::size_t k_max_object_candidates = 2'000'000;
// Records per statement when importing or verifying.
constexpr std::size_t k_chunk_records = 256;

constexpr std::string_view k_actions[] = {"publish",      "pull",   "delete", "denied",
                                          "auth-failure", "config", "alert"};

// 1..7 as the LMDB log's codes; 0 for an unknown name.
int action_code(std::string_view name) {
  for (std::size_t i = 0; i < std::size(k_actions); ++i) {
    if (k_actions[i] == name) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool names_collection_always(std::string_view action) {
  return action == "publish" || action == "pull" || action == "delete";
}

// The audit_objects key of an object id: the first 8 bytes of its SHA-256.
std::int64_t object_key(std::string_view id) {
  const digest d = merkle::sha256(id);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
  return static_cast<std::int64_t>(v);
}

// What a record's JSON holds for an entry naming this object id.
std::string object_needle(std::string_view id) {
  std::string out;
  formats::append_audit_object(out, true, id, "");
  return out.substr(0, out.size() - 3);  // up to the version's opening quote
}

std::string array_literal(const std::vector<std::int64_t>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(v[i]);
  }
  out += '}';
  return out;
}

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

std::unexpected<error> damaged(std::string what) {
  return fail(errc::io, "the audit log is damaged: " + std::move(what));
}

// ---------------------------------------------------------------- positions

// A record whose first objects are versions at positions is stored with its
// JSON without them ("objects" holds only the others), and they are put
// back from the objects table (whose rows are never removed) when read.
// (The LIMIT keeps the lookup a range scan of the objects' primary key per
// run, whatever the plan's estimates.)
const pq::statement k_versions{
    "audit_versions",
    "SELECT a.seq, o.date_added, o.id, o.version FROM audit a "
    "CROSS JOIN LATERAL generate_subscripts(a.runs, 1) AS g(i) "
    "CROSS JOIN LATERAL (SELECT o.date_added, o.id, o.version FROM objects o "
    "WHERE o.collection = a.key AND o.date_added >= a.runs[g.i] "
    "AND o.date_added < a.runs[g.i] + a.runs[g.i + 1] "
    "ORDER BY o.date_added LIMIT a.runs[g.i + 1]) o "
    "WHERE a.seq = ANY($1::bigint[]) AND a.key <> 0 AND g.i % 2 = 1"};

// The positioned versions of these records, as the entries of their
// "objects" arrays (comma-separated), and how many each has.
struct positioned_entries {
  std::string text;
  std::size_t count = 0;
};
result<std::map<std::int64_t, positioned_entries>> versions_of(
    pq::connection& c, const std::vector<std::int64_t>& seqs) {
  std::map<std::int64_t, positioned_entries> out;
  if (seqs.empty()) return out;
  auto rows = c.run(k_versions, pq::params().integer_array(seqs));
  if (!rows) return std::unexpected(rows.error());
  std::vector<std::tuple<std::int64_t, std::int64_t, int>> order;  // seq, position, row
  order.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    order.emplace_back(rows->integer(i, 0), rows->integer(i, 1), i);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [seq, position, i] : order) {
    auto& e = out[seq];
    formats::append_audit_object(e.text, e.count == 0, rows->text(i, 2), rows->text(i, 3));
    ++e.count;
  }
  return out;
}

// The record's JSON from its stored form and its positioned entries.
result<std::string> full_json(std::string_view stored, const positioned_entries& entries) {
  constexpr std::string_view k_member = "\"objects\":[";
  const auto at = stored.find(k_member);
  if (at == std::string_view::npos) return damaged("a record has no objects member");
  const std::size_t split = at + k_member.size();
  std::string out;
  out.reserve(stored.size() + entries.text.size() + 1);
  out.append(stored.substr(0, split));
  out.append(entries.text);
  if (entries.count > 0 && stored[split] != ']') out += ',';
  out.append(stored.substr(split));
  return out;
}

// ---------------------------------------------------------------- the tree

// A stored hash: a leaf (height 0, index = seq - 1) or a node of a height
// that is a multiple of k_node_stride.
using node_key = std::pair<unsigned, std::uint64_t>;
using node_map = std::map<node_key, digest>;

bool stored_node(merkle::range r, node_key& k) {
  if (r.size() == 1) {
    k = {0, r.begin};
    return true;
  }
  if (!std::has_single_bit(r.size()) || r.begin % r.size() != 0) return false;
  const auto height = static_cast<unsigned>(std::countr_zero(r.size()));
  if (height % k_node_stride != 0) return false;
  k = {height, r.begin >> height};
  return true;
}

// The stored hashes MTH(r) is computed from.
void pieces(merkle::range r, std::vector<node_key>& out) {
  if (r.size() == 0) return;
  node_key k;
  if (stored_node(r, k)) {
    out.push_back(k);
    return;
  }
  const std::uint64_t split = merkle::split_point(r.size());
  pieces({r.begin, r.begin + split}, out);
  pieces({r.begin + split, r.end}, out);
}

digest combine(merkle::range r, const node_map& known) {
  if (r.size() == 0) return merkle::empty_root();
  node_key k;
  if (stored_node(r, k)) return known.at(k);
  const std::uint64_t split = merkle::split_point(r.size());
  return merkle::node_hash(combine({r.begin, r.begin + split}, known),
                           combine({r.begin + split, r.end}, known));
}

const pq::statement k_fetch_nodes{
    "audit_fetch_nodes",
    "SELECT 0, seq - 1, leaf FROM audit WHERE seq = ANY($1::bigint[]) "
    "UNION ALL "
    "SELECT n.height, n.idx, n.hash FROM audit_nodes n "
    "JOIN unnest($2::bigint[], $3::bigint[]) AS k(h, i) ON n.height = k.h AND n.idx = k.i"};

// Adds the wanted hashes that known lacks, from the database.
// Without require_all, missing ones are left out.
result<void> fetch(pq::connection& c, const std::vector<node_key>& wanted, node_map& known,
                   bool require_all = true) {
  std::vector<std::int64_t> leaves;
  std::vector<std::int64_t> heights;
  std::vector<std::int64_t> indexes;
  std::set<node_key> missing;
  for (const auto& k : wanted) {
    if (known.contains(k) || !missing.insert(k).second) continue;
    if (k.first == 0) {
      leaves.push_back(static_cast<std::int64_t>(k.second + 1));
    } else {
      heights.push_back(k.first);
      indexes.push_back(static_cast<std::int64_t>(k.second));
    }
  }
  if (missing.empty()) return {};
  pq::params p;
  p.integer_array(leaves).integer_array(heights).integer_array(indexes);
  auto rows = c.run(k_fetch_nodes, p);
  if (!rows) return std::unexpected(rows.error());
  for (int i = 0; i < rows->size(); ++i) {
    auto d = rows->digest(i, 2);
    if (!d) return damaged("a stored tree hash is malformed");
    const node_key k{static_cast<unsigned>(rows->integer(i, 0)),
                     static_cast<std::uint64_t>(rows->integer(i, 1))};
    known[k] = *d;
    missing.erase(k);
  }
  if (require_all && !missing.empty()) {
    const auto& [h, idx] = *missing.begin();
    return damaged(h == 0 ? "the tree leaf of record " + std::to_string(idx + 1) + " is missing"
                          : "the tree node of height " + std::to_string(h) + " index " +
                                std::to_string(idx) + " is missing");
  }
  return {};
}

// The hashes of these ranges (within the committed log).
result<std::vector<digest>> range_hashes(pq::connection& c,
                                         const std::vector<merkle::range>& ranges) {
  std::vector<node_key> wanted;
  for (const auto& r : ranges) pieces(r, wanted);
  node_map known;
  if (auto f = fetch(c, wanted, known); !f) return std::unexpected(f.error());
  std::vector<digest> out;
  out.reserve(ranges.size());
  for (const auto& r : ranges) out.push_back(combine(r, known));
  return out;
}

// ---------------------------------------------------------------- appending

// The head row, locked: appends on every node queue here, one after another.
const pq::statement k_lock_head{"audit_lock_head", "SELECT seq, hash FROM audit_head FOR UPDATE"};
// Read after the lock is held: a statement of its own, so that (READ
// COMMITTED) it sees what the head's previous holder committed.
const pq::statement k_head_details{"audit_head_details",
                                   "SELECT coalesce((SELECT time FROM audit WHERE seq = $1), 0), "
                                   "coalesce((SELECT max(tree_size) FROM audit_checkpoints), 0)"};

// Everything one append writes, as parallel arrays (one statement).
const pq::statement k_insert{
    "audit_insert",
    "WITH r AS (INSERT INTO audit (seq, time, action, account, api_root, collection, objects, "
    "key, first_position, last_position, runs, hash, leaf, json, kind) "
    "SELECT s, t, a::smallint, acct, root, coll, n::integer, k::integer, "
    "CASE WHEN k = 0 THEN NULL ELSE f END, CASE WHEN k = 0 THEN NULL ELSE l END, "
    "CASE WHEN k = 0 THEN NULL ELSE ru::bigint[] END, decode(h, 'hex'), decode(lf, 'hex'), j, kd "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], "
    "$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], "
    "$13::text[], $14::text[], $26::text[]) "
    "AS u(s, t, a, acct, root, coll, n, k, f, l, ru, h, lf, j, kd)), "
    "acc AS (INSERT INTO audit_accounts (account, seq) "
    "SELECT * FROM unnest($15::text[], $16::bigint[])), "
    "obj AS (INSERT INTO audit_objects (object, seq) "
    "SELECT * FROM unnest($17::bigint[], $18::bigint[])), "
    "nod AS (INSERT INTO audit_nodes (height, idx, hash) "
    "SELECT h::smallint, i, decode(x, 'hex') FROM unnest($19::bigint[], $20::bigint[], "
    "$21::text[]) AS v(h, i, x)), "
    "cp AS (INSERT INTO audit_checkpoints (tree_size, json) "
    "SELECT $22::bigint, $23::text WHERE $22::bigint IS NOT NULL) "
    "UPDATE audit_head SET seq = $24, hash = decode($25, 'hex')"};

// The rows of one append (or one import batch).
struct batch {
  std::vector<std::int64_t> seq, time, action, objects, key, first, last;
  std::vector<std::string> account, api_root, collection, runs, hash, leaf, json, kind;
  std::vector<std::string> index_accounts;
  std::vector<std::int64_t> index_account_seqs;
  std::vector<std::int64_t> index_objects, index_object_seqs;
  std::vector<std::int64_t> node_heights, node_indexes;
  std::vector<std::string> node_hashes;
  std::optional<std::pair<std::uint64_t, std::string>> checkpoint;  // tree size, JSON

  bool empty() const { return seq.empty(); }
  void clear() { *this = batch{}; }

  // One record. positions: of its first positions.size() objects, in key.
  void add(const formats::audit_record& r, micros t, const std::string& record_json,
           const digest& leaf_hash, collection_key k, const std::vector<micros>& positions) {
    const auto s = static_cast<std::int64_t>(r.seq);
    seq.push_back(s);
    time.push_back(t);
    action.push_back(action_code(r.action));
    account.push_back(r.account);
    api_root.push_back(r.api_root);
    collection.push_back(r.collection);
    objects.push_back(static_cast<std::int64_t>(r.objects.size()));
    const bool positioned = k != 0 && !positions.empty();
    key.push_back(positioned ? k : 0);
    first.push_back(positioned ? positions.front() : 0);
    last.push_back(positioned ? positions.back() : 0);
    std::vector<std::int64_t> run_values;
    if (positioned) {
      for (const micros p : positions) {
        if (!run_values.empty() && run_values[run_values.size() - 2] + run_values.back() == p) {
          ++run_values.back();
        } else {
          run_values.push_back(p);
          run_values.push_back(1);
        }
      }
    }
    runs.push_back(array_literal(run_values));
    hash.push_back(merkle::to_hex(r.hash));
    leaf.push_back(merkle::to_hex(leaf_hash));
    json.push_back(record_json);
    kind.push_back(r.kind);

    std::set<std::string_view> names;
    if (!r.account.empty()) names.insert(r.account);
    for (const auto& [name, n] : r.accounts) names.insert(name);
    for (const auto name : names) {
      index_accounts.emplace_back(name);
      index_account_seqs.push_back(s);
    }
    std::set<std::int64_t> ids;
    const std::size_t from = positioned ? positions.size() : 0;
    for (std::size_t i = from; i < r.objects.size(); ++i) ids.insert(object_key(r.objects[i].id));
    for (const auto id : ids) {
      index_objects.push_back(id);
      index_object_seqs.push_back(s);
    }
  }

  void add_node(const node_key& k, const digest& d) {
    node_heights.push_back(k.first);
    node_indexes.push_back(static_cast<std::int64_t>(k.second));
    node_hashes.push_back(merkle::to_hex(d));
  }

  result<void> write(pq::connection& c, std::uint64_t head_seq, const digest& head_hash) const {
    pq::params p;
    p.integer_array(seq).integer_array(time).integer_array(action);
    p.text_array(views(account)).text_array(views(api_root)).text_array(views(collection));
    p.integer_array(objects).integer_array(key).integer_array(first).integer_array(last);
    p.text_array(views(runs)).text_array(views(hash)).text_array(views(leaf));
    p.text_array(views(json));
    p.text_array(views(index_accounts)).integer_array(index_account_seqs);
    p.integer_array(index_objects).integer_array(index_object_seqs);
    p.integer_array(node_heights).integer_array(node_indexes).text_array(views(node_hashes));
    if (checkpoint) {
      p.integer(static_cast<std::int64_t>(checkpoint->first)).text(checkpoint->second);
    } else {
      p.null().null();
    }
    p.integer(static_cast<std::int64_t>(head_seq)).text(merkle::to_hex(head_hash));
    p.text_array(views(kind));
    auto done = c.run(k_insert, p);
    if (!done) return std::unexpected(done.error());
    return {};
  }
};

// The delivery statistics (store::audit_stats) of the pull records just
// written (seqs first..last), added to their hours' counters
// (schema_audit_v2.cpp) in the same transaction.
const pq::statement k_count_deliveries{
    "audit_count_deliveries",
    "INSERT INTO audit_stats (hour, account, api_root, collection, records, objects) "
    "SELECT time - time % 3600000000, account, api_root, collection, count(*), sum(objects) "
    "FROM audit WHERE seq BETWEEN $1 AND $2 AND action = 2 GROUP BY 1, 2, 3, 4 "
    "ON CONFLICT (hour, account, api_root, collection) DO UPDATE SET "
    "records = audit_stats.records + EXCLUDED.records, "
    "objects = audit_stats.objects + EXCLUDED.objects"};

result<void> count_deliveries(pq::connection& c, std::uint64_t first, std::uint64_t last) {
  if (first > last) return {};
  auto done = c.run(k_count_deliveries, pq::params()
                                            .integer(static_cast<std::int64_t>(first))
                                            .integer(static_cast<std::int64_t>(last)));
  if (!done) return std::unexpected(done.error());
  return {};
}

// The nodes that leaves [old_size, new_size) complete, in the order they can
// be computed (each from its 256 children).
std::vector<node_key> completed_nodes(std::uint64_t old_size, std::uint64_t new_size) {
  std::vector<node_key> out;
  for (std::uint64_t n = old_size + 1; n <= new_size; ++n) {
    for (unsigned h = k_node_stride; h < 64; h += k_node_stride) {
      const std::uint64_t width = std::uint64_t{1} << h;
      if (n % width != 0) break;
      out.push_back({h, n / width - 1});
    }
  }
  return out;
}

std::vector<node_key> children(const node_key& k) {
  std::vector<node_key> out;
  out.reserve(std::size_t{1} << k_node_stride);
  for (std::uint64_t j = 0; j < (std::uint64_t{1} << k_node_stride); ++j) {
    out.push_back({k.first - k_node_stride, (k.second << k_node_stride) + j});
  }
  return out;
}

// Computes the nodes the leaves [old_size, new_size) complete into known
// (which holds those leaves), adds them to b, and returns the root of the
// first new_size leaves when want_root.
result<digest> grow_tree(pq::connection& c, std::uint64_t old_size, std::uint64_t new_size,
                         node_map& known, batch& b, bool want_root) {
  const auto made = completed_nodes(old_size, new_size);
  const std::set<node_key> fresh(made.begin(), made.end());
  std::vector<node_key> wanted;
  for (const auto& k : made) {
    for (const auto& child : children(k)) {
      if (!fresh.contains(child)) wanted.push_back(child);
    }
  }
  if (want_root) {
    std::vector<node_key> root_pieces;
    pieces({0, new_size}, root_pieces);
    for (const auto& k : root_pieces) {
      if (!fresh.contains(k)) wanted.push_back(k);
    }
  }
  if (auto f = fetch(c, wanted, known); !f) return std::unexpected(f.error());
  for (const auto& k : made) {
    std::vector<digest> below;
    below.reserve(std::size_t{1} << k_node_stride);
    for (const auto& child : children(k)) below.push_back(known.at(child));
    const digest d = merkle::root_of(below);
    known[k] = d;
    b.add_node(k, d);
  }
  return want_root ? combine({0, new_size}, known) : digest{};
}

}  // namespace

// ---------------------------------------------------------------- records

result<audit_append> audit_append_of(const audit_entry& entry) {
  if (action_code(entry.action) == 0) {
    return fail(errc::internal, "unknown audit action '" + entry.action + "'");
  }
  if (!entry.delivered.empty() && entry.key == 0) {
    return fail(errc::internal, "delivered versions need their collection key");
  }
  if (names_collection_always(entry.action) && entry.collection.empty()) {
    return fail(errc::internal, "a " + entry.action + " record must name its collection");
  }
  audit_append out = audit_append_of(entry, entry.action, {});
  out.record.sha256 = entry.sha256;
  out.record.suppressed = entry.suppressed;
  out.record.accounts = entry.accounts;
  out.record.kind = entry.kind;
  out.record.detail = entry.detail;
  out.record.evidence = entry.evidence;
  auto& evidence = out.record.evidence;
  std::sort(evidence.begin(), evidence.end());
  evidence.erase(std::unique(evidence.begin(), evidence.end()), evidence.end());
  if (entry.action == "alert" && !entry.delivered.empty()) {
    return fail(errc::internal, "an alert record lists no object versions");
  }
  if (auto checked = formats::check_alert_members(out.record); !checked) {
    return fail(errc::internal, checked.error().message);
  }
  std::vector<const audit_delivery::item*> items;
  items.reserve(entry.delivered.items.size());
  for (const auto& it : entry.delivered.items) items.push_back(&it);
  std::stable_sort(items.begin(), items.end(),
                   [](const auto* a, const auto* b) { return a->position < b->position; });
  out.record.objects.reserve(items.size());
  out.positions.reserve(items.size());
  for (const auto* it : items) {
    if (!out.positions.empty() && out.positions.back() == it->position) continue;
    out.record.objects.push_back({it->id, it->version});
    out.positions.push_back(it->position);
  }
  out.key = out.positions.empty() ? 0 : entry.key;
  return out;
}

audit_append audit_append_of(const audit_entry& entry, std::string_view action,
                             std::vector<formats::audit_object> objects, collection_key key,
                             std::vector<micros> positions) {
  audit_append out;
  formats::audit_record& r = out.record;
  r.account = entry.account;
  r.action = std::string(action);
  r.remote = entry.remote;
  r.api_root = entry.api_root;
  r.collection = entry.collection;
  r.status = std::clamp(entry.status, 0, 65535);
  r.objects = std::move(objects);
  if (key != 0 && !positions.empty() && positions.size() <= r.objects.size()) {
    out.key = key;
    out.positions = std::move(positions);
  }
  return out;
}

audit::audit(formats::ed25519_key key, audit_settings s)
    : key_(std::move(key)), public_pem_(key_.public_pem()), settings_(s) {}

result<std::vector<std::uint64_t>> audit::append(pq::connection& c,
                                                 std::vector<formats::audit_record> records,
                                                 micros now) {
  std::vector<audit_append> all;
  all.reserve(records.size());
  for (auto& r : records) all.push_back({std::move(r), 0, {}});
  return append(c, std::move(all), now);
}

result<std::vector<std::uint64_t>> audit::append(pq::connection& c,
                                                 std::vector<audit_append> records, micros now) {
  std::vector<std::uint64_t> seqs;
  if (records.empty()) return seqs;
  auto head = c.run(k_lock_head);
  if (!head) return std::unexpected(head.error());
  if (head->size() != 1) return damaged("audit_head has no row");
  const auto last_seq = static_cast<std::uint64_t>(head->integer(0, 0));
  auto last_hash = head->digest(0, 1);
  if (!last_hash) return damaged("audit_head's hash is malformed");
  auto details = c.run(k_head_details, pq::params().integer(head->integer(0, 0)));
  if (!details) return std::unexpected(details.error());
  micros last_time = details->integer(0, 0);
  const auto covered = static_cast<std::uint64_t>(details->integer(0, 1));

  batch b;
  node_map known;
  digest prev = *last_hash;
  std::uint64_t seq = last_seq;
  seqs.reserve(records.size());
  for (auto& a : records) {
    formats::audit_record& r = a.record;
    if (action_code(r.action) == 0) {
      return fail(errc::internal, "unknown audit action '" + r.action + "'");
    }
    if (auto checked = formats::check_alert_members(r); !checked) {
      return fail(errc::internal, checked.error().message);
    }
    const micros t = std::max(now, last_time);
    r.seq = ++seq;
    r.time = formats::format_taxii_time(t);
    r.prev = prev;
    const std::string objects_json = formats::audit_objects_json(r.objects);
    const std::string body = formats::audit_body(r, objects_json);
    r.hash = formats::audit_chain_hash(prev, body);
    const digest leaf = merkle::leaf_hash(body);
    known[{0, r.seq - 1}] = leaf;
    if (a.positions.size() > r.objects.size() ||
        !std::is_sorted(a.positions.begin(), a.positions.end(), std::less_equal<>())) {
      a.positions.clear();  // not a position list: the objects go by id
    }
    std::string stored;
    if (a.key != 0 && !a.positions.empty()) {
      stored = formats::audit_record_json(
          r, formats::audit_objects_json(std::span(r.objects).subspan(a.positions.size())));
    } else {
      stored = formats::audit_record_json(r, objects_json);
    }
    b.add(r, t, stored, leaf, a.key, a.positions);
    prev = r.hash;
    last_time = t;
    seqs.push_back(r.seq);
  }
  const bool sign_now = seq - covered >= settings_.checkpoint_records;
  auto root = grow_tree(c, last_seq, seq, known, b, sign_now);
  if (!root) return std::unexpected(root.error());
  if (sign_now) {
    auto cp = sign(c, seq, *root, prev, now);
    if (!cp) return std::unexpected(cp.error());
    b.checkpoint.emplace(seq, formats::checkpoint_json(*cp));
  }
  if (auto w = b.write(c, seq, prev); !w) return std::unexpected(w.error());
  if (auto n = count_deliveries(c, last_seq + 1, seq); !n) return std::unexpected(n.error());
  return seqs;
}

result<formats::audit_checkpoint> audit::sign(pq::connection&, std::uint64_t size,
                                              const digest& root, const digest& chain,
                                              micros now) const {
  formats::audit_checkpoint cp;
  cp.tree_size = size;
  cp.root_hash = root;
  cp.chain_hash = chain;
  cp.time = formats::format_taxii_time(now);
  cp.public_key = public_pem_;
  const std::string sig = key_.sign(formats::checkpoint_signed_text(cp));
  if (sig.empty()) return fail(errc::internal, "cannot sign the audit checkpoint");
  cp.signature = formats::base64_encode(sig);
  return cp;
}

namespace {

const pq::statement k_latest_checkpoint{
    "audit_latest_checkpoint",
    "SELECT json FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1"};
const pq::statement k_insert_checkpoint{
    "audit_insert_checkpoint", "INSERT INTO audit_checkpoints (tree_size, json) VALUES ($1, $2)"};

result<std::optional<formats::audit_checkpoint>> latest_checkpoint(pq::connection& c) {
  auto rows = c.run(k_latest_checkpoint);
  if (!rows) return std::unexpected(rows.error());
  if (rows->size() == 0) return std::optional<formats::audit_checkpoint>();
  auto cp = formats::parse_checkpoint(rows->text(0, 0));
  if (!cp) return damaged("the latest checkpoint: " + cp.error().message);
  return std::optional<formats::audit_checkpoint>(std::move(*cp));
}

}  // namespace

result<formats::audit_checkpoint> audit::checkpoint_now(pq::connection& c, micros now) {
  auto head = c.run(k_lock_head);
  if (!head) return std::unexpected(head.error());
  if (head->size() != 1) return damaged("audit_head has no row");
  const auto size = static_cast<std::uint64_t>(head->integer(0, 0));
  auto chain = head->digest(0, 1);
  if (!chain) return damaged("audit_head's hash is malformed");
  auto latest = latest_checkpoint(c);
  if (!latest) return std::unexpected(latest.error());
  if (*latest && (*latest)->tree_size >= size) return std::move(**latest);
  if (size == 0) return fail(errc::not_found, "the audit log is empty");
  auto root = range_hashes(c, {{0, size}});
  if (!root) return std::unexpected(root.error());
  auto cp = sign(c, size, root->front(), *chain, now);
  if (!cp) return cp;
  pq::params p;
  p.integer(static_cast<std::int64_t>(size)).text(formats::checkpoint_json(*cp));
  if (auto w = c.run(k_insert_checkpoint, p); !w) return std::unexpected(w.error());
  return cp;
}

// ---------------------------------------------------------------- reads

namespace {

const pq::statement k_size{"audit_size", "SELECT seq FROM audit_head"};
const pq::statement k_record{"audit_record", "SELECT json, key FROM audit WHERE seq = $1"};

result<std::uint64_t> log_size(pq::connection& c) {
  auto rows = c.run(k_size);
  if (!rows) return std::unexpected(rows.error());
  if (rows->size() != 1) return damaged("audit_head has no row");
  return static_cast<std::uint64_t>(rows->integer(0, 0));
}

// The seq range a query's paging point and time bounds allow (times never
// decrease along seq), and the log's size.
const pq::statement k_range{
    "audit_range",
    "SELECT h.seq, "
    "CASE WHEN $1::bigint IS NULL THEN 1 ELSE coalesce((SELECT seq FROM audit WHERE time >= $1 "
    "ORDER BY time, seq LIMIT 1), h.seq + 1) END, "
    "CASE WHEN $2::bigint IS NULL THEN h.seq ELSE coalesce((SELECT seq FROM audit "
    "WHERE time <= $2 ORDER BY time DESC, seq DESC LIMIT 1), 0) END "
    "FROM audit_head h"};

// A page: candidates from a driver (the index a filter names, as the LMDB
// log walks it) in seq order, numbered (the examined count), the other
// filters, and each hit's JSON while the page has room for its objects.
// $1, $2: seq range; $3: candidates to read; $4..$9: filters; $10: objects
// per page; $11: the driver's value; $12: rows wanted; $13: the alert kind
// filter.
std::string page_sql(std::string_view driver) {
  std::string s = "WITH d AS (";
  s += driver;
  s += " AND seq BETWEEN $1 AND $2 ORDER BY seq LIMIT $3), "
       "c AS (SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM d), "
       "m AS (SELECT c.seq, c.rn, a.objects, a.json, a.key FROM c JOIN audit a ON a.seq = c.seq "
       "WHERE c.rn = $3 OR (($4::text IS NULL OR EXISTS (SELECT 1 FROM audit_accounts x "
       "WHERE x.account = $4 AND x.seq = a.seq)) "
       "AND ($5::text IS NULL OR a.collection = $5) "
       "AND ($6::smallint IS NULL OR a.action = $6) "
       "AND ($13::text IS NULL OR a.kind = $13) "
       "AND (NOT $7::boolean OR a.collection = '' OR EXISTS (SELECT 1 FROM "
       "unnest($8::text[], $9::text[]) AS s(r, i) WHERE s.r = a.api_root AND "
       "s.i = a.collection)))) "
       "SELECT seq, rn, objects, CASE WHEN coalesce(sum(objects) OVER w, 0) < $10 "
       "THEN json END, key FROM m "
       "WINDOW w AS (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) "
       "ORDER BY seq LIMIT $12";
  return s;
}

enum class driver { all, account, collection, scope, action, seqs, kind };

const pq::statement& page_statement(driver d) {
  static const std::string sql[] = {
      page_sql("SELECT seq FROM audit WHERE $11::text IS NULL"),
      page_sql("SELECT seq FROM audit_accounts WHERE account = $11::text"),
      page_sql("SELECT seq FROM audit WHERE collection = $11::text"),
      page_sql("SELECT seq FROM audit WHERE (collection = ANY($11::text[]) OR "
               "($6::smallint IS NULL AND action IN (4, 5, 6, 7)))"),
      page_sql("SELECT seq FROM audit WHERE action = $11::smallint"),
      page_sql("SELECT seq FROM unnest($11::bigint[]) AS u(seq) WHERE true"),
      // (kind <> '' lets the planner use the partial index.)
      page_sql("SELECT seq FROM audit WHERE kind = $11::text AND kind <> ''"),
  };
  static const pq::statement statements[] = {
      {"audit_page_all", sql[0].c_str()},        {"audit_page_account", sql[1].c_str()},
      {"audit_page_collection", sql[2].c_str()}, {"audit_page_scope", sql[3].c_str()},
      {"audit_page_action", sql[4].c_str()},     {"audit_page_seqs", sql[5].c_str()},
      {"audit_page_kind", sql[6].c_str()},
  };
  return statements[static_cast<int>(d)];
}

// The records that may list the object: those whose positions cover one of
// its versions' (live or deleted) positions, with the position and runs to
// check, and those naming it by id.
// (The materialised CTE and the laterals' LIMIT and OFFSET 0 keep each
// step an index probe per row, whatever the plan's estimates: the object's
// versions by objects_by_id per collection, then audit_by_position per
// version.)
const pq::statement k_object_candidates{
    "audit_object_candidates",
    "WITH pos AS MATERIALIZED (SELECT c.key, p.date_added FROM collections c "
    "CROSS JOIN LATERAL (SELECT o.date_added FROM objects o WHERE o.collection = c.key "
    "AND o.id = $1 LIMIT $8) p "
    "WHERE NOT $2::boolean OR c.key = ANY($5::bigint[])) "
    "SELECT r.seq, pos.date_added, r.runs FROM pos "
    "CROSS JOIN LATERAL (SELECT a.seq, a.runs FROM audit a WHERE a.key <> 0 AND "
    "box(point(a.key, a.first_position), point(a.key, a.last_position)) @> "
    "box(point(pos.key, pos.date_added), point(pos.key, pos.date_added)) OFFSET 0) r "
    "WHERE r.seq BETWEEN $3 AND $4 "
    "UNION ALL "
    "SELECT x.seq, NULL, NULL FROM audit_objects x JOIN audit a ON a.seq = x.seq "
    "WHERE x.object = $6 AND x.seq BETWEEN $3 AND $4 AND strpos(a.json, $7) > 0 "
    "LIMIT $8"};

// Does the runs array literal ({start,length,...}) hold position p?
bool runs_hold(std::string_view runs, micros p) {
  if (runs.size() < 2 || runs.front() != '{' || runs.back() != '}') return false;
  runs = runs.substr(1, runs.size() - 2);
  std::int64_t values[2];
  int n = 0;
  while (!runs.empty()) {
    const auto comma = runs.find(',');
    const std::string_view item = runs.substr(0, comma);
    std::int64_t v = 0;
    for (const char ch : item) {
      if (ch < '0' || ch > '9') return false;
      v = v * 10 + (ch - '0');
    }
    values[n++] = v;
    if (n == 2) {
      if (p >= values[0] && p < values[0] + values[1]) return true;
      n = 0;
    }
    if (comma == std::string_view::npos) break;
    runs.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

result<audit_page> audit::query(pq::connection& c, const audit_query& q) const {
  const std::size_t limit = std::clamp<std::size_t>(q.limit, 1, max_audit_limit);
  const int act = q.action.empty() ? 0 : action_code(q.action);
  if (!q.action.empty() && act == 0) return fail("unknown action '" + q.action + "'");
  if (!q.kind.empty() && !formats::is_alert_kind(q.kind)) {
    return fail("unknown alert kind '" + q.kind + "'");
  }

  pq::params rp;
  if (q.since) {
    rp.integer(*q.since);
  } else {
    rp.null();
  }
  if (q.until) {
    rp.integer(*q.until);
  } else {
    rp.null();
  }
  auto range = c.run(k_range, rp);
  if (!range) return std::unexpected(range.error());
  if (range->size() != 1) return damaged("audit_head has no row");
  const auto size = static_cast<std::uint64_t>(range->integer(0, 0));
  const std::uint64_t lo =
      std::max<std::uint64_t>(q.after + 1, static_cast<std::uint64_t>(range->integer(0, 1)));
  const std::uint64_t hi = std::min<std::uint64_t>(
      size, static_cast<std::uint64_t>(std::max<std::int64_t>(range->integer(0, 2), 0)));
  audit_page page;
  if (q.after >= size || lo > hi) return page;

  // The driver, as the LMDB log chooses its walk.
  driver d = driver::all;
  std::size_t candidates = max_audit_examined + 1;
  std::vector<std::string_view> driver_ids;
  std::vector<std::string> scope_roots;
  std::vector<std::string> scope_ids;
  if (q.scope) {
    for (const auto& [root, id] : q.scope->collections) {
      scope_roots.push_back(root);
      scope_ids.push_back(id);
    }
  }
  std::vector<std::int64_t> object_seqs;
  if (!q.object.empty()) {
    d = driver::seqs;
    std::vector<std::int64_t> keys;
    if (q.scope) keys.assign(q.scope->keys.begin(), q.scope->keys.end());
    pq::params op;
    op.text(q.object).boolean(q.scope.has_value());
    op.integer(static_cast<std::int64_t>(lo)).integer(static_cast<std::int64_t>(hi));
    op.integer_array(keys).integer(object_key(q.object)).text(object_needle(q.object));
    op.integer(static_cast<std::int64_t>(k_max_object_candidates) + 1);
    auto found = c.run(k_object_candidates, op);
    if (!found) return std::unexpected(found.error());
    if (static_cast<std::size_t>(found->size()) > k_max_object_candidates) {
      return fail(errc::too_many, "object " + q.object +
                                      " is in too many records for one query: narrow it with "
                                      "since and until");
    }
    for (int i = 0; i < found->size(); ++i) {
      if (!found->is_null(i, 1) && !runs_hold(found->text(i, 2), found->integer(i, 1))) continue;
      object_seqs.push_back(found->integer(i, 0));
    }
    std::sort(object_seqs.begin(), object_seqs.end());
    object_seqs.erase(std::unique(object_seqs.begin(), object_seqs.end()), object_seqs.end());
    if (object_seqs.empty()) return page;
    candidates = object_seqs.size() + 1;  // no examined limit: every candidate is read
  } else if (!q.kind.empty()) {
    d = driver::kind;  // alerts are few
  } else if (!q.account.empty()) {
    d = driver::account;
  } else if (!q.collection.empty()) {
    d = driver::collection;
  } else if (q.scope && (act == 0 || names_collection_always(q.action))) {
    d = driver::scope;
    for (const auto& id : std::set<std::string_view>(scope_ids.begin(), scope_ids.end())) {
      driver_ids.push_back(id);
    }
  } else if (act != 0) {
    d = driver::action;
  }

  pq::params p;
  p.integer(static_cast<std::int64_t>(lo)).integer(static_cast<std::int64_t>(hi));
  p.integer(static_cast<std::int64_t>(candidates));
  if (q.account.empty()) {
    p.null();
  } else {
    p.text(q.account);
  }
  if (q.collection.empty()) {
    p.null();
  } else {
    p.text(q.collection);
  }
  if (act == 0) {
    p.null();
  } else {
    p.integer(act);
  }
  p.boolean(q.scope.has_value()).text_array(views(scope_roots)).text_array(views(scope_ids));
  p.integer(static_cast<std::int64_t>(max_audit_page_objects));
  switch (d) {  // $11
    case driver::seqs: p.integer_array(object_seqs); break;
    case driver::account: p.text(q.account); break;
    case driver::collection: p.text(q.collection); break;
    case driver::scope: p.text_array(driver_ids); break;
    case driver::action: p.integer(act); break;
    case driver::kind: p.text(q.kind); break;
    case driver::all: p.null(); break;
  }
  p.integer(static_cast<std::int64_t>(limit) + 2);
  if (q.kind.empty()) {
    p.null();
  } else {
    p.text(q.kind);
  }
  auto rows = c.run(page_statement(d), p);
  if (!rows) return std::unexpected(rows.error());
  std::size_t objects = 0;
  std::vector<std::pair<std::size_t, std::uint64_t>> positioned;  // page index, seq
  for (int i = 0; i < rows->size(); ++i) {
    const auto seq = static_cast<std::uint64_t>(rows->integer(i, 0));
    if (d != driver::seqs && static_cast<std::size_t>(rows->integer(i, 1)) > max_audit_examined) {
      page.more = true;
      page.resume = seq - 1;
      break;
    }
    if (page.records.size() == limit || (objects >= max_audit_page_objects && objects > 0)) {
      page.more = true;
      break;
    }
    if (rows->is_null(i, 3)) return damaged("record " + std::to_string(seq) + " has no JSON");
    page.records.emplace_back(rows->text(i, 3));
    if (rows->integer(i, 4) != 0) positioned.emplace_back(page.records.size() - 1, seq);
    page.resume = seq;
    objects += static_cast<std::size_t>(rows->integer(i, 2));
  }
  if (!positioned.empty()) {
    std::vector<std::int64_t> seqs;
    for (const auto& [index, seq] : positioned) seqs.push_back(static_cast<std::int64_t>(seq));
    auto versions = versions_of(c, seqs);
    if (!versions) return std::unexpected(versions.error());
    for (const auto& [index, seq] : positioned) {
      auto json = full_json(page.records[index], (*versions)[static_cast<std::int64_t>(seq)]);
      if (!json) return std::unexpected(json.error());
      page.records[index] = std::move(*json);
    }
  }
  return page;
}

const pq::statement k_stats{
    "audit_stats",
    "SELECT hour, account, api_root, collection, records, objects FROM audit_stats "
    "WHERE hour BETWEEN $1 AND $2 AND ($3 = '' OR collection = $3) ORDER BY hour LIMIT $4"};

result<std::vector<audit_stats_point>> audit::stats(pq::connection& c,
                                                    const audit_stats_query& q) const {
  namespace si = audit_stats_index;
  const auto window = si::window_of(q);
  si::accumulator sum(q);
  if (window.first > window.last) return sum.points();
  pq::params p;
  p.integer(window.first).integer(window.last).text(q.collection);
  p.integer(static_cast<std::int64_t>(max_audit_examined) + 1);
  auto rows = c.run(k_stats, p);
  if (!rows) return std::unexpected(rows.error());
  if (static_cast<std::size_t>(rows->size()) > max_audit_examined) {
    return fail(errc::too_many,
                "the statistics would read more than " + std::to_string(max_audit_examined) +
                    " hourly counters: narrow since and until, or name a collection");
  }
  for (int i = 0; i < rows->size(); ++i) {
    if (!si::wanted(q, rows->text(i, 2), rows->text(i, 3))) continue;
    if (!sum.add(rows->text(i, 1), rows->integer(i, 0),
                 static_cast<std::uint64_t>(rows->integer(i, 4)),
                 static_cast<std::uint64_t>(rows->integer(i, 5)))) {
      return si::too_many_points();
    }
  }
  return sum.points();
}

result<std::optional<std::string>> audit::record_json(pq::connection& c, std::uint64_t seq) const {
  if (seq == 0 || seq > static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::string>();
  }
  pq::params p;
  p.integer(static_cast<std::int64_t>(seq));
  auto rows = c.run(k_record, p);
  if (!rows) return std::unexpected(rows.error());
  if (rows->size() == 0) return std::optional<std::string>();
  if (rows->integer(0, 1) == 0) return std::optional<std::string>(std::string(rows->text(0, 0)));
  auto versions = versions_of(c, {static_cast<std::int64_t>(seq)});
  if (!versions) return std::unexpected(versions.error());
  auto json = full_json(rows->text(0, 0), (*versions)[static_cast<std::int64_t>(seq)]);
  if (!json) return std::unexpected(json.error());
  return std::optional<std::string>(std::move(*json));
}

result<std::uint64_t> audit::size(pq::connection& c) const {
  return log_size(c);
}

result<std::optional<formats::audit_checkpoint>> audit::checkpoint(pq::connection& c) const {
  return latest_checkpoint(c);
}

result<std::vector<digest>> audit::inclusion_proof(pq::connection& c, std::uint64_t seq,
                                                   std::uint64_t tree_size) const {
  auto size = log_size(c);
  if (!size) return std::unexpected(size.error());
  if (seq == 0 || seq > tree_size || tree_size > *size) {
    return fail("an inclusion proof needs 1 <= seq <= tree_size <= " + std::to_string(*size));
  }
  return range_hashes(c, merkle::inclusion_nodes(seq - 1, tree_size));
}

result<std::vector<digest>> audit::consistency_proof(pq::connection& c, std::uint64_t from,
                                                     std::uint64_t to) const {
  auto size = log_size(c);
  if (!size) return std::unexpected(size.error());
  if (from == 0 || from > to || to > *size) {
    return fail("a consistency proof needs 1 <= from <= to <= " + std::to_string(*size));
  }
  return range_hashes(c, merkle::consistency_nodes(from, to));
}

result<digest> audit::root(pq::connection& c, std::uint64_t tree_size) const {
  auto size = log_size(c);
  if (!size) return std::unexpected(size.error());
  if (tree_size > *size) return fail("the log has only " + std::to_string(*size) + " records");
  auto h = range_hashes(c, {{0, tree_size}});
  if (!h) return std::unexpected(h.error());
  return h->front();
}

// ---------------------------------------------------------------- import

namespace {

const pq::statement k_record_hash{"audit_record_hash", "SELECT hash FROM audit WHERE seq = $1"};

result<std::optional<digest>> record_hash(pq::connection& c, std::uint64_t seq) {
  pq::params p;
  p.integer(static_cast<std::int64_t>(seq));
  auto rows = c.run(k_record_hash, p);
  if (!rows) return std::unexpected(rows.error());
  if (rows->size() == 0) return std::optional<digest>();
  auto d = rows->digest(0, 0);
  if (!d) return damaged("record " + std::to_string(seq) + "'s hash is malformed");
  return std::optional<digest>(*d);
}

// A record given as JSON, checked as a link of the chain after prev: its
// fields, body, leaf and time.
struct checked_record {
  formats::audit_record r;
  std::string body;
  micros time = 0;
};

result<checked_record> check_record_json(std::string_view json) {
  auto doc = formats::parse_json(json);
  if (!doc) return fail("not JSON: " + doc.error().to_string());
  auto r = formats::parse_audit_record(doc->root());
  if (!r) return fail(r.error().to_string());
  auto body = formats::audit_body_of(doc->root());
  if (!body) return fail(body.error().to_string());
  if (action_code(r->action) == 0) return fail("unknown action '" + r->action + "'");
  auto t = formats::parse_rfc3339(r->time);
  if (!t || formats::format_taxii_time(*t) != r->time) {
    return fail("its time is not a TAXII timestamp");
  }
  if (formats::audit_record_json(*r, formats::audit_objects_json(r->objects)) != json) {
    return fail("it is not in canonical form");
  }
  return checked_record{std::move(*r), std::move(*body), *t};
}

}  // namespace

struct audit_importer::impl {
  explicit impl(pq::connection& conn) : c(conn) {}
  pq::connection& c;
  std::uint64_t seq = 0;  // the last record taken
  digest last_hash{};
  micros last_time = 0;
  std::uint64_t written = 0;  // records in the database
  batch b;
  node_map known;
  std::vector<formats::audit_checkpoint> checkpoints;
  bool finished = false;

  result<void> flush() {
    if (b.empty()) return {};
    auto grown = grow_tree(c, written, seq, known, b, false);
    if (!grown) return std::unexpected(grown.error());
    if (auto w = b.write(c, seq, last_hash); !w) return w;
    if (auto n = count_deliveries(c, written + 1, seq); !n) return n;
    written = seq;
    b.clear();
    known.clear();
    return {};
  }
};

audit_importer::audit_importer(pq::connection& c) : impl_(std::make_unique<impl>(c)) {}
audit_importer::~audit_importer() = default;

std::uint64_t audit_importer::records() const {
  return impl_->seq;
}

result<void> audit_importer::record(std::string_view record_json) {
  impl& m = *impl_;
  if (m.finished) return fail(errc::internal, "the audit import is finished");
  const std::uint64_t seq = m.seq + 1;
  auto bad = [&](const std::string& why) {
    return fail("audit record " + std::to_string(seq) + " cannot be imported: " + why);
  };
  auto checked = check_record_json(record_json);
  if (!checked) return bad(checked.error().message);
  const formats::audit_record& r = checked->r;
  if (r.seq != seq) return bad("its seq is " + std::to_string(r.seq) + " (records come in order)");
  if (r.prev != m.last_hash) return bad("its prev is not the previous record's hash");
  if (formats::audit_chain_hash(r.prev, checked->body) != r.hash) {
    return bad("its hash does not match its contents and the previous record");
  }
  if (checked->time < m.last_time) return bad("its time is before the previous record's");
  const digest leaf = merkle::leaf_hash(checked->body);
  m.known[{0, seq - 1}] = leaf;
  m.b.add(r, checked->time, std::string(record_json), leaf, 0, {});
  m.seq = seq;
  m.last_hash = r.hash;
  m.last_time = checked->time;
  if (m.b.seq.size() >= k_chunk_records) return m.flush();
  return {};
}

result<void> audit_importer::checkpoint(const formats::audit_checkpoint& c) {
  if (impl_->finished) return fail(errc::internal, "the audit import is finished");
  impl_->checkpoints.push_back(c);
  return {};
}

result<void> audit_importer::finish() {
  impl& m = *impl_;
  if (m.finished) return {};
  if (auto f = m.flush(); !f) return f;
  std::set<std::uint64_t> sizes;
  for (const auto& cp : m.checkpoints) {
    const std::string where = "the checkpoint at tree size " + std::to_string(cp.tree_size);
    if (cp.tree_size == 0 || cp.tree_size > m.seq) {
      return fail(where + " is beyond the log's " + std::to_string(m.seq) + " records");
    }
    if (!sizes.insert(cp.tree_size).second) return fail(where + " is given twice");
    auto root = range_hashes(m.c, {{0, cp.tree_size}});
    if (!root) return std::unexpected(root.error());
    auto chain = record_hash(m.c, cp.tree_size);
    if (!chain) return std::unexpected(chain.error());
    if (root->front() != cp.root_hash || !*chain || **chain != cp.chain_hash) {
      return fail(where + " does not match the records");
    }
    pq::params p;
    p.integer(static_cast<std::int64_t>(cp.tree_size)).text(formats::checkpoint_json(cp));
    if (auto w = m.c.run(k_insert_checkpoint, p); !w) return std::unexpected(w.error());
  }
  m.finished = true;
  return {};
}

}  // namespace cairn::storage::pg

// ---------------------------------------------------------------- verify

namespace cairn::storage {

namespace {

namespace merkle = formats::merkle;
using merkle::digest;
using pg::node_key;
using pg::node_map;

const pq::statement k_walk{
    "audit_verify_walk",
    "SELECT seq, time, action, account, api_root, collection, objects, key, first_position, "
    "last_position, runs, hash, leaf, json, kind FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2"};
const pq::statement k_all_checkpoints{
    "audit_verify_checkpoints", "SELECT tree_size, json FROM audit_checkpoints ORDER BY tree_size"};
const pq::statement k_counts{
    "audit_verify_counts",
    "SELECT (SELECT count(*) FROM audit_accounts), (SELECT count(*) FROM audit_objects), "
    "(SELECT count(*) FROM audit_nodes), (SELECT count(*) FROM audit), h.seq, h.hash "
    "FROM audit_head h"};
// The versions at positions, in the order asked (NULL where none).

std::vector<micros> positions_of(std::string_view runs) {
  std::vector<micros> values;
  if (runs.size() < 2) return {};
  runs = runs.substr(1, runs.size() - 2);
  while (!runs.empty()) {
    const auto comma = runs.find(',');
    std::int64_t v = 0;
    for (const char ch : runs.substr(0, comma)) v = v * 10 + (ch - '0');
    values.push_back(v);
    if (comma == std::string_view::npos) break;
    runs.remove_prefix(comma + 1);
  }
  std::vector<micros> out;
  for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
    for (std::int64_t j = 0; j < values[i + 1] && j < 1'000'000; ++j) out.push_back(values[i] + j);
  }
  return out;
}

class pg_verifier {
 public:
  pg_verifier(pq::connection& c, std::string trusted) : c_(c), trusted_(std::move(trusted)) {}

  result<audit_verdict> run() {
    if (auto ok = walk(); !ok) return std::unexpected(ok.error());
    if (verdict_.problem.empty()) verdict_.intact = true;
    return verdict_;
  }

 private:
  struct stored_checkpoint {
    std::uint64_t size = 0;
    std::string json;
  };

  bool bad(std::uint64_t seq, std::string problem) {
    verdict_.first_bad = seq;
    verdict_.problem = std::move(problem);
    return false;
  }
  bool bad_record(std::uint64_t seq, const std::string& what) {
    return bad(seq, "record " + std::to_string(seq) + ": " + what);
  }

  bool check_checkpoint(const stored_checkpoint& s, const digest& root, const digest& chain,
                        std::uint64_t good_until) {
    const std::string where = "checkpoint at tree size " + std::to_string(s.size);
    auto c = formats::parse_checkpoint(s.json);
    if (!c) return bad(s.size, where + " is malformed: " + c.error().message);
    if (c->tree_size != s.size)
      return bad(s.size, where + " names tree size " + std::to_string(c->tree_size));
    if (formats::checkpoint_json(*c) != s.json)
      return bad(s.size, where + " is not in canonical form");
    if (formats::ed25519_public_bytes(c->public_key) != formats::ed25519_public_bytes(trusted_)) {
      return bad(s.size, where + " carries another public key than the trusted one");
    }
    if (!formats::checkpoint_signature_ok(*c, trusted_)) {
      return bad(s.size, where + " has a signature that does not verify");
    }
    if (c->root_hash != root || c->chain_hash != chain) {
      return bad(good_until + 1, where + " does not match the records: a record in " +
                                     std::to_string(good_until + 1) + ".." +
                                     std::to_string(s.size) +
                                     " was changed after it was signed (the log was rewritten)");
    }
    ++verdict_.checkpoints;
    return true;
  }

  // The nodes the tree formed in the last chunk, against the stored ones.
  result<bool> check_nodes() {
    if (formed_.empty()) return true;
    std::vector<node_key> wanted;
    for (const auto& [k, d] : formed_) wanted.push_back(k);
    node_map stored;
    auto f = pg::fetch(c_, wanted, stored, false);
    if (!f) return std::unexpected(f.error());
    for (const auto& [k, d] : formed_) {
      auto it = stored.find(k);
      if (it == stored.end() || it->second != d) {
        const std::uint64_t first = (k.second << k.first) + 1;
        return bad(first, "the stored tree node of height " + std::to_string(k.first) +
                              " over records " + std::to_string(first) + ".." +
                              std::to_string((k.second + 1) << k.first) + " is missing or wrong");
      }
    }
    formed_.clear();
    return true;
  }

  result<bool> walk() {
    if (!formats::ed25519_public_bytes(trusted_)) {
      return fail("the trusted key is not an Ed25519 public key in PEM");
    }
    auto cps = c_.run(k_all_checkpoints);
    if (!cps) return std::unexpected(cps.error());
    std::vector<stored_checkpoint> stored;
    for (int i = 0; i < cps->size(); ++i) {
      stored.push_back(
          {static_cast<std::uint64_t>(cps->integer(i, 0)), std::string(cps->text(i, 1))});
    }

    merkle::tree_builder tree([&](unsigned height, std::uint64_t index, const digest& h) {
      if (height == 0 || height % 8 != 0) return;
      ++expected_nodes_;
      formed_.emplace_back(node_key{height, index}, h);
    });
    std::size_t next_checkpoint = 0;
    std::uint64_t good_until = 0;
    std::uint64_t seq = 0;
    digest prev{};
    micros prev_time = 0;
    std::uint64_t expected_accounts = 0;
    std::uint64_t expected_objects = 0;
    for (;;) {
      pq::params p;
      p.integer(static_cast<std::int64_t>(seq)).integer(static_cast<std::int64_t>(k_chunk));
      auto rows = c_.run(k_walk, p);
      if (!rows) return std::unexpected(rows.error());
      if (rows->size() == 0) break;
      std::vector<std::int64_t> with_positions;
      for (int i = 0; i < rows->size(); ++i) {
        if (rows->integer(i, 7) != 0) with_positions.push_back(rows->integer(i, 0));
      }
      auto versions = pg::versions_of(c_, with_positions);
      if (!versions) return std::unexpected(versions.error());
      for (int i = 0; i < rows->size(); ++i) {
        ++seq;
        const auto row_seq = static_cast<std::uint64_t>(rows->integer(i, 0));
        if (row_seq != seq) {
          return bad_record(
              seq, "is missing (the next record in the log is " + std::to_string(row_seq) + ")");
        }
        std::string json(rows->text(i, 13));
        std::size_t positioned = 0;
        if (rows->integer(i, 7) != 0) {
          const auto positions = positions_of(rows->text(i, 10));
          const auto& entries = (*versions)[rows->integer(i, 0)];
          if (positions.empty() || positions.front() != rows->integer(i, 8) ||
              positions.back() != rows->integer(i, 9) || entries.count != positions.size()) {
            return bad_record(seq,
                              "its positions are malformed or name versions the store "
                              "does not hold");
          }
          auto full = pg::full_json(json, entries);
          if (!full) return bad_record(seq, "its stored form is malformed");
          json = std::move(*full);
          positioned = positions.size();
        }
        auto checked = pg::check_record_json(json);
        if (!checked) return bad_record(seq, checked.error().message);
        const formats::audit_record& r = checked->r;
        if (r.seq != seq) return bad_record(seq, "its JSON names seq " + std::to_string(r.seq));
        if (r.prev != prev) return bad_record(seq, "its prev is not the previous record's hash");
        const digest hash = formats::audit_chain_hash(prev, checked->body);
        if (hash != r.hash || rows->digest(i, 11) != hash) {
          return bad_record(seq, "its hash does not match its contents and the previous record");
        }
        if (checked->time < prev_time) {
          return bad_record(seq, "its time is before the previous record's");
        }
        const digest leaf = merkle::leaf_hash(checked->body);
        if (rows->digest(i, 12) != leaf) return bad_record(seq, "its tree leaf is wrong");
        if (rows->integer(i, 1) != checked->time ||
            rows->integer(i, 2) != pg::action_code(r.action) || rows->text(i, 3) != r.account ||
            rows->text(i, 4) != r.api_root || rows->text(i, 5) != r.collection ||
            rows->text(i, 14) != r.kind ||
            rows->integer(i, 6) != static_cast<std::int64_t>(r.objects.size())) {
          return bad_record(seq, "its indexed columns do not match its JSON");
        }
        std::set<std::string_view> names;
        if (!r.account.empty()) names.insert(r.account);
        for (const auto& [name, n] : r.accounts) names.insert(name);
        expected_accounts += names.size();
        std::set<std::int64_t> ids;
        for (std::size_t j = positioned; j < r.objects.size(); ++j) {
          ids.insert(pg::object_key(r.objects[j].id));
        }
        expected_objects += ids.size();

        tree.append(leaf);
        while (next_checkpoint < stored.size() && stored[next_checkpoint].size <= seq) {
          const auto& s = stored[next_checkpoint];
          if (s.size < seq || s.size == 0) {
            return bad(s.size,
                       "checkpoint at tree size " + std::to_string(s.size) + " is out of place");
          }
          if (!check_checkpoint(s, tree.root(), r.hash, good_until)) return false;
          good_until = seq;
          ++next_checkpoint;
        }
        prev = r.hash;
        prev_time = checked->time;
      }
      auto nodes_ok = check_nodes();
      if (!nodes_ok) return nodes_ok;
      if (!*nodes_ok) return false;
    }
    if (next_checkpoint < stored.size()) {
      return bad(seq + 1, "checkpoint at tree size " +
                              std::to_string(stored[next_checkpoint].size) +
                              " is beyond the log's " + std::to_string(seq) +
                              " records: records were removed from the end");
    }
    auto counts = c_.run(k_counts);
    if (!counts) return std::unexpected(counts.error());
    if (counts->size() != 1) return bad(0, "audit_head has no row");
    verdict_.records = seq;
    if (static_cast<std::uint64_t>(counts->integer(0, 3)) != seq) {
      return bad(0, "the log has records beyond its last one in sequence");
    }
    if (static_cast<std::uint64_t>(counts->integer(0, 4)) != seq || counts->digest(0, 5) != prev) {
      return bad(seq, "the log's head does not name its last record " + std::to_string(seq));
    }
    if (static_cast<std::uint64_t>(counts->integer(0, 0)) != expected_accounts) {
      return bad(0, "the account index has " + std::to_string(counts->integer(0, 0)) +
                        " entries where the records make " + std::to_string(expected_accounts));
    }
    if (static_cast<std::uint64_t>(counts->integer(0, 1)) != expected_objects) {
      return bad(0, "the object index has " + std::to_string(counts->integer(0, 1)) +
                        " entries where the records make " + std::to_string(expected_objects));
    }
    if (static_cast<std::uint64_t>(counts->integer(0, 2)) != expected_nodes_) {
      return bad(0, "the tree has " + std::to_string(counts->integer(0, 2)) +
                        " stored nodes where the records make " + std::to_string(expected_nodes_));
    }
    return true;
  }

  static constexpr std::size_t k_chunk = 128;
  pq::connection& c_;
  std::string trusted_;
  audit_verdict verdict_;
  std::uint64_t expected_nodes_ = 0;
  std::vector<std::pair<node_key, digest>> formed_;
};

}  // namespace

result<audit_verdict> verify_pg_audit_log(const pg_options& options,
                                          std::string_view public_key_pem) {
  auto conn = pq::connection::open(options);
  if (!conn) return std::unexpected(conn.error());
  pq::connection& c = **conn;
  if (auto b = c.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !b) {
    return std::unexpected(b.error());
  }
  pg_verifier v(c, std::string(public_key_pem));
  auto out = v.run();
  c.rollback();
  return out;
}

}  // namespace cairn::storage
