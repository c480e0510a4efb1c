#include "ddim/io/config_file.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "ddim/core/error.h"

namespace ddim {

const char* describe(ConfigKind kind) {
  switch (kind) {
    case ConfigKind::String:
      return "a string";
    case ConfigKind::Integer:
      return "an integer";
    case ConfigKind::Float:
      return "a number";
    case ConfigKind::Boolean:
      return "true or false";
  }
  return "?";
}

namespace {

constexpr size_t kMaxConfigBytes = size_t(1) << 20;

bool bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool digits(std::string_view s, bool underscores) {
  if (s.empty() || s.front() == '_' || s.back() == '_') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && underscores && s[i + 1] != '_') continue;
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// TOML integers: [+-]?(0|[1-9](_?[0-9])*)
bool is_integer(std::string_view t) {
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) t.remove_prefix(1);
  if (!digits(t, true)) return false;
  return t == "0" || t[0] != '0';
}

// TOML floats: integer part, then a fraction, an exponent or both; or inf / nan.
bool is_float(std::string_view t) {
  std::string_view u = t;
  if (!u.empty() && (u[0] == '+' || u[0] == '-')) u.remove_prefix(1);
  if (u == "inf" || u == "nan") return true;
  const size_t e = u.find_first_of("eE");
  std::string_view mantissa = u.substr(0, e), exponent = e == std::string_view::npos ? "" : u.substr(e + 1);
  const size_t dot = mantissa.find('.');
  const std::string_view whole = mantissa.substr(0, dot);
  if (!is_integer(whole) || whole[0] == '+' || whole[0] == '-') return false;
  if (dot == std::string_view::npos && e == std::string_view::npos) return false;
  if (dot != std::string_view::npos && !digits(mantissa.substr(dot + 1), true)) return false;
  if (e != std::string_view::npos) {
    if (!exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) exponent.remove_prefix(1);
    if (!digits(exponent, true)) return false;
  }
  return true;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  ConfigFile run() {
    DDIM_CHECK_ARG(s_.size() <= kMaxConfigBytes,
                   "{}: a configuration file of {} bytes is too large (at most {})", what_, s_.size(),
                   kMaxConfigBytes);
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // a UTF-8 byte order mark
    while (!end()) {
      skip_blanks();
      if (end()) break;
      const char c = s_[i_];
      if (c == '\n' || c == '\r' || c == '#') {
        end_of_line();
      } else if (c == '[') {
        header();
      } else {
        key_value();
      }
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& problem, int line = 0) const {
    throw InvalidArgument(fmt::format("{}:{}: {}", what_, line > 0 ? line : line_, problem), DDIM_WHERE_);
  }
  bool end() const { return i_ >= s_.size(); }
  char peek() const { return end() ? '\0' : s_[i_]; }
  void skip_blanks() {
    while (!end() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  // After a header or value: blanks, an optional comment, then the end of the line.
  void end_of_line() {
    skip_blanks();
    if (peek() == '#') {
      while (!end() && s_[i_] != '\n') {
        const auto c = static_cast<unsigned char>(s_[i_]);
        if (c < 0x20 && c != '\t' && c != '\r') fail("control character in a comment");
        ++i_;
      }
    }
    if (peek() == '\r') ++i_;
    if (end()) return;
    if (s_[i_] != '\n')
      fail(fmt::format("unexpected '{}' after the value (a comment starts with '#')", rest()));
    ++i_;
    ++line_;
  }
  // The rest of the current line, for messages.
  std::string rest() const {
    const size_t nl = s_.find('\n', i_);
    return printable(s_.substr(i_, nl == std::string_view::npos ? std::string_view::npos : nl - i_), 40);
  }
  std::string name_part(std::string_view part, const char* what) {
    const auto b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    if (b == std::string_view::npos) fail(fmt::format("empty {}", what));
    part = part.substr(b, e - b + 1);
    for (char c : part)
      if (!bare_key_char(c))
        fail(fmt::format("{} '{}' may hold only letters, digits, '-' and '_'", what, printable(part)));
    return std::string(part);
  }

  void header() {
    const int line = line_;
    if (s_.substr(i_, 2) == "[[") fail("arrays of tables ([[...]]) are not supported");
    const size_t nl = std::min(s_.find('\n', i_), s_.size());
    const size_t close = s_.find(']', i_);
    if (close == std::string_view::npos || close > nl)
      fail(fmt::format("unclosed table header '{}' (a header is [name])", rest()));
    std::vector<std::string> name;
    std::string_view inside = s_.substr(i_ + 1, close - i_ - 1);
    while (true) {
      const size_t dot = inside.find('.');
      name.push_back(name_part(inside.substr(0, dot), "table name"));
      if (dot == std::string_view::npos) break;
      inside.remove_prefix(dot + 1);
    }
    const auto [it, fresh] = table_lines_.emplace(fmt::format("{}", fmt::join(name, ".")), line);
    if (!fresh) fail(fmt::format("table [{}] appears twice (first at line {})", it->first, it->second));
    out_.tables.push_back({name, line});
    table_ = name;
    i_ = close + 1;
    end_of_line();
  }

  void key_value() {
    const int line = line_;
    const size_t nl = std::min(s_.find('\n', i_), s_.size());
    const size_t eq = s_.find('=', i_);
    if (eq == std::string_view::npos || eq > nl)
      fail(fmt::format("expected 'key = value' or a [table] header, found '{}'", rest()));
    auto raw = s_.substr(i_, eq - i_);
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
    if (raw.find('"') != std::string_view::npos || raw.find('\'') != std::string_view::npos)
      fail("quoted keys are not supported");
    if (raw.find('.') != std::string_view::npos)
      fail(fmt::format("dotted key '{}': write a [table] header instead", printable(raw, 40)));
    ConfigEntry e;
    e.key = name_part(raw, "key");
    e.table = table_;
    e.line = line;
    const auto [it, fresh] = key_lines_.emplace(fmt::format("{}\n{}", fmt::join(e.table, "."), e.key), line);
    if (!fresh)
      fail(fmt::format("key '{}' appears twice in {} (first at line {})", e.key, where(e.table), it->second));
    i_ = eq + 1;
    skip_blanks();
    if (peek() == '[') {
      e.array = true;
      array(e);
    } else {
      auto [text, kind] = scalar();
      e.values.push_back(std::move(text));
      e.kinds.push_back(kind);
    }
    end_of_line();
    out_.entries.push_back(std::move(e));
  }

  static std::string where(const std::vector<std::string>& table) {
    return table.empty() ? std::string("the top level") : fmt::format("[{}]", fmt::join(table, "."));
  }

  // Blanks, newlines and comments inside an array.
  void skip_array_space() {
    while (!end()) {
      const char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
      } else if (c == '\n') {
        ++i_;
        ++line_;
      } else if (c == '#') {
        while (!end() && s_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  void array(ConfigEntry& e) {
    const int open = line_;
    ++i_;  // '['
    while (true) {
      skip_array_space();
      if (end()) fail("unclosed array (a ']' is missing)", open);
      if (s_[i_] == ']') {
        ++i_;
        return;
      }
      if (s_[i_] == '[') fail("nested arrays are not supported");
      auto [text, kind] = scalar();
      e.values.push_back(std::move(text));
      e.kinds.push_back(kind);
      skip_array_space();
      if (end()) fail("unclosed array (a ']' is missing)", open);
      if (s_[i_] == ',') {
        ++i_;
      } else if (s_[i_] != ']') {
        fail(fmt::format("expected ',' or ']' in an array, found '{}'", rest()));
      }
    }
  }

  std::pair<std::string, ConfigKind> scalar() {
    const char c = peek();
    if (c == '"' || c == '\'') {
      if (s_.substr(i_, 3) == "\"\"\"" || s_.substr(i_, 3) == "'''")
        fail("multi-line strings are not supported");
      return {c == '"' ? basic_string() : literal_string(), ConfigKind::String};
    }
    if (c == '{') fail("inline tables are not supported");
    size_t j = i_;
    while (j < s_.size() && !std::strchr(" \t\r\n,]#", s_[j])) ++j;
    const std::string_view token = s_.substr(i_, j - i_);
    if (token.empty()) fail("a value is missing after '='");
    i_ = j;
    if (token == "true" || token == "false") return {std::string(token), ConfigKind::Boolean};
    std::string plain;
    for (char ch : token)
      if (ch != '_') plain += ch;
    if (is_integer(token)) return {plain, ConfigKind::Integer};
    if (is_float(token)) return {plain, ConfigKind::Float};
    fail(fmt::format("'{}' is not a value: strings need quotes (\"...\"), numbers and true/false do not",
                     printable(token, 40)));
  }

  std::string literal_string() {
    ++i_;
    std::string out;
    while (true) {
      if (end() || s_[i_] == '\n') fail("unclosed string (a closing ' is missing)");
      const char c = s_[i_++];
      if (c == '\'') return out;
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') fail("control character in a string");
      out += c;
    }
  }

  std::string basic_string() {
    ++i_;
    std::string out;
    while (true) {
      if (end() || s_[i_] == '\n') fail("unclosed string (a closing \" is missing)");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (end()) fail("unclosed string (a closing \" is missing)");
      const char x = s_[i_++];
      switch (x) {
        case 'b':
          out += '\b';
          break;
        case 't':
          out += '\t';
          break;
        case 'n':
          out += '\n';
          break;
        case 'f':
          out += '\f';
          break;
        case 'r':
          out += '\r';
          break;
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case 'u':
        case 'U': {
          const size_t n = x == 'u' ? 4 : 8;
          if (s_.size() - i_ < n) fail("a \\u escape needs hex digits");
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            const char h = s_[i_ + k];
            const int v = (h >= '0' && h <= '9')   ? h - '0'
                          : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                          : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                   : -1;
            if (v < 0) fail("a \\u escape needs hex digits");
            cp = cp * 16 + static_cast<uint32_t>(v);
          }
          i_ += n;
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            fail("a \\u escape names no Unicode character");
          append_utf8(out, cp);
          break;
        }
        default:
          fail(fmt::format("unknown escape '\\{}' in a string (write '\\\\' for a backslash)",
                           printable(std::string_view(&x, 1))));
      }
    }
  }

  std::string_view s_;
  const std::string& what_;
  size_t i_ = 0;
  int line_ = 1;
  std::vector<std::string> table_;
  std::map<std::string, int> table_lines_, key_lines_;
  ConfigFile out_;
};

}  // namespace

bool is_config_number(std::string_view text) { return is_integer(text) || is_float(text); }

ConfigFile parse_config(std::string_view text, const std::string& what) { return Parser(text, what).run(); }

}  // namespace ddim
