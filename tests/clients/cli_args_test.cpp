#include "clients/cli_args.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "tests/clients/test_tls_server.hpp"

using namespace cairn::clients;

namespace {

struct env_map {
  std::map<std::string, std::string> values;
  env_lookup lookup() const {
    return [this](std::string_view k) -> std::optional<std::string> {
      auto it = values.find(std::string(k));
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
  }
};

cairn::result<cli_args> parse(std::vector<std::string> args, const env_map& env = {}) {
  return parse_cli_args(args, env.lookup());
}

const std::string url = "https://exchange.example.org/taxii2/";

}  // namespace

TEST_CASE("commands and positionals", "[clients][cli]") {
  auto a = parse({"pull", "indicators", "--url", url});
  REQUIRE(a);
  CHECK(a->command == cli_command::pull);
  CHECK(a->positionals == std::vector<std::string>{"indicators"});
  CHECK(a->connection.url == url);

  auto p = parse({"--url=" + url, "publish", "ind", "a.json", "-", "b.jsonl"});
  REQUIRE(p);
  CHECK(p->command == cli_command::publish);
  CHECK(p->positionals == std::vector<std::string>{"ind", "a.json", "-", "b.jsonl"});

  auto d = parse(
      {"delete", "ind", "indicator--1", "--url", url, "--version", "2020-01-01T00:00:00.000Z"});
  REQUIRE(d);
  CHECK(d->command == cli_command::delete_object);
  CHECK(d->versions == std::vector<std::string>{"2020-01-01T00:00:00.000Z"});

  auto dd = parse({"get", "--url", url, "--", "ind", "-odd-id"});
  REQUIRE(dd);
  CHECK(dd->positionals == std::vector<std::string>{"ind", "-odd-id"});
}

TEST_CASE("usage errors say what to fix", "[clients][cli]") {
  auto none = parse({});
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("no command") != std::string::npos);

  auto unknown = parse({"fetch", "--url", url});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("unknown command \"fetch\"") != std::string::npos);

  auto missing = parse({"pull", "--url", url});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "usage: cairn pull COLLECTION [options]");

  auto extra = parse({"status", "a", "b", "--url", url});
  REQUIRE_FALSE(extra);

  auto bad_option = parse({"pull", "ind", "--url", url, "--colour"});
  REQUIRE_FALSE(bad_option);
  CHECK(bad_option.error().message == "unknown option --colour");

  auto wrong_command = parse({"discover", "--url", url, "--state", "s.json"});
  REQUIRE_FALSE(wrong_command);
  CHECK(wrong_command.error().message == "cairn discover does not take --state");

  auto no_value = parse({"pull", "ind", "--url"});
  REQUIRE_FALSE(no_value);
  CHECK(no_value.error().message == "--url needs a value");

  auto flag_value = parse({"pull", "ind", "--url", url, "--insecure=yes"});
  REQUIRE_FALSE(flag_value);

  CHECK_FALSE(parse({"pull", "ind", "--url", url, "--format", "xml"}));
  CHECK_FALSE(parse({"pull", "ind", "--url", url, "--since", "yesterday"}));
  CHECK_FALSE(parse({"pull", "ind", "--url", url, "--version", "newest"}));
  CHECK_FALSE(parse({"pull", "ind", "--url", url, "--version", "all,last"}));
  CHECK_FALSE(parse({"pull", "ind", "--url", url, "--limit", "0"}));
  CHECK_FALSE(parse({"pull", "ind", "--url", url, "--limit", "12x"}));
  CHECK_FALSE(parse({"publish", "ind", "f", "--url", url, "--batch", "1000000"}));
  CHECK_FALSE(parse({"get", "ind", "x", "--url", url, "--versions", "--version", "all"}));
}

