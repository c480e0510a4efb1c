// Pictures of batches: grids of images, rows of batches (the paper's Fig. 3 layout), and
// seeds shown as images.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace ddim {

/// Tiles a batch [N, C, H, W] into one image, `columns` per row, with `padding` pixels of
/// `pad_value` between and around the tiles.
torch::Tensor make_grid(const torch::Tensor& images, int64_t columns, int64_t padding = 2,
                        double pad_value = 1.0);

/// Stacks rows of equally shaped batches ([N, C, H, W] each, same N) into one grid with
/// one row per batch: the layout of the paper's Fig. 3 (originals / seeds / outputs).
torch::Tensor make_rows(const std::vector<torch::Tensor>& rows, int64_t padding = 2, double pad_value = 1.0);

/// Maps a seed (standard-normal latent) to a picture, as the paper shows seeds: clip to
/// [-2.5, 2.5], then map linearly to [0, 1].
torch::Tensor seed_to_image(const torch::Tensor& seed);

}  // namespace ddim
