// Names of enum values: one table per enum, the single source of its to_string, its
// from_string and of the choices the command line offers (tools/ddim parses enum options with
// CLI11's CheckedTransformer over the same table, so `--help` lists exactly these names).
//
// Each concept header that defines an enum declares the table next to it,
//   DDIM_NAMED_ENUM(Split);
// (the specialisation of name_table and a to_string overload), and its .cpp defines the table.
// Then, for any such enum E:
//   to_string(e)                     "fixed-point"
//   from_string<E>("fixed-point")    throws ddim::InvalidArgument listing the valid names
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ddim {

template <class E>
struct NameTable {
  const char* what;  ///< what the values are, for messages ("inversion method")
  std::vector<std::pair<E, std::string>> entries;

  /// The name of `value` ("?" for a value outside the table).
  const std::string& name(E value) const {
    for (const auto& [v, n] : entries)
      if (v == value) return n;
    static const std::string unknown = "?";
    return unknown;
  }
  /// The value named `text`; throws ddim::InvalidArgument "unknown <what> '<text>' (valid: a, b)".
  E parse(const std::string& text) const {
    for (const auto& [v, n] : entries)
      if (n == text) return v;
    throw_unknown(what, text, names());
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : entries) out.push_back(entry.second);
    return out;
  }

 private:
  [[noreturn]] static void throw_unknown(const char* what, const std::string& text,
                                         const std::vector<std::string>& valid);
};

/// The table of enum E, specialised next to each enum.
template <class E>
const NameTable<E>& name_table();

template <class E>
E from_string(const std::string& text) {
  return name_table<E>().parse(text);
}

/// Throws ddim::InvalidArgument (defined in src/core/names.cpp, so that this header needs no fmt).
[[noreturn]] void throw_unknown_name(const char* what, const std::string& text,
                                     const std::vector<std::string>& valid);

template <class E>
void NameTable<E>::throw_unknown(const char* what, const std::string& text,
                                 const std::vector<std::string>& valid) {
  throw_unknown_name(what, text, valid);
}

}  // namespace ddim

/// Declares enum E's name table and its to_string (an overload per enum rather than one
/// template, so that it cannot be ambiguous with other libraries' generic to_string).
#define DDIM_NAMED_ENUM(E)                     \
  template <>                                  \
  const ::ddim::NameTable<E>& name_table<E>(); \
  inline std::string to_string(E value) { return name_table<E>().name(value); }
