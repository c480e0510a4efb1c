// Generate images from seeds with a trained denoiser: the seeds in a .pt file (e.g. ddim
// invert's seeds.pt), or eight drawn from a fixed stream, so the same command gives the same
// bits. Writes a PNG grid and prints each image's mean pixel.
// Usage: sample_seeds DENOISER.pt OUT.png [SEEDS.pt]
#include <ddim/core/error.h>
#include <ddim/core/rng.h>
#include <ddim/diffusion/denoiser.h>
#include <ddim/diffusion/pipeline.h>
#include <ddim/io/image.h>
#include <ddim/io/tensor_io.h>
#include <ddim/pictures/grid.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s DENOISER.pt OUT.png [SEEDS.pt]\n", argv[0]);
    return 2;
  }
  try {
    const auto denoiser = ddim::load_denoiser(argv[1]);
    const auto& data = denoiser.data();  // the example shape the model was trained on
    torch::Tensor seeds;
    if (argc == 4) {
      seeds = ddim::load_tensor(argv[3]).to(torch::kFloat32);
    } else {
      auto generator = ddim::make_generator(/*seed=*/7);
      std::vector<int64_t> shape = {8};
      shape.insert(shape.end(), data.shape.begin(), data.shape.end());
      seeds = ddim::randn(shape, generator);
    }
    // The paper's sampler: S = 10 deterministic DDIM steps, ending on the x0 prediction.
    const auto grid = ddim::make_time_grid(denoiser.schedule(), 10);
    const auto images = data.crop(ddim::generate(denoiser, seeds, grid, {}, /*batch=*/64));
    ddim::write_png(argv[2], ddim::make_grid(images, 8));
    for (int64_t i = 0; i < images.size(0); ++i)
      std::printf("image %ld: mean pixel %.6f\n", static_cast<long>(i), images[i].mean().item<double>());
    return 0;
  } catch (const ddim::InvalidArgument& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const ddim::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
