#include "formats/stix_pattern.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/ascii.hpp"
#include "formats/hex.hpp"

// The language accepted here is the one of STIXPattern.g4 as the OASIS
// pattern validator (stix2patterns, STIX 2.1) builds it: ANTLR lexing by
// longest match, keywords upper-case only, `NOT? EXISTS path`,
// `START t'..' STOP t'..'`. On top of the grammar come the checks that the
// OASIS tools make in code: duplicate qualifiers on one bracketed
// observation, hash lengths (stix2patterns), and the type/property name
// rules that stix2-validator applies to indicator patterns.
//
// Everything is one left-to-right pass with one token of lookahead, so the
// cost is linear in the input; recursion happens only at '[' and '(' and is
// bounded by max_nesting.

namespace cairn::formats {
namespace {

constexpr int max_nesting = 64;
constexpr std::size_t max_name_length = 250;
constexpr std::size_t max_quoted_in_message = 40;

enum class tok {
  end,
  invalid,
  lbrack,
  rbrack,
  lparen,
  rparen,
  colon,
  dot,
  comma,
  asterisk,
  eq,
  neq,
  lt,
  le,
  gt,
  ge,
  int_pos,
  int_neg,
  float_pos,
  float_neg,
  hex,
  binary,
  string,
  boolean,
  timestamp,
  ident,         // [a-zA-Z_][a-zA-Z0-9_]*
  ident_hyphen,  // the same with at least one '-'
  kw_and,
  kw_or,
  kw_not,
  kw_followedby,
  kw_like,
  kw_matches,
  kw_issuperset,
  kw_issubset,
  kw_exists,
  kw_last,
  kw_in,
  kw_start,
  kw_stop,
  kw_seconds,
  kw_within,
  kw_repeats,
  kw_times,
};

struct token {
  tok kind = tok::end;
  std::size_t offset = 0;
  std::string_view text;
  // For tok::invalid: what is wrong, without the offset.
  std::string problem;
};

constexpr std::array<std::pair<std::string_view, tok>, 17> keywords{{
    {"AND", tok::kw_and},
    {"OR", tok::kw_or},
    {"NOT", tok::kw_not},
    {"FOLLOWEDBY", tok::kw_followedby},
    {"LIKE", tok::kw_like},
    {"MATCHES", tok::kw_matches},
    {"ISSUPERSET", tok::kw_issuperset},
    {"ISSUBSET", tok::kw_issubset},
    {"EXISTS", tok::kw_exists},
    {"LAST", tok::kw_last},
    {"IN", tok::kw_in},
    {"START", tok::kw_start},
    {"STOP", tok::kw_stop},
    {"SECONDS", tok::kw_seconds},
    {"WITHIN", tok::kw_within},
    {"REPEATS", tok::kw_repeats},
    {"TIMES", tok::kw_times},
}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_base64(char c) {
  return is_alpha(c) || is_digit(c) || c == '+' || c == '/';
}
bool is_ident_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '_';
}

char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// Length in bytes of the grammar's whitespace at s[p], or 0. Besides ASCII
// blanks the grammar skips U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
// U+2029, U+202F, U+205F and U+3000, which arrive here UTF-8 encoded.
std::size_t whitespace_at(std::string_view s, std::size_t p) {
  auto byte = [&](std::size_t i) -> unsigned char {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
  };
  const unsigned char c = byte(p);
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') return 1;
  if (c == 0xC2 && (byte(p + 1) == 0x85 || byte(p + 1) == 0xA0)) return 2;
  if (c == 0xE1 && byte(p + 1) == 0x9A && byte(p + 2) == 0x80) return 3;
  if (c == 0xE2 && byte(p + 1) == 0x80) {
    const unsigned char d = byte(p + 2);
    if ((d >= 0x80 && d <= 0x8A) || d == 0xA8 || d == 0xA9 || d == 0xAF) return 3;
  }
  if (c == 0xE2 && byte(p + 1) == 0x81 && byte(p + 2) == 0x9F) return 3;
  if (c == 0xE3 && byte(p + 1) == 0x80 && byte(p + 2) == 0x80) return 3;
  return 0;
}

std::string quoted(std::string_view text);

std::string describe_byte(char c) {
  return quoted(std::string_view(&c, 1));
}

// Splits the pattern into the grammar's tokens, one at a time.
class pattern_lexer {
 public:
  explicit pattern_lexer(std::string_view text) : s_(text) {}

