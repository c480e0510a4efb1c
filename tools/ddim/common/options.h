// Option kinds and checks the commands share: enum options over a name table, comma-separated
// lists, number validators, and the effective configuration they add up to (config.toml).
#pragma once

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "ddim/core/names.h"

namespace ddim::cli {

/// Remembers how to print an option's stored value back as a name (enum options store their
/// value's number): what effective_config() writes.
void register_value_names(const CLI::Option* option, std::function<std::string(const std::string&)> name_of);
/// Forgets every registration (keyed by option: a new application's options are new objects).
void forget_value_names();

/// An option whose values are the names of enum E's table (ddim/core/names.h): CLI11 checks and
/// converts them with a CheckedTransformer over the same table, `--help` lists them, and
/// config.toml gets the name back.
template <class E>
CLI::Option* add_enum_option(CLI::App* sub, const std::string& name, E& value, const std::string& help) {
  const auto& table = name_table<E>();
  std::map<std::string, E> map;
  for (const auto& [v, n] : table.entries) map[n] = v;
  auto check =
      CLI::CheckedTransformer(map).description("{" + fmt::format("{}", fmt::join(table.names(), ",")) + "}");
  auto* option = sub->add_option(name, value, help)->transform(check)->default_str(table.name(value));
  register_value_names(option, [](const std::string& stored) -> std::string {
    for (const auto& [v, n] : name_table<E>().entries)
      if (std::to_string(static_cast<std::underlying_type_t<E>>(v)) == stored || n == stored) return n;
    return stored;
  });
  return option;
}

/// A comma-separated list option ("32,64,96", "-0.5,0.5"), also accepted as a TOML array.
template <class T>
CLI::Option* add_list_option(CLI::App* sub, const std::string& name, std::vector<T>& values,
                             const std::string& help) {
  return sub->add_option(name, values, help)
      ->delimiter(',')
      ->expected(1, -1)
      ->default_str(fmt::format("{}", fmt::join(values, ",")));
}

/// Validator for positive numbers, with a message naming the option.
extern const CLI::Validator kPositive;
/// Validator for numbers >= 0.
extern const CLI::Validator kNonNegative;

/// The global options and those of the parsed subcommand(s), as TOML that --config reads.
std::string effective_config();

}  // namespace ddim::cli
