// The sharing record of a real cairnd over TLS: what gets recorded, the
// auditor endpoints and their refusals, proofs checked against the signed
// checkpoint with the public key from the data directory, no secrets in the
// records, the auth-failure budget, and `cairnd audit verify`.
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "clients/cli.hpp"
#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "formats/json.hpp"
#include "formats/merkle.hpp"
#include "storage/lmdb_store.hpp"
#include "test_server.hpp"

using namespace cairn;
using namespace cairn::testing;
namespace merkle = cairn::formats::merkle;

namespace {

const char* const k_tlp_red = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";
const char* const k_tlp_green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const std::string k_objects = "/api1/collections/intel/objects/";

struct audit_entry {
  std::string json;
  formats::audit_record record;
  std::string body;
};

clients::http_response get_json(clients::taxii_client& c, const std::string& target) {
  auto r = c.request("GET", target, {{"Accept", "application/json"}});
  REQUIRE(r);
  return std::move(*r);
}

// Every record matching query, following next.
std::vector<audit_entry> audit_records(clients::taxii_client& auditor,
                                       const std::string& query = {}) {
  std::vector<audit_entry> out;
  std::string next;
  for (int pages = 0; pages < 1000; ++pages) {
    std::string target = "/cairn/v1/audit?limit=7" + (query.empty() ? "" : "&" + query);
    if (!next.empty()) target += "&next=" + next;
    auto r = get_json(auditor, target);
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type").value_or("") == "application/json");
    auto doc = formats::parse_json(r.body);
    REQUIRE(doc);
    auto records = doc->root().get("records");
    REQUIRE(records);
    for (std::size_t i = 0; i < records->size(); ++i) {
      auto rec = formats::parse_audit_record(records->value_at(i));
      REQUIRE(rec);
      auto body = formats::audit_body_of(records->value_at(i));
      REQUIRE(body);
      out.push_back({records->value_at(i).dump(), std::move(*rec), std::move(*body)});
    }
    if (!doc->root().get("more")->as_bool()) break;
    next = std::string(doc->root().get("next")->as_string());
    // Tokens are base64url: safe in a query as they are.
  }
  return out;
}

// Refusals are recorded without delaying the response: wait (bounded) until
// the records matching query are at least n.
std::vector<audit_entry> wait_for_records(clients::taxii_client& auditor, const std::string& query,
                                          std::size_t n) {
  auto got = audit_records(auditor, query);
  for (int i = 0; i < 100 && got.size() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = audit_records(auditor, query);
  }
  return got;
}

std::set<std::string> ids_in(const clients::envelope_page& page) {
  std::set<std::string> out;
  for (const auto& o : page.objects) {
    auto d = formats::parse_json(o);
    REQUIRE(d);
    out.insert(std::string(d->root().get("id")->as_string()));
  }
  return out;
}

std::vector<merkle::digest> proof_of(const formats::json_view& v, const char* member) {
  std::vector<merkle::digest> out;
  auto list = v.get(member);
  REQUIRE(list);
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto d = merkle::from_hex(list->value_at(i).as_string());
    REQUIRE(d);
    out.push_back(*d);
  }
  return out;
}