  token next() {
    skip_blanks();
    token t;
    t.offset = p_;
    if (p_ >= s_.size()) return t;
    const char c = s_[p_];
    const char c1 = p_ + 1 < s_.size() ? s_[p_ + 1] : '\0';

    if (c1 == '\'' && (c == 'h' || c == 'b' || c == 't')) {
      if (c == 'h') return hex_literal();
      if (c == 'b') return binary_literal();
      return timestamp_literal();
    }
    if (is_alpha(c) || c == '_') return identifier();
    if (is_digit(c) || ((c == '+' || c == '-') && (is_digit(c1) || c1 == '.')) ||
        (c == '.' && is_digit(c1))) {
      if (auto number = number_literal()) return std::move(*number);
    }
    switch (c) {
      case '\'': return string_literal();
      case '[': return single(tok::lbrack, 1);
      case ']': return single(tok::rbrack, 1);
      case '(': return single(tok::lparen, 1);
      case ')': return single(tok::rparen, 1);
      case ':': return single(tok::colon, 1);
      case '.': return single(tok::dot, 1);
      case ',': return single(tok::comma, 1);
      case '*': return single(tok::asterisk, 1);
      case '=': return single(tok::eq, c1 == '=' ? 2 : 1);
      case '<':
        if (c1 == '=') return single(tok::le, 2);
        if (c1 == '>') return single(tok::neq, 2);
        return single(tok::lt, 1);
      case '>':
        if (c1 == '=') return single(tok::ge, 2);
        return single(tok::gt, 1);
      case '!':
        if (c1 == '=') return single(tok::neq, 2);
        break;
      default: break;
    }
    return invalid(1, "unexpected character " + describe_byte(c));
  }

 private:
  void skip_blanks() {
    while (p_ < s_.size()) {
      if (const std::size_t w = whitespace_at(s_, p_)) {
        p_ += w;
        continue;
      }
      if (s_[p_] == '/' && p_ + 1 < s_.size() && s_[p_ + 1] == '*') {
        const std::size_t close = s_.find("*/", p_ + 2);
        // An unterminated block comment is not a comment; the '/' then
        // surfaces as an unexpected character.
        if (close == std::string_view::npos) return;
        p_ = close + 2;
        continue;
      }
      if (s_[p_] == '/' && p_ + 1 < s_.size() && s_[p_ + 1] == '/') {
        while (p_ < s_.size() && s_[p_] != '\r' && s_[p_] != '\n') ++p_;
        continue;
      }
      return;
    }
  }

  token single(tok kind, std::size_t length) {
    token t;
    t.kind = kind;
    t.offset = p_;
    t.text = s_.substr(p_, length);
    p_ += length;
    return t;
  }

  token invalid(std::size_t length, std::string problem) {
    token t = single(tok::invalid, length);
    t.problem = std::move(problem);
    return t;
  }

  token identifier() {
    std::size_t q = p_;
    bool hyphen = false;
    while (q < s_.size() && (is_ident_char(s_[q]) || s_[q] == '-')) {
      hyphen = hyphen || s_[q] == '-';
      ++q;
    }
    token t = single(hyphen ? tok::ident_hyphen : tok::ident, q - p_);
    if (!hyphen) {
      for (const auto& [word, kind] : keywords) {
        if (t.text == word) t.kind = kind;
      }
      if (t.text == "true" || t.text == "false") t.kind = tok::boolean;
    }
    return t;
  }

