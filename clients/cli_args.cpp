#include "clients/cli_args.hpp"

#include <array>
#include <charconv>
#include <fstream>
#include <sstream>

#include "formats/time.hpp"

namespace cairn::clients {

namespace {

// Which commands take an option.
constexpr unsigned bit(cli_command c) {
  return 1u << static_cast<unsigned>(c);
}
constexpr unsigned all_commands = 0xffffffffu;
constexpr unsigned filter_commands =
    bit(cli_command::pull) | bit(cli_command::get) | bit(cli_command::manifest);

struct option_spec {
  std::string_view name;
  bool takes_value;
  unsigned commands;
};

constexpr unsigned audit_commands = bit(cli_command::audit) | bit(cli_command::alerts);

constexpr std::array<option_spec, 38> options_table{{
    {"--url", true, all_commands},
    {"--user", true, all_commands},
    {"--password-file", true, all_commands},
    {"--token-file", true, all_commands},
    {"--cert", true, all_commands},
    {"--key", true, all_commands},
    {"--cacert", true, all_commands},
    {"--pin", true, all_commands},
    {"--insecure", false, all_commands},
    {"--timeout", true, all_commands},
    {"--retries", true, all_commands},
    {"--root", true, all_commands & ~bit(cli_command::discover)},
    {"--json", false, all_commands},
    {"--quiet", false, all_commands},
    {"-q", false, all_commands},
    {"--help", false, all_commands},
    {"-h", false, all_commands},
    {"--batch", true, bit(cli_command::publish)},
    {"--wait", true, bit(cli_command::publish)},
    {"--since", true, filter_commands | audit_commands},
    {"--type", true,
     bit(cli_command::pull) | bit(cli_command::manifest) | bit(cli_command::lookup) |
         bit(cli_command::export_values)},
    {"--id", true, bit(cli_command::pull) | bit(cli_command::manifest)},
    {"--version", true, filter_commands | bit(cli_command::delete_object)},
    {"--spec-version", true, filter_commands | bit(cli_command::delete_object)},
    {"--limit", true, filter_commands | audit_commands | bit(cli_command::statuses)},
    {"--state", true, bit(cli_command::pull)},
    {"--out", true, bit(cli_command::pull) | bit(cli_command::export_values)},
    {"--format", true, bit(cli_command::pull) | bit(cli_command::export_values)},
    {"--versions", false, bit(cli_command::get)},
    {"--object", true, bit(cli_command::audit)},
    {"--account", true, audit_commands},
    {"--collection", true, bit(cli_command::audit)},
    {"--action", true, bit(cli_command::audit)},
    {"--until", true, audit_commands},
    {"--record", true, bit(cli_command::audit)},
    {"--checkpoint", true, bit(cli_command::audit)},
    {"--public-key", true, bit(cli_command::audit)},
    {"--kind", true, bit(cli_command::alerts)},
}};

struct command_spec {
  cli_command command;
  std::string_view name;
  std::size_t min_positionals;
  std::size_t max_positionals;  // SIZE_MAX: any
  std::string_view positional_usage;
};

constexpr std::array<command_spec, 13> commands_table{{
    {cli_command::discover, "discover", 0, 0, ""},
    {cli_command::collections, "collections", 0, 0, ""},
    {cli_command::publish, "publish", 2, SIZE_MAX, "COLLECTION FILE..."},
    {cli_command::pull, "pull", 1, 1, "COLLECTION"},
    {cli_command::get, "get", 2, 2, "COLLECTION OBJECT_ID"},
    {cli_command::manifest, "manifest", 1, 1, "COLLECTION"},
    {cli_command::status, "status", 1, 1, "STATUS_ID"},
    {cli_command::delete_object, "delete", 2, 2, "COLLECTION OBJECT_ID"},
    {cli_command::audit, "audit", 0, 1, "[verify-proof | exposure]"},
    {cli_command::lookup, "lookup", 1, 1, "VALUE"},
    {cli_command::export_values, "export", 1, 1, "COLLECTION"},
    {cli_command::alerts, "alerts", 0, 0, ""},
    {cli_command::statuses, "statuses", 0, 0, ""},
}};

const command_spec* find_command(std::string_view name) {
  for (const auto& c : commands_table) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const command_spec& spec_of(cli_command command) {
  for (const auto& c : commands_table) {
    if (c.command == command) return c;
  }
  return commands_table.front();
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = text.find(',', pos);
    const auto item =
        text.substr(pos, comma == std::string_view::npos ? text.size() - pos : comma - pos);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

result<std::int64_t> parse_count(std::string_view option, std::string_view text, std::int64_t min,
                                 std::int64_t max) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < min || n > max) {
    return fail(std::string(option) + " needs a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", not \"" + std::string(text) + "\"");
  }
  return n;
}

result<void> check_time(std::string_view option, std::string_view text) {
  if (!formats::parse_rfc3339(text)) {
    return fail(std::string(option) + " needs an RFC 3339 UTC time such as " +
                "2026-01-31T00:00:00Z, not \"" + std::string(text) + "\"");
  }
  return {};
}

result<void> check_versions(const std::vector<std::string>& versions) {
  if (versions.empty()) return fail("--version needs a value: all, last, first or a timestamp");
  for (const auto& v : versions) {
    if (v == "all" || v == "last" || v == "first") {
      if (v == "all" && versions.size() > 1) {
        return fail("--version all cannot be combined with other values");
      }
      continue;
    }
    if (!formats::is_stix_timestamp(v)) {
      return fail("--version takes all, last, first or STIX timestamps (comma-separated), not \"" +
                  v + "\"");
    }
  }
  return {};
}

}  // namespace

std::string_view command_name(cli_command command) {
  if (command == cli_command::none) return "";
  return spec_of(command).name;
}

result<void> resolve_connection(client_options& c, const connection_flags& flags,
                                const env_lookup& env) {
  // Where and who: flags first, then the environment.
  if (c.url.empty()) c.url = env("CAIRN_URL").value_or("");
  if (c.url.empty()) return fail("no server given: use --url URL or set CAIRN_URL");
  if (!flags.token_file.empty() && flags.user) {
    return fail("--user and --token-file exclude each other: use one way to authenticate");
  }
  if (!flags.password_file.empty() && !flags.token_file.empty()) {
    return fail("--password-file and --token-file exclude each other");
  }
  const std::string user = flags.user ? *flags.user : env("CAIRN_USER").value_or("");
  const std::string env_token = env("CAIRN_TOKEN").value_or("");
  const bool use_token = !flags.token_file.empty() || (!env_token.empty() && !flags.user);
  if (use_token) {
    if (flags.token_file.empty()) c.token = env_token;
  } else if (!user.empty()) {
    c.user = user;
    if (flags.password_file.empty()) {
      auto pw = env("CAIRN_PASSWORD");
      if (!pw) {
        return fail("--user " + user + " needs a password: use --password-file FILE or set " +
                    "CAIRN_PASSWORD");
      }
      c.password = *pw;
    }
  } else if (!flags.password_file.empty()) {
    return fail("--password-file needs --user NAME (or CAIRN_USER)");
  }
  if (c.user.find(':') != std::string::npos) return fail("a user name cannot contain ':'");
  if (c.insecure && (!c.pinned_cert_sha256.empty() || !c.cacert_file.empty())) {
    return fail("--insecure turns verification off; it cannot go with --cacert or --pin");
  }
  if (c.client_cert_file.empty() != c.client_key_file.empty()) {
    return fail("a client certificate needs both --cert and --key");
  }
  return {};
}

namespace {

// The words of a command line, before they are checked against the command.
struct scanned_words {
  std::vector<std::pair<std::string, std::string>> options;  // option, value
  std::vector<std::string> positionals;
};

const option_spec* find_option(std::string_view name) {
  const option_spec* spec = nullptr;
  for (const auto& o : options_table) {
    if (o.name == name) spec = &o;
  }
  return spec;
}

// Splits args into the command (and `help`), options with their values and
// positionals. Options may come before the command too ("cairn --url U
// discover"); after "--" every word is a positional.
result<scanned_words> scan_words(const std::vector<std::string>& args, cli_args& out) {
  scanned_words words;
  bool after_double_dash = false;
  bool help_word = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (after_double_dash || a == "-" || a.empty() || a.front() != '-') {
      if (out.command == cli_command::none && !help_word) {
        if (a == "help") {
          help_word = true;
          out.help = true;
          continue;
        }
        const command_spec* c = find_command(a);
        if (!c) {
          return fail("unknown command \"" + a +
                      "\"; the commands are discover, collections, publish, pull, get, manifest, "
                      "status, statuses, delete, audit and alerts (see cairn --help)");
        }
        out.command = c->command;
        continue;
      }
      if (help_word && out.command == cli_command::none) {
        const command_spec* c = find_command(a);
        if (!c) return fail("no help for unknown command \"" + a + "\"");
        out.command = c->command;
        continue;
      }
      words.positionals.push_back(a);
      continue;
    }
    if (a == "--") {
      after_double_dash = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> inline_value;
    if (const auto eq = a.find('='); eq != std::string::npos && a.starts_with("--")) {
      name = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    const option_spec* spec = find_option(name);
    if (!spec) return fail("unknown option " + name);
    std::string value;
    if (spec->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else {
        if (i + 1 >= args.size()) return fail(name + " needs a value");
        value = args[++i];
      }
    } else if (inline_value) {
      return fail(name + " takes no value");
    }
    words.options.emplace_back(name, value);
  }
  return words;
}

// Stores one option (already known to exist and to suit the command) in out;
// --user goes to user_flag, for resolve_connection().
result<void> apply_option(const std::string& name, const std::string& value, cli_args& out,
                          std::optional<std::string>& user_flag) {
  auto& c = out.connection;
  if (name == "--url") {
    c.url = value;
  } else if (name == "--user") {
    user_flag = value;
  } else if (name == "--password-file") {
    out.password_file = value;
  } else if (name == "--token-file") {
    out.token_file = value;
  } else if (name == "--cert") {
    c.client_cert_file = value;
  } else if (name == "--key") {
    c.client_key_file = value;
  } else if (name == "--cacert") {
    c.cacert_file = value;
  } else if (name == "--pin") {
    c.pinned_cert_sha256 = value;
  } else if (name == "--insecure") {
    c.insecure = true;
    out.insecure_warning = true;
  } else if (name == "--timeout") {
    auto n = parse_count(name, value, 1, 3600);
    if (!n) return std::unexpected(n.error());
    c.timeout = std::chrono::seconds(*n);
  } else if (name == "--retries") {
    auto n = parse_count(name, value, 0, 20);
    if (!n) return std::unexpected(n.error());
    c.retries = static_cast<int>(*n);
  } else if (name == "--root") {
    out.root = value;
  } else if (name == "--json") {
    out.json = true;
  } else if (name == "--quiet" || name == "-q") {
    out.quiet = true;
  } else if (name == "--batch") {
    auto n = parse_count(name, value, 1, 100000);
    if (!n) return std::unexpected(n.error());
    out.batch_objects = static_cast<std::size_t>(*n);
  } else if (name == "--wait") {
    auto n = parse_count(name, value, 0, 86400);
    if (!n) return std::unexpected(n.error());
    out.status_wait = std::chrono::seconds(*n);
  } else if (name == "--since") {
    if (auto r = check_time(name, value); !r) return std::unexpected(r.error());
    out.since = value;
  } else if (name == "--until") {
    if (auto r = check_time(name, value); !r) return std::unexpected(r.error());
    out.until = value;
  } else if (name == "--type") {
    for (auto& t : split_list(value)) out.types.push_back(std::move(t));
  } else if (name == "--id") {
    for (auto& t : split_list(value)) out.ids.push_back(std::move(t));
  } else if (name == "--version") {
    for (auto& t : split_list(value)) out.versions.push_back(std::move(t));
  } else if (name == "--spec-version") {
    for (auto& t : split_list(value)) out.spec_versions.push_back(std::move(t));
  } else if (name == "--limit") {
    auto n = parse_count(name, value, 1, 1000000);
    if (!n) return std::unexpected(n.error());
    out.page_limit = *n;
  } else if (name == "--state") {
    out.state_file = value;
  } else if (name == "--out") {
    out.out_file = value;
  } else if (name == "--format" && out.command == cli_command::export_values) {
    if (value != "edl" && value != "csv" && value != "stix") {
      return fail("--format is edl, csv or stix, not \"" + value + "\"");
    }
    out.export_format = value;
  } else if (name == "--format") {
    if (value == "bundle") {
      out.format = output_format::bundle;
    } else if (value == "jsonl") {
      out.format = output_format::jsonl;
    } else {
      return fail("--format is bundle or jsonl, not \"" + value + "\"");
    }
  } else if (name == "--versions") {
    out.list_versions = true;
  } else if (name == "--object") {
    out.audit_object = value;
  } else if (name == "--account") {
    out.audit_account = value;
  } else if (name == "--collection") {
    out.audit_collection = value;
  } else if (name == "--action") {
    out.audit_action = value;
  } else if (name == "--record") {
    out.record_file = value;
  } else if (name == "--checkpoint") {
    out.checkpoint_file = value;
  } else if (name == "--public-key") {
    out.public_key_file = value;
  } else if (name == "--kind") {
    out.alert_kind = value;
  }
  return {};
}

// The positionals against the command's usage, and the combinations of
// options that the table of options alone does not rule out.
result<void> check_combinations(const command_spec& cmd, const cli_args& out) {
  if (!out.versions.empty()) {
    if (auto r = check_versions(out.versions); !r) return std::unexpected(r.error());
  }
  if (out.positionals.size() < cmd.min_positionals ||
      out.positionals.size() > cmd.max_positionals) {
    return fail("usage: cairn " + std::string(cmd.name) +
                (cmd.positional_usage.empty() ? "" : " ") + std::string(cmd.positional_usage) +
                " [options]");
  }
  if (out.command == cli_command::statuses && out.page_limit && *out.page_limit > 100) {
    return fail("cairn statuses takes --limit 1 to 100");
  }
  if (out.command == cli_command::audit && !out.positionals.empty() &&
      out.positionals[0] == "exposure") {
    if (out.audit_object.empty()) {
      return fail("usage: cairn audit exposure --object ID [--json] [options]");
    }
    if (!out.audit_account.empty() || !out.audit_collection.empty() || !out.audit_action.empty() ||
        !out.since.empty() || !out.until.empty() || out.page_limit || !out.record_file.empty() ||
        !out.public_key_file.empty() || !out.checkpoint_file.empty()) {
      return fail("cairn audit exposure takes --object ID only (and --json)");
    }
    return {};
  }
  if (out.command == cli_command::audit) {
    const bool verify = !out.positionals.empty();
    if (verify && out.positionals[0] != "verify-proof") {
      return fail("cairn audit takes filters, or the word verify-proof or exposure, not \"" +
                  out.positionals[0] + "\"");
    }
    if (verify && (out.record_file.empty() || out.public_key_file.empty())) {
      return fail(
          "usage: cairn audit verify-proof --record FILE --public-key PEM "
          "[--checkpoint FILE] [options]");
    }
    if (!verify && (!out.record_file.empty() || !out.public_key_file.empty() ||
                    !out.checkpoint_file.empty())) {
      return fail("--record, --public-key and --checkpoint go with cairn audit verify-proof");
    }
  }
  if (out.command == cli_command::export_values && out.export_format.empty()) {
    return fail("usage: cairn export COLLECTION --format edl|csv|stix [--type T,...] [--out FILE]");
  }
  if (out.command == cli_command::lookup && out.types.size() > 1) {
    return fail("cairn lookup takes one --type");
  }
  if (out.list_versions && !out.versions.empty()) {
    return fail("get --versions lists every version; it takes no --version");
  }
  return {};
}

}  // namespace

result<cli_args> parse_cli_args(const std::vector<std::string>& args, const env_lookup& env) {
  cli_args out;
  auto words = scan_words(args, out);
  if (!words) return std::unexpected(words.error());
  for (const auto& [name, value] : words->options) {
    if (name == "--help" || name == "-h") out.help = true;
  }
  if (out.help) return out;
  if (out.command == cli_command::none) {
    return fail(
        "no command given; the commands are discover, collections, publish, pull, get, "
        "manifest, status, statuses, delete, audit and alerts (see cairn --help)");
  }
  const command_spec& cmd = spec_of(out.command);

  std::optional<std::string> user_flag;
  for (const auto& [name, value] : words->options) {
    const option_spec* spec = find_option(name);  // known: scan_words() checked it
    if (!(spec->commands & bit(out.command))) {
      return fail("cairn " + std::string(cmd.name) + " does not take " + name);
    }
    if (spec->takes_value && value.empty()) {
      return fail(name + " needs a non-empty value");
    }
    if (auto r = apply_option(name, value, out, user_flag); !r) return std::unexpected(r.error());
  }
  out.positionals = std::move(words->positionals);
  if (auto r = check_combinations(cmd, out); !r) return std::unexpected(r.error());

  connection_flags flags;
  flags.user = user_flag;
  flags.password_file = out.password_file;
  flags.token_file = out.token_file;
  if (auto r = resolve_connection(out.connection, flags, env); !r) {
    return std::unexpected(r.error());
  }
  return out;
}

namespace {

result<std::string> read_secret(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read the " + std::string(what) + " file " + path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return fail("the " + std::string(what) + " file " + path + " is empty");
  if (line.size() > 4096)
    return fail("the " + std::string(what) + " file " + path + " is too long");
  return line;
}

}  // namespace

result<void> load_secret_files(client_options& c, const std::string& password_file,
                               const std::string& token_file) {
  if (!password_file.empty()) {
    auto pw = read_secret(password_file, "password");
    if (!pw) return std::unexpected(pw.error());
    c.password = std::move(*pw);
  }
  if (!token_file.empty()) {
    auto tok = read_secret(token_file, "token");
    if (!tok) return std::unexpected(tok.error());
    c.token = std::move(*tok);
  }
  return {};
}

result<void> load_secrets(cli_args& args) {
  return load_secret_files(args.connection, args.password_file, args.token_file);
}

namespace {

constexpr std::string_view common_options = R"(
Connection options (all commands):
  --url URL             discovery URL (https://host/taxii2/) or API root URL   [CAIRN_URL]
  --root NAME           API root to use (default: the server's default root)
  --user NAME           HTTP Basic user                                        [CAIRN_USER]
  --password-file FILE  file holding the password                              [CAIRN_PASSWORD]
  --token-file FILE     file holding an API token (Bearer)                     [CAIRN_TOKEN]
  --cert PEM --key PEM  client certificate and key
  --cacert PEM          trust these CA certificates instead of the system store
  --pin SHA256          trust exactly the server certificate with this fingerprint
  --insecure            do not verify the server at all (tests only; warns loudly)
  --timeout SECONDS     per network operation (default 30)
  --retries N           on connection errors, 429 and 503 (default 3)
  --json                machine-readable output
  --quiet, -q           no progress display, fewer lines
  --help, -h            this help
Exit codes: 0 success, 1 failure, 2 bad usage.
)";

}  // namespace

std::string help_text(cli_command command) {
  std::string body;
  switch (command) {
    case cli_command::none:
      return std::string(R"(cairn: a TAXII 2.1 client for publishers, partners and auditors

usage: cairn COMMAND [ARGS] [options]

Commands:
  discover                          the server's discovery resource and API roots
  collections                       collections of an API root, with read/write rights
  publish COLLECTION FILE...        publish STIX bundles, lists or JSON lines ('-' = stdin)
  pull COLLECTION                   download objects (incrementally with --state)
  get COLLECTION OBJECT_ID          one object, or its versions
  manifest COLLECTION               manifest entries (id, version, date added)
  status STATUS_ID                  a status resource from an earlier publish
  statuses                          your recent publishes' statuses, newest first (Cairn servers)
  delete COLLECTION OBJECT_ID       delete an object or one version
  audit                             query the sharing history (auditors, Cairn servers)
  lookup VALUE                      which indicators and SCOs name a value (Cairn servers)
  export COLLECTION --format F      current indicator values as edl, csv or stix (Cairn servers)
  alerts                            alerts the server raised about its own use (auditors)

Run `cairn COMMAND --help` for a command's options and examples.

Example:
  export CAIRN_URL=https://exchange.example.org/taxii2/ CAIRN_USER=acme
  cairn collections --password-file ~/.cairn-password
)") + std::string(common_options);
    case cli_command::discover:
      body = R"(usage: cairn discover [options]

Shows the discovery resource: title, contact, and every API root with its
title, versions and largest accepted request.

Examples:
  cairn discover --url https://exchange.example.org/taxii2/
  cairn discover --json | jq .api_roots
)";
      break;
    case cli_command::collections:
      body = R"(usage: cairn collections [--root R] [options]

Lists the collections of an API root with whether you may read and write them.

Examples:
  cairn collections
  cairn collections --root sharing --json
)";
      break;
    case cli_command::publish:
      body = R"(usage: cairn publish COLLECTION FILE... [options]

Publishes STIX 2.1 objects from STIX bundles, TAXII envelopes, JSON arrays of
objects, single objects or JSON lines; '-' reads stdin. Objects are validated
locally first and invalid ones are reported (and not sent). The rest is split
into requests that fit the API root's max_content_length, each request's
status is polled until complete, and every object's outcome is printed.
Exit code 1 if any object failed.

Options:
  --batch N             at most N objects per request (default 1000)
  --wait SECONDS        how long to wait for a pending status (default 600)

Examples:
  cairn publish indicators report.json
  cairn publish indicators day1.jsonl day2.jsonl --json > outcome.json
  some-feed | cairn publish 5f0ab3f1-8c5e-4d2b-9e55-6d1a8b6f0e11 -
)";
      break;
    case cli_command::pull:
      body = R"(usage: cairn pull COLLECTION [options]

Downloads objects, following the server's pages to the end, and writes them as
a STIX bundle (default) or as JSON lines.

With --state FILE the pull is incremental: it starts after the newest
date_added recorded in FILE and records the new one only after the objects are
safely written (fsync). With --format jsonl --out FILE, objects are appended
to FILE and progress is recorded page by page; an interrupted pull (Ctrl-C, a
dropped connection) run again yields every object exactly once. With a bundle,
an interrupted pull writes nothing and records nothing.

Options:
  --since TIME          only objects added after TIME (RFC 3339)
  --state FILE          resume from, and record to, FILE
  --type T,...          only these STIX types
  --id ID,...           only these objects
  --version V           all, last (default), first or a timestamp
  --spec-version V,...  only these STIX spec versions
  --limit N             objects per page to ask for
  --out FILE            write to FILE instead of stdout
  --format F            bundle (default) or jsonl

Examples:
  cairn pull indicators --out all.json
  cairn pull indicators --type indicator --since 2026-01-01T00:00:00Z
  cairn pull indicators --state ~/.cairn/indicators.state --format jsonl --out feed.jsonl
)";
      break;
    case cli_command::get:
      body = R"(usage: cairn get COLLECTION OBJECT_ID [--versions] [options]

Prints one object (its latest version unless --version says otherwise), or
with --versions the list of its versions.

Options:
  --version V           all, last, first or a timestamp
  --versions            list the versions instead

Examples:
  cairn get indicators indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f
  cairn get indicators indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f --versions
)";
      break;
    case cli_command::manifest:
      body = R"(usage: cairn manifest COLLECTION [filters] [options]

