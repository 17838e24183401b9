// The sharing policy end to end, against the real cairnd over TLS.
//
// The oracle below is written from the contract (INTERFACE.md, the issue),
// not from server/: its own table of the nine TLP marking-definition ids, its
// own rule for an object's level (the most restrictive TLP marking among
// object_marking_refs and granular marking_refs, else the collection's
// default_tlp, else amber) and its own delivery rule (clearance at least the
// level, or the account published that version). Its view of a collection is
// what was published, in publish order; an account's view of an object's
// history is the versions it may receive, so "first" and "last" are the
// earliest and latest of those. Of several copies of one (id, version)
// (stored for writers who could not see the earlier ones), an account sees
// the first it may receive, and no other.
//
// The property test publishes a few thousand random versions over every TLP
// id, unmarked, unknown markings, several markings and granular markings, in
// collections with different default_tlp, by accounts of every clearance
// (low-clearance accounts publishing red objects too), then asks every
// endpoint with every filter and small page sizes as five accounts, and
// counts the differences between what the server returned and what the
// oracle allows. There must be none.
#include <openssl/evp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "formats/json.hpp"
#include "formats/stix.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;

namespace {

// ---------------------------------------------------------------- the oracle

namespace oracle {

constexpr int k_clear = 0;
constexpr int k_green = 1;
constexpr int k_amber = 2;
constexpr int k_amber_strict = 3;
constexpr int k_red = 4;

// STIX 2.1 7.2.1.4 (TLP 1.0) and the TLP 2.0 marking-definitions.
const std::vector<std::pair<std::string, int>> k_tlp_ids = {
    {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", k_clear},  // 1.0 WHITE
    {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", k_green},  // 1.0 GREEN
    {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", k_amber},  // 1.0 AMBER
    {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", k_red},    // 1.0 RED
    {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", k_clear},  // 2.0 CLEAR
    {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", k_green},  // 2.0 GREEN
    {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", k_amber},  // 2.0 AMBER
    {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", k_amber_strict},
    {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", k_red},  // 2.0 RED
};

std::optional<int> tlp_of(const std::string& marking_id) {
  for (const auto& [id, level] : k_tlp_ids) {
    if (id == marking_id) return level;
  }
  return std::nullopt;
}

int level_by_name(const std::string& name) {
  if (name == "clear" || name == "white") return k_clear;
  if (name == "green") return k_green;
  if (name == "amber" || name.empty()) return k_amber;
  if (name == "amber+strict") return k_amber_strict;
  if (name == "red") return k_red;
  FAIL("no TLP level " << name);
  return k_red;
}

struct account {
  std::string name;
  int clearance = k_clear;
  std::set<std::string> read;  // collection aliases
  std::set<std::string> write;
};

struct version {
  std::string collection;  // alias
  std::string id;
  std::string type;
  std::string modified;
  std::string publisher;
  std::vector<std::string> markings;  // object_marking_refs
  std::string granular;               // a granular marking_ref, or empty
  std::string json;
  int level = k_red;
  std::string date_added;  // as the server reported it
  std::string status_id;   // of the publish request that carried it
  bool deleted = false;
};

int level_of(const version& v, int collection_default) {
  int worst = -1;
  for (const auto& m : v.markings) {
    if (auto l = tlp_of(m)) worst = std::max(worst, *l);
  }
  if (!v.granular.empty()) {
    if (auto l = tlp_of(v.granular)) worst = std::max(worst, *l);
  }
  return worst < 0 ? collection_default : worst;
}

bool may_receive(const account& a, const version& v) {
  return a.clearance >= v.level || v.publisher == a.name;
}

}  // namespace oracle

// A query of the objects, manifest, object and versions endpoints.
struct query {
  std::string added_after;
  std::int64_t limit = 0;
  std::vector<std::string> ids;
  std::vector<std::string> types;
  std::vector<std::string> versions;

  clients::object_filters filters() const {
    clients::object_filters f;
    f.added_after = added_after;
    if (limit > 0) f.limit = limit;
    f.ids = ids;
    f.types = types;
    f.versions = versions;
    return f;
  }
};

// The exchange as the tests published it.
struct model {
  std::map<std::string, int> defaults;                           // alias -> level
  std::map<std::string, std::vector<oracle::version>> versions;  // alias -> publish order
  std::map<std::string, oracle::account> accounts;

  // The copy of (id, modified) that who sees (with who empty: the first).
  const oracle::version* find(const std::string& col, const std::string& id,
                              const std::string& modified, const std::string& who = {}) const {
    for (const auto& v : versions.at(col)) {
      if (v.id == id && v.modified == modified && !v.deleted &&
          (who.empty() || oracle::may_receive(accounts.at(who), v))) {
        return &v;
      }
    }
    return nullptr;
  }

  // Whether a may receive v but sees an earlier copy of the same
  // (id, version) instead.
  bool hidden_copy(const oracle::account& a, const oracle::version& v) const {
    for (const auto& w : versions.at(v.collection)) {
      if (&w == &v) return false;
      if (!w.deleted && w.id == v.id && w.modified == v.modified && oracle::may_receive(a, w)) {
        return true;
      }
    }
    return false;
  }

  bool sees(const oracle::account& a, const oracle::version& v) const {
    return !v.deleted && oracle::may_receive(a, v) && !hidden_copy(a, v);
  }

  // What an account may see of one collection, by the oracle's rules.
  // only_id: the object and versions endpoints. version_filter: false for
  // the versions endpoint.
  std::vector<const oracle::version*> select(const std::string& who, const std::string& col,
                                             const query& q, const std::string& only_id,
                                             bool version_filter) const {
    const auto& a = accounts.at(who);
    std::map<std::string, std::pair<std::string, std::string>> span;  // id -> (first, last)
    for (const auto& v : versions.at(col)) {
      if (!sees(a, v)) continue;
      auto [it, fresh] = span.try_emplace(v.id, v.modified, v.modified);
      if (!fresh) {
        it->second.first = std::min(it->second.first, v.modified);
        it->second.second = std::max(it->second.second, v.modified);
      }
    }
    auto listed = [](const std::vector<std::string>& list, const std::string& x) {
      return std::find(list.begin(), list.end(), x) != list.end();
    };
    std::vector<std::string> wanted =
        q.versions.empty() ? std::vector<std::string>{"last"} : q.versions;
    std::vector<const oracle::version*> out;
    for (const auto& v : versions.at(col)) {
      if (!sees(a, v)) continue;
      if (!only_id.empty() && v.id != only_id) continue;
      if (!q.added_after.empty() && !(v.date_added > q.added_after)) continue;
      if (only_id.empty() && !q.types.empty() && !listed(q.types, v.type)) continue;
      if (only_id.empty() && !q.ids.empty() && !listed(q.ids, v.id)) continue;
      if (version_filter) {
        const auto& [first, last] = span.at(v.id);
        const bool ok = listed(wanted, "all") || (listed(wanted, "first") && v.modified == first) ||
                        (listed(wanted, "last") && v.modified == last) ||
                        listed(wanted, v.modified);
        if (!ok) continue;
      }
      out.push_back(&v);
    }
    return out;
  }

  bool any_visible(const std::string& who, const std::string& col, const std::string& id) const {
    const auto& a = accounts.at(who);
    for (const auto& v : versions.at(col)) {
      if (!v.deleted && v.id == id && oracle::may_receive(a, v)) return true;
    }
    return false;
  }
};

// ------------------------------------------------------------ the generator

const std::vector<std::string> k_unknown_markings = {
    "marking-definition--0b6a8f4e-5c1d-4e2f-9a3b-7c8d9e0f1a2b",
    "marking-definition--1c7b9a5f-6d2e-4f3a-8b4c-8d9e0f1a2b3c",
    "marking-definition--2d8c0b6a-7e3f-4a4b-9c5d-9e0f1a2b3c4d",
};

std::string stix_time(std::int64_t seconds, int millis) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string object_json(const oracle::version& v, const std::string& created, int n) {
  formats::json_writer w;
  w.begin_object().member("type", v.type).member("spec_version", "2.1").member("id", v.id);
  w.member("created", created).member("modified", v.modified);
  w.member("name", v.type + " " + std::to_string(n));
  if (v.type == "indicator") {
    w.member("pattern", "[ipv4-addr:value = '203.0.113." + std::to_string(n % 250) + "']");
    w.member("pattern_type", "stix").member("valid_from", created);
  } else if (v.type == "malware") {
    w.member("is_family", false);
  }
  if (!v.markings.empty()) {
    w.key("object_marking_refs").begin_array();
    for (const auto& m : v.markings) w.string(m);
    w.end_array();
  }
  if (!v.granular.empty()) {
    w.key("granular_markings").begin_array().begin_object();
    w.key("selectors").begin_array().string("name").end_array();
    w.member("marking_ref", v.granular).end_object().end_array();
  }
  w.end_object();
  return w.take();
}

void pick_markings(std::mt19937& rng, oracle::version& v) {
  auto any_tlp = [&] { return oracle::k_tlp_ids[rng() % oracle::k_tlp_ids.size()].first; };
  auto any_unknown = [&] { return k_unknown_markings[rng() % k_unknown_markings.size()]; };
  const auto r = rng() % 100;
  if (r < 22) return;  // unmarked
  if (r < 62) {
    v.markings = {any_tlp()};
  } else if (r < 72) {
    v.markings = {any_unknown()};
  } else if (r < 90) {
    std::set<std::string> several;
    const auto n = 2 + rng() % 3;
    while (several.size() < n) several.insert(rng() % 3 ? any_tlp() : any_unknown());
    v.markings.assign(several.begin(), several.end());
    std::shuffle(v.markings.begin(), v.markings.end(), rng);
  } else {
    if (rng() % 2) v.markings = {any_tlp()};
    v.granular = any_tlp();
  }
}

clients::http_response get(clients::taxii_client& c, const std::string& target) {
  auto r = c.request("GET", target, {{"Accept", "application/taxii+json;version=2.1"}});
  REQUIRE(r);
  return std::move(*r);
}

formats::json_document parse(const std::string& body) {
  auto d = formats::parse_json(body);
  REQUIRE(d);
  return std::move(*d);
}

std::string collection_path(const std::string& alias) {
  return "/api1/collections/" + alias + "/";
}

// The accounts and collections of the policy tests: every clearance, rights
// that differ, a token account, and collections with every default_tlp.
server_setup policy_setup(std::string limits = {}) {
  server_setup s;
  s.collections = {
      {"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "c_clear", "Clear", "clear"},
      {"1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e", "c_green", "Green", "green"},
      {"2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f", "c_amber", "Amber", "amber"},
      {"3d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a", "c_red", "Red", "red"},
      {"4e5f6a7b-8c9d-4e0f-8a1b-3c4d5e6f7a8b", "c_none", "No default", ""},
  };
  s.accounts = {
      {"chief", "chief-pw", {"*"}, {"*"}, "red", false, {}, {}},
      {"greenie", "greenie-pw", {"*"}, {"c_clear", "c_green", "c_red"}, "green", false, {}, {}},
      {"amberly",
       "amberly-pw",
       {"c_amber", "c_green", "c_none", "c_red"},
       {"c_amber", "c_none"},
       "amber",
       false,
       {},
       {}},
      {"strict", {}, {"*"}, {}, "amber+strict", false, "cairn_strict_token_0123456789abcdef", {}},
      {"guest", "guest-pw", {"*"}, {"c_clear", "c_amber"}, "white", false, {}, {}},
      {"scribe", "scribe-pw", {}, {"c_red"}, "red", false, {}, {}},
  };
  // The property test makes thousands of requests per account.
  s.limits_json = R"("page_size": 500, "requests_per_second": 0)";
  if (!limits.empty()) s.limits_json += ", " + limits;
  return s;
}

model model_of(const server_setup& s) {
  model m;
  for (const auto& c : s.collections) {
    m.defaults[c.alias] = oracle::level_by_name(c.default_tlp);
    m.versions[c.alias];
  }
  for (const auto& a : s.accounts) {
    oracle::account oa{a.name, oracle::level_by_name(a.clearance), {}, {}};
    for (const auto& c : s.collections) {
      auto named = [&](const std::vector<std::string>& list) {
        return std::find(list.begin(), list.end(), "*") != list.end() ||
               std::find(list.begin(), list.end(), c.alias) != list.end();
      };
      if (named(a.read)) oa.read.insert(c.alias);
      if (named(a.write)) oa.write.insert(c.alias);
    }
    m.accounts[a.name] = oa;
  }
  return m;
}

struct clients_by_name {
  std::map<std::string, clients::taxii_client> by_name;
  clients_by_name(const test_server& srv, const server_setup& s) {
    for (const auto& a : s.accounts) by_name.emplace(a.name, srv.client(a.name));
  }
  clients::taxii_client& operator[](const std::string& n) { return by_name.at(n); }
};

void publish(model& m, clients_by_name& cl, const std::string& who,
             std::vector<oracle::version> versions);
void read_dates(model& m, clients_by_name& cl);

// Publishes objects_per_collection random objects (1 to 4 versions each) in
// every collection, in shuffled order, in batches by random writers; records
// everything in m, then reads every date_added back from the red account's
// manifest, checking that the store kept the publish order.
void populate(model& m, clients_by_name& cl, std::mt19937& rng, int objects_per_collection) {
  static const std::vector<std::string> types = {"indicator", "malware", "threat-actor",
                                                 "campaign"};
  int n = 0;
  std::int64_t clock = 1'704'067'200;  // 2024-01-01
  for (auto& [col, list] : m.versions) {
    std::vector<std::string> writers;
    for (const auto& [name, a] : m.accounts) {
      if (a.write.contains(col) && a.read.contains(col)) writers.push_back(name);
    }
    REQUIRE(writers.size() >= 2);
    std::vector<oracle::version> pending;
    for (int i = 0; i < objects_per_collection; ++i) {
      const auto type = types[rng() % types.size()];
      const auto id = random_stix_id(type);
      const auto created = stix_time(clock, 0);
      const auto n_versions = 1 + rng() % 4;
      for (std::size_t k = 0; k < n_versions; ++k) {
        oracle::version v;
        v.collection = col;
        v.id = id;
        v.type = type;
        v.modified = stix_time(clock + 3600 * static_cast<std::int64_t>(k + 1),
                               static_cast<int>(rng() % 1000));
        pick_markings(rng, v);
        v.level = oracle::level_of(v, m.defaults.at(col));
        v.json = object_json(v, created, ++n);
        pending.push_back(std::move(v));
      }
      clock += 86400;
    }
    // Versions of one object arrive in any order, as on a real exchange.
    std::shuffle(pending.begin(), pending.end(), rng);
    std::size_t at = 0;
    while (at < pending.size()) {
      const auto size = std::min<std::size_t>(pending.size() - at, 10 + rng() % 50);
      const auto& who = writers[rng() % writers.size()];
      publish(m, cl, who,
              {pending.begin() + static_cast<std::ptrdiff_t>(at),
               pending.begin() + static_cast<std::ptrdiff_t>(at + size)});
      at += size;
    }
    // Copies: writers publish their own (id, version) of versions they may
    // not receive, with markings of their own; the store keeps both.
    std::map<std::string, std::vector<oracle::version>> copies;  // by writer
    std::set<std::pair<std::string, std::string>> copied;
    const std::size_t originals = m.versions.at(col).size();
    for (int tries = 0; tries < 200 && copied.size() < 12; ++tries) {
      const auto& original = m.versions.at(col)[rng() % originals];
      std::vector<std::string> blind;
      for (const auto& w : writers) {
        if (!oracle::may_receive(m.accounts.at(w), original)) blind.push_back(w);
      }
      if (blind.empty() || !copied.emplace(original.id, original.modified).second) continue;
      oracle::version v;
      v.collection = col;
      v.id = original.id;
      v.type = original.type;
      v.modified = original.modified;
      pick_markings(rng, v);
      v.json = object_json(v, stix_time(1'704'067'200, 0), ++n);
      copies[blind[rng() % blind.size()]].push_back(std::move(v));
    }
    for (auto& [who, list] : copies) publish(m, cl, who, std::move(list));
  }
  read_dates(m, cl);
}

// Publishes versions (of one collection) as who, recording them in m.
void publish(model& m, clients_by_name& cl, const std::string& who,
             std::vector<oracle::version> versions) {
  REQUIRE_FALSE(versions.empty());
  const auto col = versions.front().collection;
  std::vector<std::string> objects;
  for (auto& v : versions) {
    v.publisher = who;
    v.level = oracle::level_of(v, m.defaults.at(col));
    objects.push_back(v.json);
  }
  auto st = cl[who].add_objects("/api1/", col, envelope(objects));
  INFO((st ? std::string() : st.error().message));
  REQUIRE(st);
  REQUIRE(st->success_count == static_cast<std::int64_t>(versions.size()));
  // The store numbers one request's versions level by level (request order
  // within a level), so that no gap counts withheld ones.
  std::stable_sort(versions.begin(), versions.end(),
                   [](const auto& x, const auto& y) { return x.level < y.level; });
  for (auto& v : versions) {
    v.status_id = st->id;
    m.versions.at(col).push_back(std::move(v));
  }
}

// Reads every date_added back from the red account's manifest, checking
// that the store kept the publish order (by level within a request).
void read_dates(model& m, clients_by_name& cl) {
  const auto& chief = m.accounts.at("chief");
  for (auto& [col, list] : m.versions) {
    clients::object_filters f;
    f.versions = {"all"};
    std::vector<clients::manifest_record> all;
    while (true) {
      auto page = cl["chief"].manifest("/api1/", col, f);
      REQUIRE(page);
      all.insert(all.end(), page->objects.begin(), page->objects.end());
      if (!page->more) break;
      f.next = page->next;
    }
    // chief (red) sees every version but the later copies; those are read
    // from their publishers' view, where they are the only copy.
    std::vector<oracle::version*> seen;
    std::vector<oracle::version*> live;
    for (auto& v : list) {
      if (v.deleted) continue;
      live.push_back(&v);
      if (m.sees(chief, v)) {
        seen.push_back(&v);
        continue;
      }
      clients::object_filters own;
      own.ids = {v.id};
      own.versions = {v.modified};
      auto page = cl[v.publisher].manifest("/api1/", col, own);
      REQUIRE(page);
      REQUIRE(page->objects.size() == 1);
      v.date_added = page->objects[0].date_added;
    }
    REQUIRE(all.size() == seen.size());
    for (std::size_t k = 0; k < all.size(); ++k) {
      REQUIRE(all[k].id == seen[k]->id);
      REQUIRE(all[k].version == seen[k]->modified);
      seen[k]->date_added = all[k].date_added;
    }
    for (std::size_t k = 1; k < live.size(); ++k) {
      REQUIRE(live[k]->date_added > live[k - 1]->date_added);
    }
  }
}

// Counts and samples the differences between server and oracle.
struct differences {
  std::size_t count = 0;
  std::size_t comparisons = 0;
  std::vector<std::string> samples;

  void add(const std::string& what) {
    ++count;
    if (samples.size() < 30) samples.push_back(what);
  }
  void expect(bool ok, const std::string& what) {
    ++comparisons;
    if (!ok) add(what);
  }
  void report() const {
    std::string all;
    for (const auto& s : samples) all += s + "\n";
    INFO(all);
    CHECK(count == 0);
  }
};

enum class endpoint { objects, manifest, object, versions };

const char* name_of(endpoint e) {
  switch (e) {
    case endpoint::objects: return "objects";
    case endpoint::manifest: return "manifest";
    case endpoint::object: return "object";
    case endpoint::versions: return "versions";
  }
  return "?";
}

struct listing {
  unsigned status = 0;
  std::string body;               // of a non-200 answer
  std::vector<std::string> keys;  // "id version" (versions endpoint: the version)
  std::size_t pages = 0;
};

// Follows `next` to the end, checking each page's size, `more`, `next` and
// date headers against the oracle as it goes.
listing fetch(clients::taxii_client& c, const model& m, const std::string& who,
              const std::string& col, endpoint e, const std::string& object_id, const query& q,
              std::size_t page_size, differences& d, const std::string& context) {
  std::string path = collection_path(col);
  if (e == endpoint::objects) path += "objects/";
  if (e == endpoint::manifest) path += "manifest/";
  if (e == endpoint::object) path += "objects/" + object_id + "/";
  if (e == endpoint::versions) path += "objects/" + object_id + "/versions/";
  const std::size_t limit = q.limit > 0 ? std::min<std::size_t>(q.limit, page_size) : page_size;
  listing out;
  auto f = q.filters();
  // No Catch assertions here: the property test runs this on several
  // threads; every problem becomes a difference.
  while (true) {
    auto got =
        c.request("GET", path + f.to_query(), {{"Accept", "application/taxii+json;version=2.1"}});
    if (!got) {
      d.add(context + ": " + got.error().message);
      return out;
    }
    const auto& res = *got;
    if (res.status != 200) {
      out.status = res.status;
      out.body = res.body;
      return out;
    }
    out.status = 200;
    ++out.pages;
    auto doc = formats::parse_json(res.body);
    if (!doc) {
      d.add(context + ": the body is not JSON");
      return out;
    }
    const auto root = doc->root();
    std::vector<std::string> dates;  // date_added of each entry, as the oracle knows it
    std::size_t entries = 0;
    auto note = [&](const std::string& id, const std::string& version,
                    const std::string& reported_date) {
      ++entries;
      out.keys.push_back(e == endpoint::versions ? version : id + " " + version);
      const auto* v = m.find(col, e == endpoint::versions ? object_id : id, version, who);
      if (!v) {
        d.add(context + ": the server returned " + id + " " + version + ", which is not stored");
        dates.push_back("?");
        return;
      }
      dates.push_back(v->date_added);
      if (!reported_date.empty()) {
        d.expect(reported_date == v->date_added, context + ": date_added of " + id);
      }
    };
    if (e == endpoint::objects || e == endpoint::object) {
      if (auto objs = root.get("objects")) {
        for (std::size_t i = 0; i < objs->size(); ++i) {
          auto o = objs->value_at(i);
          note(std::string(o.get("id")->as_string()), std::string(o.get("modified")->as_string()),
               {});
        }
      }
    } else if (e == endpoint::manifest) {
      if (auto objs = root.get("objects")) {
        for (std::size_t i = 0; i < objs->size(); ++i) {
          auto o = objs->value_at(i);
          note(std::string(o.get("id")->as_string()), std::string(o.get("version")->as_string()),
               std::string(o.get("date_added")->as_string()));
        }
      }
    } else {
      if (auto vs = root.get("versions")) {
        for (std::size_t i = 0; i < vs->size(); ++i) {
          note(object_id, std::string(vs->value_at(i).as_string()), {});
        }
      }
    }
    d.expect(entries <= limit, context + ": a page holds more than the limit");
    const auto first = res.header("X-TAXII-Date-Added-First");
    const auto last = res.header("X-TAXII-Date-Added-Last");
    if (entries == 0) {
      d.expect(!first && !last, context + ": date headers on an empty page");
    } else {
      d.expect(first.value_or("") == dates.front(), context + ": X-TAXII-Date-Added-First");
      d.expect(last.value_or("") == dates.back(), context + ": X-TAXII-Date-Added-Last");
    }
    const auto more_v = root.get("more");
    const bool more = more_v && more_v->as_bool();
    const auto next_v = root.get("next");
    if (!more) {
      d.expect(!next_v, context + ": next without more");
      return out;
    }
    // `more` must mean more visible records: a page of nothing with more
    // would say that withheld ones exist.
    d.expect(entries > 0, context + ": more on an empty page");
    if (!next_v || out.pages > 5000) {
      d.add(context + ": more without next, or endless paging");
      return out;
    }
    f.next = std::string(next_v->as_string());
  }
}

std::vector<std::string> expected_keys(const std::vector<const oracle::version*>& list,
                                       endpoint e) {
  std::vector<std::string> out;
  for (const auto* v : list)
    out.push_back(e == endpoint::versions ? v->modified : v->id + " " + v->modified);
  return out;
}

void compare(differences& d, const std::string& context, const std::vector<std::string>& expected,
             const std::vector<std::string>& actual) {
  ++d.comparisons;
  if (expected == actual) return;
  std::size_t i = 0;
  while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) ++i;
  d.add(context + ": expected " + std::to_string(expected.size()) + " entries, got " +
        std::to_string(actual.size()) + "; first difference at " + std::to_string(i) +
        ": expected " + (i < expected.size() ? expected[i] : "(end)") + ", got " +
        (i < actual.size() ? actual[i] : "(end)"));
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 0xf];
  }
  return out;
}

// The queries of one account on one collection, oracle against server.
void check_collection(clients::taxii_client& c, const model& m, const std::string& who,
                      const std::string& col, std::mt19937& rng, differences& d,
                      std::size_t page_size) {
  const auto& list = m.versions.at(col);
  auto sample_versions = [&](std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(list[rng() % list.size()].modified);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  std::vector<std::string> some_ids;
  for (int i = 0; i < 10; ++i) some_ids.push_back(list[rng() % list.size()].id);
  some_ids.push_back(random_stix_id("indicator"));  // absent everywhere
  for (const auto& [other, other_list] : m.versions) {
    if (other != col && !other_list.empty()) some_ids.push_back(other_list.front().id);
  }
  std::sort(some_ids.begin(), some_ids.end());
  some_ids.erase(std::unique(some_ids.begin(), some_ids.end()), some_ids.end());
  const std::string middle = list[list.size() * 11 / 20].date_added;
  const std::string late = list[list.size() * 19 / 20].date_added;

  std::vector<std::pair<std::string, query>> list_queries = {
      {"default", {}},
      {"all, limit 37", {{}, 37, {}, {}, {"all"}}},
      {"first", {{}, 0, {}, {}, {"first"}}},
      {"first,last, limit 50", {{}, 50, {}, {}, {"first", "last"}}},
      {"types, all, limit 61", {{}, 61, {}, {"indicator", "campaign"}, {"all"}}},
      {"type malware, first", {{}, 0, {}, {"malware"}, {"first"}}},
      {"added_after, all, limit 45", {middle, 45, {}, {}, {"all"}}},
      {"added_after, last", {middle, 0, {}, {}, {}}},
      {"ids, all, limit 5", {{}, 5, some_ids, {}, {"all"}}},
      {"ids, last", {{}, 0, some_ids, {}, {}}},
      {"timestamps, limit 20", {{}, 20, {}, {}, sample_versions(6)}},
      {"first + timestamps",
       {{},
        0,
        {},
        {},
        [&] {
          auto v = sample_versions(4);
          v.insert(v.begin(), "first");
          return v;
        }()}},
      {"limit 1, all, added_after", {late, 1, {}, {}, {"all"}}},
  };
  for (const auto& [label, q] : list_queries) {
    const auto expected = m.select(who, col, q, {}, true);
    for (auto e : {endpoint::objects, endpoint::manifest}) {
      if (e == endpoint::manifest && q.limit == 1) continue;  // one-per-page once is enough
      const std::string context = who + " " + col + " " + name_of(e) + " [" + label + "]";
      auto got = fetch(c, m, who, col, e, {}, q, page_size, d, context);
      d.expect(got.status == 200, context + ": status " + std::to_string(got.status));
      compare(d, context, expected_keys(expected, e), got.keys);
    }
  }

  // The object and versions endpoints, for a sample of ids: visible, partly
  // visible, withheld, and absent from this collection.
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(list[rng() % list.size()].id);
  ids.push_back(random_stix_id("malware"));
  for (const auto& [other, other_list] : m.versions) {
    if (other != col && !other_list.empty()) ids.push_back(other_list.back().id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const std::vector<std::pair<std::string, query>> object_queries = {
      {"default", {}},
      {"all, limit 2", {{}, 2, {}, {}, {"all"}}},
      {"first", {{}, 0, {}, {}, {"first"}}},
  };
  for (const auto& id : ids) {
    const bool visible = m.any_visible(who, col, id);
    for (const auto& [label, q] : object_queries) {
      const std::string context = who + " " + col + " object " + id + " [" + label + "]";
      auto got = fetch(c, m, who, col, endpoint::object, id, q, page_size, d, context);
      if (!visible) {
        d.expect(got.status == 404,
                 context + ": withheld or absent must be 404, got " + std::to_string(got.status));
        continue;
      }
      d.expect(got.status == 200, context + ": status " + std::to_string(got.status));
      compare(d, context, expected_keys(m.select(who, col, q, id, true), endpoint::object),
              got.keys);
    }
    for (const auto& [label, q] : std::vector<std::pair<std::string, query>>{
             {"versions, limit 2", {{}, 2, {}, {}, {}}},
             {"versions, added_after", {middle, 0, {}, {}, {}}}}) {
      const std::string context = who + " " + col + " " + id + " [" + label + "]";
      auto got = fetch(c, m, who, col, endpoint::versions, id, q, page_size, d, context);
      if (!visible) {
        d.expect(got.status == 404, context + ": withheld or absent must be 404");
        continue;
      }
      d.expect(got.status == 200, context + ": status " + std::to_string(got.status));
      compare(d, context, expected_keys(m.select(who, col, q, id, false), endpoint::versions),
              got.keys);
    }
  }
}

// The ids stored in col that who may not receive at all.
std::vector<std::string> withheld_ids(const model& m, const std::string& who,
                                      const std::string& col) {
  std::set<std::string> ids;
  for (const auto& v : m.versions.at(col)) {
    if (!v.deleted && !m.any_visible(who, col, v.id)) ids.insert(v.id);
  }
  return {ids.begin(), ids.end()};
}

// A response with everything that may differ between two requests removed.
std::string shape(const clients::http_response& r) {
  std::string out = std::to_string(r.status) + "\n";
  for (const auto& [name, value] : r.headers) {
    if (clients::iequals(name, "Date")) continue;
    out += name + ": " + value + "\n";
  }
  return out + r.body;
}

}  // namespace

TEST_CASE("property: every endpoint and filter returns exactly what the oracle allows",
          "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  auto m = model_of(setup);
  clients_by_name cl(srv, setup);
  std::mt19937 rng(20261127);
  populate(m, cl, rng, 180);

  std::size_t total = 0;
  std::map<int, std::size_t> by_level;
  std::size_t granular = 0;
  std::size_t unknown = 0;
  std::size_t several = 0;
  std::set<std::string> tlp_ids_used;
  for (const auto& [col, list] : m.versions) {
    total += list.size();
    for (const auto& v : list) {
      ++by_level[v.level];
      if (!v.granular.empty()) ++granular;
      if (v.markings.size() > 1) ++several;
      for (const auto& mk : v.markings) {
        if (oracle::tlp_of(mk)) tlp_ids_used.insert(mk);
        if (!oracle::tlp_of(mk)) ++unknown;
      }
    }
  }
  // The data covers what it claims to.
  CHECK(total >= 2000);
  CHECK(tlp_ids_used.size() == oracle::k_tlp_ids.size());
  CHECK(by_level.size() == 5);
  CHECK(granular > 0);
  CHECK(unknown > 0);
  CHECK(several > 0);
  // Copies of one version: some accounts see a later copy only (its writer
  // and others), some an earlier copy instead of a later one they may receive.
  std::size_t copies = 0;
  std::size_t later_seen_by_others = 0;
  std::size_t hidden = 0;
  for (const auto& [col, list] : m.versions) {
    for (const auto& v : list) {
      if (!m.hidden_copy(m.accounts.at("chief"), v)) continue;
      ++copies;
      for (const auto& [who, a] : m.accounts) {
        if (!a.read.contains(col)) continue;
        if (who != v.publisher && m.sees(a, v)) ++later_seen_by_others;
        if (oracle::may_receive(a, v) && !m.sees(a, v)) ++hidden;
      }
    }
  }
  CHECK(copies >= 30);
  CHECK(later_seen_by_others > 0);
  CHECK(hidden > 0);

  // One thread per account (each with its own connection), so that the
  // server's durable delivery records are committed in groups.
  std::vector<std::string> readers;
  for (const auto& [who, a] : m.accounts) {
    if (a.read.empty()) continue;
    readers.push_back(who);
    std::size_t visible = 0;
    std::size_t hidden = 0;
    std::size_t own_above_clearance = 0;
    for (const auto& col : a.read) {
      for (const auto& v : m.versions.at(col)) {
        (oracle::may_receive(a, v) ? visible : hidden) += 1;
        if (v.publisher == who && v.level > a.clearance) ++own_above_clearance;
      }
    }
    INFO(who);
    CHECK(visible > 0);
    if (a.clearance < oracle::k_red) CHECK(hidden > 0);
    if (!a.write.empty() && a.clearance < oracle::k_red) CHECK(own_above_clearance > 0);
  }
  std::vector<differences> found(readers.size());
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < readers.size(); ++i) {
    workers.emplace_back([&, i, seed = rng()] {
      std::mt19937 r(seed);
      auto& c = cl[readers[i]];
      for (const auto& col : m.accounts.at(readers[i]).read) {
        check_collection(c, m, readers[i], col, r, found[i], 500);
      }
    });
  }
  for (auto& w : workers) w.join();
  differences d;
  for (const auto& f : found) {
    d.count += f.count;
    d.comparisons += f.comparisons;
    d.samples.insert(d.samples.end(), f.samples.begin(), f.samples.end());
  }
  CHECK(d.comparisons > 5000);
  d.report();

  {
    // A withheld object answers exactly like an absent one: for the same id,
    // the object and versions endpoints of a collection where it is withheld
    // and of one where it does not exist give the same status, headers and
    // body.
    std::size_t compared = 0;
    for (const std::string who : {"greenie", "amberly", "guest"}) {
      for (const auto& col : m.accounts.at(who).read) {
        auto ids = withheld_ids(m, who, col);
        REQUIRE_FALSE(ids.empty());
        std::string elsewhere;
        for (const auto& other : m.accounts.at(who).read) {
          if (other != col) elsewhere = other;
        }
        for (std::size_t i = 0; i < std::min<std::size_t>(ids.size(), 5); ++i) {
          for (const std::string suffix : {"", "versions/"}) {
            auto withheld = get(cl[who], collection_path(col) + "objects/" + ids[i] + "/" + suffix);
            auto absent =
                get(cl[who], collection_path(elsewhere) + "objects/" + ids[i] + "/" + suffix);
            CHECK(withheld.status == 404);
            CHECK(shape(withheld) == shape(absent));
            ++compared;
          }
        }
      }
    }
    CHECK(compared > 20);
  }

  {
    // A status resource is its owner's alone; to anyone else it is as absent
    // as a status that never existed.
    std::set<std::pair<std::string, std::string>> statuses;  // (owner, id)
    for (const auto& [col, list] : m.versions) {
      for (const auto& v : list) statuses.emplace(v.publisher, v.status_id);
    }
    int checked = 0;
    for (const auto& [owner, id] : statuses) {
      CHECK(get(cl[owner], "/api1/status/" + id + "/").status == 200);
      for (const std::string other : {"chief", "greenie", "strict"}) {
        if (other == owner) continue;
        auto theirs = get(cl[other], "/api1/status/" + id + "/");
        auto never = get(cl[other], "/api1/status/" + formats::new_uuid_v4() + "/");
        CHECK(theirs.status == 404);
        auto body = theirs.body;
        auto never_body = never.body;
        // The only difference may be the id that was asked for.
        auto strip = [](std::string s, const std::string& what) {
          for (auto p = s.find(what); p != std::string::npos; p = s.find(what))
            s.erase(p, what.size());
          return s;
        };
        const auto never_id = never_body.substr(never_body.find("status ") + 7, 36);
        CHECK(strip(body, id) == strip(never_body, never_id));
        ++checked;
      }
      if (checked > 40) break;
    }
  }

  {
    // Tampered next tokens: none of them gives anything away.
    const auto col = std::string("c_red");
    clients::object_filters f;
    f.versions = {"all"};
    f.limit = 10;
    auto page = cl["chief"].get_objects("/api1/", col, f);
    REQUIRE(page);
    REQUIRE(page->more);
    const auto token = page->next;
    const auto objects = collection_path(col) + "objects/";
    auto attempt = [&](const std::string& who, const std::string& target) {
      auto r = get(cl[who], target);
      CHECK(r.status == 400);
      CHECK(r.body.find("\"objects\"") == std::string::npos);
      return r.body;
    };
    auto with = [&](const clients::object_filters& g, const std::string& t) {
      auto h = g;
      h.next = t;
      return h.to_query();
    };
    // The same token, query and path, another account.
    const auto reference = attempt("greenie", objects + with(f, token));
    CHECK(attempt("strict", objects + with(f, token)) == reference);
    // Other filters, another path, another endpoint.
    auto g = f;
    g.types = {"indicator"};
    CHECK(attempt("chief", objects + with(g, token)) == reference);
    g = f;
    g.versions = {"last"};
    CHECK(attempt("chief", objects + with(g, token)) == reference);
    CHECK(attempt("chief", collection_path("c_green") + "objects/" + with(f, token)) == reference);
    CHECK(attempt("chief", collection_path(col) + "manifest/" + with(f, token)) == reference);
    // Altered bytes and random tokens.
    std::mt19937 r2(99);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 30; ++i) {
      auto t = token;
      auto& ch = t[r2() % t.size()];
      ch = ch == 'A' ? 'B' : 'A';
      attempt("chief", objects + with(f, t));
      std::string junk;
      for (std::size_t k = 0; k < token.size(); ++k) junk += alphabet[r2() % alphabet.size()];
      attempt("chief", objects + with(f, junk));
    }
    attempt("chief", objects + with(f, token.substr(0, token.size() - 2)));
    // The genuine token, for the account it was made for, still works.
    auto ok = get(cl["chief"], objects + with(f, token));
    CHECK(ok.status == 200);
  }
}

TEST_CASE("a DELETE of a withheld object is a 404 like an absent one and removes nothing",
          "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  auto m = model_of(setup);
  clients_by_name cl(srv, setup);
  std::mt19937 rng(5);
  populate(m, cl, rng, 40);
  // amberly reads and writes c_amber with clearance amber. Besides the
  // random objects: two that she may not see at all (red, by chief) and one
  // that she sees in part (green, then red).
  const std::string who = "amberly";
  const std::string col = "c_amber";
  const auto green = oracle::k_tlp_ids[5].first;
  const auto red = oracle::k_tlp_ids[8].first;
  auto make = [&](const std::string& id, const std::string& modified,
                  std::vector<std::string> markings) {
    oracle::version v;
    v.collection = col;
    v.id = id;
    v.type = "indicator";
    v.modified = modified;
    v.markings = std::move(markings);
    v.json = object_json(v, "2023-01-01T00:00:00.000Z", 1);
    return v;
  };
  const auto red1 = random_stix_id("indicator");
  const auto red2 = random_stix_id("indicator");
  const auto part = random_stix_id("indicator");
  publish(
      m, cl, "chief",
      {make(red1, "2023-02-01T00:00:00.000Z", {red}), make(red2, "2023-02-01T00:00:00.000Z", {red}),
       make(red2, "2023-03-01T00:00:00.000Z", {red}),
       make(part, "2023-02-01T00:00:00.000Z", {green}),
       make(part, "2023-03-01T00:00:00.000Z", {red})});
  read_dates(m, cl);
  auto ids = withheld_ids(m, who, col);
  CHECK(std::find(ids.begin(), ids.end(), red1) != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), red2) != ids.end());
  REQUIRE_FALSE(ids.empty());
  const auto absent_id = random_stix_id("indicator");
  auto del = [&](const std::string& account, const std::string& id) {
    auto r = cl[account].request("DELETE", collection_path(col) + "objects/" + id + "/",
                                 {{"Accept", "application/taxii+json;version=2.1"}});
    REQUIRE(r);
    return std::move(*r);
  };
  for (const auto& id : ids) {
    auto withheld = del(who, id);
    auto absent = del(who, absent_id);
    CHECK(withheld.status == 404);
    auto strip = [](std::string s, const std::string& what) {
      for (auto p = s.find(what); p != std::string::npos; p = s.find(what))
        s.replace(p, what.size(), "ID");
      return s;
    };
    CHECK(strip(shape(withheld), id) == strip(shape(absent), absent_id));
  }
  // An object of which amberly sees some versions only: a DELETE removes
  // those, and the others stay for everyone cleared for them.
  const std::string mixed = part;
  CHECK(get(cl[who], collection_path(col) + "objects/" + mixed + "/").status == 200);
  auto r = del(who, mixed);
  CHECK(r.status == 200);
  for (auto& v : m.versions.at(col)) {
    if (v.id == mixed && oracle::may_receive(m.accounts.at(who), v)) v.deleted = true;
  }
  read_dates(m, cl);
  // Nothing else changed: chief's full listing equals the oracle's.
  differences d;
  query all;
  all.versions = {"all"};
  auto got =
      fetch(cl["chief"], m, "chief", col, endpoint::manifest, {}, all, 500, d, "after delete");
  compare(d, "after delete",
          expected_keys(m.select("chief", col, all, {}, true), endpoint::manifest), got.keys);
  got = fetch(cl[who], m, who, col, endpoint::manifest, {}, all, 500, d, "after delete (amberly)");
  compare(d, "after delete (amberly)",
          expected_keys(m.select(who, col, all, {}, true), endpoint::manifest), got.keys);
  CHECK(get(cl[who], collection_path(col) + "objects/" + mixed + "/").status == 404);
  CHECK(get(cl["chief"], collection_path(col) + "objects/" + mixed + "/").status == 200);
  d.report();
}

TEST_CASE("SIGHUP: a new clearance applies to the next request on an open connection", "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  auto m = model_of(setup);
  clients_by_name cl(srv, setup);
  std::mt19937 rng(11);
  populate(m, cl, rng, 40);
  // Each loaded config is logged with the SHA-256 of its bytes.
  CHECK(srv.log_text().find(sha256_hex(read_file(srv.config_path()))) != std::string::npos);

  auto& c = cl["greenie"];
  const auto opened = c.connections_opened();
  differences d;
  query all;
  all.versions = {"all"};
  all.limit = 7;
  auto check_all = [&](const std::string& label) {
    for (const auto& col : m.accounts.at("greenie").read) {
      auto got = fetch(c, m, "greenie", col, endpoint::objects, {}, all, 500, d, label + " " + col);
      compare(d, label + " " + col,
              expected_keys(m.select("greenie", col, all, {}, true), endpoint::objects), got.keys);
    }
  };
  check_all("before");

  // Half-way through a paged pull, greenie loses its clearance and the
  // right to read c_green.
  clients::object_filters f;
  f.versions = {"all"};
  f.limit = 5;
  auto first_page = c.get_objects("/api1/", "c_clear", f);
  REQUIRE(first_page);
  REQUIRE(first_page->more);
  auto last_doc = parse(first_page->objects.back());
  const auto* last_seen =
      m.find("c_clear", std::string(last_doc.root().get("id")->as_string()),
             std::string(last_doc.root().get("modified")->as_string()), "greenie");
  REQUIRE(last_seen);

  auto lowered = setup;
  for (auto& a : lowered.accounts) {
    if (a.name == "greenie") {
      a.clearance = "clear";
      a.read = {"c_clear", "c_amber", "c_red", "c_none"};
      a.write = {"c_clear", "c_red"};
    }
  }
  auto offset = srv.log_text().size();
  srv.reload(lowered);
  REQUIRE(srv.wait_for_log("config loaded", offset));
  CHECK(srv.log_text().find(sha256_hex(read_file(srv.config_path())), offset) != std::string::npos);
  m.accounts["greenie"].clearance = oracle::k_clear;
  m.accounts["greenie"].read.erase("c_green");

  // The rest of the paged pull follows the new policy.
  std::vector<std::string> rest;
  f.next = first_page->next;
  while (true) {
    auto page = c.get_objects("/api1/", "c_clear", f);
    REQUIRE(page);
    for (const auto& o : page->objects) {
      auto doc = parse(o);
      rest.push_back(std::string(doc.root().get("id")->as_string()) + " " +
                     std::string(doc.root().get("modified")->as_string()));
    }
    if (!page->more) break;
    f.next = page->next;
  }
  // What remains after the first page, under the new policy.
  query after;
  after.versions = {"all"};
  after.added_after = last_seen->date_added;
  compare(d, "paging across the reload",
          expected_keys(m.select("greenie", "c_clear", after, {}, true), endpoint::objects), rest);

  check_all("after");
  CHECK(get(c, collection_path("c_green")).status == 404);
  CHECK(c.connections_opened() == opened);
  d.report();
}

TEST_CASE("publishing a copy of a withheld version reveals nothing, the copy is the publisher's",
          "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  clients_by_name cl(srv, setup);
  const auto red = oracle::k_tlp_ids[8].first;
  const std::string col = "c_amber";
  // An SCO has a deterministic id: anyone can name the same IP address.
  const std::string sco_id = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd";
  auto sco = [&](const std::string& marking) {
    std::string o = R"({"type":"ipv4-addr","spec_version":"2.1","id":")" + sco_id +
                    R"(","value":"198.51.100.3")";
    if (!marking.empty()) o += R"(,"object_marking_refs":[")" + marking + "\"]";
    return o + "}";
  };
  const auto ind = random_stix_id("indicator");
  const std::string modified = "2024-01-01T00:00:00.000Z";
  auto held = cl["chief"].add_objects("/api1/", col,
                                      envelope({sco(red), make_indicator(ind, modified, red)}));
  REQUIRE(held);
  REQUIRE(held->success_count == 2);

  // amberly (amber) publishes the same SCO and the same (id, version).
  auto mine =
      cl["amberly"].add_objects("/api1/", col, envelope({sco({}), make_indicator(ind, modified)}));
  REQUIRE(mine);
  REQUIRE(mine->success_count == 2);
  // The status shows her own version of the SCO, not the withheld one's.
  REQUIRE(mine->successes[0].id == sco_id);
  CHECK(mine->successes[0].version != held->successes[0].version);
  CHECK(mine->successes[0].version >= mine->request_timestamp);
  // And she receives what she published, as for any object of hers.
  for (const auto& id : {sco_id, ind}) {
    auto got = cl["amberly"].get_object("/api1/", col, id);
    REQUIRE(got);
    REQUIRE(got->objects.size() == 1);
    CHECK(got->objects[0].find("object_marking_refs") == std::string::npos);
  }
  // Publishing it again is a duplicate of her own copy.
  auto again = cl["amberly"].add_objects("/api1/", col, envelope({sco({})}));
  REQUIRE(again);
  CHECK(again->successes[0].version == mine->successes[0].version);
  // The red account gets the first copy of the indicator's version only
  // (the store keeps both), and of the SCO too (hers, with a version of its
  // own, is a copy of the id: see "an SCO posted again by a writer who cannot
  // see it ..."); the clear one none.
  clients::object_filters all;
  all.versions = {"all"};
  auto first_copy = cl["chief"].get_object("/api1/", col, ind, all);
  REQUIRE(first_copy);
  REQUIRE(first_copy->objects.size() == 1);
  CHECK(first_copy->objects[0].find(red) != std::string::npos);
  auto sco_both = cl["chief"].get_object("/api1/", col, sco_id, all);
  REQUIRE(sco_both);
  REQUIRE(sco_both->objects.size() == 1);
  CHECK(sco_both->objects[0].find(red) != std::string::npos);
  CHECK(get(cl["guest"], collection_path(col) + "objects/" + ind + "/").status == 404);
}

// The store marks each id's newest version, so that a "last" page need not
// rank it by reading: a newest version withheld from a reader still leaves
// that reader its own last one, and a version arriving late (earlier than
// the stored ones) changes no one's last.
TEST_CASE("match[version] with a withheld newest version and an earlier one arriving late",
          "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  clients_by_name cl(srv, setup);
  const auto green = oracle::k_tlp_ids[5].first;
  const auto red = oracle::k_tlp_ids[8].first;
  const std::string col = "c_green";
  const auto x = random_stix_id("indicator");
  const auto y = random_stix_id("indicator");
  auto publish_one = [&](const std::string& object) {
    auto st = cl["chief"].add_objects("/api1/", col, envelope({object}));
    REQUIRE(st);
    REQUIRE(st->success_count == 1);
  };
  publish_one(make_indicator(x, "2024-01-02T00:00:00.000Z", green, "x2"));
  publish_one(make_indicator(y, "2024-01-01T00:00:00.000Z", green, "y1"));
  publish_one(make_indicator(x, "2024-01-03T00:00:00.000Z", red, "x3"));
  publish_one(make_indicator(x, "2024-01-01T00:00:00.000Z", green, "x1"));

  // The names of the objects of one page, in page (date_added) order.
  auto page = [&](const std::string& who, std::vector<std::string> versions) {
    clients::object_filters f;
    f.versions = std::move(versions);
    auto got = cl[who].get_objects("/api1/", col, f);
    REQUIRE(got);
    std::vector<std::string> names;
    for (const auto& o : got->objects) {
      for (const std::string n : {"x1", "x2", "x3", "y1"}) {
        if (o.find("\"name\":\"" + n + "\"") != std::string::npos) names.push_back(n);
      }
    }
    return names;
  };
  using names = std::vector<std::string>;
  CHECK(page("greenie", {}) == names{"x2", "y1"});
  CHECK(page("greenie", {"last"}) == names{"x2", "y1"});
  CHECK(page("greenie", {"first"}) == names{"y1", "x1"});
  CHECK(page("greenie", {"first", "last"}) == names{"x2", "y1", "x1"});
  CHECK(page("greenie", {"all"}) == names{"x2", "y1", "x1"});
  CHECK(page("chief", {}) == names{"y1", "x3"});
  CHECK(page("chief", {"first"}) == names{"y1", "x1"});
  CHECK(page("chief", {"all"}) == names{"x2", "y1", "x3", "x1"});
}

TEST_CASE("a copy of a version its writer cannot see: readers who see both get the first",
          "[policy]") {
  // Before: chief got greenie's copy as the last version of x, x's version
  // twice in versions, manifest and match[version]=all, and the first copy
  // was not "first" either.
  auto setup = policy_setup();
  test_server srv(setup);
  clients_by_name cl(srv, setup);
  const auto red = oracle::k_tlp_ids[8].first;
  const auto green = oracle::k_tlp_ids[5].first;
  const std::string col = "c_green";
  const std::string objects = collection_path(col) + "objects/";
  const std::string modified = "2024-05-01T00:00:00.000Z";
  const auto x = random_stix_id("indicator");
  const auto z = random_stix_id("indicator");
  const auto control = random_stix_id("indicator");

  auto held = cl["chief"].add_objects("/api1/", col,
                                      envelope({make_indicator(x, modified, red, "red original"),
                                                make_indicator(z, modified, red, "red original")}));
  REQUIRE(held);
  REQUIRE(held->success_count == 2);

  // greenie (green, may write c_green) posts its own copies, and an object
  // that nobody held before, for comparison.
  auto mine =
      cl["greenie"].add_objects("/api1/", col,
                                envelope({make_indicator(x, modified, green, "green copy"),
                                          make_indicator(z, modified, green, "green copy"),
                                          make_indicator(control, modified, green, "green copy")}));
  REQUIRE(mine);
  // Its status looks like any fresh publish: three successes, nothing else.
  CHECK(mine->success_count == 3);
  CHECK(mine->failure_count == 0);
  CHECK(mine->pending_count == 0);
  REQUIRE(mine->successes.size() == 3);
  for (const auto& s : mine->successes) CHECK(s.version == modified);

  auto name_of_object = [](const std::string& json) {
    return std::string(parse(json).root().get("name")->as_string());
  };
  auto one_object = [&](const std::string& who, const std::string& id,
                        const clients::object_filters& f) {
    auto page = cl[who].get_object("/api1/", col, id, f);
    REQUIRE(page);
    CHECK_FALSE(page->more);
    REQUIRE(page->objects.size() == 1);
    return name_of_object(page->objects[0]);
  };
  clients::object_filters last;
  clients::object_filters first;
  first.versions = {"first"};
  clients::object_filters all;
  all.versions = {"all"};
  clients::object_filters exact;
  exact.versions = {modified};

  // chief, who may see both copies, gets the first stored, once, everywhere.
  for (const auto* f : {&last, &first, &all, &exact}) {
    CHECK(one_object("chief", x, *f) == "red original");
  }
  for (const auto* f : {&last, &first, &all, &exact}) {
    auto list = cl["chief"].get_objects("/api1/", col, *f);
    REQUIRE(list);
    std::vector<std::string> of_x;
    for (const auto& o : list->objects) {
      if (parse(o).root().get("id")->as_string() == x) of_x.push_back(name_of_object(o));
    }
    CHECK(of_x == std::vector<std::string>{"red original"});
  }
  clients::object_filters only_x;
  only_x.ids = {x};
  only_x.versions = {"all"};
  auto by_id = cl["chief"].get_objects("/api1/", col, only_x);
  REQUIRE(by_id);
  REQUIRE(by_id->objects.size() == 1);
  CHECK(name_of_object(by_id->objects[0]) == "red original");
  auto chief_versions = cl["chief"].versions("/api1/", col, x);
  REQUIRE(chief_versions);
  CHECK(chief_versions->versions == std::vector<std::string>{modified});
  auto chief_manifest = cl["chief"].manifest("/api1/", col, only_x);
  REQUIRE(chief_manifest);
  REQUIRE(chief_manifest->objects.size() == 1);
  CHECK(chief_manifest->objects[0].date_added == by_id->date_added_first);
  CHECK(by_id->date_added_first == by_id->date_added_last);

  // greenie sees its own copy, and nothing tells it of chief's: the answers
  // for x have the shape of those for the control object.
  auto strip = [](std::string s, const std::string& what) {
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what))
      s.replace(p, what.size(), "ID");
    return s;
  };
  auto without_dates = [](std::string s) {
    // The date_added values differ between x and the control.
    for (const std::string key :
         {"\"date_added\":\"", "X-TAXII-Date-Added-First: ", "X-TAXII-Date-Added-Last: "}) {
      for (auto p = s.find(key); p != std::string::npos; p = s.find(key, p + 1)) {
        const auto start = p + key.size();
        const auto end = s.find_first_of("\"\n", start);
        s.replace(start, end - start, "T");
      }
    }
    return s;
  };
  for (const std::string suffix :
       {"", "versions/", "?match[version]=all", "?match[version]=first"}) {
    auto a = get(cl["greenie"], objects + x + "/" + suffix);
    auto b = get(cl["greenie"], objects + control + "/" + suffix);
    CHECK(a.status == 200);
    CHECK(without_dates(strip(shape(a), x)) == without_dates(strip(shape(b), control)));
  }
  CHECK(one_object("greenie", x, last) == "green copy");
  auto green_manifest = cl["greenie"].manifest("/api1/", col, only_x);
  REQUIRE(green_manifest);
  REQUIRE(green_manifest->objects.size() == 1);
  CHECK(green_manifest->objects[0].date_added != chief_manifest->objects[0].date_added);
  // amberly reads c_green at amber: only greenie's copy is hers to see.
  CHECK(one_object("amberly", x, all) == "green copy");

  // greenie deleting its x deletes its copy only: chief keeps the original.
  auto del = [&](const std::string& who, const std::string& id) {
    auto r = cl[who].request("DELETE", objects + id + "/",
                             {{"Accept", "application/taxii+json;version=2.1"}});
    REQUIRE(r);
    return r->status;
  };
  CHECK(del("greenie", x) == 200);
  CHECK(get(cl["greenie"], objects + x + "/").status == 404);
  CHECK(one_object("chief", x, all) == "red original");
  // chief deleting z deletes the version as chief sees it: both copies, so
  // that no other copy takes its place.
  CHECK(del("chief", z) == 200);
  CHECK(get(cl["chief"], objects + z + "/").status == 404);
  CHECK(get(cl["greenie"], objects + z + "/").status == 404);
}

// The twin of the copies of one (id, version) for objects without a version
// (SCOs: their id is derived from their value, so anyone can name it). A
// second SCO of an id is a duplicate for a writer who sees the first; one who
// cannot see it stores its own, under a version of its own. Before, that copy
// was simply a later version: chief's default GET (match[version]=last) and
// match[version]=all, versions and the manifest gave amberly's copy, so a
// lower-clearance writer replaced, for the red reader, an object it could not
// see. Now readers who may receive the first stored copy get that one only.
TEST_CASE("an SCO posted again by a writer who cannot see it does not replace it for others",
          "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  clients_by_name cl(srv, setup);
  const auto red = oracle::k_tlp_ids[8].first;
  const std::string col = "c_amber";
  const std::string sco_id = "ipv4-addr--0b1c3a5e-7d0e-5d6a-9f1e-6a2b3c4d5e6f";
  auto sco = [&](const std::string& value, const std::string& marking) {
    std::string o = R"({"type":"ipv4-addr","spec_version":"2.1","id":")" + sco_id +
                    R"(","value":")" + value + "\"";
    if (!marking.empty()) o += R"(,"object_marking_refs":[")" + marking + "\"]";
    return o + "}";
  };
  auto held = cl["chief"].add_objects("/api1/", col, envelope({sco("198.51.100.7", red)}));
  REQUIRE(held);
  REQUIRE(held->success_count == 1);
  auto mine = cl["amberly"].add_objects("/api1/", col, envelope({sco("203.0.113.66", {})}));
  REQUIRE(mine);
  REQUIRE(mine->success_count == 1);
  CHECK(mine->successes[0].version != held->successes[0].version);

