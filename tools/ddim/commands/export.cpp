// `ddim export`: a plain state dict for Python users, or (--release) the checkpoint a trained
// model ships as.
#include <filesystem>

#include "commands.h"
#include "common/common.h"
#include "ddim/core/error.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/io/checkpoint.h"
#include "ddim/io/tensor_io.h"
#include "ddim/methods/gae.h"

namespace ddim::cli {
namespace {

struct ExportArgs {
  std::string model, out;
  Weights weights = Weights::EMA;
  bool release = false;
  bool autoencoder = false;
  std::string storage = "fp32";
};

int run_export(const ExportArgs& a) {
  auto ck = load_checkpoint(a.model);
  if (a.autoencoder) {
    DDIM_CHECK_ARG(ck.kind() == "gae",
                   "--autoencoder: {} is a ddim {} checkpoint, not a DiffuseGAE (ddim train-gae)", a.model,
                   ck.kind().empty() ? "unknown" : ck.kind());
    ck = autoencoder_checkpoint(ck, a.model, a.weights);
  }
  DDIM_CHECK_ARG(a.storage == "fp32" || a.release,
                 "--storage {}: only a --release checkpoint can store its weights at another precision",
                 a.storage);
  if (a.release) {
    const auto storage = a.storage == "fp16"   ? torch::kHalf
                         : a.storage == "bf16" ? torch::kBFloat16
                                               : torch::kFloat32;
    const auto released = release_checkpoint(ck, storage);
    save_checkpoint(a.out, released);
    std::vector<std::string> states;
    for (const auto& [name, state] : released.states) states.push_back(name);
    std::error_code ec;
    spdlog::info("wrote {} ({:.1f} MB: {}'s metadata and its '{}' weights as {}, no optimiser state)", a.out,
                 static_cast<double>(std::filesystem::file_size(a.out, ec)) / 1e6, a.model,
                 fmt::join(states, "', '"), a.storage);
    return 0;
  }
  // The Diff-AE of a GAE file holds the weights --weights chose as its "ema".
  const std::string state = a.weights == Weights::EMA || a.autoencoder ? "ema" : "model";
  const auto it = ck.states.find(state);
  DDIM_CHECK(it != ck.states.end(), "{}: has no '{}' weights (states: {})", a.model, state,
             ck.states.empty() ? "none" : ck.states.begin()->first);
  save_tensor_dict(a.out, it->second);
  spdlog::info("wrote {} ({} tensors, the {} weights of {}); in Python: torch.load('{}')", a.out,
               it->second.size(), state, a.model, a.out);
  return 0;
}

}  // namespace

void setup_export(CLI::App& app) {
  auto e = std::make_shared<ExportArgs>();
  auto* ex = app.add_subcommand("export",
                                "Write a checkpoint's weights as a plain state dict for Python's torch.load");
  ex->footer(
      "\nThe names match bench/pytorch_unet.py, a PyTorch port of the paper's U-Net:\n"
      "  net = UNet(channels=1, widths=(32, 64, 96, 128)); net.load_state_dict(torch.load('weights.pt'))");
  ex->add_option("--model", e->model, "Checkpoint file")->required();
  ex->add_option("--out", e->out, "Output .pt file")->required();
  add_enum_option(ex, "--weights", e->weights, "ema (what ddim samples with) or raw (the trained weights)");
  ex->add_flag("--release", e->release,
               "Write a ddim checkpoint to ship (models/): the metadata and the EMA weights, without raw "
               "weights or optimiser state; it loads like any model but cannot resume training");
  ex->add_flag("--autoencoder", e->autoencoder,
               "A DiffuseGAE file (ddim train-gae): write the Diff-AE it carries instead, a model that every "
               "Diff-AE command loads (post hoc: the Diff-AE it was trained on, bit for bit; fine-tuned: the "
               "Diff-AE after fine-tuning)");
  ex->add_option(
        "--storage", e->storage,
        "--release: precision of the stored weights, fp32, fp16 or bf16 (half the size; the model still "
        "computes in fp32, with weights rounded to 11 or 8 significant bits: measure what it changes)")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}));
  on_run(ex, [e] { return run_export(*e); });
}

}  // namespace ddim::cli
