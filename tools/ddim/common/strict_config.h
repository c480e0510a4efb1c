// --config files, read strictly: ddim's own TOML parser (ddim/io/config_file.h), and every
// table and key checked against the (sub)commands and options before anything runs. A header
// left open, a misspelt table, an unknown key or a value of the wrong type is a usage error
// (exit status 2) naming the file, the line and the key, never a silent run with defaults.
#pragma once

#include <CLI/CLI.hpp>

namespace ddim::cli {

/// Installs the strict reader on `app` (the root, before its subcommands are added).
void use_strict_config(CLI::App& app);

}  // namespace ddim::cli
