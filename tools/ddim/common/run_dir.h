// What a command writes: its run directory (config.toml and a log file), JSON files, the
// charts that are not its main output, and tensors as JSON values.
#pragma once

#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ddim/core/error.h"

namespace ddim::cli {

/// Creates a run directory: the directory itself, `config.toml` with the effective options
/// of this command, and a debug-level log file `log.txt` beside the console log.
void open_run_dir(const std::string& dir);

/// Writes JSON (pretty, with a trailing newline) atomically.
void write_json(const std::string& path, const nlohmann::ordered_json& json);

/// Draws a chart that is not the command's main output: a build without PLplot (see
/// CMakeLists.txt) skips it with a warning instead of failing the command.
template <class Draw>
void optional_chart(Draw&& draw) {
  try {
    draw();
  } catch (const ddim::Unavailable& e) {
    spdlog::warn("chart skipped: {}", e.what());
  }
}

/// The values of a tensor as doubles (for JSON).
std::vector<double> to_vector(const torch::Tensor& t);

}  // namespace ddim::cli
