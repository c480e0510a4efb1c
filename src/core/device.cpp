#include "ddim/core/device.h"

#include <sched.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "ddim/core/error.h"

namespace ddim {

bool built_with_cuda() { return at::hasCUDA(); }

std::string torch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

torch::Device parse_device(const std::string& text) {
  if (text == "auto")
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (text == "cpu") return torch::Device(torch::kCPU);
  DDIM_CHECK_ARG(text.rfind("cuda", 0) == 0, "unknown device '{}' (valid: auto, cpu, cuda, cuda:N)", text);
  int index = 0;
  if (text.size() > 4) {
    DDIM_CHECK_ARG(
        text[4] == ':' && text.size() > 5 && text.find_first_not_of("0123456789", 5) == std::string::npos,
        "unknown device '{}' (valid: auto, cpu, cuda, cuda:N)", text);
    index = std::stoi(text.substr(5));
  }
  DDIM_CHECK(at::hasCUDA(),
             "device '{}': this build of ddim has no CUDA support (LibTorch {} for CPU); use "
             "the cpu device, or rebuild against a CUDA LibTorch (docs/guide/building-for-gpus.md)",
             text, torch_version());
  const auto count = static_cast<int>(torch::cuda::device_count());
  DDIM_CHECK(count > 0, "device '{}': this build has CUDA but no GPU is visible", text);
  DDIM_CHECK(index < count, "device '{}': only {} GPU(s) visible (cuda:0..cuda:{})", text, count, count - 1);
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int configure_threads(int threads) {
  DDIM_CHECK_ARG(threads >= 0, "the thread count must be positive (or 0 for all CPUs), got {}", threads);
  const int n = threads > 0 ? threads : available_cpus();
  torch::set_num_threads(n);
  return n;
}

bool cpu_has_bf16_units() {
  static const bool has = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream words(line);
      std::string w;
      while (words >> w)
        if (w == "avx512_bf16" || w == "amx_bf16") return true;
      return false;  // the first CPU's flags speak for all
    }
    return false;
  }();
  return has;
}

template <>
const NameTable<Tf32>& name_table<Tf32>() {
  static const NameTable<Tf32> table{"TF32 mode",
                                     {{Tf32::Conv, "conv"}, {Tf32::All, "all"}, {Tf32::Off, "off"}}};
  return table;
}

void set_tf32(Tf32 mode) {
  at::globalContext().setAllowTF32CuDNN(mode != Tf32::Off);
  at::globalContext().setAllowTF32CuBLAS(mode == Tf32::All);
}

std::string describe_device(const torch::Device& device) {
  if (device.is_cpu()) return fmt::format("cpu ({} threads)", torch::get_num_threads());
  return device.str();
}

}  // namespace ddim
