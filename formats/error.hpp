#pragma once
// The result type used at every module boundary: a value, or an error that a
// person can act on. Not-found is a value (std::optional), never an error.
//
// An error's code says what kind of trouble it is, so that callers decide by
// the code (server/ turns it into an HTTP status in one place) and the message
// is free to say it in words without anyone parsing them.

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace cairn {

enum class errc {
  invalid_input,  // what the caller gave is wrong (fail()'s default: validation)
  not_found,      // what was asked for does not exist (yet), e.g. an empty audit log's checkpoint
  too_many,       // a query would cover more than a limit allows: narrow it
  storage_full,   // the store reached its size limit, or the disk or quota is full
  unavailable,    // not done now, nothing changed; may work later (a failed commit, a closed store)
  io,             // stored data cannot be read, or is damaged
  internal,       // a state that should not happen (a bug)
};

// "invalid_input", ...: for logs and test messages.
constexpr std::string_view to_string(errc c) {
  switch (c) {
    case errc::invalid_input: return "invalid_input";
    case errc::not_found: return "not_found";
    case errc::too_many: return "too_many";
    case errc::storage_full: return "storage_full";
    case errc::unavailable: return "unavailable";
    case errc::io: return "io";
    case errc::internal: return "internal";
  }
  return "unknown";
}

struct error {
  std::string message;
  // Where the problem is, when it is inside a document: a JSON pointer
  // ("/objects/3/created") or empty.
  std::string where{};
  errc code = errc::invalid_input;

  std::string to_string() const { return where.empty() ? message : where + ": " + message; }
};

template <class T>
using result = std::expected<T, error>;

inline std::unexpected<error> fail(std::string message, std::string where = {}) {
  return std::unexpected<error>(error{std::move(message), std::move(where), errc::invalid_input});
}

inline std::unexpected<error> fail(errc code, std::string message, std::string where = {}) {
  return std::unexpected<error>(error{std::move(message), std::move(where), code});
}

}  // namespace cairn
