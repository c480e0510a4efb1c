// Everything of the ddim library, for users who would rather not pick headers.
//
// The library stands on ten layers, one folder each under ddim/ (and src/), lowest first; a
// header includes only headers of its own layer or of lower ones (the ctest test
// Layout.LowerLayersNeverIncludeUpperOnes checks it, cmake/check_layers.cmake):
//
//   core/       errors, enum names, seeded RNG, interrupts, limits, devices, bf16, files, processes,
//               operator profiles
//   io/         file formats: IDX, PNG/JPEG/BMP, CIFAR-10, .pt tensors, checkpoints, configs
//   pictures/   image grids and seed pictures, charts (PLplot), labelled figures
//   data/       data sets by spec (--data), attributes, faces, fonts, GROUP sampling, counterfactuals
//   metrics/    measures: MSE, PSNR, SSIM, the Fréchet distance, linear probes
//   nn/         networks: blocks, U-Net, MLP, Diff-AE encoder, GAE and its partition, embedders
//   diffusion/  schedules, DDIM and its inversion, denoisers, pipelines, unrolled DDIM, synthesis
//   methods/    models loaded by kind, embedding, editing, interpolation, manipulation, DiffuseGAE
//   training/   the run machinery, every trainer, the GAE losses, EMA, data parallelism
//   analysis/   inversion statistics, independence, gravity, seed clouds, disentanglement, sample quality
#pragma once

#include "ddim/core/autocast.h"
#include "ddim/core/device.h"
#include "ddim/core/error.h"
#include "ddim/core/fields.h"
#include "ddim/core/file.h"
#include "ddim/core/interrupt.h"
#include "ddim/core/limits.h"
#include "ddim/core/memory.h"
#include "ddim/core/names.h"
#include "ddim/core/process.h"
#include "ddim/core/profile.h"
#include "ddim/core/rate.h"
#include "ddim/core/rng.h"

#include "ddim/io/checkpoint.h"
#include "ddim/io/cifar10.h"
#include "ddim/io/config_file.h"
#include "ddim/io/idx.h"
#include "ddim/io/image.h"
#include "ddim/io/tensor_io.h"

#include "ddim/pictures/annotate.h"
#include "ddim/pictures/grid.h"
#include "ddim/pictures/plot.h"

#include "ddim/data/attributes.h"
#include "ddim/data/counterfactual.h"
#include "ddim/data/dataset.h"
#include "ddim/data/faces.h"
#include "ddim/data/fonts.h"
#include "ddim/data/group_sampler.h"
#include "ddim/data/image_folder.h"
#include "ddim/data/normalization.h"
#include "ddim/data/toy.h"

#include "ddim/metrics/frechet.h"
#include "ddim/metrics/metrics.h"
#include "ddim/metrics/probe.h"

#include "ddim/nn/batch_norm.h"
#include "ddim/nn/blocks.h"
#include "ddim/nn/classifier.h"
#include "ddim/nn/diffae.h"
#include "ddim/nn/embedder.h"
#include "ddim/nn/gae.h"
#include "ddim/nn/group_norm.h"
#include "ddim/nn/loss.h"
#include "ddim/nn/mlp.h"
#include "ddim/nn/network.h"
#include "ddim/nn/partition.h"
#include "ddim/nn/prepared_unet.h"
#include "ddim/nn/swish.h"
#include "ddim/nn/unet.h"
#include "ddim/nn/winograd.h"

#include "ddim/diffusion/ddim.h"
#include "ddim/diffusion/denoiser.h"
#include "ddim/diffusion/pipeline.h"
#include "ddim/diffusion/schedule.h"
#include "ddim/diffusion/synthesis.h"
#include "ddim/diffusion/unrolled.h"

#include "ddim/methods/attribute_swap.h"
#include "ddim/methods/editing.h"
#include "ddim/methods/embedding.h"
#include "ddim/methods/gae.h"
#include "ddim/methods/interpolation.h"
#include "ddim/methods/manipulation.h"
#include "ddim/methods/model.h"
#include "ddim/methods/trained_embedder.h"

#include "ddim/training/classifier_trainer.h"
#include "ddim/training/denoiser_trainer.h"
#include "ddim/training/distributed.h"
#include "ddim/training/ema.h"
#include "ddim/training/embedder_trainer.h"
#include "ddim/training/gae_losses.h"
#include "ddim/training/gae_trainer.h"
#include "ddim/training/training.h"

#include "ddim/analysis/cloud.h"
#include "ddim/analysis/disentanglement.h"
#include "ddim/analysis/evaluation.h"
#include "ddim/analysis/gravity.h"
#include "ddim/analysis/independence.h"
#include "ddim/analysis/inversion_stats.h"