  // IntPosLiteral '+'? ('0' | [1-9][0-9]*), IntNegLiteral '-' (...),
  // FloatPosLiteral '+'? [0-9]* '.' [0-9]+ and FloatNegLiteral; the longest
  // one wins, so "012.5" is a float but "012" is the integers 0 and 12.
  std::optional<token> number_literal() {
    std::size_t q = p_;
    bool negative = false;
    if (s_[q] == '+' || s_[q] == '-') {
      negative = s_[q] == '-';
      ++q;
    }
    const std::size_t digits_begin = q;
    while (q < s_.size() && is_digit(s_[q])) ++q;
    if (q + 1 < s_.size() && s_[q] == '.' && is_digit(s_[q + 1])) {
      q += 2;
      while (q < s_.size() && is_digit(s_[q])) ++q;
      return single(negative ? tok::float_neg : tok::float_pos, q - p_);
    }
    if (q == digits_begin) return std::nullopt;
    const std::size_t end = s_[digits_begin] == '0' ? digits_begin + 1 : q;
    return single(negative ? tok::int_neg : tok::int_pos, end - p_);
  }

  // QUOTE (~['\\] | '\\\'' | '\\\\')* QUOTE
  token string_literal() {
    std::size_t q = p_ + 1;
    while (q < s_.size()) {
      const char c = s_[q];
      if (c == '\'') return single(tok::string, q + 1 - p_);
      if (c == '\\') {
        if (q + 1 < s_.size() && (s_[q + 1] == '\'' || s_[q + 1] == '\\')) {
          q += 2;
          continue;
        }
        return invalid(1, "string constant with an escape other than \\' or \\\\ at offset " +
                              std::to_string(q));
      }
      ++q;
    }
    return invalid(1, "unterminated string constant");
  }

  // 'h' QUOTE (HexDigit HexDigit)* QUOTE
  token hex_literal() {
    std::size_t q = p_ + 2;
    while (q < s_.size() && is_hex(s_[q])) ++q;
    const std::size_t digits = q - (p_ + 2);
    if (q < s_.size() && s_[q] == '\'' && digits % 2 == 0) return single(tok::hex, q + 1 - p_);
    return invalid(2, "hex constant h'...' needs an even number of hex digits and a closing quote");
  }

  // 'b' QUOTE base64 in groups of four, the last one possibly padded QUOTE
  token binary_literal() {
    std::size_t q = p_ + 2;
    std::size_t chars = 0;
    while (q < s_.size() && is_base64(s_[q])) {
      ++q;
      ++chars;
    }
    std::size_t padding = 0;
    while (q < s_.size() && s_[q] == '=' && padding < 2) {
      ++q;
      ++padding;
    }
    const std::size_t total = chars + padding;
    if (q < s_.size() && s_[q] == '\'' && total >= 4 && total % 4 == 0) {
      return single(tok::binary, q + 1 - p_);
    }
    return invalid(2, "binary constant b'...' is not padded base64");
  }

  // t'YYYY-MM-DDTHH:MM:SS(.s+)?Z' with the grammar's digit ranges: month
  // 01-12, day 01-31 (not checked against the month), hour 00-23, minute
  // 00-59, second 00-60.
  token timestamp_literal() {
    const std::string_view s = s_;
    std::size_t q = p_ + 2;
    auto at = [&](std::size_t i) { return q + i < s.size() ? s[q + i] : '\0'; };
    auto digits = [&](std::size_t i, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k) {
        if (!is_digit(at(i + k))) return false;
      }
      return true;
    };
    auto two = [&](std::size_t i) { return (at(i) - '0') * 10 + (at(i + 1) - '0'); };
    bool ok = digits(0, 4) && at(4) == '-' && digits(5, 2) && at(7) == '-' && digits(8, 2) &&
              at(10) == 'T' && digits(11, 2) && at(13) == ':' && digits(14, 2) && at(16) == ':' &&
              digits(17, 2);
    ok = ok && two(5) >= 1 && two(5) <= 12 && two(8) >= 1 && two(8) <= 31 && two(11) <= 23 &&
         two(14) <= 59 && two(17) <= 60;
    if (ok) {
      q += 19;
      if (at(0) == '.' && is_digit(at(1))) {
        q += 2;
        while (is_digit(at(0))) ++q;
      }
      ok = at(0) == 'Z' && at(1) == '\'';
    }
    if (!ok) return invalid(2, "timestamp constant t'...' is not YYYY-MM-DDTHH:MM:SS[.s]Z");
    return single(tok::timestamp, q + 2 - p_);
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

std::string unescape_string(std::string_view token_text) {
  std::string out;
  const std::string_view body = token_text.substr(1, token_text.size() - 2);
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) ++i;
    out.push_back(body[i]);
  }
  return out;
}

// Pattern text quoted for an error message: shortened, and with anything but
// printable ASCII escaped so that the message is safe in logs and JSON.
std::string quoted(std::string_view text) {
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < max_quoted_in_message; ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b == '\n') {
      out += "\\n";
    } else if (b >= 0x20 && b < 0x7F) {
      out.push_back(static_cast<char>(b));
    } else {
      out += "\\x";
      append_hex(out, b);
    }
  }
  if (text.size() > max_quoted_in_message) out += "...";
  return out + "'";
}

