// Configuration files: the TOML subset that ddim's commands read (`--config FILE`) and write
// (`config.toml` in every run directory).
//
//   # a comment
//   device = "cpu"            # top-level keys: global options
//   [train]                   # a table per (sub)command: [analyze.inversion]
//   widths = "16,32,64,128"   # basic strings ("...", with \" \\ \n \t \uXXXX escapes) or 'literal'
//   steps = 2_000             # integers, floats (1e-3, inf, nan), true / false
//   images = ["a.png",        # arrays of those, over several lines if need be
//             "b.png"]
//
// The parser is strict where TOML is: a header must close, a key or table may appear once, a
// value must be one of the above (a bare word is an error, not a string). Arrays of tables,
// inline tables, multi-line strings, dotted keys and dates are refused rather than misread.
// Errors are ddim::InvalidArgument "<file>:<line>: <problem>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ddim {

enum class ConfigKind { String, Integer, Float, Boolean };
/// "a string", "an integer", "a number", "true or false".
const char* describe(ConfigKind kind);

struct ConfigEntry {
  std::vector<std::string> table;  ///< [a.b] -> {"a", "b"}; empty for top-level keys
  std::string key;
  int line = 0;
  bool array = false;
  /// The value, or the array's elements, as text: strings unescaped, numbers as written
  /// without '_' separators, booleans as "true" / "false".
  std::vector<std::string> values;
  std::vector<ConfigKind> kinds;  ///< one per value
};

struct ConfigTable {
  std::vector<std::string> name;
  int line = 0;
};

struct ConfigFile {
  std::vector<ConfigTable> tables;  ///< in file order
  std::vector<ConfigEntry> entries;
};

/// Whether `text` is a TOML integer or float, which a writer may leave unquoted.
bool is_config_number(std::string_view text);

/// Parses a configuration file's text; `what` (its path) starts every message.
ConfigFile parse_config(std::string_view text, const std::string& what);

}  // namespace ddim
