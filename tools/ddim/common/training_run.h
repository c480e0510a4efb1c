// What the training commands (train, train-embedder, train-classifier, train-latent) share
// around the library's run machinery (ddim/training/training.h): the options of a run directory, and
// driving a run with a progress bar, its previews drawn as pictures, on one process or many.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "common/parallel.h"
#include "ddim/training/training.h"

namespace ddim::cli {

struct RunArgs {
  RunOptions options;
  int dist_timeout = 300;
};

/// --checkpoint-every, --keep, --log-every, --preview-every and --dist-timeout.
void add_run_options(CLI::App* sub, RunArgs& a, const std::string& log_help, const std::string& preview_help);

/// Draws a trainer's preview into the run directory: `<name>.png` (the newest) and
/// `previews/<name>-step-NNNNNNNN.png`.
void write_preview(const std::string& dir, int64_t step, const Preview& preview);

/// Runs `task` from `start` with a progress bar (rank 0's), its previews drawn, the stop
/// request agreed on by all processes, and, on a data-parallel group, the check that every
/// process ends with the same weights of `model`.
RunResult drive_training(TrainingTask& task, torch::nn::Module& model, const RunOptions& options,
                         int64_t start, const std::string& label, const Parallel& parallel);

/// Logs where a stopped run left its checkpoint (and, given the command that resumes it, how to
/// continue) and returns the exit status 128 + signal.
int report_stopped(const RunResult& result, const std::string& resume_command = "",
                   const std::string& dir = "");

/// Logs the end of a finished run.
void report_finished(const RunResult& result, const std::string& dir, const std::string& what);

}  // namespace ddim::cli