std::string describe(const token& t) {
  if (t.kind == tok::end) return "end of pattern";
  std::string d = quoted(t.text);
  if (t.kind == tok::ident) {
    for (const auto& [word, kind] : keywords) {
      if (iequals(t.text, word)) {
        d += " (keywords are upper-case)";
        break;
      }
    }
  }
  return d;
}

// A hash algorithm name as stix2patterns normalises it (upper case, no '-'
// or quote) and the digest length it expects.
struct hash_rule {
  std::string_view key;
  std::size_t hex_length;  // 0: not a fixed-length hex digest
};

constexpr std::array<hash_rule, 14> hash_rules{{
    {"MD5", 32},
    {"MD6", 0},
    {"RIPEMD160", 40},
    {"SHA1", 40},
    {"SHA224", 56},
    {"SHA256", 64},
    {"SHA384", 96},
    {"SHA512", 128},
    {"SHA3224", 56},
    {"SHA3256", 64},
    {"SHA3384", 96},
    {"SHA3512", 128},
    {"SSDEEP", 0},
    {"WHIRLPOOL", 128},
}};

bool all_hex(std::string_view v) {
  for (const char c : v) {
    if (!is_hex(c)) return false;
  }
  return true;
}

// Mirrors stix2patterns' regular expressions, including Python's '$', which
// also matches before one trailing newline, and the MD6 expression, whose
// alternatives are unanchored at the end (so 32 leading hex digits suffice).
bool hash_value_ok(const hash_rule& rule, std::string_view value) {
  std::string_view v = value;
  if (rule.key == "MD6") return v.size() >= 32 && all_hex(v.substr(0, 32));
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  if (rule.key == "SSDEEP") {
    if (v.empty() || v.size() > 128) return false;
    for (const char c : v) {
      if (!(is_alpha(c) || is_digit(c) || c == '/' || c == '+' || c == ':' || c == '.')) {
        return false;
      }
    }
    return true;
  }
  return v.size() == rule.hex_length && all_hex(v);
}

const hash_rule* find_hash_rule(std::string_view selector) {
  std::string key;
  for (const char c : selector) {
    if (c != '-' && c != '\'') key.push_back(ascii_upper(c));
  }
  for (const auto& rule : hash_rules) {
    if (rule.key == key) return &rule;
  }
  return nullptr;
}

bool valid_type_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_length) return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_')) return false;
  }
  return true;
}

bool valid_property_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_length) return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_')) return false;
  }
  return true;
}

// What the semantic checks need to know about one object path.
struct path_info {
  std::size_t offset = 0;
  std::string_view type;
  std::string first;  // first property, unescaped
  bool mentions_hashes = false;
  bool last_is_key = false;  // false when the path ends in an index step
  std::string last_key;
  std::vector<pattern_path_step> steps;  // after the type
};

// First error of one kind and where it is.
struct pending_error {
  std::optional<std::size_t> offset;
  std::string message;