  auto values = [&](const std::string& who, const std::vector<std::string>& versions) {
    clients::object_filters f;
    f.versions = versions;
    auto page = cl[who].get_object("/api1/", col, sco_id, f);
    REQUIRE(page);
    std::vector<std::string> out;
    for (const auto& o : page->objects) {
      out.emplace_back(parse(o).root().get("value")->as_string());
    }
    return out;
  };
  const std::vector<std::string> original{"198.51.100.7"};
  const std::vector<std::string> copy{"203.0.113.66"};
  for (const std::vector<std::string>& v :
       std::vector<std::vector<std::string>>{{}, {"last"}, {"first"}, {"all"}}) {
    INFO("match[version]=" << (v.empty() ? "" : v[0]));
    CHECK(values("chief", v) == original);
    // amberly sees her own only, as if nobody had posted it before.
    CHECK(values("amberly", v) == copy);
  }
  auto chief_versions = cl["chief"].versions("/api1/", col, sco_id);
  REQUIRE(chief_versions);
  CHECK(chief_versions->versions == std::vector<std::string>{held->successes[0].version});
  clients::object_filters by_id;
  by_id.ids = {sco_id};
  by_id.versions = {"all"};
  auto listed = cl["chief"].get_objects("/api1/", col, by_id);
  REQUIRE(listed);
  REQUIRE(listed->objects.size() == 1);
  CHECK(parse(listed->objects[0]).root().get("value")->as_string() == original[0]);
  auto manifest = cl["chief"].manifest("/api1/", col, by_id);
  REQUIRE(manifest);
  REQUIRE(manifest->objects.size() == 1);
  CHECK(manifest->objects[0].version == held->successes[0].version);

