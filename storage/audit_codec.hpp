#pragma once
// The audit log's databases and byte layouts (storage/ only), shared by the
// log (storage/audit_log.cpp) and its offline verifier
// (storage/audit_verifier.cpp). All in the object store's LMDB environment.
//
// audit              seq (8 bytes BE) -> record value (below)
// audit_leaves       leaf index = seq - 1 (8 bytes BE) -> leaf hash (32 bytes)
// audit_nodes        height (1 byte), index (8 bytes BE) -> hash (32 bytes) of the
//                    complete subtree of 2^height leaves starting at leaf
//                    index * 2^height, for heights 8, 16, 24, ... only: any
//                    other node is at most 255 stored hashes away
// audit_checkpoints  tree size (8 bytes BE) -> checkpoint JSON (formats/audit_record.hpp)
// audit_by_account   key_hash(account) (8), seq (8) -> empty; also under each
//                    name a counter record's accounts section lists
// audit_by_collection key_hash(collection id) (8), seq (8) -> empty
// audit_by_action    action code (1), seq (8) -> empty; alert records also
//                    under kind code (1: 0x80 + 1 + the kind's place in
//                    formats::alert_kinds), seq (8), so that a kind filter
//                    reads only that kind's alerts
// audit_by_object    key_hash(object id) (8), seq (8) -> empty; for records
//                    that name objects by id (explicit entries, deletes)
// audit_bins         collection key (4 BE), height (1), bin (8 BE), side (1),
//                    coordinate (8 BE), seq (8 BE) -> the record's runs (as in
//                    the record value). The position index, a centred
//                    interval tree laid out flat: a record whose versions lie
//                    in [first, last] belongs to the smallest aligned bin of
//                    2^height positions that holds the whole range, so the
//                    range contains that bin's midpoint (height >= 1). It is
//                    entered twice: side 0 ordered by first, side 1 by last
//                    descending (coordinate = ~last). "Which records cover
//                    position p" takes one seek per height: below the
//                    midpoint, side 0 up to first > p; from it on, side 1 down
//                    to last < p. Every entry read is a hit.
// audit_meta         "head" -> last seq (8 BE) + its hash (32);
//                    "c/" + collection key (4 BE) -> empty, for every
//                    collection a record has positions in
//
// Record value:
//   [0] format (1)  [1] action code  [2..3] status (u16 LE)
//   [4..11] time, microseconds (u64 BE)  [12..43] hash
//   then varint-length strings: account, remote, api_root, collection, sha256;
//   varint suppressed;
//   varint collection key, varint run count, runs (varint gap, varint length):
//     the object versions with a position, as runs of consecutive positions
//     (the first gap is the first position; later gaps count from the end of
//     the previous run and are at least 1);
//   varint explicit count, explicit (string id, string version);
//   format 2 only (auth-failure counter records that name accounts): varint
//   count (>= 1), then (string account, varint failures >= 1), the names
//   strictly increasing;
//   format 3 only (alert records, action code 7, and only they): string kind
//   (one of formats::alert_kinds), string detail, varint evidence count, then
//   the evidence seqs as varints, each >= 1 and greater than the one before.
//   Every other record keeps format 1, byte for byte.
// The record's objects are the runs' versions in position order (read from
// the collection's objects database, where a deleted version keeps its id
// and version), then the explicit ones. A page of 1,000 versions published
// in a few batches takes a few runs, not 1,000 ids. Every encoding is
// canonical (shortest varints, merged runs), so no byte can change without
// changing what the record says or breaking its decoding.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/audit_record.hpp"
#include "formats/merkle.hpp"
#include "storage/lmdb.hpp"
#include "storage/object_store.hpp"