  void set(std::size_t at, std::string text) {
    if (offset) return;
    offset = at;
    message = std::move(text);
  }
};

// Recursive descent over the grammar; one instance per pattern.
class pattern_parser {
 public:
  pattern_parser(std::string_view text, bool stix_names)
      : text_(text), lexer_(text), stix_names_(stix_names) {}

  result<pattern_node> run() {
    if (auto missing = missing_brackets()) {
      return fail("offset " + std::to_string(*missing) + ": input is missing square brackets");
    }
    advance();
    pattern_node tree;
    if (observation_sequence(tree) && cur_.kind != tok::end) {
      syntax_error("AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern");
    }
    // Syntax first, then the checks in the order the OASIS tools report
    // them: qualifiers, hashes, names.
    for (const pending_error* e : {&syntax_, &qualifier_, &hash_, &name_}) {
      if (e->offset) return fail("offset " + std::to_string(*e->offset) + ": " + e->message);
    }
    return tree;
  }

 private:
  // stix2patterns refuses a pattern whose first character other than
  // whitespace and '(' is not '[' before it parses, which also refuses a
  // pattern that opens with a comment.
  std::optional<std::size_t> missing_brackets() const {
    std::size_t p = 0;
    while (p < text_.size()) {
      if (const std::size_t w = whitespace_at(text_, p)) {
        p += w;
      } else if (text_[p] == '(') {
        ++p;
      } else {
        break;
      }
    }
    if (p < text_.size() && text_[p] == '[') return std::nullopt;
    return p;
  }

  void advance() { cur_ = lexer_.next(); }

  bool at(tok kind) const { return cur_.kind == kind; }

  bool syntax_error(std::string_view expected) {
    if (cur_.kind == tok::invalid) {
      syntax_.set(cur_.offset, cur_.problem);
    } else {
      syntax_.set(cur_.offset, "expected " + std::string(expected) + ", found " + describe(cur_));
    }
    return false;
  }

  bool expect(tok kind, std::string_view expected) {
    if (!at(kind)) return syntax_error(expected);
    advance();
    return true;
  }

  bool enter_nesting() {
    if (++depth_ > max_nesting) {
      syntax_.set(cur_.offset, "brackets and parentheses nested deeper than " +
                                   std::to_string(max_nesting) + " levels");
      return false;
    }
    return true;
  }

  // Joins `next` to the chain of one operator that `out` holds (making `out`
  // that chain first, when `chained` is not set yet).
  static void chain(pattern_node& out, bool& chained, pattern_node::kind k, pattern_node next) {
    if (!chained) {
      pattern_node joined;
      joined.type = k;
      joined.children.push_back(std::move(out));
      out = std::move(joined);
      chained = true;
    }
    out.children.push_back(std::move(next));
  }

  // observationExpressions: FOLLOWEDBY binds loosest, then OR, then AND;
  // all three associate to the left.
  bool observation_sequence(pattern_node& out) {
    if (!observation_or(out)) return false;
    bool chained = false;
    while (at(tok::kw_followedby)) {
      advance();
      pattern_node next;
      if (!observation_or(next)) return false;
      chain(out, chained, pattern_node::kind::followed_by, std::move(next));
    }
    return true;
  }

  bool observation_or(pattern_node& out) {
    if (!observation_and(out)) return false;
    bool chained = false;
    while (at(tok::kw_or)) {
      advance();
      pattern_node next;
      if (!observation_and(next)) return false;
      chain(out, chained, pattern_node::kind::observation_or, std::move(next));
    }
    return true;
  }

  bool observation_and(pattern_node& out) {
    if (!observation(out)) return false;
    bool chained = false;
    while (at(tok::kw_and)) {
      advance();
      pattern_node next;
      if (!observation(next)) return false;
      chain(out, chained, pattern_node::kind::observation_and, std::move(next));
    }
    return true;
  }

