// ddim: one binary, one subcommand per task. See README.md and `ddim --help`.
#include "cli.h"

int main(int argc, char** argv) { return ddim::cli::run(argc, argv); }
