// The subcommands, each defined in its own cmd_<name>.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace ddim::cli {

void setup_data(CLI::App& app);
void setup_train(CLI::App& app);
void setup_bench(CLI::App& app);
void setup_info(CLI::App& app);
void setup_schedule(CLI::App& app);
void setup_sample(CLI::App& app);
void setup_invert(CLI::App& app);
void setup_interpolate(CLI::App& app);
void setup_synthesize(CLI::App& app);
void setup_cloud(CLI::App& app);
void setup_train_embedder(CLI::App& app);
void setup_analyze(CLI::App& app);
void setup_classifier(CLI::App& app);
void setup_diffae(CLI::App& app);

/// Declares every subcommand on `app`, in the order `--help` lists them.
inline void register_commands(CLI::App& app) {
  for (auto* setup : {setup_data, setup_schedule, setup_train, setup_sample, setup_invert, setup_interpolate,
                      setup_synthesize, setup_cloud, setup_train_embedder, setup_analyze, setup_classifier,
                      setup_diffae, setup_info, setup_bench})
    setup(app);
}

}  // namespace ddim::cli