  // '[' comparisonExpression ']' or '(' observationExpressions ')',
  // followed by any number of qualifiers.
  bool observation(pattern_node& out) {
    bool simple = false;
    if (at(tok::lbrack)) {
      simple = true;
      if (!enter_nesting()) return false;
      advance();
      out.type = pattern_node::kind::observation;
      out.children.emplace_back();
      if (!comparison_or(out.children.back()) || !expect(tok::rbrack, "AND, OR or ']'")) {
        return false;
      }
      --depth_;
    } else if (at(tok::lparen)) {
      if (!enter_nesting()) return false;
      advance();
      if (!observation_sequence(out) || !expect(tok::rparen, "AND, OR, FOLLOWEDBY or ')'")) {
        return false;
      }
      --depth_;
    } else {
      return syntax_error("'[' or '('");
    }
    return qualifiers(simple, out.qualifiers);
  }

  // stix2patterns refuses two qualifiers of one kind only when they apply
  // directly to a bracketed observation; on a parenthesised group they pass.
  bool qualifiers(bool simple, std::vector<pattern_qualifier>& out) {
    bool seen_within = false, seen_repeats = false, seen_startstop = false;
    auto note = [&](bool& seen, std::size_t offset, std::string_view name) {
      if (simple && seen) {
        qualifier_.set(offset, "Duplicate qualifier type encountered: " + std::string(name));
      }
      seen = true;
    };
    while (true) {
      const std::size_t offset = cur_.offset;
      pattern_qualifier q;
      if (at(tok::kw_within)) {
        advance();
        if (!at(tok::int_pos) && !at(tok::float_pos)) {
          return syntax_error("a positive number of seconds");
        }
        q.arguments.emplace_back(cur_.text);
        advance();
        if (!expect(tok::kw_seconds, "SECONDS")) return false;
        note(seen_within, offset, "WITHIN");
        q.kind = pattern_qualifier_kind::within;
      } else if (at(tok::kw_repeats)) {
        advance();
        q.arguments.emplace_back(cur_.text);
        if (!expect(tok::int_pos, "a positive integer")) return false;
        if (!expect(tok::kw_times, "TIMES")) return false;
        note(seen_repeats, offset, "REPEATS");
        q.kind = pattern_qualifier_kind::repeats;
      } else if (at(tok::kw_start)) {
        advance();
        q.arguments.emplace_back(cur_.text);
        if (!expect(tok::timestamp, "a timestamp t'...'")) return false;
        if (!expect(tok::kw_stop, "STOP")) return false;
        q.arguments.emplace_back(cur_.text);
        if (!expect(tok::timestamp, "a timestamp t'...'")) return false;
        note(seen_startstop, offset, "STARTSTOP");
        q.kind = pattern_qualifier_kind::start_stop;
      } else {
        return true;
      }
      out.push_back(std::move(q));
    }
  }

  // comparisonExpression: OR binds looser than AND, both to the left.
  bool comparison_or(pattern_node& out) {
    if (!comparison_and(out)) return false;
    bool chained = false;
    while (at(tok::kw_or)) {
      advance();
      pattern_node next;
      if (!comparison_and(next)) return false;
      chain(out, chained, pattern_node::kind::comparison_or, std::move(next));
    }
    return true;
  }

  bool comparison_and(pattern_node& out) {
    if (!property_test(out)) return false;
    bool chained = false;
    while (at(tok::kw_and)) {
      advance();
      pattern_node next;
      if (!property_test(next)) return false;
      chain(out, chained, pattern_node::kind::comparison_and, std::move(next));
    }
    return true;
  }

