#include "lookup_oracle.hpp"

#include <algorithm>
#include <charconv>
#include <memory>

namespace cairn::testing::lookup_oracle {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

std::optional<int> decimal(std::string_view s, int max) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;  // no leading zeros
  int v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::pair<std::string_view, std::optional<std::string_view>> split_prefix(std::string_view t) {
  const auto slash = t.find('/');
  if (slash == std::string_view::npos) return {t, std::nullopt};
  return {t.substr(0, slash), t.substr(slash + 1)};
}

void clear_host_bits(ip_net& n) {
  for (int bit = n.prefix; bit < n.width(); ++bit) {
    n.bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
}

std::optional<std::array<std::uint8_t, 4>> dotted_quad(std::string_view s) {
  std::array<std::uint8_t, 4> out{};
  std::size_t at = 0;
  for (int i = 0; i < 4; ++i) {
    const auto dot = i < 3 ? s.find('.', at) : s.size();
    if (dot == std::string_view::npos) return std::nullopt;
    auto part = decimal(s.substr(at, dot - at), 255);
    if (!part) return std::nullopt;
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(*part);
    at = dot + 1;
  }
  if (at != s.size() + 1) return std::nullopt;
  return out;
}

}  // namespace

std::string_view type_name(kind k) {
  switch (k) {
    case kind::ipv4: return "ipv4-addr";
    case kind::ipv6: return "ipv6-addr";
    case kind::domain: return "domain-name";
    case kind::url: return "url";
    case kind::email: return "email-addr";
    case kind::sha256:
    case kind::sha1:
    case kind::md5: return "file";
  }
  return "?";
}

std::vector<kind> kinds_of_type(std::string_view type) {
  if (type == "ipv4-addr") return {kind::ipv4};
  if (type == "ipv6-addr") return {kind::ipv6};
  if (type == "domain-name") return {kind::domain};
  if (type == "url") return {kind::url};
  if (type == "email-addr") return {kind::email};
  if (type == "file") return {kind::sha256, kind::sha1, kind::md5};
  return {};
}

std::optional<ip_net> parse_ipv4(std::string_view text) {
  auto [addr, prefix] = split_prefix(text);
  auto quad = dotted_quad(addr);
  if (!quad) return std::nullopt;
  ip_net n;
  std::copy(quad->begin(), quad->end(), n.bytes.begin());
  n.prefix = 32;
  if (prefix) {
    auto p = decimal(*prefix, 32);
    if (!p) return std::nullopt;
    n.prefix = *p;
  }
  return n;
}

// RFC 4291 section 2.2: eight groups of 1-4 hex digits, one "::" for a run
// of zero groups, the last 32 bits optionally in dotted decimal.
std::optional<ip_net> parse_ipv6(std::string_view text) {
  auto [addr, prefix] = split_prefix(text);
  std::vector<std::uint16_t> head, tail;
  bool gap = false;
  std::size_t at = 0;
  if (addr.starts_with("::")) {
    gap = true;
    at = 2;
  } else if (addr.starts_with(":")) {
    return std::nullopt;
  }
  std::optional<std::array<std::uint8_t, 4>> v4;
  while (at < addr.size()) {
    auto end = addr.find(':', at);
    if (end == std::string_view::npos) end = addr.size();
    const auto group = addr.substr(at, end - at);
    if (group.empty()) return std::nullopt;
    auto& list = gap ? tail : head;
    if (end == addr.size() && group.find('.') != std::string_view::npos) {
      v4 = dotted_quad(group);
      if (!v4) return std::nullopt;
      list.push_back(static_cast<std::uint16_t>(((*v4)[0] << 8) | (*v4)[1]));
      list.push_back(static_cast<std::uint16_t>(((*v4)[2] << 8) | (*v4)[3]));
      at = end;
      break;
    }
    if (group.size() > 4) return std::nullopt;
    std::uint16_t g = 0;
    for (char c : group) {
      if (!is_hex(c)) return std::nullopt;
      g = static_cast<std::uint16_t>(g * 16 + (is_digit(c) ? c - '0' : lower(c) - 'a' + 10));
    }
    list.push_back(g);
    if (end == addr.size()) {
      at = end;
      break;
    }
    if (addr.substr(end).starts_with("::")) {
      if (gap) return std::nullopt;
      gap = true;
      at = end + 2;
    } else {
      at = end + 1;
      if (at == addr.size()) return std::nullopt;  // trailing single ':'
    }
  }
  const std::size_t groups = head.size() + tail.size();
  if (gap ? groups > 7 : groups != 8) return std::nullopt;
  std::vector<std::uint16_t> all = head;
  all.resize(8 - tail.size(), 0);
  all.insert(all.end(), tail.begin(), tail.end());
  ip_net n;
  n.v6 = true;
  for (std::size_t i = 0; i < 8; ++i) {
    n.bytes[2 * i] = static_cast<std::uint8_t>(all[i] >> 8);
    n.bytes[2 * i + 1] = static_cast<std::uint8_t>(all[i] & 0xff);
  }
  n.prefix = 128;
  if (prefix) {
    if (prefix->empty() || prefix->size() > 3) return std::nullopt;
    if (prefix->size() > 1 && (*prefix)[0] == '0') return std::nullopt;
    int p = 0;
    for (char c : *prefix) {
      if (!is_digit(c)) return std::nullopt;
      p = p * 10 + (c - '0');
    }
    if (p > 128) return std::nullopt;
    n.prefix = p;
  }
  return n;
}

std::string render(ip_net n) {
  clear_host_bits(n);
  std::string out;
  if (!n.v6) {
    for (int i = 0; i < 4; ++i) {
      if (i) out += '.';
      out += std::to_string(n.bytes[static_cast<std::size_t>(i)]);
    }
  } else {
    std::array<unsigned, 8> g{};
    for (std::size_t i = 0; i < 8; ++i) g[i] = (n.bytes[2 * i] << 8) | n.bytes[2 * i + 1];
    // RFC 5952 4.2: the longest run of at least two zero groups, the first
    // of equal runs.
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
      if (g[static_cast<std::size_t>(i)] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && g[static_cast<std::size_t>(j)] == 0) ++j;
      if (j - i > best_len) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    static const char* digits = "0123456789abcdef";
    auto hex = [&](unsigned v) {
      std::string s;
      do {
        s.insert(s.begin(), digits[v % 16]);
        v /= 16;
      } while (v);
      return s;
    };
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        out += "::";
        i += best_len - 1;
        continue;
      }
      if (!out.empty() && out.back() != ':') out += ':';
      out += hex(g[static_cast<std::size_t>(i)]);
    }
  }
  if (n.prefix != n.width()) out += "/" + std::to_string(n.prefix);
  return out;
}