TEST_CASE("filters and formats", "[clients][cli]") {
  auto a = parse({"pull",           "ind",
                  "--url",          url,
                  "--type",         "indicator,malware",
                  "--type",         "tool",
                  "--id",           "indicator--1",
                  "--version",      "first,last",
                  "--since",        "2026-01-01T00:00:00Z",
                  "--limit",        "500",
                  "--format",       "jsonl",
                  "--out",          "f.jsonl",
                  "--state",        "s.json",
                  "--spec-version", "2.1"});
  REQUIRE(a);
  CHECK(a->types == std::vector<std::string>{"indicator", "malware", "tool"});
  CHECK(a->ids == std::vector<std::string>{"indicator--1"});
  CHECK(a->versions == std::vector<std::string>{"first", "last"});
  CHECK(a->since == "2026-01-01T00:00:00Z");
  CHECK(a->page_limit == 500);
  CHECK(a->format == output_format::jsonl);
  CHECK(a->out_file == "f.jsonl");
  CHECK(a->state_file == "s.json");
  CHECK(a->spec_versions == std::vector<std::string>{"2.1"});

  auto b = parse({"publish", "ind", "x.json", "--url", url, "--batch", "250", "--wait", "5",
                  "--timeout", "7", "--retries", "0", "--json", "-q"});
  REQUIRE(b);
  CHECK(b->batch_objects == 250);
  CHECK(b->status_wait == std::chrono::seconds(5));
  CHECK(b->connection.timeout == std::chrono::seconds(7));
  CHECK(b->connection.retries == 0);
  CHECK(b->json);
  CHECK(b->quiet);

  auto audit = parse({"audit", "--url", url, "--object", "indicator--1", "--account", "acme",
                      "--action", "pull", "--until", "2026-02-01T00:00:00Z"});
  REQUIRE(audit);
  CHECK(audit->audit_object == "indicator--1");
  CHECK(audit->audit_account == "acme");
  CHECK(audit->audit_action == "pull");
  CHECK(audit->until == "2026-02-01T00:00:00Z");
}

TEST_CASE("help is available for every command", "[clients][cli]") {
  auto general = parse({"--help"});
  REQUIRE(general);
  CHECK(general->help);
  CHECK(general->command == cli_command::none);

  auto word = parse({"help", "pull"});
  REQUIRE(word);
  CHECK(word->help);
  CHECK(word->command == cli_command::pull);

  // Help needs no URL or credentials.
  auto flag = parse({"publish", "-h"});
  REQUIRE(flag);
  CHECK(flag->help);
  CHECK(flag->command == cli_command::publish);

  for (auto c : {cli_command::none, cli_command::discover, cli_command::collections,
                 cli_command::publish, cli_command::pull, cli_command::get, cli_command::manifest,
                 cli_command::status, cli_command::delete_object, cli_command::audit}) {
    const std::string text = help_text(c);
    CHECK(text.find("usage: cairn") != std::string::npos);
    CHECK(text.find("--insecure") != std::string::npos);
    if (c != cli_command::none) {
      CHECK(text.find("Examples:") != std::string::npos);
      CHECK(text.find("cairn " + std::string(command_name(c))) != std::string::npos);
    }
  }
}

TEST_CASE("the server and credentials come from flags, then the environment", "[clients][cli]") {
  env_map env;
  auto no_url = parse({"discover"}, env);
  REQUIRE_FALSE(no_url);
  CHECK(no_url.error().message.find("CAIRN_URL") != std::string::npos);

  env.values["CAIRN_URL"] = url;
  env.values["CAIRN_USER"] = "acme";
  env.values["CAIRN_PASSWORD"] = "from-env";
  auto from_env = parse({"discover"}, env);
  REQUIRE(from_env);
  CHECK(from_env->connection.url == url);
  CHECK(from_env->connection.user == "acme");
  CHECK(from_env->connection.password == "from-env");
  CHECK(from_env->connection.token.empty());

  auto flags_win = parse(
      {"discover", "--url", "https://other/taxii2/", "--user", "bob", "--password-file", "pw.txt"},
      env);
  REQUIRE(flags_win);
  CHECK(flags_win->connection.url == "https://other/taxii2/");
  CHECK(flags_win->connection.user == "bob");
  CHECK(flags_win->password_file == "pw.txt");
  CHECK(flags_win->connection.password.empty());  // read later by load_secrets

  env.values["CAIRN_TOKEN"] = "tok";
  auto token = parse({"discover"}, env);
  REQUIRE(token);
  CHECK(token->connection.token == "tok");
  CHECK(token->connection.user.empty());

  // An explicit --user beats a token from the environment.
  auto user_flag = parse({"discover", "--user", "acme"}, env);
  REQUIRE(user_flag);
  CHECK(user_flag->connection.user == "acme");
  CHECK(user_flag->connection.token.empty());

  env.values.erase("CAIRN_TOKEN");
  env.values.erase("CAIRN_PASSWORD");
  auto no_password = parse({"discover"}, env);
  REQUIRE_FALSE(no_password);
  CHECK(no_password.error().message.find("--password-file") != std::string::npos);

  CHECK_FALSE(parse({"discover", "--user", "a", "--token-file", "t"}, env));
  CHECK_FALSE(parse({"discover", "--url", url, "--insecure", "--cacert", "ca.pem"}));
  CHECK_FALSE(parse({"discover", "--url", url, "--cert", "c.pem"}));
  CHECK_FALSE(parse({"discover", "--url", url, "--password-file", "pw"}));

  auto insecure = parse({"discover", "--url", url, "--insecure"});
  REQUIRE(insecure);
  CHECK(insecure->connection.insecure);
  CHECK(insecure->insecure_warning);
}

