#include "ddim/core/profile.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ddim {
namespace {

namespace prof = torch::autograd::profiler;

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

int64_t product(const std::vector<int64_t>& v, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < v.size(); ++i) p *= v[i];
  return p;
}

// FLOPs of one call from its input shapes (see profile.h for the assumptions).
double op_flops(const std::string& name, const std::vector<std::vector<int64_t>>& shapes) {
  // Counted once, at the operator every path goes through (aten::conv2d calls aten::convolution,
  // which calls the backend's: mkldnn_convolution, cudnn_convolution, ...).
  // ddim::convolution and ddim::winograd_convolution: the prepared U-Net's (nn/prepared_unet.h),
  // forward only. Winograd's are counted as the direct convolution's FLOPs (nn/winograd.h does
  // fewer): their rate is then how fast the same work is done.
  const bool conv = name == "aten::convolution" || name == "aten::convolution_backward" ||
                    name == "ddim::convolution" || name == "ddim::winograd_convolution";
  if (conv && shapes.size() >= 2 && shapes[0].size() == 4 && shapes[1].size() == 4) {
    const auto& x = shapes[0];  // forward [N, C, H, W]; backward: grad_output first
    const auto& w = shapes[1];  // forward: weight [O, C/g, kh, kw]; backward: input
    if (contains(name, "backward")) {
      // convolution_backward(grad_output [N, O, H', W'], input [N, C, H, W], weight [O, C/g, kh, kw]):
      // the input and weight gradients, each as costly as the forward pass.
      if (shapes.size() < 3 || shapes[2].size() != 4) return 0;
      const auto& g = shapes[0];
      const auto& wt = shapes[2];
      return 2.0 * 2.0 * double(g[0]) * double(g[1]) * double(g[2]) * double(g[3]) * double(product(wt, 1));
    }
    // Forward: output [N, O, H', W'] with H' = H: the profiler shows inputs only, and ddim's
    // networks pad to the same size (their U-Nets downsample by pooling).
    return 2.0 * double(x[0]) * double(w[0]) * double(x[2]) * double(x[3]) * double(product(w, 1));
  }
  // ddim::winograd_convolution_weight_gradient(input [N, C, H, W], grad_output [N, O, H, W]): the
  // weights' gradient of a 3x3 convolution (nn/winograd.h), as costly as its forward pass.
  if (name == "ddim::winograd_convolution_weight_gradient" && shapes.size() >= 2 && shapes[0].size() == 4 &&
      shapes[1].size() == 4)
    return 2.0 * double(product(shapes[0], 0)) * double(shapes[1][1]) * 9.0;
  const bool matmul = name == "aten::mm" || name == "aten::addmm" || name == "aten::bmm";
  if (matmul && shapes.size() >= 2) {
    const auto& a = shapes[name == "aten::addmm" ? 1 : 0];
    const auto& b = shapes[name == "aten::addmm" ? 2 : 1];
    if (a.size() < 2 || b.size() < 2) return 0;
    const double batch = a.size() == 3 ? double(a[0]) : 1.0;
    return 2.0 * batch * double(a[a.size() - 2]) * double(a.back()) * double(b.back());
  }
  return 0;
}

}  // namespace

std::string op_group(const std::string& name) {
  const std::string n = name.rfind("aten::", 0) == 0 ? name.substr(6) : name;
  auto has = [&](const char* p) { return contains(n, p); };
  if (has("convolution") || has("conv2d") || has("_convolution")) return "convolution";
  if (has("batch_norm")) return "batch norm";
  if (has("group_norm")) return "group norm";
  if (has("silu") || has("sigmoid") || has("swish")) return "SiLU";  // ddim::swish: nn/swish.h
  if (has("upsample")) return "upsampling";
  if (has("pool")) return "pooling";
  if (n == "cat" || n == "_cat" || has("cat_")) return "concatenation";
  if (n == "mm" || n == "addmm" || n == "bmm" || n == "linear" || n == "matmul") return "matrix products";
  if (has("_foreach") || has("addcdiv") || has("addcmul") || has("lerp") || has("sqrt") || has("div"))
    return "optimizer and EMA";
  if (n == "add" || n == "add_" || n == "sub" || n == "sub_" || n == "rsub") return "adds";
  if (n == "mul" || n == "mul_") return "multiplies";
  if (has("copy") || n == "to" || n == "contiguous" || n == "clone" || has("_to_copy") ||
      n == "_reshape_alias" || has("reorder") || has("to_dense") || has("to_mkldnn"))
    return "copies and casts";
  if (has("empty") || has("zero") || has("fill") || has("resize")) return "allocation and fill";
  if (has("backward")) return "other backward";
  return "other";
}