namespace cairn::storage::audit_codec {

inline constexpr const char* db_records = "audit";
inline constexpr const char* db_leaves = "audit_leaves";
inline constexpr const char* db_nodes = "audit_nodes";
inline constexpr const char* db_checkpoints = "audit_checkpoints";
inline constexpr const char* db_by_account = "audit_by_account";
inline constexpr const char* db_by_collection = "audit_by_collection";
inline constexpr const char* db_by_action = "audit_by_action";
inline constexpr const char* db_by_object = "audit_by_object";
inline constexpr const char* db_bins = "audit_bins";
inline constexpr const char* db_meta = "audit_meta";

inline constexpr std::string_view meta_head = "head";
inline constexpr std::string_view meta_collection_prefix = "c/";

inline constexpr std::uint8_t record_format = 1;
inline constexpr std::uint8_t record_format_accounts = 2;  // format 1 + the accounts section
inline constexpr std::uint8_t record_format_alert = 3;     // format 1 + the alert section
inline constexpr std::size_t record_header_bytes = 44;
inline constexpr unsigned node_stride = 8;  // stored node heights are multiples of this

enum class action : std::uint8_t { publish = 1, pull, remove, denied, auth_failure, config, alert };
std::optional<action> action_of(std::string_view name);
std::string_view name_of(action a);

struct run {
  micros start = 0;
  std::uint64_t length = 0;
  bool operator==(const run&) const = default;
};

// A record value, decoded. The views point into the value.
struct record_fields {
  action act = action::pull;
  std::uint16_t status = 0;
  micros time = 0;
  formats::merkle::digest hash{};
  std::string_view account;
  std::string_view remote;
  std::string_view api_root;
  std::string_view collection;
  std::string_view sha256;
  std::uint64_t suppressed = 0;
  collection_key key = 0;  // of the runs' collection; 0 when there are no runs
  std::vector<run> runs;
  std::vector<std::pair<std::string_view, std::string_view>> explicit_objects;
  // Counter records: failures per account name, names in increasing order.
  std::vector<std::pair<std::string_view, std::uint64_t>> accounts;
  // Alert records only (formats/audit_record.hpp).
  std::string_view kind;
  std::string_view detail;
  std::vector<std::uint64_t> evidence;

  std::uint64_t positioned() const;  // versions in the runs
  bool covers(micros position) const;
};

std::string encode_record(const record_fields& r);
// False for a malformed or non-canonical value.
bool decode_record(std::string_view value, record_fields& out);
// The time and hash of an encoded record (header only); false if too short.
bool record_head(std::string_view value, micros& time, formats::merkle::digest& hash);
// Record seq as INTERFACE's fields, from its stored fields: everything but
// prev and the objects list (the caller expands those). hash is f's.
formats::audit_record record_of(std::uint64_t seq, const record_fields& f);

// Strictly increasing positions as runs.
std::vector<run> runs_of(std::span<const micros> sorted_positions);

// ---- keys --------------------------------------------------------------------

std::array<char, 8> u64_key(std::uint64_t v);
std::uint64_t u64_of(std::string_view key);  // first 8 bytes BE; 0 if shorter

// First 8 bytes of SHA-256(text): index keys of arbitrary-length names.
std::array<char, 8> key_hash(std::string_view text);
std::string hashed_key(std::string_view text, std::uint64_t seq);  // key_hash + seq
std::string action_key(action a, std::uint64_t seq);
// The audit_by_action prefix (1 byte) of an alert kind; std::nullopt for a
// name that is not one.
std::optional<std::string> kind_prefix(std::string_view kind);
// The record's audit_by_account keys: its account and every name of its
// accounts section, each key once.
std::vector<std::string> account_keys(const record_fields& r, std::uint64_t seq);
std::string node_key(unsigned height, std::uint64_t index);

// The position index. Heights run from 0 to 63; positions are >= 0.
inline constexpr unsigned bin_heights = 64;
inline constexpr std::size_t bin_prefix_bytes = 14;  // collection, height, bin, side
inline constexpr std::size_t bin_key_bytes = bin_prefix_bytes + 16;
unsigned bin_height(micros first, micros last);
// The two keys of a record (side 0, side 1).
std::array<std::string, 2> bin_keys(collection_key c, micros first, micros last, std::uint64_t seq);
// The value of both entries: the record's runs, so that whether a position
// went out is answered from the index alone.
std::string bin_value(const std::vector<run>& runs);
bool bin_covers(std::string_view value, micros position);
// Where the records covering p at this height start, and how far to read:
// entries under prefix while covers(key) holds are exactly those records.
struct bin_probe {
  std::string prefix;
  bool by_first = true;  // side 0: read while first <= p; side 1: while last >= p
};
bin_probe probe(collection_key c, unsigned height, micros p);
// Given a key under probe(c, h, p).prefix: does its record cover p, and its seq.
bool probe_hit(const bin_probe& b, std::string_view key, micros p, std::uint64_t& seq);

// ---- expansion -----------------------------------------------------------------

// Called for each object of a record during expansion: position is 0 for
// an explicit entry.
using object_visitor =
    std::function<void(micros position, std::string_view id, std::string_view version)>;

// Appends the record's objects to objects_json as the canonical JSON array of
// the record's body, reading the runs' versions from objects (the runs'
// collection), and calls visit (if set) for each. False when a position is
// missing or malformed (a damaged store).
lmdb::result<bool> expand_objects(const lmdb::txn& t, lmdb::dbi objects, const record_fields& r,
                                  std::string& objects_json, const object_visitor& visit = {});

}  // namespace cairn::storage::audit_codec
