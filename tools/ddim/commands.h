// The subcommands, each defined in its own cmd_<name>.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace ddim::cli {

void setup_data(CLI::App& app);

/// Declares every subcommand on `app`.
inline void register_commands(CLI::App& app) { setup_data(app); }

}  // namespace ddim::cli
