#include <ddim/ddim.h>  // every header; or the one concept a file needs

int main() {  // eight Fashion-MNIST samples from fixed seeds, S = 10 as in the seed paper
  const auto denoiser = ddim::load_denoiser("models/fashion-mnist.pt");  // EMA weights, eval mode
  const auto& data = denoiser.data();                                    // the shape it was trained on
  auto generator = ddim::make_generator(/*seed=*/7);
  const auto seeds = ddim::randn({8, data.shape[0], data.shape[1], data.shape[2]}, generator);
  const auto grid = ddim::make_time_grid(denoiser.schedule(), /*steps=*/10);
  const auto images = data.crop(ddim::generate(denoiser, seeds, grid, {}, /*batch=*/64));
  ddim::write_png("samples.png", ddim::make_grid(images, 8));
}
