// The random streams of a training run (core/rng.h: mix_seed(seed, stream, counter)), one
// list for every trainer so that two of them never give one stream two meanings. Stream 1 is
// the data order (EpochOrder's); the GAE's group draws are methods/gae.cpp's.
#pragma once

#include <cstdint>

namespace ddim::streams {

constexpr uint64_t kNoise = 2, kDropout = 3, kPreview = 4, kValid = 5, kInit = 6, kCondDrop = 7;

}  // namespace ddim::streams
