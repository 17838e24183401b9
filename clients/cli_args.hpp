#pragma once
// The `cairn` command line, parsed by a pure function: no I/O, the
// environment comes in as a lookup, so every rule is unit-tested. Secret files
// (--password-file, --token-file) are only named here; load_secrets() reads
// them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/client_options.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

enum class cli_command {
  none,  // no command given: general help
  discover,
  collections,
  publish,
  pull,
  get,
  manifest,
  status,
  delete_object,
  audit,
  lookup,         // cairn extension
  export_values,  // cairn extension: `cairn export`
  alerts,
  statuses,  // cairn extension
};

enum class output_format { bundle, jsonl };

struct cli_args {
  cli_command command = cli_command::none;
  bool help = false;  // --help / -h, or `cairn help [COMMAND]`
  std::vector<std::string> positionals;

  // Connection: url, TLS, timeout, retries; user/password/token from the
  // environment are already in here.
  client_options connection;
  std::string password_file;
  std::string token_file;
  bool insecure_warning = false;  // --insecure was given: warn loudly

  std::string root;  // --root: API root name or path
  bool json = false;
  bool quiet = false;  // --quiet: no progress, no per-object lines

  // publish
  std::size_t batch_objects = 1000;
  std::chrono::seconds status_wait{600};

  // pull, get, manifest, delete: TAXII filters
  std::string since;
  std::vector<std::string> types;
  std::vector<std::string> ids;
  std::vector<std::string> versions;  // --version: all, last, first or timestamps
  std::vector<std::string> spec_versions;
  std::optional<std::int64_t> page_limit;  // --limit

  // pull
  std::string state_file;
  std::string out_file;
  output_format format = output_format::bundle;

  // get
  bool list_versions = false;  // --versions

  // export (cairn extension): edl, csv or stix; --type and --out as above
  std::string export_format;

  // audit (cairn extension)
  std::string audit_object;
  std::string audit_account;
  std::string audit_collection;
  std::string audit_action;
  std::string until;
  // alerts (cairn extension; also --since, --until, --account, --limit)
  std::string alert_kind;
  // audit verify-proof
  std::string record_file;      // --record: records as `cairn audit --json` prints them
  std::string checkpoint_file;  // --checkpoint: a saved checkpoint (default: the latest)
  std::string public_key_file;  // --public-key: the trusted signing key (PEM)
};

// Looks up an environment variable; not-found is nullopt.
using env_lookup = std::function<std::optional<std::string>(std::string_view)>;

// Parses the arguments after the program name. An error is a usage error
// (exit code 2) and its message says what to fix. With help set, only the
// command is guaranteed to be filled in.
result<cli_args> parse_cli_args(const std::vector<std::string>& args, const env_lookup& env);

// Reads --password-file / --token-file into args.connection (one line; the
// trailing newline is dropped). Errors name the file.
result<void> load_secrets(cli_args& args);

// The connection rules shared by `cairn` and `cairn-bench`: --url, else
// CAIRN_URL; a token (--token-file, else CAIRN_TOKEN unless --user is given)
// or Basic (--user, else CAIRN_USER, with --password-file, else
// CAIRN_PASSWORD); exclusive options refused. Fills c from env; errors are
// usage errors.
struct connection_flags {
  std::optional<std::string> user;  // --user, when given
  std::string password_file;
  std::string token_file;
};
result<void> resolve_connection(client_options& c, const connection_flags& flags,
                                const env_lookup& env);
result<void> load_secret_files(client_options& c, const std::string& password_file,
                               const std::string& token_file);

// The help text of a command (none: the overview).
std::string help_text(cli_command command);
std::string_view command_name(cli_command command);

}  // namespace cairn::clients