  // chief deleting the SCO deletes both copies: amberly's does not take its
  // place. amberly deleting hers leaves chief's alone.
  auto del = [&](const std::string& who) {
    auto r = cl[who].request("DELETE", collection_path(col) + "objects/" + sco_id + "/",
                             {{"Accept", "application/taxii+json;version=2.1"}});
    REQUIRE(r);
    return r->status;
  };
  CHECK(del("amberly") == 200);
  CHECK(values("chief", {}) == original);
  auto again = cl["amberly"].add_objects("/api1/", col, envelope({sco("203.0.113.66", {})}));
  REQUIRE(again);
  CHECK(values("amberly", {}) == copy);
  CHECK(del("chief") == 200);
  CHECK(get(cl["chief"], collection_path(col) + "objects/" + sco_id + "/").status == 404);
  CHECK(get(cl["amberly"], collection_path(col) + "objects/" + sco_id + "/").status == 404);
}

// Deleting the version of an SCO that chief sees, by its version, deletes
// the copies of the id that it hid too, as for copies of one (id, version).
// Before: amberly's copy, hidden behind the deleted version, took its place
// for chief (the GET answered 200 with amberly's value).
TEST_CASE("deleting an SCO's version by match[version] does not bring a hidden copy back",
          "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  clients_by_name cl(srv, setup);
  const auto red = oracle::k_tlp_ids[8].first;
  const std::string col = "c_amber";
  const std::string sco_id = "ipv4-addr--1c2d3e4f-5a6b-5c7d-8e9f-0a1b2c3d4e5f";
  auto sco = [&](const std::string& value, const std::string& marking) {
    std::string o = R"({"type":"ipv4-addr","spec_version":"2.1","id":")" + sco_id +
                    R"(","value":")" + value + "\"";
    if (!marking.empty()) o += R"(,"object_marking_refs":[")" + marking + "\"]";
    return o + "}";
  };
  auto held = cl["chief"].add_objects("/api1/", col, envelope({sco("198.51.100.8", red)}));
  REQUIRE(held);
  REQUIRE(held->success_count == 1);
  auto mine = cl["amberly"].add_objects("/api1/", col, envelope({sco("203.0.113.67", {})}));
  REQUIRE(mine);
  REQUIRE(mine->success_count == 1);
  const std::string object = collection_path(col) + "objects/" + sco_id + "/";
  auto r = cl["chief"].request("DELETE", object + "?match[version]=" + held->successes[0].version,
                               {{"Accept", "application/taxii+json;version=2.1"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(get(cl["chief"], object).status == 404);
  CHECK(get(cl["amberly"], object).status == 404);
  // A version of amberly's own, deleted by her, leaves chief's alone.
  held = cl["chief"].add_objects("/api1/", col, envelope({sco("198.51.100.8", red)}));
  REQUIRE(held);
  mine = cl["amberly"].add_objects("/api1/", col, envelope({sco("203.0.113.67", {})}));
  REQUIRE(mine);
  r = cl["amberly"].request("DELETE", object + "?match[version]=" + mine->successes[0].version,
                            {{"Accept", "application/taxii+json;version=2.1"}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(get(cl["chief"], object).status == 200);
  CHECK(get(cl["amberly"], object).status == 404);
}

// Every way an account can name a withheld object or version answers as for
// an absent one, byte for byte once the id is replaced (status, headers but
// Date, body): object, versions, objects and manifest with match[id],
// match[version] of a withheld version, other methods on the object URL,
// another account's status, a collection without rights. (These held before
// this test was written; it keeps them.)
TEST_CASE("naming a withheld object, version, status or collection answers as for an absent one",
          "[policy]") {
  auto setup = policy_setup();
  test_server srv(setup);
  clients_by_name cl(srv, setup);
  const auto red = oracle::k_tlp_ids[8].first;
  const auto green = oracle::k_tlp_ids[5].first;
  const std::string col = "c_amber";
  const std::string objects = collection_path(col) + "objects/";
  const auto withheld = random_stix_id("indicator");
  const auto absent = random_stix_id("indicator");
  const auto part = random_stix_id("indicator");
  const std::string v1 = "2024-01-01T00:00:00.000Z";
  const std::string v2 = "2024-02-01T00:00:00.000Z";
  const std::string nowhere = "2024-03-01T00:00:00.000Z";
  auto held = cl["chief"].add_objects(
      "/api1/", col,
      envelope({make_indicator(withheld, v1, red), make_indicator(part, v1, green),
                make_indicator(part, v2, red)}));
  REQUIRE(held);
  REQUIRE(held->success_count == 3);

  auto strip = [](std::string s, const std::string& what) {
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what))
      s.replace(p, what.size(), "ID");
    return s;
  };
  auto ask = [&](const std::string& method, const std::string& target) {
    auto r =
        cl["amberly"].request(method, target, {{"Accept", "application/taxii+json;version=2.1"}});
    REQUIRE(r);
    return shape(*r);
  };
  for (const std::string& suffix :
       std::vector<std::string>{"", "versions/", "?match[version]=all", "?match[version]=first",
                                "?match[version]=" + v1, "?added_after=2000-01-01T00:00:00Z"}) {
    INFO("object " << suffix);
    CHECK(strip(ask("GET", objects + withheld + "/" + suffix), withheld) ==
          strip(ask("GET", objects + absent + "/" + suffix), absent));
  }
  for (const std::string method : {"PUT", "PATCH", "OPTIONS"}) {
    INFO(method);
    CHECK(strip(ask(method, objects + withheld + "/"), withheld) ==
          strip(ask(method, objects + absent + "/"), absent));
  }
  for (const std::string endpoint : {"objects/", "manifest/"}) {
    for (const std::string& extra :
         std::vector<std::string>{"", "&match[version]=all", "&limit=1", "&match[version]=" + v1}) {
      INFO(endpoint << extra);
      CHECK(strip(ask("GET", collection_path(col) + endpoint + "?match[id]=" + withheld + extra),
                  withheld) ==
            strip(ask("GET", collection_path(col) + endpoint + "?match[id]=" + absent + extra),
                  absent));
    }
  }
  // A version withheld from amberly of an object she sees, against one
  // that does not exist.
  for (const std::string& endpoint :
       std::vector<std::string>{"objects/" + part + "/?", "objects/?match[id]=" + part + "&",
                                "manifest/?match[id]=" + part + "&"}) {
    INFO(endpoint);
    const auto hidden = ask("GET", collection_path(col) + endpoint + "match[version]=" + v2);
    CHECK(hidden == ask("GET", collection_path(col) + endpoint + "match[version]=" + nowhere));
    CHECK(hidden.find("200") == 0);
  }
  // chief's status, asked for by amberly, against an unknown one.
  const std::string unknown = "8c3e1f5a-2b4d-4e6f-9a0b-1c2d3e4f5a6b";
  CHECK(strip(ask("GET", "/api1/status/" + held->id + "/"), held->id) ==
        strip(ask("GET", "/api1/status/" + unknown + "/"), unknown));
  // A collection amberly has no right on (c_clear), by id and by alias,
  // against one that does not exist.
  const std::string clear_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  const std::string no_such = "9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f";
  for (const std::string& rest :
       std::vector<std::string>{"", "objects/", "manifest/", "objects/" + absent + "/"}) {
    INFO(rest);
    CHECK(strip(ask("GET", "/api1/collections/" + clear_id + "/" + rest), clear_id) ==
          strip(ask("GET", "/api1/collections/" + no_such + "/" + rest), no_such));
    CHECK(strip(ask("GET", "/api1/collections/c_clear/" + rest), "c_clear") ==
          strip(ask("GET", "/api1/collections/c_nopex/" + rest), "c_nopex"));
  }
  auto listed = cl["amberly"].collections("/api1/");
  REQUIRE(listed);
  for (const auto& c : *listed) CHECK(c.id != clear_id);
}