  bool property_test(pattern_node& out) {
    if (at(tok::lparen)) {
      if (!enter_nesting()) return false;
      advance();
      if (!comparison_or(out) || !expect(tok::rparen, "AND, OR or ')'")) return false;
      --depth_;
      return true;
    }
    out.type = pattern_node::kind::comparison;
    pattern_comparison& c = out.comparison;
    if (at(tok::kw_not) || at(tok::kw_exists)) {
      if (at(tok::kw_not)) {
        c.negated = true;
        advance();
      }
      if (!expect(tok::kw_exists, "EXISTS")) return false;
      path_info path;
      if (!object_path(path)) return false;
      check_names(path);
      c.op = pattern_operator::exists;
      c.object_type = std::string(path.type);
      c.path = std::move(path.steps);
      return true;
    }
    if (!at(tok::ident) && !at(tok::ident_hyphen)) {
      return syntax_error("an object path, EXISTS or '('");
    }
    path_info path;
    if (!object_path(path)) return false;
    if (at(tok::kw_not)) {
      c.negated = true;
      advance();
    }

    // The text stix2patterns compares against hash formats: the constant as
    // written, all quote characters removed.
    std::string value_text;
    switch (cur_.kind) {
      case tok::eq:
      case tok::neq:
        c.op = at(tok::eq) ? pattern_operator::eq : pattern_operator::neq;
        advance();
        if (!primitive_literal(true, value_text, c.constants)) return false;
        break;
      case tok::lt:
      case tok::le:
      case tok::gt:
      case tok::ge:
        c.op = at(tok::lt)   ? pattern_operator::lt
               : at(tok::le) ? pattern_operator::le
               : at(tok::gt) ? pattern_operator::gt
                             : pattern_operator::ge;
        advance();
        if (!primitive_literal(false, value_text, c.constants)) return false;
        break;
      case tok::kw_in:
        c.op = pattern_operator::in;
        advance();
        if (!set_literal(value_text, c.constants)) return false;
        break;
      case tok::kw_like:
      case tok::kw_matches:
      case tok::kw_issubset:
      case tok::kw_issuperset:
        c.op = at(tok::kw_like)       ? pattern_operator::like
               : at(tok::kw_matches)  ? pattern_operator::matches
               : at(tok::kw_issubset) ? pattern_operator::issubset
                                      : pattern_operator::issuperset;
        advance();
        if (!at(tok::string)) return syntax_error("a string constant");
        append_value_text(value_text, cur_.text);
        c.constants.push_back({pattern_constant_kind::string, unescape_string(cur_.text)});
        advance();
        break;
      default:
        return syntax_error(
            "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)");
    }
    check_names(path);
    check_hash(path, value_text);
    c.object_type = std::string(path.type);
    c.path = std::move(path.steps);
    return true;
  }

  static pattern_constant constant_of(const token& t) {
    switch (t.kind) {
      case tok::string: return {pattern_constant_kind::string, unescape_string(t.text)};
      case tok::int_pos:
      case tok::int_neg: return {pattern_constant_kind::integer, std::string(t.text)};
      case tok::float_pos:
      case tok::float_neg: return {pattern_constant_kind::floating, std::string(t.text)};
      case tok::boolean: return {pattern_constant_kind::boolean, std::string(t.text)};
      case tok::hex: return {pattern_constant_kind::hex, std::string(t.text)};
      case tok::binary: return {pattern_constant_kind::binary, std::string(t.text)};
      default: return {pattern_constant_kind::timestamp, std::string(t.text)};
    }
  }

  static void append_value_text(std::string& out, std::string_view literal) {
    for (const char c : literal) {
      if (c != '\'') out.push_back(c);
    }
  }

  bool primitive_literal(bool allow_boolean, std::string& value_text,
                         std::vector<pattern_constant>& constants) {
    switch (cur_.kind) {
      case tok::boolean:
        if (!allow_boolean) return syntax_error("an orderable constant (not true or false)");
        [[fallthrough]];
      case tok::int_pos:
      case tok::int_neg:
      case tok::float_pos:
      case tok::float_neg:
      case tok::string:
      case tok::binary:
      case tok::hex:
      case tok::timestamp:
        append_value_text(value_text, cur_.text);
        constants.push_back(constant_of(cur_));
        advance();
        return true;
      default: return syntax_error("a constant");
    }
  }

  // '(' ')' or '(' primitiveLiteral (',' primitiveLiteral)* ')'
  bool set_literal(std::string& value_text, std::vector<pattern_constant>& constants) {
    if (!expect(tok::lparen, "'(' to open a set")) return false;
    value_text.push_back('(');
    if (!at(tok::rparen)) {
      if (!primitive_literal(true, value_text, constants)) return false;
      while (at(tok::comma)) {
        advance();
        value_text.push_back(',');
        if (!primitive_literal(true, value_text, constants)) return false;
      }
    }
    value_text.push_back(')');
    return expect(tok::rparen, "',' or ')'");
  }

