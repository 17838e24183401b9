#pragma once
// The result type used at every module boundary: a value, or an error that a
// person can act on. Not-found is a value (std::optional), never an error.

#include <expected>
#include <string>
#include <utility>

namespace cairn {

struct error {
  std::string message;
  // Where the problem is, when it is inside a document: a JSON pointer
  // ("/objects/3/created") or empty.
  std::string where{};

  std::string to_string() const { return where.empty() ? message : where + ": " + message; }
};

template <class T>
using result = std::expected<T, error>;

inline std::unexpected<error> fail(std::string message, std::string where = {}) {
  return std::unexpected<error>(error{std::move(message), std::move(where)});
}

}  // namespace cairn