Lists manifest entries: date added, version and id of each object version.

Options: --since, --type, --id, --version, --spec-version, --limit (as for pull)

Examples:
  cairn manifest indicators --type indicator --version all
  cairn manifest indicators --json
)";
      break;
    case cli_command::status:
      body = R"(usage: cairn status STATUS_ID [options]

Shows a status resource of an earlier publish: counts, successes, failures,
pending objects.

Examples:
  cairn status 2d086da7-4bdc-4f91-900e-d77486753710
  cairn status 2d086da7-4bdc-4f91-900e-d77486753710 --json
)";
      break;
    case cli_command::delete_object:
      body = R"(usage: cairn delete COLLECTION OBJECT_ID [--version T] [options]

Deletes an object (every version), or one version with --version.

Examples:
  cairn delete indicators indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f
  cairn delete indicators indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f \
      --version 2026-01-05T10:00:00.000Z
)";
      break;
    case cli_command::lookup:
      body = R"(usage: cairn lookup VALUE [--type T] [options]

Asks a Cairn server which objects of the collections you can read name VALUE:
indicators whose pattern compares an observable to it with `=` (or a CIDR
containing the address), and observed objects with that value. Each match
is the latest version you may see. --json prints the server's answer.

Options:
  --type T              ipv4-addr, ipv6-addr, domain-name, url, email-addr or file
                        (default: every kind VALUE can be)

