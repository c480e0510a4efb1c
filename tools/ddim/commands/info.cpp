// `ddim info MODEL`: what a checkpoint is, how it was made, and how large its networks are.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common/common.h"
#include "ddim/core/error.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/nn/network.h"
#include "ddim/nn/prepared_unet.h"
#include "ddim/nn/unet.h"
#include "ddim/nn/winograd.h"

namespace ddim::cli {
namespace {

struct InfoArgs {
  std::string model;
  bool json = false;
};

std::string thousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string describe_arch(const nlohmann::json& a) {
  const auto kind = a.value("kind", std::string("?"));
  if (kind == to_string(NetworkKind::UNet)) {
    std::string s = fmt::format("U-Net, widths {}, block depth {}, {}", a.at("widths").dump(),
                                a.value("block_depth", 2), a.value("norm", "batch") + std::string("norm"));
    if (a.value("noise_input", true)) s += fmt::format(", noise embedding {}", a.value("embedding_dims", 32));
    if (a.value("dropout", 0.0) > 0) s += fmt::format(", dropout {}", a.value("dropout", 0.0));
    if (!a.value("attention_resolutions", std::vector<int64_t>{}).empty())
      s += ", attention at " + a.at("attention_resolutions").dump();
    if (a.value("classes", 0) > 0)
      s += fmt::format(", class embedding of {} dims through AdaGN", a.value("cond_dim", 0));
    else if (a.value("cond_dim", 0) > 0)
      s += fmt::format(", AdaGN conditioning on {} dims", a.value("cond_dim", 0));
    return s;
  }
  if (kind == to_string(NetworkKind::MLP))
    return fmt::format("MLP, {} hidden layers of {}, data size {}", a.value("layers", 0), a.value("width", 0),
                       a.value("dim", 0));
  if (kind == to_string(NetworkKind::DiffAE) && a.contains("unet") && a.at("unet").is_object()) {
    auto unet = a.at("unet");
    unet.erase("cond_dim");  // the z_sem conditioning, said once here
    return fmt::format(
        "diffae (diffusion autoencoder): semantic encoder ({} head) to a {}-dimensional z_sem; {} "
        "conditioned on z_sem through AdaGN",
        a.value("encoder_head", std::string("pool")), a.value("z_dim", 0), describe_arch(unet));
  }
  return a.dump();
}

// A vector of statistics, its first entries only when it is long (a latent DDIM's 512 code dimensions).
std::string short_list(const nlohmann::json& v) {
  if (!v.is_array() || v.size() <= 8) return v.dump();
  std::vector<std::string> head;
  for (size_t i = 0; i < 4; ++i)
    head.push_back(v[i].is_number() ? fmt::format("{:.4g}", v[i].get<double>()) : v[i].dump());
  return fmt::format("[{}, ... ({} values)]", fmt::join(head, ","), v.size());
}

int run_info(const InfoArgs& a) {
  const auto ck = load_checkpoint(a.model);
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(a.model, ec);
  if (a.json) {
    nlohmann::ordered_json j;
    j["file"] = a.model;
    j["bytes"] = bytes;
    j["meta"] = ck.meta;
    for (const auto& [name, state] : ck.states) {
      int64_t n = 0;
      for (const auto& [k, t] : state) n += t.numel();
      j["state_elements"][name] = n;
    }
    std::cout << j.dump() << std::endl;
    return 0;
  }
  const auto& m = ck.meta;
  auto line = [](const std::string& key, const std::string& value) {
    std::cout << fmt::format("{:<12} {}\n", key, value);
  };
  line("file", fmt::format("{} ({:.1f} MB)", a.model, static_cast<double>(bytes) / 1e6));
  line("kind", ck.kind());
  if (m.contains("storage"))
    line("storage", meta_get<std::string>(m, "storage", a.model) + " weights (released; computes in fp32)");
  if (m.contains("step"))
    line("step", fmt::format("{}{}", meta_get<int64_t>(m, "step", a.model),
                             m.contains("epoch")
                                 ? fmt::format(" (epoch {:.2f})", meta_get<double>(m, "epoch", a.model))
                                 : ""));
  if (m.contains("arch")) line("network", meta_parse(m, "arch", a.model, describe_arch));
  if (m.contains("parameters")) line("parameters", thousands(meta_get<int64_t>(m, "parameters", a.model)));
  // Whether inference without gradients takes the prepared form (nn/prepared_unet.h), and if not why.
  if (m.contains("arch") && (ck.kind() == "denoiser" || ck.kind() == "diffae"))
    meta_parse(m, "arch", a.model, [&](const nlohmann::json& arch) {
      const auto kind = arch.value("kind", std::string());
      if (kind != "unet" && kind != "diffae") return 0;
      const auto options = UNetOptions::from_json(kind == "unet" ? arch : arch.at("unet"));
      const auto why = PreparedUNet::why_not(options);
      const auto levels = winograd_simd_levels();
      const std::string convolutions = levels.empty()                        ? ""
                                       : levels.front() == SimdLevel::Avx512 ? ", Winograd on AVX-512"
                                                                             : ", Winograd on AVX2";
      // Group-norm networks (conditioned blocks always are) fold their blocks' norms by themselves
      // (ResidualBlock, nn/group_norm.h).
      const std::string folded = options.norm == NormKind::Group || options.cond_dim > 0
                                     ? "the modules, their group-norm blocks folded on the CPU (AdaGN in the "
                                       "norm's kernel, swish and residual fused" +
                                           convolutions + "); no prepared form: "
                                     : "the plain modules: ";
      line("inference",
           why.empty() ? "the prepared form on the CPU (oneDNN: folded, fused, prepacked" + convolutions + ")"
                       : folded + why);
      return 0;
    });
  if (m.contains("schedule"))
    meta_parse(m, "schedule", a.model, [&](const nlohmann::json& s) {
      const auto kind = s.value("kind", std::string("?"));
      line("schedule", kind == "continuous-cosine"
                           ? fmt::format("{} (s_min {}, s_max {})", kind, s.value("min_signal_rate", 0.02),
                                         s.value("max_signal_rate", 0.95))
                           : fmt::format("{} (T = {})", kind, s.value("timesteps", 1000)));
    });
  if (m.contains("data")) {
    const auto d = meta_parse(m, "data", a.model, DataInfo::from_json);
    line("data", fmt::format("{}, {} examples, shape {}{}", d.spec, d.examples, fmt::join(d.shape, "x"),
                             d.padding.any() ? fmt::format(" (zero padding {} {} {} {})", d.padding.top,
                                                           d.padding.bottom, d.padding.left, d.padding.right)
                                             : ""));
    if (!d.classes.empty())
      line("classes", fmt::format("{}: {}", d.classes.size(), fmt::join(d.classes, ", ")));
  }
  // A classifier's arch.classes is the size of its class layer, not a condition.
  const int64_t classes =
      m.contains("arch") && ck.kind() != "classifier"
          ? meta_parse(m, "arch", a.model,
                       [](const nlohmann::json& j) { return j.value("classes", int64_t{0}); })
          : 0;
  if (classes > 0) {
    const double drop = m.contains("train")
                            ? meta_parse(m, "train", a.model,
                                         [](const nlohmann::json& j) { return j.value("cond_drop", 0.1); })
                            : 0.1;
    line("condition", fmt::format("class-conditional over {} classes and the null class (classifier-free "
                                  "guidance; label drop {} in training)",
                                  classes, drop));
  }
  if (m.contains("stats"))
    line("statistics", fmt::format("mean {}, std {}", short_list(meta_at(m, "stats.mean", a.model)),
                                   short_list(meta_at(m, "stats.std", a.model))));
  for (const auto& key : {"denoiser", "embedder", "autoencoder", "gae", "partition", "train"})
    if (m.contains(key)) line(key, m.at(key).dump());
  for (const auto& [name, state] : ck.states) {
    int64_t n = 0;
    for (const auto& [k, t] : state) n += t.numel();
    line("state", fmt::format("'{}': {} tensors, {} values", name, state.size(), thousands(n)));
  }
  return 0;
}

}  // namespace

void setup_info(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  auto* sub = app.add_subcommand(
      "info", "Describe a ddim checkpoint: kind, network, parameter count, schedule, data, training");
  sub->add_option("model", a->model, "Checkpoint file (e.g. runs/q/model.pt)")->required();
  sub->add_flag("--json", a->json, "Print the whole description as one JSON object");
  on_run(sub, [a] { return run_info(*a); });
}

}  // namespace ddim::cli