std::vector<OpCost> OpProfile::by_group() const {
  std::map<std::string, OpCost> g;
  for (const auto& op : ops) {
    auto& e = g[op.group];
    e.name = e.group = op.group;
    e.calls += op.calls;
    e.self_us += op.self_us;
    e.flops += op.flops;
  }
  std::vector<OpCost> out;
  for (auto& [k, v] : g) out.push_back(v);
  std::sort(out.begin(), out.end(), [](const OpCost& a, const OpCost& b) { return a.self_us > b.self_us; });
  return out;
}

OpProfile profile_ops(const std::function<void()>& work) {
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU,
                                                                   /*report_input_shapes=*/true));
  const auto start = std::chrono::steady_clock::now();
  try {
    work();
  } catch (...) {
    prof::disableProfilerLegacy();
    throw;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto lists = prof::disableProfilerLegacy();
  // Each thread's events nest: a push, its children, its pop. Self time is the span less the
  // children's spans.
  std::map<std::string, OpCost> by_name;
  for (const auto& events : lists) {
    struct Open {
      const prof::LegacyEvent* push;
      double children_us;
    };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kindStr() == "push") {
        stack.push_back({&e, 0.0});
      } else if (e.kindStr() == "pop" && !stack.empty()) {
        const auto open = stack.back();
        stack.pop_back();
        const double span = open.push->cpuElapsedUs(e);
        auto& c = by_name[open.push->name()];
        c.name = open.push->name();
        c.calls += 1;
        c.self_us += span - open.children_us;
        c.flops += op_flops(c.name, open.push->shapes());
        if (!stack.empty()) stack.back().children_us += span;
      }
    }
  }
  OpProfile p;
  p.wall_s = wall;
  for (auto& [name, c] : by_name) {
    if (name.rfind("aten::", 0) != 0 && name.rfind("mkldnn", 0) != 0 && name.rfind("ddim::", 0) != 0 &&
        !contains(name, "Backward") && !contains(name, "backward"))
      continue;  // scopes such as "profiler::_record_function": not operators
    c.group = op_group(name);
    p.total_us += c.self_us;
    p.flops += c.flops;
    p.ops.push_back(c);
  }
  std::sort(p.ops.begin(), p.ops.end(),
            [](const OpCost& a, const OpCost& b) { return a.self_us > b.self_us; });
  return p;
}

double gemm_gflops(int64_t n, torch::ScalarType dtype, double seconds) {
  torch::NoGradGuard no_grad;
  const auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  auto c = torch::mm(a, b);  // warm-up: thread pool, packing buffers
  int64_t reps = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds || reps < 2) {
    c = torch::mm(a, b);
    ++reps;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return 2.0 * double(n) * double(n) * double(n) * double(reps) / elapsed / 1e9;
}

std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(in, line) && (model.empty() || flags.empty())) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const auto value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
    if (key == "model name" && model.empty()) model = value;
    if (key == "flags" && flags.empty()) flags = value;
  }
  std::set<std::string> have;
  std::istringstream f(flags);
  for (std::string w; f >> w;) have.insert(w);
  std::string out = model.empty() ? "unknown CPU" : model;
  std::string ext;
  for (const char* e : {"avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16"})
    if (have.count(e)) ext += (ext.empty() ? "" : " ") + std::string(e);
  return ext.empty() ? out : out + "; " + ext;
}

}  // namespace ddim
