// The ddim program as a function: the command line parsed (with any --config file), the
// selected command run, its status returned. main() calls it; so does the Python module
// (`ddim.cli(...)`), which runs commands in its own process and wants errors as exceptions.
#pragma once

#include <string>
#include <vector>

namespace ddim::cli {

/// Runs the command line argv[0..argc) as the ddim program does and returns its exit status:
/// 0, 1 for an error, 2 for a usage error, 128 + the signal when stopped. Errors are printed as
/// one line. With `rethrow`, they are thrown instead: ddim::InvalidArgument for a usage error
/// (a bad option included), ddim::Error, ddim::Interrupted. Each call starts afresh (global
/// options at their defaults, no stop request) and puts the caller's SIGINT and SIGTERM
/// handlers back when it ends.
int run(int argc, char** argv, bool rethrow = false);

/// The `--help` text of a command ({"analyze", "independence"}; {} for the program's own).
/// Throws ddim::InvalidArgument for an unknown command.
std::string help(const std::vector<std::string>& command);

}  // namespace ddim::cli
