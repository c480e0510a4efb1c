// The commands, each defined in commands/<name>.cpp (`ddim train-gae`: commands/train_gae.cpp),
// each setup function declaring one command on the root app.
#pragma once

#include <CLI/CLI.hpp>

namespace ddim::cli {

void setup_data(CLI::App& app);
void setup_schedule(CLI::App& app);
void setup_train(CLI::App& app);
void setup_sample(CLI::App& app);
void setup_invert(CLI::App& app);
void setup_reconstruct(CLI::App& app);
void setup_interpolate(CLI::App& app);
void setup_synthesize(CLI::App& app);
void setup_cloud(CLI::App& app);
void setup_train_embedder(CLI::App& app);
void setup_analyze(CLI::App& app);
void setup_train_classifier(CLI::App& app);
void setup_eval(CLI::App& app);
void setup_encode(CLI::App& app);
void setup_decode(CLI::App& app);
void setup_train_latent(CLI::App& app);
void setup_manipulate(CLI::App& app);
void setup_train_gae(CLI::App& app);
void setup_swap(CLI::App& app);
void setup_edit(CLI::App& app);
void setup_info(CLI::App& app);
void setup_export(CLI::App& app);
void setup_bench(CLI::App& app);
/// The analyses of partitioned codes, under `ddim analyze` (commands/analyze_gae.cpp).
void setup_analyze_gae(CLI::App* analyze);

/// Declares every command on `app`, in the order `--help` lists them.
inline void register_commands(CLI::App& app) {
  for (auto* setup :
       {setup_data,         setup_schedule,         setup_train,      setup_sample, setup_invert,
        setup_reconstruct,  setup_interpolate,      setup_synthesize, setup_cloud,  setup_train_embedder,
        setup_analyze,      setup_train_classifier, setup_eval,       setup_encode, setup_decode,
        setup_train_latent, setup_manipulate,       setup_train_gae,  setup_swap,   setup_edit,
        setup_info,         setup_export,           setup_bench})
    setup(app);
}

}  // namespace ddim::cli
