#pragma once
// Method + path pattern -> a target (whatever the caller routes to). Knows
// nothing of accounts or the store, so it is tested on its own.
//
// A pattern is a path of literal segments and parameters: "/taxii2/",
// "/{root}/collections/{collection}/objects/". It is matched against decoded
// path segments (empty segments dropped, so trailing slashes do not matter).
// A literal beats a parameter at the same position: "/taxii2/" wins over
// "/{root}/" for the path /taxii2/, and /taxii2/collections/ is the API root
// "taxii2" once "/taxii2/" has no more segments to offer.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/transport/http.hpp"

namespace cairn::server {

// The parameters a pattern bound, in path order.
class path_params {
 public:
  void add(std::string_view name, std::string value) {
    items_.emplace_back(std::string(name), std::move(value));
  }
  // nullptr: the pattern has no such parameter.
  const std::string* find(std::string_view name) const {
    for (const auto& [n, v] : items_) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

template <class Target>
class route_table {
 public:
  enum class outcome {
    found,               // target: the route for the method
    method_not_allowed,  // target: the pattern's first route; allow: its methods
    not_found,           // no pattern has the path's shape
  };

  struct match {
    outcome result = outcome::not_found;
    const Target* target = nullptr;
    path_params params;  // found and method_not_allowed
    std::string allow;   // method_not_allowed: "GET, POST", in the order added
    // found and method_not_allowed: the route's pattern as added, which
    // names it (the metrics' route label); valid as long as the table.
    std::string_view pattern;
  };

  // method: nullopt for any method. Routes of one pattern share its answer
  // to other methods (405, with all their methods in Allow).
  void add(std::optional<http::verb> method, std::string_view pattern, Target target) {
    routes_.push_back({method, parse(pattern), std::string(pattern), std::move(target)});
    depth_ = std::max(depth_, routes_.back().segments.size());
  }

  match find(http::verb method, const std::vector<std::string>& path) const {
    match m;
    const route* best = nullptr;
    for (const auto& r : routes_) {
      if (matches(r.segments, path) && (!best || precedes(r.segments, best->segments))) best = &r;
    }
    if (!best) return m;
    m.pattern = best->pattern;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (best->segments[i].parameter) m.params.add(best->segments[i].text, path[i]);
    }
    for (const auto& r : routes_) {
      if (r.segments != best->segments) continue;
      if (!r.method || *r.method == method) {
        m.result = outcome::found;
        m.target = &r.target;
        m.allow.clear();
        return m;
      }
      if (!m.target) m.target = &r.target;
      const auto name = http::to_string(*r.method);
      if (!m.allow.empty()) m.allow += ", ";
      m.allow.append(name.data(), name.size());
    }
    m.result = outcome::method_not_allowed;
    return m;
  }

  // The parameters a pattern binds in the first segments of path, for the
  // pattern whose whole length matches the longest such prefix (the part of
  // a path that names something, when the whole path is no route).
  path_params prefix_params(const std::vector<std::string>& path) const {
    path_params out;
    const route* best = nullptr;
    for (const auto& r : routes_) {
      if (r.segments.size() > path.size()) continue;
      const std::vector<std::string> head(path.begin(), path.begin() + r.segments.size());
      if (!matches(r.segments, head)) continue;
      if (!best || r.segments.size() > best->segments.size() ||
          (r.segments.size() == best->segments.size() && precedes(r.segments, best->segments))) {
        best = &r;
      }
    }
    if (!best) return out;
    for (std::size_t i = 0; i < best->segments.size(); ++i) {
      if (best->segments[i].parameter) out.add(best->segments[i].text, path[i]);
    }
    return out;
  }

  // The number of segments of the longest pattern.
  std::size_t depth() const { return depth_; }

 private:
  struct segment {
    std::string text;  // the literal, or the parameter's name
    bool parameter = false;
    bool operator==(const segment&) const = default;
  };
  struct route {
    std::optional<http::verb> method;
    std::vector<segment> segments;
    std::string pattern;
    Target target;
  };

  static std::vector<segment> parse(std::string_view pattern) {
    std::vector<segment> out;
    std::size_t start = 0;
    while (start < pattern.size()) {
      auto slash = pattern.find('/', start);
      auto s =
          pattern.substr(start, slash == std::string_view::npos ? pattern.npos : slash - start);
      if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
        out.push_back({std::string(s.substr(1, s.size() - 2)), true});
      } else if (!s.empty()) {
        out.push_back({std::string(s), false});
      }
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    return out;
  }

  static bool matches(const std::vector<segment>& pattern, const std::vector<std::string>& path) {
    if (pattern.size() != path.size()) return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (!pattern[i].parameter && pattern[i].text != path[i]) return false;
    }
    return true;
  }

  // At the first position where one has a literal and the other a
  // parameter, the literal comes first.
  static bool precedes(const std::vector<segment>& a, const std::vector<segment>& b) {
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i].parameter != b[i].parameter) return !a[i].parameter;
    }
    return false;
  }

  std::vector<route> routes_;
  std::size_t depth_ = 0;
};

}  // namespace cairn::server
