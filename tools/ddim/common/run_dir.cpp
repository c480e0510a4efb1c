#include "common/run_dir.h"

#include <spdlog/sinks/basic_file_sink.h>

#include <memory>

#include "common/app.h"
#include "common/options.h"
#include "ddim/core/file.h"

namespace ddim::cli {

void open_run_dir(const std::string& dir) {
  make_directories(dir);
  if (root_app()) write_file_atomic(dir + "/config.toml", effective_config());
  auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(dir + "/log.txt", /*truncate=*/false);
  file->set_level(spdlog::level::debug);
  file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] %l: %v");
  spdlog::default_logger()->sinks().push_back(file);
}

void write_json(const std::string& path, const nlohmann::ordered_json& json) {
  write_file_atomic(path, json.dump(2) + "\n");
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace ddim::cli
