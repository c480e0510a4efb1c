// An unknown subcommand named as such: CLI11 alone answers `ddim embed` with "A subcommand is
// required", which sends a user looking for a missing argument. This reads the command words
// before CLI11 does and names the unknown one, the nearest command, and where a command that
// ddim used to have went.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace ddim::cli {

/// The usage error for the first command word of `argv` that is not a subcommand where one is
/// expected (after `ddim`, `ddim analyze`, `ddim data`, ...), or nothing when every word is known.
/// Options (and the values of options that take one) are skipped as CLI11 would.
std::optional<std::string> unknown_command(const CLI::App& app, int argc, const char* const* argv);

}  // namespace ddim::cli
