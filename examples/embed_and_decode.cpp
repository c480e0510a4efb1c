// Embed three test images into a denoiser's seed space two ways, decode the seeds, and print
// how close the decoded images are:
//   - fixed-point DDIM inversion (no training needed), and
//   - a trained embedding network (ddim train-embedder), the seed paper's section 5.2.
// Usage: embed_and_decode DENOISER.pt EMBEDDER.pt
// Everything of the library in one include (ddim/ddim.h); sample_seeds.cpp picks headers.
#include <ddim/ddim.h>

#include <cstdio>

// Decodes seeds along the options' grid and returns the per-image MSE to the images (both in
// [0, 1], the model's zero padding cropped).
static torch::Tensor decode_error(const ddim::Denoiser& denoiser, const ddim::Embedding& embedding,
                                  const torch::Tensor& images, const ddim::EmbedOptions& options) {
  const auto decoded =
      ddim::generate(denoiser, embedding.seeds, options.grid(denoiser.schedule()), {}, options.batch);
  const auto& data = denoiser.data();
  return ddim::mse_per_image(data.crop(decoded), data.crop(images));
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DENOISER.pt EMBEDDER.pt\n", argv[0]);
    return 2;
  }
  try {
    const std::string model = argv[1], embedder_path = argv[2];
    const auto checkpoint = ddim::load_checkpoint(model);
    const auto denoiser = ddim::denoiser_from_checkpoint(checkpoint, model);  // EMA weights, eval mode
    // Three test images of the model's own data set, padded as it was trained.
    ddim::DataSource source;
    source.spec = denoiser.data().spec;
    source.options.split = ddim::Split::Test;
    source.options.limit = 3;
    const auto images = source.load().all();

    ddim::EmbedOptions inversion;
    inversion.method = ddim::EmbedMethod::FixedPoint;
    inversion.steps = 10;
    inversion.iterations = 3;
    const auto by_inversion = ddim::embed_images(denoiser, images, inversion);

    // The embedder must belong to this denoiser: load_embedder checks its fingerprint.
    const auto embedder = ddim::load_embedder(embedder_path, &checkpoint, model);
    ddim::EmbedOptions network;
    network.method = ddim::EmbedMethod::Embedder;
    network.steps = embedder.steps;
    const auto by_network = ddim::embed_images(denoiser, images, network, embedder.network.get());

    const auto a = decode_error(denoiser, by_inversion, images, inversion);
    const auto b = decode_error(denoiser, by_network, images, network);
    std::printf("image  fixed-point MSE  embedder MSE\n");
    for (int64_t i = 0; i < images.size(0); ++i)
      std::printf("%5ld  %15.6f  %12.6f\n", static_cast<long>(i), a[i].item<double>(), b[i].item<double>());
    std::printf("mean   %15.6f  %12.6f\n", a.mean().item<double>(), b.mean().item<double>());
    return 0;
  } catch (const ddim::InvalidArgument& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const ddim::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