int run_cairnd(const std::vector<std::string>& args, std::string& output) {
  std::string cmd = std::string(CAIRN_BINARY_DIR) + "/server/cairnd";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[512];
  output.clear();
  while (std::fgets(buf, sizeof buf, p)) output += buf;
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("audit over TLS: every kind of request is recorded, and only auditors may read it") {
  test_server srv;
  auto admin = srv.client("admin");
  const std::string green = random_stix_id("indicator");
  const std::string amber = random_stix_id("indicator");
  const std::string red = random_stix_id("indicator");
  auto st =
      admin.add_objects("/api1/", "intel",
                        envelope({make_indicator(green, "2026-01-01T00:00:00.000Z", k_tlp_green),
                                  make_indicator(amber, "2026-01-01T00:00:00.000Z"),
                                  make_indicator(red, "2026-01-01T00:00:00.000Z", k_tlp_red)}));
  REQUIRE(st);
  REQUIRE(st->success_count == 3);

  // reader (green) receives the green one only; bot (amber, token) green and amber.
  auto reader = srv.client("reader");
  auto reader_page = reader.get_objects("/api1/", "intel");
  REQUIRE(reader_page);
  CHECK(ids_in(*reader_page) == std::set<std::string>{green});
  auto bot = srv.client("bot");
  auto bot_page = bot.get_objects("/api1/", "intel");
  REQUIRE(bot_page);
  CHECK(ids_in(*bot_page) == std::set<std::string>{green, amber});
  auto bot_versions = bot.versions("/api1/", "intel", amber);
  REQUIRE(bot_versions);
  auto reader_manifest = reader.manifest("/api1/", "intel");
  REQUIRE(reader_manifest);

  // Refusals: 403 (writer may not read intel), hidden 404 (nobody and secret).
  auto writer = srv.client("writer");
  CHECK(writer.request("GET", k_objects)->status == 403);
  auto nobody = srv.client("nobody");
  CHECK(nobody.request("GET", "/api1/collections/secret/objects/")->status == 404);
  CHECK(nobody.request("GET", "/api1/collections/no-such-thing/objects/")->status == 404);
  auto opts = srv.options("reader");
  opts.password = "not-the-password";
  opts.retries = 0;
  auto wrong = clients::taxii_client::make(opts);
  REQUIRE(wrong);
  CHECK(wrong->request("GET", "/taxii2/")->status == 401);
  REQUIRE(admin.delete_object("/api1/", "intel", red));

  auto auditor = srv.client("auditor");
  wait_for_records(auditor, "action=denied", 2);
  wait_for_records(auditor, "action=auth-failure", 1);
  auto all = audit_records(auditor);
  std::map<std::string, int> actions;
  for (const auto& e : all) ++actions[e.record.action];
  CHECK(actions["config"] == 1);
  CHECK(actions["publish"] == 1);
  CHECK(actions["pull"] == 4);    // objects x2, versions, manifest
  CHECK(actions["denied"] == 2);  // not the 404 of a collection that does not exist
  CHECK(actions["auth-failure"] == 1);
  CHECK(actions["delete"] == 1);

  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].record.seq == i + 1);
    CHECK(formats::audit_chain_hash(all[i].record.prev, all[i].body) == all[i].record.hash);
    if (i > 0) CHECK(all[i].record.prev == all[i - 1].record.hash);
  }
  for (const auto& e : all) {
    const auto& r = e.record;
    if (r.action == "pull" && r.account == "reader" && r.objects.size() == 1) {
      CHECK(r.objects[0].id == green);
      CHECK(r.collection == k_intel);
      CHECK(r.api_root == "api1");
      CHECK(r.remote == "127.0.0.1");
      CHECK(r.status == 200);
    }
    if (r.action == "denied") {
      CHECK((r.account == "writer" || r.account == "nobody"));
      CHECK(r.status == (r.account == "writer" ? 403 : 404));
    }
    if (r.action == "auth-failure") CHECK(r.account == "reader");  // a known name is kept
    if (r.action == "publish") {
      CHECK(r.account == "admin");
      CHECK(r.status == 202);
      CHECK(r.objects.size() == 3);
    }
  }

  // Who received the amber indicator, and which version.
  auto received = audit_records(auditor, "object=" + amber + "&action=pull");
  std::multiset<std::string> who;
  for (const auto& e : received) who.insert(e.record.account);
  CHECK(who == std::multiset<std::string>{"bot", "bot"});  // objects and versions
  auto by_alias = audit_records(auditor, "collection=intel&account=reader");
  CHECK(by_alias.size() == 2);
  // The red one was never received, but was published and deleted.
  auto red_history = audit_records(auditor, "object=" + red);
  REQUIRE(red_history.size() == 2);
  CHECK(red_history[0].record.action == "publish");
  CHECK(red_history[1].record.action == "delete");

  // Refusals of the audit endpoints.
  CHECK(reader.request("GET", "/cairn/v1/audit")->status == 403);
  CHECK(bot.request("GET", "/cairn/v1/audit/checkpoint")->status == 403);
  auto anon_opts = srv.options("reader");
  anon_opts.user.clear();
  anon_opts.password.clear();
  auto anon = clients::taxii_client::make(anon_opts);
  REQUIRE(anon);
  CHECK(anon->request("GET", "/cairn/v1/audit")->status == 401);
  for (const char* bad :
       {"/cairn/v1/audit?limit=0", "/cairn/v1/audit?limit=x", "/cairn/v1/audit?action=read",
        "/cairn/v1/audit?since=yesterday", "/cairn/v1/audit?acount=reader",
        "/cairn/v1/audit?next=forged", "/cairn/v1/audit/proof?seq=0&tree_size=3",
        "/cairn/v1/audit/proof?seq=4&tree_size=3", "/cairn/v1/audit/proof?seq=1&tree_size=99999",
        "/cairn/v1/audit/proof?seq=1", "/cairn/v1/audit/consistency?from=0&to=3",
        "/cairn/v1/audit/consistency?from=4&to=3"}) {
    INFO(bad);
    auto r = get_json(auditor, bad);
    CHECK(r.status == 400);
    CHECK(r.header("Content-Type").value_or("") == "application/taxii+json;version=2.1");
    auto d = formats::parse_json(r.body);
    REQUIRE(d);
    CHECK(d->root().get("http_status")->as_string() == "400");
  }
  CHECK(auditor.request("POST", "/cairn/v1/audit", {}, "{}")->status == 405);
  CHECK(get_json(auditor, "/cairn/v1/audit/nothing").status == 404);
  // The refused audit reads were recorded too.
  CHECK(wait_for_records(auditor, "action=denied&account=reader", 1).size() == 1);
}