  // objectType ':' firstPathComponent ('.' key | '[' index ']')*
  bool object_path(path_info& path) {
    path.offset = cur_.offset;
    if (!at(tok::ident) && !at(tok::ident_hyphen)) return syntax_error("an object type");
    path.type = cur_.text;
    advance();
    if (!expect(tok::colon, "':' after the object type")) return false;
    if (at(tok::ident)) {
      path.first = std::string(cur_.text);
    } else if (at(tok::string)) {
      path.first = unescape_string(cur_.text);
    } else {
      return syntax_error("a property name (quote names that contain '-')");
    }
    advance();
    path.steps.push_back({false, path.first});
    path.mentions_hashes = path.first == "hashes";
    path.last_is_key = true;
    path.last_key = path.first;
    while (true) {
      if (at(tok::dot)) {
        advance();
        if (at(tok::ident)) {
          path.last_key = std::string(cur_.text);
        } else if (at(tok::string)) {
          path.last_key = unescape_string(cur_.text);
        } else {
          return syntax_error("a key name after '.' (quote names that contain '-')");
        }
        advance();
        path.last_is_key = true;
        path.steps.push_back({false, path.last_key});
        path.mentions_hashes = path.mentions_hashes || path.last_key == "hashes";
      } else if (at(tok::lbrack)) {
        advance();
        if (!at(tok::int_pos) && !at(tok::int_neg) && !at(tok::asterisk)) {
          return syntax_error("a list index or '*'");
        }
        path.steps.push_back({true, std::string(cur_.text)});
        advance();
        if (!expect(tok::rbrack, "']' after the list index")) return false;
        path.last_is_key = false;
      } else {
        return true;
      }
    }
  }

  // The rules stix2-validator applies to the objects a pattern names:
  // types are lower-case, the first property matches [a-z0-9_]. The minimum
  // length of 3 that stix2-validator also asks for applies with stix_names
  // only, since the pattern validator's own test cases use names like 'x'
  // and 'a'.
  void check_names(const path_info& path) {
    const bool short_type = stix_names_ && path.type.size() < 3;
    const bool short_property = stix_names_ && path.first.size() < 3 && path.first != "id";
    if (!valid_type_name(path.type) || short_type) {
      name_.set(path.offset, quoted(path.type) + " is not a valid observable type name" +
                                 (short_type ? " (3-250 characters; STIX 2.1 section 3.1)" : ""));
    } else if (!valid_property_name(path.first) || short_property) {
      name_.set(path.offset,
                quoted(path.first) + " is not a valid observable property name" +
                    (short_property ? " (3-250 characters; STIX 2.1 section 3.1)" : ""));
    }
  }

  void check_hash(const path_info& path, std::string_view value_text) {
    if (!path.mentions_hashes || !path.last_is_key) return;
    const hash_rule* rule = find_hash_rule(path.last_key);
    if (rule == nullptr || hash_value_ok(*rule, value_text)) return;
    hash_.set(path.offset, quoted(value_text) + " is not a valid " + path.last_key + " hash");
  }

  std::string_view text_;
  pattern_lexer lexer_;
  token cur_;
  int depth_ = 0;
  pending_error syntax_;
  pending_error qualifier_;
  pending_error hash_;
  pending_error name_;
  bool stix_names_ = false;
};

}  // namespace

result<void> validate_stix_pattern(std::string_view pattern, bool stix_names) {
  auto tree = pattern_parser(pattern, stix_names).run();
  if (!tree) return std::unexpected(std::move(tree.error()));
  return {};
}

result<pattern_node> parse_stix_pattern(std::string_view pattern, bool stix_names) {
  return pattern_parser(pattern, stix_names).run();
}

}  // namespace cairn::formats