bool contains(const ip_net& outer, const ip_net& inner) {
  if (outer.v6 != inner.v6 || inner.prefix < outer.prefix) return false;
  for (int bit = 0; bit < outer.prefix; ++bit) {
    const auto byte = static_cast<std::size_t>(bit / 8);
    const unsigned mask = 0x80u >> (bit % 8);
    if ((outer.bytes[byte] & mask) != (inner.bytes[byte] & mask)) return false;
  }
  return true;
}

std::optional<value> normalise(kind k, std::string_view text) {
  switch (k) {
    case kind::ipv4:
    case kind::ipv6: {
      auto n = k == kind::ipv4 ? parse_ipv4(text) : parse_ipv6(text);
      if (!n) return std::nullopt;
      return value{k, render(*n), n->prefix != n->width()};
    }
    case kind::domain: {
      std::string d = lowered(text);
      if (d.ends_with('.')) d.pop_back();
      if (d.empty()) return std::nullopt;
      return value{k, d, false};
    }
    case kind::url:
    case kind::email:
      if (text.empty()) return std::nullopt;
      return value{k, std::string(text), false};
    case kind::sha256:
    case kind::sha1:
    case kind::md5: {
      const std::size_t want = k == kind::sha256 ? 64 : k == kind::sha1 ? 40 : 32;
      if (text.size() != want || !std::all_of(text.begin(), text.end(), is_hex)) {
        return std::nullopt;
      }
      return value{k, lowered(text), false};
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- patterns

namespace {

enum class tok {
  end,
  lbrack,
  rbrack,
  lparen,
  rparen,
  comma,
  colon,
  dot,
  star,
  op,       // = == != <> < <= > >=
  word,     // identifier or keyword (keywords are upper case only)
  string,   // 'text', unescaped
  number,   // [+-]digits[.digits]
  literal,  // t'..', h'..', b'..'
  bad,
};

struct token {
  tok kind = tok::end;
  std::string text;
};

// STIXPattern.g4's lexer, as far as the oracle needs it.
class lexer {
 public:
  explicit lexer(std::string_view s) : s_(s) {}

  token next() {
    while (at_ < s_.size() &&
           (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) {
      ++at_;
    }
    if (at_ >= s_.size()) return {tok::end, {}};
    const char c = s_[at_];
    auto one = [&](tok k) {
      ++at_;
      return token{k, std::string(1, c)};
    };
    switch (c) {
      case '[': return one(tok::lbrack);
      case ']': return one(tok::rbrack);
      case '(': return one(tok::lparen);
      case ')': return one(tok::rparen);
      case ',': return one(tok::comma);
      case ':': return one(tok::colon);
      case '.': return one(tok::dot);
      case '*': return one(tok::star);
      case '\'': return quoted(tok::string);
      default: break;
    }
    if (c == '=' || c == '!' || c == '<' || c == '>') {
      std::string op(1, c);
      ++at_;
      if (at_ < s_.size() && (s_[at_] == '=' || (c == '<' && s_[at_] == '>'))) op += s_[at_++];
      if (op == "!") return {tok::bad, op};
      return {tok::op, op};
    }
    if ((c == 't' || c == 'h' || c == 'b') && at_ + 1 < s_.size() && s_[at_ + 1] == '\'') {
      ++at_;
      auto t = quoted(tok::literal);
      t.text = std::string(1, c) + t.text;
      return t;
    }
    if (is_digit(c) || c == '-' || c == '+') {
      std::size_t end = at_ + 1;
      while (end < s_.size() && (is_digit(s_[end]) || s_[end] == '.')) ++end;
      token t{tok::number, std::string(s_.substr(at_, end - at_))};
      at_ = end;
      return t;
    }
    if (is_alpha(c) || c == '_') {
      std::size_t end = at_ + 1;
      while (end < s_.size() &&
             (is_alpha(s_[end]) || is_digit(s_[end]) || s_[end] == '_' || s_[end] == '-')) {
        ++end;
      }
      token t{tok::word, std::string(s_.substr(at_, end - at_))};
      at_ = end;
      return t;
    }
    ++at_;
    return {tok::bad, std::string(1, c)};
  }

 private:
  // S 9.2: inside quotes only \' and \\ are escapes.
  token quoted(tok k) {
    ++at_;  // the opening quote
    std::string out;
    while (at_ < s_.size()) {
      const char c = s_[at_++];
      if (c == '\'') return {k, out};
      if (c == '\\') {
        if (at_ >= s_.size() || (s_[at_] != '\'' && s_[at_] != '\\')) return {tok::bad, out};
        out += s_[at_++];
        continue;
      }
      out += c;
    }
    return {tok::bad, out};
  }

  std::string_view s_;
  std::size_t at_ = 0;
};

struct comparison {
  std::string type;
  std::vector<std::string> steps;  // property names; "[...]" for an index step
  bool negated = false;
  std::string
      op;  // "=", "!=", "<", ..., "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"
  bool string_constant = false;
  std::string constant;
};

// One node of either tree: observation expressions (bracket, or, and,
// followedby) and comparison expressions (or, and, test).
struct node {
  enum class what { bracket, obs_or, obs_and, followedby, cmp_or, cmp_and, test } w = what::test;
  bool qualified = false;
  std::vector<std::unique_ptr<node>> kids;
  comparison cmp;
};

class parser {
 public:
  explicit parser(std::string_view s) : lex_(s) { cur_ = lex_.next(); }

  std::unique_ptr<node> run(std::string& error) {
    auto n = followedby();
    if (n && cur_.kind != tok::end) n = fail("trailing text at '" + cur_.text + "'");
    error = error_;
    return n;
  }

 private:
  std::unique_ptr<node> fail(const std::string& why) {
    if (error_.empty()) error_ = why;
    return nullptr;
  }
  bool word(std::string_view w) const { return cur_.kind == tok::word && cur_.text == w; }
  void advance() { cur_ = lex_.next(); }

  template <typename Sub>
  std::unique_ptr<node> chain(node::what w, std::string_view keyword, Sub sub) {
    auto left = sub();
    if (!left) return nullptr;
    if (!word(keyword)) return left;
    auto n = std::make_unique<node>();
    n->w = w;
    n->kids.push_back(std::move(left));
    while (word(keyword)) {
      advance();
      auto right = sub();
      if (!right) return nullptr;
      n->kids.push_back(std::move(right));
    }
    return n;
  }

  // S 9.5.2: FOLLOWEDBY binds loosest, then OR, then AND.
  std::unique_ptr<node> followedby() {
    return chain(node::what::followedby, "FOLLOWEDBY", [this] { return obs_or(); });
  }
  std::unique_ptr<node> obs_or() {
    return chain(node::what::obs_or, "OR", [this] { return obs_and(); });
  }
  std::unique_ptr<node> obs_and() {
    return chain(node::what::obs_and, "AND", [this] { return observation(); });
  }

  std::unique_ptr<node> observation() {
    std::unique_ptr<node> n;
    if (cur_.kind == tok::lbrack) {
      advance();
      auto inner = cmp_or();
      if (!inner) return nullptr;
      if (cur_.kind != tok::rbrack) return fail("expected ']'");
      advance();
      n = std::make_unique<node>();
      n->w = node::what::bracket;
      n->kids.push_back(std::move(inner));
    } else if (cur_.kind == tok::lparen) {
      advance();
      n = followedby();
      if (!n) return nullptr;
      if (cur_.kind != tok::rparen) return fail("expected ')'");
      advance();
    } else {
      return fail("expected '[' or '('");
    }
    // S 9.5.1: WITHIN x SECONDS, REPEATS n TIMES, START t'' STOP t''.
    while (true) {
      if (word("WITHIN")) {
        advance();
        if (cur_.kind != tok::number) return fail("expected seconds");
        advance();
        if (!word("SECONDS")) return fail("expected SECONDS");
        advance();
      } else if (word("REPEATS")) {
        advance();
        if (cur_.kind != tok::number) return fail("expected a count");
        advance();
        if (!word("TIMES")) return fail("expected TIMES");
        advance();
      } else if (word("START")) {
        advance();
        if (cur_.kind != tok::literal || cur_.text[0] != 't') return fail("expected t''");
        advance();
        if (!word("STOP")) return fail("expected STOP");
        advance();
        if (cur_.kind != tok::literal || cur_.text[0] != 't') return fail("expected t''");
        advance();
      } else {
        break;
      }
      // A qualifier on a parenthesised group qualifies the group as a whole.
      n->qualified = true;
    }
    return n;
  }

  std::unique_ptr<node> cmp_or() {
    return chain(node::what::cmp_or, "OR", [this] { return cmp_and(); });
  }
  std::unique_ptr<node> cmp_and() {
    return chain(node::what::cmp_and, "AND", [this] { return cmp_unit(); });
  }

  std::unique_ptr<node> cmp_unit() {
    if (cur_.kind == tok::lparen) {
      advance();
      auto n = cmp_or();
      if (!n) return nullptr;
      if (cur_.kind != tok::rparen) return fail("expected ')' in a comparison");
      advance();
      return n;
    }
    auto n = std::make_unique<node>();
    n->w = node::what::test;
    auto& c = n->cmp;
    if (word("NOT")) {
      c.negated = true;
      advance();
    }
    if (word("EXISTS")) {
      c.op = "EXISTS";
      advance();
      if (!path(c)) return nullptr;
      return n;
    }
    if (!path(c)) return nullptr;
    if (word("NOT")) {
      c.negated = !c.negated;
      advance();
    }
    if (cur_.kind == tok::op) {
      c.op = cur_.text == "==" ? "=" : cur_.text == "<>" ? "!=" : cur_.text;
      advance();
      if (!constant(c)) return nullptr;
      return n;
    }
    if (word("IN")) {
      c.op = "IN";
      advance();
      if (cur_.kind != tok::lparen) return fail("expected '(' after IN");
      advance();
      while (cur_.kind != tok::rparen) {
        comparison ignored;
        if (!constant(ignored)) return nullptr;
        if (cur_.kind == tok::comma) advance();
      }
      advance();
      return n;
    }
    for (const char* op : {"LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"}) {
      if (word(op)) {
        c.op = op;
        advance();
        if (cur_.kind != tok::string) return fail(std::string("expected a string after ") + op);
        c.string_constant = true;
        c.constant = cur_.text;
        advance();
        return n;
      }
    }
    return fail("expected a comparison operator at '" + cur_.text + "'");
  }

  bool constant(comparison& c) {
    if (cur_.kind == tok::string) {
      c.string_constant = true;
      c.constant = cur_.text;
    } else if (cur_.kind == tok::number || cur_.kind == tok::literal || word("true") ||
               word("false")) {
      c.constant = cur_.text;
    } else {
      fail("expected a constant");
      return false;
    }
    advance();
    return true;
  }

  // S 9.7: type ':' name ('.' name | '[' index ']')*, names possibly quoted.
  bool path(comparison& c) {
    if (cur_.kind != tok::word) {
      fail("expected an object type");
      return false;
    }
    c.type = cur_.text;
    advance();
    if (cur_.kind != tok::colon) {
      fail("expected ':'");
      return false;
    }
    advance();
    if (cur_.kind != tok::word && cur_.kind != tok::string) {
      fail("expected a property name");
      return false;
    }
    c.steps.push_back(cur_.text);
    advance();
    while (true) {
      if (cur_.kind == tok::dot) {
        advance();
        if (cur_.kind != tok::word && cur_.kind != tok::string) {
          fail("expected a key");
          return false;
        }
        c.steps.push_back(cur_.text);
        advance();
      } else if (cur_.kind == tok::lbrack) {
        advance();
        if (cur_.kind != tok::number && cur_.kind != tok::star) {
          fail("expected an index");
          return false;
        }
        advance();
        if (cur_.kind != tok::rbrack) {
          fail("expected ']' after an index");
          return false;
        }
        advance();
        c.steps.push_back("[...]");
      } else {
        return true;
      }
    }
  }

  lexer lex_;
  token cur_;
  std::string error_;
};

std::optional<kind> listed_path(const comparison& c) {
  const auto& s = c.steps;
  if (s.size() == 1 && s[0] == "value") {
    if (c.type == "ipv4-addr") return kind::ipv4;
    if (c.type == "ipv6-addr") return kind::ipv6;
    if (c.type == "domain-name") return kind::domain;
    if (c.type == "url") return kind::url;
    if (c.type == "email-addr") return kind::email;
  }
  if (c.type == "file" && s.size() == 2 && s[0] == "hashes") {
    if (s[1] == "SHA-256") return kind::sha256;
    if (s[1] == "SHA-1") return kind::sha1;
    if (s[1] == "MD5") return kind::md5;
  }
  return std::nullopt;
}

// The value an exportable comparison contributes.
std::optional<value> exportable(const comparison& c) {
  if (c.negated || c.op != "=" || !c.string_constant) return std::nullopt;
  auto k = listed_path(c);
  if (!k) return std::nullopt;
  return normalise(*k, c.constant);
}

// Whether a comparison tree is tests joined by OR, each exportable.
bool or_of_equals(const node& n, std::set<value>& out) {
  if (n.w == node::what::test) {
    auto v = exportable(n.cmp);
    if (!v) return false;
    out.insert(*v);
    return true;
  }
  if (n.w != node::what::cmp_or) return false;
  for (const auto& k : n.kids) {
    if (!or_of_equals(*k, out)) return false;
  }
  return true;
}

bool exports(const node& n, std::set<value>& out) {
  if (n.qualified) return false;
  if (n.w == node::what::bracket) return or_of_equals(*n.kids[0], out);
  if (n.w != node::what::obs_or) return false;
  for (const auto& k : n.kids) {
    if (!exports(*k, out)) return false;
  }
  return true;
}

void keys(const node& n, pattern_facts& f) {
  for (const auto& k : n.kids) keys(*k, f);
  if (n.w != node::what::test) return;
  const auto& c = n.cmp;
  if (c.negated || !c.string_constant) return;
  auto k = listed_path(c);
  if (!k) return;
  const bool ip = *k == kind::ipv4 || *k == kind::ipv6;
  if (c.op == "=") {
    auto v = normalise(*k, c.constant);
    if (!v) return;
    f.equal.insert(*v);
    if (v->cidr)
      f.ranges.push_back(*(*k == kind::ipv4 ? parse_ipv4(v->text) : parse_ipv6(v->text)));
  } else if (c.op == "ISSUBSET" && ip) {
    auto net = *k == kind::ipv4 ? parse_ipv4(c.constant) : parse_ipv6(c.constant);
    if (net) f.ranges.push_back(*net);
  }
}

}  // namespace

pattern_facts analyse(std::string_view pattern) {
  pattern_facts f;
  parser p(pattern);
  auto root = p.run(f.error);
  if (!root) return f;
  f.valid = true;
  std::set<value> out;
  if (exports(*root, out)) f.exported = std::move(out);
  keys(*root, f);
  return f;
}

std::vector<value> candidates(std::string_view text, std::string_view type) {
  std::vector<value> out;
  if (!type.empty()) {
    for (auto k : kinds_of_type(type)) {
      if (auto v = normalise(k, text)) out.push_back(*v);
    }
    return out;
  }
  for (auto k : {kind::ipv4, kind::ipv6, kind::sha256, kind::sha1, kind::md5}) {
    if (auto v = normalise(k, text)) return {*v};
  }
  if (text.find("://") != std::string_view::npos) return {*normalise(kind::url, text)};
  if (text.find('@') != std::string_view::npos) return {*normalise(kind::email, text)};
  if (text.find('.') != std::string_view::npos && text.find('/') == std::string_view::npos) {
    if (auto v = normalise(kind::domain, text)) return {*v};
  }
  return out;
}

bool matches(const pattern_facts& f, const value& c) {
  if (f.equal.contains(c)) return true;
  // "A CIDR in the pattern that contains it": an address, or a network (an
  // ipv4-addr or ipv6-addr value may be one) that lies inside.
  if (c.k != kind::ipv4 && c.k != kind::ipv6) return false;
  auto addr = c.k == kind::ipv4 ? parse_ipv4(c.text) : parse_ipv6(c.text);
  if (!addr) return false;
  for (const auto& r : f.ranges) {
    if (contains(r, *addr)) return true;
  }
  return false;
}

std::optional<std::vector<std::vector<std::string>>> parse_csv(std::string_view text,
                                                               bool* crlf_only) {
  std::vector<std::vector<std::string>> rows;
  bool crlf = true;
  std::size_t at = 0;
  while (at < text.size()) {
    std::vector<std::string> row;
    while (true) {
      std::string field;
      if (at < text.size() && text[at] == '"') {
        ++at;
        while (true) {
          if (at >= text.size()) return std::nullopt;
          if (text[at] == '"') {
            if (at + 1 < text.size() && text[at + 1] == '"') {
              field += '"';
              at += 2;
              continue;
            }
            ++at;
            break;
          }
          field += text[at++];
        }
      } else {
        while (at < text.size() && text[at] != ',' && text[at] != '\r' && text[at] != '\n') {
          if (text[at] == '"') return std::nullopt;
          field += text[at++];
        }
      }
      row.push_back(std::move(field));
      if (at < text.size() && text[at] == ',') {
        ++at;
        continue;
      }
      break;
    }
    if (at < text.size()) {
      if (text[at] == '\r' && at + 1 < text.size() && text[at + 1] == '\n') {
        at += 2;
      } else if (text[at] == '\n') {
        crlf = false;
        ++at;
      } else {
        return std::nullopt;
      }
    }
    rows.push_back(std::move(row));
  }
  if (crlf_only) *crlf_only = crlf;
  return rows;
}

}  // namespace cairn::testing::lookup_oracle