Examples:
  cairn lookup 198.51.100.7
  cairn lookup evil.example.com --type domain-name --json
)";
      break;
    case cli_command::export_values:
      body = R"(usage: cairn export COLLECTION --format edl|csv|stix [--type T,...] [--out FILE]

Downloads the values of a collection's current indicators from a Cairn
server (not revoked, inside valid_from/valid_until, latest version you may
see): edl is a plain list for firewalls (one value per line, URLs without
their scheme), csv has one row per value and indicator, stix a bundle of the
indicators. The body is written as it arrives.

Options:
  --format F            edl, csv or stix (required)
  --type T,...          only these observable types: ipv4-addr, ipv6-addr,
                        domain-name, url, email-addr, file
  --out FILE            write to FILE (replaced once complete) instead of stdout

Examples:
  cairn export indicators --format edl --type ipv4-addr,ipv6-addr --out block.txt
  cairn export indicators --format csv --out indicators.csv
)";
      break;
    case cli_command::audit:
      body = R"(usage: cairn audit [filters] [options]

Queries the sharing history of a Cairn server (auditor accounts): who
published, received or deleted which object version, and when. Records come
oldest first; --json prints one record per line.

Options:
  --object ID           records that involve this object
  --account NAME        records of this account
  --collection ID       records of this collection
  --action A            publish, pull, delete, denied, auth-failure, config or alert
  --since TIME --until TIME
  --limit N             records per request

