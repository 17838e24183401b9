#pragma once
// The local operator commands of cairnd that need no server running:
//   cairnd check-config --config FILE
//   cairnd hash-secret            (secret on stdin)
//   cairnd token issue
// Each takes the arguments after its command words, and its streams, and
// returns the process exit code of INTERFACE.md: 0 success, 2 bad usage or bad
// config, 1 any other failure (with a one-line reason on err). cairnd's main
// dispatches to them. Secrets read or made here go to `out` only.

#include <iosfwd>
#include <span>
#include <string_view>

namespace cairn::server {

// Prints each problem as "<pointer>: <message>" on out and returns 2, or
// prints "ok" and returns 0. Besides the file itself it checks that the TLS
// files load into a server context. Accepts "--config FILE" or
// "--config=FILE".
int run_check_config(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

// Reads one line from in (at most 4096 bytes; a trailing "\n" or "\r\n" is
// dropped), refuses an empty secret (2), prints its scrypt PHC string.
int run_hash_secret(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
                    std::ostream& err);

// Prints a new API token and its hash, labelled ("token: ..." and
// "token_hashes entry: ..."); the token is shown only this once.
int run_token_issue(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace cairn::server