TEST_CASE("audit over TLS: proofs check out against the signed checkpoint and the public key") {
  test_server srv;
  auto admin = srv.client("admin");
  for (int i = 0; i < 5; ++i) {
    REQUIRE(admin.add_objects(
        "/api1/", "open",
        envelope({make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z")})));
    REQUIRE(admin.get_objects("/api1/", "open"));
  }
  auto auditor = srv.client("auditor");
  const std::string public_pem = read_file(srv.dir() / "data" / "audit-signing.pub");
  REQUIRE(formats::ed25519_public_bytes(public_pem));

  auto first = get_json(auditor, "/cairn/v1/audit/checkpoint");
  REQUIRE(first.status == 200);
  auto first_cp = formats::parse_checkpoint(first.body);
  REQUIRE(first_cp);
  CHECK(formats::checkpoint_signature_ok(*first_cp, public_pem));
  CHECK(first_cp->public_key == public_pem);

  REQUIRE(admin.get_objects("/api1/", "open"));
  const auto records = audit_records(auditor);
  auto later = get_json(auditor, "/cairn/v1/audit/checkpoint");
  // A second one within a second may be the stored one; wait for a fresh one.
  auto cp = formats::parse_checkpoint(later.body);
  for (int i = 0; i < 30 && cp && cp->tree_size < records.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cp = formats::parse_checkpoint(get_json(auditor, "/cairn/v1/audit/checkpoint").body);
  }
  REQUIRE(cp);
  REQUIRE(cp->tree_size >= records.size());
  CHECK(formats::checkpoint_signature_ok(*cp, public_pem));
  const std::uint64_t n = records.size();

  // Inclusion of every record in the tree the checkpoint signs (the checkpoint
  // may cover the audit reads made since: use its own size).
  std::vector<merkle::digest> leaves;
  for (const auto& e : records) leaves.push_back(merkle::leaf_hash(e.body));
  for (std::uint64_t seq = 1; seq <= n; ++seq) {
    auto r = get_json(auditor, "/cairn/v1/audit/proof?seq=" + std::to_string(seq) +
                                   "&tree_size=" + std::to_string(cp->tree_size));
    REQUIRE(r.status == 200);
    auto d = formats::parse_json(r.body);
    REQUIRE(d);
    CHECK(d->root().get("seq")->as_int() == static_cast<std::int64_t>(seq));
    CHECK(d->root().get("tree_size")->as_int() == static_cast<std::int64_t>(cp->tree_size));
    auto path = proof_of(d->root(), "audit_path");
    CHECK(merkle::verify_inclusion(seq - 1, cp->tree_size, leaves[seq - 1], path, cp->root_hash));
    // The same proof does not hold for another record's body.
    CHECK_FALSE(
        merkle::verify_inclusion(seq - 1, cp->tree_size, leaves[seq % n], path, cp->root_hash));
  }
  if (cp->tree_size == n) {
    CHECK(cp->chain_hash == records.back().record.hash);
    CHECK(cp->root_hash == merkle::root_of(leaves));
  }

  // The later tree extends the earlier one.
  auto c =
      get_json(auditor, "/cairn/v1/audit/consistency?from=" + std::to_string(first_cp->tree_size) +
                            "&to=" + std::to_string(cp->tree_size));
  REQUIRE(c.status == 200);
  auto cd = formats::parse_json(c.body);
  REQUIRE(cd);
  CHECK(merkle::verify_consistency(first_cp->tree_size, cp->tree_size, first_cp->root_hash,
                                   cp->root_hash, proof_of(cd->root(), "proof")));
}

TEST_CASE("audit over TLS: records never hold a secret") {
  server_setup setup = default_setup();
  test_server srv(setup);
  auto admin = srv.client("admin");
  REQUIRE(admin.add_objects(
      "/api1/", "intel",
      envelope({make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z")})));
  REQUIRE(srv.client("bot").get_objects("/api1/", "intel"));
  // Wrong passwords, a password typed as the user name, a wrong token.
  for (const auto& [user, password] :
       std::vector<std::pair<std::string, std::string>>{{"admin", "Wr0ng-Secret-One"},
                                                        {"Correct-Horse-Battery-9", "x"},
                                                        {"reader", "Wr0ng-Secret-Two"}}) {
    auto o = srv.options("admin");
    o.user = user;
    o.password = password;
    o.retries = 0;
    auto c = clients::taxii_client::make(o);
    REQUIRE(c);
    CHECK(c->request("GET", "/taxii2/")->status == 401);
  }
  auto o = srv.options("bot");
  o.token = "cairn_wrong_token_abcdefabcdefabcdefabcdef";
  o.retries = 0;
  auto t = clients::taxii_client::make(o);
  REQUIRE(t);
  CHECK(t->request("GET", "/taxii2/")->status == 401);

  auto auditor = srv.client("auditor");
  const auto records = wait_for_records(auditor, "", 7);  // config, publish, pull, 4 failures
  std::string everything;
  for (const auto& e : records) everything += e.json + "\n";
  for (const auto& a : setup.accounts) {
    if (!a.password.empty()) CHECK(everything.find(a.password) == std::string::npos);
    if (!a.token.empty()) CHECK(everything.find(a.token) == std::string::npos);
  }
  for (const char* secret : {"Wr0ng-Secret-One", "Wr0ng-Secret-Two", "Correct-Horse-Battery-9",
                             "cairn_wrong_token", "$scrypt$", "$sha256$"}) {
    CHECK(everything.find(secret) == std::string::npos);
  }
  int failures = 0;
  for (const auto& e : records) {
    if (e.record.action != "auth-failure") continue;
    ++failures;
    CHECK(
        (e.record.account.empty() || e.record.account == "admin" || e.record.account == "reader"));
  }
  CHECK(failures == 4);
}

TEST_CASE("audit over TLS: a flood of failed logins is counted, not written one by one") {
  server_setup setup = default_setup();
  // Keep the KDF throttle out of the way: every attempt reaches the checks.
  setup.limits_json = R"("auth_failure_burst": 1000, "auth_failure_burst_per_address": 1000)";
  test_server srv(setup);
  auto o = srv.options("reader");
  o.password = "wrong";
  o.retries = 0;
  auto c = clients::taxii_client::make(o);
  REQUIRE(c);
  const int attempts = 60;
  for (int i = 0; i < attempts; ++i) CHECK(c->request("GET", "/taxii2/")->status == 401);
  // The counters are written by the 5 s flush timer, and what is left at shutdown.
  c->disconnect();  // an idle keep-alive connection would hold up the drain
  srv.stop(SIGTERM);
  srv.start();
  auto auditor = srv.client("auditor");
  auto failures = audit_records(auditor, "action=auth-failure");
  std::uint64_t one_by_one = 0;
  std::uint64_t counted = 0;
  for (const auto& e : failures) {
    if (e.record.suppressed > 0) {
      counted += e.record.suppressed;
      CHECK(e.record.remote == "127.0.0.1");
    } else {
      ++one_by_one;
    }
  }
  CHECK(one_by_one <= 5);
  CHECK(one_by_one + counted == attempts);
}

TEST_CASE("cairnd audit verify checks a stopped server's data directory") {
  test_server srv;
  auto admin = srv.client("admin");
  REQUIRE(admin.add_objects(
      "/api1/", "intel",
      envelope({make_indicator(random_stix_id("indicator"), "2026-01-01T00:00:00.000Z")})));
  REQUIRE(srv.client("reader").get_objects("/api1/", "open"));
  REQUIRE(srv.client("bot").get_objects("/api1/", "intel"));
  const std::string data = (srv.dir() / "data").string();

  std::string out;
  // A running server holds the store.
  CHECK(run_cairnd({"audit", "verify", "--data", data}, out) == 1);
  CHECK(out.find("in use") != std::string::npos);

  admin.disconnect();
  REQUIRE(srv.stop(SIGTERM) == 0);
  CHECK(run_cairnd({"audit", "verify", "--data", data}, out) == 0);
  CHECK(out.find("audit log intact") != std::string::npos);
  CHECK(run_cairnd({"audit", "verify", "--data", data + "/store"}, out) == 0);
  CHECK(run_cairnd(
            {"audit", "verify", "--data=" + data, "--public-key=" + data + "/audit-signing.pub"},
            out) == 0);

  auto other = formats::ed25519_key::generate();
  REQUIRE(other);
  const auto other_pem = srv.dir() / "other.pub";
  {
    std::ofstream f(other_pem);
    f << other->public_pem();
  }
  CHECK(run_cairnd({"audit", "verify", "--data", data, "--public-key", other_pem.string()}, out) ==
        1);
  CHECK(out.find("DAMAGED") != std::string::npos);
  CHECK(run_cairnd({"audit", "verify"}, out) == 2);
  CHECK(run_cairnd({"audit", "verify", "--data", data, "--bogus"}, out) == 2);
  CHECK(run_cairnd({"audit", "verify", "--data", (srv.dir() / "nothing").string()}, out) == 1);
}

namespace {

// Runs `cairn ARGS` in-process as the auditor; returns the exit code and
// fills output with what it printed.
int run_cairn(const test_server& srv, std::vector<std::string> args, std::string& output) {
  const auto out_path = srv.dir() / "cli.out";
  std::FILE* out = std::fopen(out_path.c_str(), "w+");
  REQUIRE(out);
  clients::cli_io io;
  io.out = out;
  io.err = out;
  io.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "CAIRN_PASSWORD") return std::string("auditor-password");
    return std::nullopt;
  };
  args.insert(args.end(), {"--url", srv.discovery_url(), "--cacert",
                           (srv.dir() / "server.pem").string(), "--user", "auditor"});
  const int rc = clients::run_cli(args, io);
  std::fclose(out);
  output = read_file(out_path);
  return rc;
}

}  // namespace

TEST_CASE("cairn audit verify-proof checks records against a signed checkpoint") {
  test_server srv;
  auto admin = srv.client("admin");
  const std::string x = random_stix_id("indicator");
  REQUIRE(admin.add_objects("/api1/", "open",
                            envelope({make_indicator(x, "2026-03-01T00:00:00.000Z")})));
  REQUIRE(srv.client("reader").get_objects("/api1/", "open"));
  const std::string pub = (srv.dir() / "data" / "audit-signing.pub").string();

  std::string out;
  REQUIRE(run_cairn(srv, {"audit", "--object", x, "--json"}, out) == 0);
  const auto records = srv.dir() / "x.jsonl";
  {
    std::ofstream f(records);
    f << out;
  }
  REQUIRE(std::count(out.begin(), out.end(), '\n') == 2);  // the publish and reader's pull

  CHECK(run_cairn(srv, {"audit", "verify-proof", "--record", records.string(), "--public-key", pub},
                  out) == 0);
  CHECK(out.find("2 of 2 records verified") != std::string::npos);
  CHECK(out.find("included (pull by 'reader'") != std::string::npos);

  // A saved checkpoint works as well, until records come after it.
  auto auditor = srv.client("auditor");
  const auto cp_path = srv.dir() / "checkpoint.json";
  {
    std::ofstream f(cp_path);
    f << get_json(auditor, "/cairn/v1/audit/checkpoint").body;
  }
  CHECK(run_cairn(srv,
                  {"audit", "verify-proof", "--record", records.string(), "--public-key", pub,
                   "--checkpoint", cp_path.string()},
                  out) == 0);
  REQUIRE(srv.client("reader").get_objects("/api1/", "open"));
  std::string later;
  REQUIRE(run_cairn(srv, {"audit", "--object", x, "--action", "pull", "--json"}, later) == 0);
  const auto later_path = srv.dir() / "later.jsonl";
  {
    std::ofstream f(later_path);
    f << later;
  }
  CHECK(run_cairn(srv,
                  {"audit", "verify-proof", "--record", later_path.string(), "--public-key", pub,
                   "--checkpoint", cp_path.string()},
                  out) == 1);
  CHECK(out.find("not covered by the checkpoint") != std::string::npos);

  // A record edited after the fact fails.
  std::string edited = read_file(records);
  const auto at = edited.find("\"account\":\"reader\"");
  REQUIRE(at != std::string::npos);
  edited.replace(at, 18, "\"account\":\"nobody\"");
  const auto edited_path = srv.dir() / "edited.jsonl";
  {
    std::ofstream f(edited_path);
    f << edited;
  }
  CHECK(run_cairn(srv,
                  {"audit", "verify-proof", "--record", edited_path.string(), "--public-key", pub},
                  out) == 1);
  CHECK(out.find("FAILED") != std::string::npos);

  // Another key than the log's: refused outright.
  auto other = formats::ed25519_key::generate();
  REQUIRE(other);
  const auto other_pub = srv.dir() / "other.pub";
  {
    std::ofstream f(other_pub);
    f << other->public_pem();
  }
  CHECK(run_cairn(srv,
                  {"audit", "verify-proof", "--record", records.string(), "--public-key",
                   other_pub.string()},
                  out) == 1);
  CHECK(out.find("another signing key") != std::string::npos);

  CHECK(run_cairn(srv, {"audit", "verify-proof", "--public-key", pub}, out) == 2);
  CHECK(run_cairn(srv, {"audit", "verify-prof", "--record", records.string()}, out) == 2);
  CHECK(run_cairn(srv, {"audit", "--record", records.string()}, out) == 2);
}

TEST_CASE("audit over TLS: each config load is recorded with the file's SHA-256") {
  test_server srv;
  auto auditor = srv.client("auditor");
  auto first = wait_for_records(auditor, "action=config", 1);
  REQUIRE(first.size() == 1);
  CHECK(first[0].record.sha256 == merkle::to_hex(merkle::sha256(read_file(srv.config_path()))));
  CHECK(first[0].record.account.empty());

  // SIGHUP with a changed file (the test helpers hash each password once,
  // so the same setup would write the same bytes).
  auto changed = srv.setup();
  changed.limits_json = R"("page_size": 999)";
  const std::size_t from = srv.log_text().size();
  srv.reload(changed);
  REQUIRE(srv.wait_for_log("config loaded", from));
  auto both = wait_for_records(auditor, "action=config", 2);
  REQUIRE(both.size() == 2);
  CHECK(both[1].record.sha256 == merkle::to_hex(merkle::sha256(read_file(srv.config_path()))));
  CHECK(both[1].record.sha256 != both[0].record.sha256);

  // A refused file is not a load.
  const std::size_t bad_from = srv.log_text().size();
  srv.reload_raw("{ not json");
  REQUIRE(srv.wait_for_log("refused", bad_from));
  CHECK(audit_records(auditor, "action=config").size() == 2);
}

TEST_CASE("audit over TLS: an auditor with a read list sees only those collections' records") {
  server_setup setup = default_setup();
  // Scoped to intel (by alias); secret is the other collection.
  setup.accounts.push_back({"intel-auditor", "intel-auditor-password", {"intel"}, {}, "red", true});
  test_server srv(setup);
  auto admin = srv.client("admin");
  const std::string in_intel = random_stix_id("indicator");
  const std::string in_secret = random_stix_id("indicator");
  REQUIRE(admin.add_objects("/api1/", "intel",
                            envelope({make_indicator(in_intel, "2026-02-01T00:00:00.000Z")})));
  REQUIRE(admin.add_objects("/api1/", "secret",
                            envelope({make_indicator(in_secret, "2026-02-01T00:00:00.000Z")})));
  REQUIRE(admin.get_objects("/api1/", "intel"));
  REQUIRE(admin.get_objects("/api1/", "secret"));
  REQUIRE(admin.versions("/api1/", "secret", in_secret));
  CHECK(srv.client("writer").request("GET", k_objects)->status == 403);  // denied, intel
  CHECK(srv.client("nobody").request("GET", "/api1/collections/secret/objects/")->status == 404);
  CHECK(srv.client("reader").request("GET", "/cairn/v1/audit")->status == 403);  // no collection
  auto opts = srv.options("reader");
  opts.password = "not-the-password";
  opts.retries = 0;
  auto wrong = clients::taxii_client::make(opts);
  REQUIRE(wrong);
  CHECK(wrong->request("GET", "/taxii2/")->status == 401);

  auto auditor = srv.client("auditor");
  wait_for_records(auditor, "action=denied", 3);
  wait_for_records(auditor, "action=auth-failure", 1);
  const auto all = audit_records(auditor);
  std::vector<std::uint64_t> expected;
  std::size_t of_secret = 0;
  for (const auto& e : all) {
    if (e.record.collection.empty() || e.record.collection == k_intel) {
      expected.push_back(e.record.seq);
    } else {
      CHECK(e.record.collection == k_secret);
      ++of_secret;
    }
  }
  REQUIRE(of_secret == 4);  // publish, pull, versions, nobody's 404

  // Before the fix the scoped auditor saw every record, secret's included.
  auto scoped = srv.client("intel-auditor");
  auto seqs_of = [](const std::vector<audit_entry>& v) {
    std::vector<std::uint64_t> out;
    for (const auto& e : v) out.push_back(e.record.seq);
    return out;
  };
  auto visible = audit_records(scoped);
  // Its own query came later than `all`: compare the records `all` covered.
  std::erase_if(visible,
                [&](const audit_entry& e) { return e.record.seq > all.back().record.seq; });
  CHECK(seqs_of(visible) == expected);
  std::map<std::string, int> actions;
  for (const auto& e : visible) {
    ++actions[e.record.action];
    // Whole records, hashes intact: each one still verifies.
    CHECK(formats::audit_chain_hash(e.record.prev, e.body) == e.record.hash);
  }
  CHECK(actions["config"] == 1);
  CHECK(actions["auth-failure"] == 1);
  CHECK(actions["publish"] == 1);
  CHECK(actions["pull"] == 1);
  CHECK(actions["denied"] == 2);  // writer on intel, reader on the audit endpoint

  // Filters naming the other collection or its object answer as if it had no
  // records; they neither fail nor reveal anything.
  for (const std::string& q :
       {"collection=" + std::string(k_secret), std::string("collection=secret"),
        "object=" + in_secret, "object=" + in_secret + "&action=pull",
        "collection=" + std::string(k_secret) + "&account=admin", std::string("account=nobody")}) {
    INFO(q);
    auto r = get_json(scoped, "/cairn/v1/audit?" + q);
    CHECK(r.status == 200);
    CHECK(r.body == R"({"records":[],"more":false})");
  }
  // Its own collection, by id, alias, object, account and action.
  CHECK(audit_records(scoped, "collection=intel").size() == 3);  // publish, pull, denied
  auto intel_object = audit_records(scoped, "object=" + in_intel);
  CHECK(intel_object.size() == 2);  // publish and admin's pull
  auto admin_records = audit_records(scoped, "account=admin");
  CHECK(admin_records.size() == 2);
  for (const auto& e : admin_records) CHECK(e.record.collection == k_intel);
  auto publishes = audit_records(scoped, "action=publish");
  REQUIRE(publishes.size() == 1);
  CHECK(publishes[0].record.objects.at(0).id == in_intel);
  CHECK(audit_records(scoped, "action=config").size() == 1);

  // Paging with next (limit=7 above, and limit=1 here) never crosses scope.
  std::string next;
  std::vector<std::uint64_t> paged;
  for (int i = 0; i < 100; ++i) {
    auto r = get_json(scoped, "/cairn/v1/audit?limit=1" + (next.empty() ? "" : "&next=" + next));
    REQUIRE(r.status == 200);
    auto doc = formats::parse_json(r.body);
    REQUIRE(doc);
    auto recs = doc->root().get("records");
    for (std::size_t k = 0; k < recs->size(); ++k) {
      auto rec = formats::parse_audit_record(recs->value_at(k));
      REQUIRE(rec);
      CHECK((rec->collection.empty() || rec->collection == k_intel));
      paged.push_back(rec->seq);
    }
    if (!doc->root().get("more")->as_bool()) break;
    next = std::string(doc->root().get("next")->as_string());
  }
  std::erase_if(paged, [&](std::uint64_t s) { return s > all.back().record.seq; });
  CHECK(paged == expected);

  // Checkpoints and proofs are hashes and sizes: every auditor gets them.
  CHECK(get_json(scoped, "/cairn/v1/audit/checkpoint").status == 200);
  CHECK(get_json(scoped, "/cairn/v1/audit/proof?seq=1&tree_size=2").status == 200);
}

TEST_CASE("audit over TLS: counted login failures name their accounts and are written by a timer") {
  server_setup setup = default_setup();
  // Keep the KDF throttle out of the way: every attempt reaches the checks.
  setup.limits_json = R"("auth_failure_burst": 1000, "auth_failure_burst_per_address": 1000)";
  test_server srv(setup);
  auto fail_as = [&](const std::string& name, int times) {
    auto o = srv.options("reader");
    o.user = name;
    o.password = "wrong";
    o.retries = 0;
    auto c = clients::taxii_client::make(o);
    REQUIRE(c);
    for (int i = 0; i < times; ++i) CHECK(c->request("GET", "/taxii2/")->status == 401);
  };
  fail_as("nobody", 5);  // the budget of the address: recorded one by one
  fail_as("reader", 3);  // counted from here on
  fail_as("writer", 2);
  fail_as("no-such-account", 2);  // never named: it could be a password

  // No further event: the counter must be written by the flush timer (every
  // 5 s), and survive a SIGKILL that follows. Before the fix it was written
  // only at the next event after the minute, or at a clean shutdown, so
  // nothing of the 7 remained, and it named no account.
  std::this_thread::sleep_for(std::chrono::seconds(8));
  srv.stop(SIGKILL);
  srv.start();
  auto auditor = srv.client("auditor");
  auto failures = audit_records(auditor, "action=auth-failure");
  std::uint64_t one_by_one = 0;
  std::uint64_t counted = 0;
  std::map<std::string, std::uint64_t> named;
  for (const auto& e : failures) {
    auto doc = formats::parse_json(e.json);
    REQUIRE(doc);
    if (e.record.suppressed == 0) {
      ++one_by_one;
      CHECK(e.record.account == "nobody");
      continue;
    }
    counted += e.record.suppressed;
    CHECK(e.record.remote == "127.0.0.1");
    auto accounts = doc->root().get("accounts");
    REQUIRE(accounts);
    REQUIRE(accounts->is_object());
    for (std::size_t i = 0; i < accounts->size(); ++i) {
      named[std::string(accounts->key_at(i))] +=
          static_cast<std::uint64_t>(accounts->value_at(i).as_int());
    }
  }
  CHECK(one_by_one == 5);
  CHECK(counted == 7);
  CHECK(named == std::map<std::string, std::uint64_t>{{"reader", 3}, {"writer", 2}});

  // The account filter finds the counter records that name the account.
  auto for_writer = audit_records(auditor, "action=auth-failure&account=writer");
  REQUIRE(for_writer.size() >= 1);
  for (const auto& e : for_writer) CHECK(e.record.suppressed > 0);

  // A counter record proves its inclusion like any other...
  std::string out;
  REQUIRE(run_cairn(srv, {"audit", "--action", "auth-failure", "--account", "reader", "--json"},
                    out) == 0);
  CHECK(out.find(R"("accounts":{"reader":)") != std::string::npos);
  const auto saved = srv.dir() / "counters.jsonl";
  {
    std::ofstream f(saved);
    f << out;
  }
  CHECK(run_cairn(srv,
                  {"audit", "verify-proof", "--record", saved.string(), "--public-key",
                   (srv.dir() / "data" / "audit-signing.pub").string()},
                  out) == 0);
  CHECK(out.find("FAILED") == std::string::npos);
  CHECK(out.find(" records verified against the checkpoint") != std::string::npos);

  // ... and the log, counters included, still verifies offline.
  auditor.disconnect();
  REQUIRE(srv.stop(SIGTERM) == 0);
  CHECK(run_cairnd({"audit", "verify", "--data", (srv.dir() / "data").string()}, out) == 0);
  CHECK(out.find("audit log intact") != std::string::npos);
}

// Alerts as the monitor records them (store::record, action "alert"),
// written into a stopped node's store: the real cairnd then lists them at
// GET /cairn/v1/alerts and /cairn/v1/audit, `cairn alerts` prints them, a
// client proves them against the signed checkpoint, and `cairnd audit
// verify` accepts the log.
TEST_CASE("alerts over TLS: alert records are listed, printed, proved and verified") {
  server_setup setup = default_setup();
  setup.accounts.push_back({"intel-auditor", "intel-auditor-password", {"intel"}, {}, "red", true});
  test_server srv(setup);
  CHECK(srv.client("reader").request("GET", "/cairn/v1/alerts")->status == 403);
  REQUIRE(srv.stop(SIGTERM) == 0);
  const auto data = srv.dir() / "data";
  std::uint64_t first_alert = 0;
  {
    storage::lmdb_store_options o;
    o.path = (data / "store").string();
    o.key_path = (data / "audit-signing.key").string();
    o.public_key_path = (data / "audit-signing.pub").string();
    auto store = storage::open_lmdb_store(o);
    REQUIRE(store);
    const std::uint64_t before = (*store)->audit_size().value();
    REQUIRE(before >= 2);
    auto record = [&](std::string kind, std::string account, std::string detail,
                      std::vector<std::uint64_t> evidence) {
      storage::audit_entry e;
      e.action = "alert";
      e.kind = std::move(kind);
      e.account = std::move(account);
      e.remote = "198.51.100.23";
      e.detail = std::move(detail);
      e.evidence = std::move(evidence);
      std::promise<result<std::uint64_t>> done;
      (*store)->record(std::move(e), [&](result<std::uint64_t> seq) { done.set_value(seq); });
      auto seq = done.get_future().get();
      REQUIRE(seq);
      return *seq;
    };
    first_alert = record("auth-failure-burst", "reader", "10 failed authentications within 60 s",
                         {before - 1, before});
    REQUIRE(record("new-address", "admin", "first request from 198.51.100.0/24", {}) ==
            first_alert + 1);
    (*store)->close();
  }
  srv.start();

  auto auditor = srv.client("auditor");
  auto r = get_json(auditor, "/cairn/v1/alerts");
  REQUIRE(r.status == 200);
  auto doc = formats::parse_json(r.body);
  REQUIRE(doc);
  auto alerts = doc->root().get("alerts");
  REQUIRE(alerts);
  REQUIRE(alerts->size() == 2);
  const auto a = alerts->value_at(0);
  CHECK(a.get("seq")->as_int() == static_cast<std::int64_t>(first_alert));
  CHECK(a.get("kind")->as_string() == "auth-failure-burst");
  CHECK(a.get("account")->as_string() == "reader");
  CHECK(a.get("remote")->as_string() == "198.51.100.23");
  CHECK(a.get("detail")->as_string() == "10 failed authentications within 60 s");
  CHECK(a.get("evidence")->dump() ==
        "[" + std::to_string(first_alert - 2) + "," + std::to_string(first_alert - 1) + "]");
  CHECK(doc->root().get("more")->as_bool() == false);
  // Filters, and a kind that is not one.
  r = get_json(auditor, "/cairn/v1/alerts?kind=new-address");
  REQUIRE(r.status == 200);
  CHECK(r.body.find(R"("kind":"new-address")") != std::string::npos);
  CHECK(r.body.find("auth-failure-burst") == std::string::npos);
  CHECK(get_json(auditor, "/cairn/v1/alerts?kind=earthquake").status == 400);
  // Alerts name no collection: an auditor scoped to one collection sees them.
  auto scoped = clients::taxii_client::make(srv.options("intel-auditor"));
  REQUIRE(scoped);
  r = get_json(*scoped, "/cairn/v1/alerts");
  REQUIRE(r.status == 200);
  CHECK(r.body.find("new-address") != std::string::npos);
  // Other accounts are refused.
  CHECK(srv.client("reader").request("GET", "/cairn/v1/alerts")->status == 403);

  // The sharing record lists them with their members.
  auto listed = audit_records(auditor, "action=alert");
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].record.kind == "auth-failure-burst");
  CHECK(listed[1].record.detail == "first request from 198.51.100.0/24");

  // cairn alerts: a table, then JSON lines; cairn audit shows them too.
  std::string out;
  REQUIRE(run_cairn(srv, {"alerts"}, out) == 0);
  CHECK(out.find("auth-failure-burst  reader") != std::string::npos);
  CHECK(out.find("new-address") != std::string::npos);
  CHECK(out.find("2 alerts") != std::string::npos);
  REQUIRE(run_cairn(srv, {"alerts", "--kind", "new-address", "--json"}, out) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  CHECK(out.find(R"("kind":"new-address")") != std::string::npos);
  REQUIRE(run_cairn(srv, {"audit", "--action", "alert"}, out) == 0);
  CHECK(out.find("auth-failure-burst: 10 failed authentications within 60 s (evidence [") !=
        std::string::npos);

  // A client proves them against the signed checkpoint with the public key.
  REQUIRE(run_cairn(srv, {"audit", "--action", "alert", "--json"}, out) == 0);
  const auto saved = srv.dir() / "alerts.jsonl";
  {
    std::ofstream f(saved);
    f << out;
  }
  CHECK(run_cairn(srv,
                  {"audit", "verify-proof", "--record", saved.string(), "--public-key",
                   (data / "audit-signing.pub").string()},
                  out) == 0);
  CHECK(out.find("2 of 2 records verified") != std::string::npos);

  // And the log, alerts included, verifies offline.
  auditor.disconnect();
  REQUIRE(srv.stop(SIGTERM) == 0);
  CHECK(run_cairnd({"audit", "verify", "--data", data.string()}, out) == 0);
  CHECK(out.find("audit log intact") != std::string::npos);
}