Examples:
  cairn audit --object indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f --action pull
  cairn audit --account acme --since 2026-01-01T00:00:00Z --json

usage: cairn audit verify-proof --record FILE --public-key PEM [--checkpoint FILE]

Checks records (one JSON record per line, as `cairn audit --json` prints
them; '-' reads stdin) against a checkpoint signed with the public key you
were given by the operator (audit-signing.pub): each record's hash, and its
inclusion proof up to the checkpoint's root, computed here, not trusted from
the server. Without --checkpoint the server's latest is fetched (and must be
signed by that key). Exit 1 if any record fails.

  cairn audit --object indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f --json > got.jsonl
  cairn audit verify-proof --record got.jsonl --public-key audit-signing.pub

usage: cairn audit exposure --object ID [--json]

Who holds which version of an object: every account that ever received a
version of it, the version it received last and when, and whether that is
the object's current version (its latest; a revoked indicator's partners
that still hold an earlier version are listed as not current).

  cairn audit exposure --object indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f
)";
      break;
    case cli_command::alerts:
      body = R"(usage: cairn alerts [--since T] [--kind K] [options]

Lists the alerts a Cairn server raised while watching its own use (auditor
accounts), oldest first, as a table: seq, time, kind, account, remote
address and what happened, with the seqs of the audit records that raised
each (see `cairn audit`). --json prints one alert per line.

Options:
  --kind K              auth-failure-burst, denied-burst, new-address, volume
                        or suspended-use
  --account NAME        alerts about this account
  --since TIME --until TIME
  --limit N             alerts per request

Examples:
  cairn alerts --since 2026-11-27T00:00:00Z
  cairn alerts --kind auth-failure-burst --json
)";
      break;
    case cli_command::statuses:
      body = R"(usage: cairn statuses [--limit N] [options]

Lists the statuses of your own recent publishes on a Cairn server (those it
still keeps), newest first, as a table: status id, API root, when the
request came, complete or pending, and the counts of objects in all, stored,
failed and pending. `cairn status ID` shows one with its failures' messages.
--json prints one status per line, as the server sent it.

Options:
  --limit N             statuses per request (1 to 100)

Examples:
  cairn statuses
  cairn statuses --json
)";
      break;
  }
  return body + std::string(common_options);
}

}  // namespace cairn::clients