TEST_CASE("load_secrets reads one line from the secret files", "[clients][cli]") {
  cairn::clients::testing::temp_dir dir;
  const auto pw = dir.path() / "pw";
  const auto tok = dir.path() / "tok";
  std::ofstream(pw) << "s3cret\n";
  std::ofstream(tok) << "token-value\r\nignored\n";
  cli_args a;
  a.password_file = pw.string();
  REQUIRE(load_secrets(a));
  CHECK(a.connection.password == "s3cret");

  cli_args b;
  b.token_file = tok.string();
  REQUIRE(load_secrets(b));
  CHECK(b.connection.token == "token-value");

  cli_args c;
  c.password_file = (dir.path() / "missing").string();
  auto missing = load_secrets(c);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("missing") != std::string::npos);

  const auto empty = dir.path() / "empty";
  std::ofstream(empty) << "\n";
  cli_args d;
  d.password_file = empty.string();
  CHECK_FALSE(load_secrets(d));
}

TEST_CASE("lookup and export take their own options", "[clients][cli]") {
  auto l = parse({"lookup", "198.51.100.7", "--type", "ipv4-addr", "--json", "--url", url});
  REQUIRE(l);
  CHECK(l->command == cli_command::lookup);
  CHECK(l->positionals == std::vector<std::string>{"198.51.100.7"});
  CHECK(l->types == std::vector<std::string>{"ipv4-addr"});
  CHECK(l->json);
  auto two = parse({"lookup", "x.example", "--type", "url,domain-name", "--url", url});
  REQUIRE_FALSE(two);
  CHECK(two.error().message.find("one --type") != std::string::npos);
  CHECK_FALSE(parse({"lookup", "--url", url}));  // no value
  CHECK_FALSE(parse({"lookup", "a", "--out", "f", "--url", url}));

  auto e = parse({"export", "indicators", "--format", "csv", "--type", "ipv4-addr,url", "--out",
                  "feed.csv", "--url", url});
  REQUIRE(e);
  CHECK(e->command == cli_command::export_values);
  CHECK(e->export_format == "csv");
  CHECK(e->types == std::vector<std::string>{"ipv4-addr", "url"});
  CHECK(e->out_file == "feed.csv");
  auto no_format = parse({"export", "indicators", "--url", url});
  REQUIRE_FALSE(no_format);
  CHECK(no_format.error().message.find("--format edl|csv|stix") != std::string::npos);
  auto bad_format = parse({"export", "indicators", "--format", "jsonl", "--url", url});
  REQUIRE_FALSE(bad_format);
  CHECK(bad_format.error().message.find("edl, csv or stix") != std::string::npos);
  // pull keeps its own formats.
  auto p = parse({"pull", "indicators", "--format", "jsonl", "--url", url});
  REQUIRE(p);
  CHECK(p->format == output_format::jsonl);
  CHECK(help_text(cli_command::export_values).find("--format F") != std::string::npos);
  CHECK(help_text(cli_command::lookup).find("cairn lookup VALUE") != std::string::npos);
}

TEST_CASE("audit exposure takes an object and nothing else", "[clients][cli]") {
  auto a = parse({"audit", "exposure", "--object", "indicator--1", "--json", "--url", url});
  REQUIRE(a);
  CHECK(a->command == cli_command::audit);
  CHECK(a->positionals == std::vector<std::string>{"exposure"});
  CHECK(a->audit_object == "indicator--1");
  CHECK(a->json);

  auto missing = parse({"audit", "exposure", "--url", url});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "usage: cairn audit exposure --object ID [--json] [options]");
  auto filtered =
      parse({"audit", "exposure", "--object", "indicator--1", "--account", "acme", "--url", url});
  REQUIRE_FALSE(filtered);
  CHECK(filtered.error().message == "cairn audit exposure takes --object ID only (and --json)");
  auto other = parse({"audit", "exposures", "--url", url});
  REQUIRE_FALSE(other);
  CHECK(other.error().message ==
        "cairn audit takes filters, or the word verify-proof or exposure, not \"exposures\"");
}
