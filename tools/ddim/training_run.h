// What `ddim train` and `ddim train-embedder` share around the library's run machinery
// (ddim/training.h): the options of a run directory, kept in its checkpoints so that --resume
// continues with them, and driving a run with a progress bar on one process or many.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "common.h"
#include "ddim/training.h"

namespace ddim::cli {

struct RunArgs {
  int64_t checkpoint_every = 1000, keep = 3, log_every = 100, preview_every = 0;
  int dist_timeout = 300;

  RunOptions options(const std::string& dir, int64_t steps) const;
  /// meta["run"] of the checkpoints: what --resume reads back.
  nlohmann::json to_json(int64_t steps) const;
  /// Takes the options a run was started with (meta["run"]).
  void resume(const nlohmann::json& run);
};

/// --checkpoint-every, --keep, --log-every, --preview-every and --dist-timeout.
void add_run_options(CLI::App* sub, RunArgs& a, const std::string& log_help, const std::string& preview_help);

/// Runs `task` from `start` with a progress bar (rank 0's), the stop request agreed on by all
/// processes, and, on a data-parallel group, the check that every process ends with the same
/// weights of `model`.
RunResult drive_training(TrainingTask& task, torch::nn::Module& model, const RunOptions& options,
                         int64_t start, const std::string& label, const Parallel& parallel);

/// Logs where a stopped run left its checkpoint (and, given the command that resumes it, how to
/// continue) and returns the exit status 128 + signal.
int report_stopped(const RunResult& result, const std::string& resume_command = "",
                   const std::string& dir = "");

}  // namespace ddim::cli
