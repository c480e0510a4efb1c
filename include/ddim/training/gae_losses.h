// The losses of DiffuseGAE (Leng et al. 2023) that train a GAE (ddim/nn/gae.h) on a diffusion
// autoencoder's codes.
//
// Training (its section 3.3) draws groups GROUP(x_C, 1) from the data's attribute labels
// (eq. 9): a centre and, for each attribute part, a member that shares that attribute's value
// with it. The losses (all distances in z_sem's standardised units, or z_dis's):
//   L_r   reconstruction: d(D(E(z)), z) over centres and members.
//   L_ss  supervised attribute swap (after GZS-Net's swap reconstruction, Ge et al. 2021): a
//         centre and its member j share attribute j, so exchanging part j of their codes must
//         reconstruct both; and the code reassembled from part j of member j, for every
//         attribute j, must reconstruct the centre. The reassembled code's `rest` comes from
//         another centre of the batch, not the centre's own: with its own rest an encoder that
//         routed every attribute into `rest` would meet L_ss (and L_r, L_ur) at no cost, since
//         swapping empty attribute parts changes nothing (reassemble_group).
//   L_ur  unsupervised attribute reassembly (eq. 10): each part taken from a random code of the
//         batch, z_u; z_u -D-> z-hat -E-> z_u-hat; d(z_u-hat, z_u).
//   L_dis = L_r + lambda_ss L_ss + lambda_ur L_ur (eq. 11).
// Post hoc the Diff-AE is frozen and the GAE trains on its codes; fine-tuning trains both on
// L_simple + gamma L_dis (eq. 12), the Diff-AE's decoder conditioned on z_sem-hat. L_dis's
// targets are held fixed (no gradient through them) and, while fine-tuning, z_sem is
// standardised by its batch's own statistics (Gae::track_statistics): with frozen statistics
// the Diff-AE's encoder could lower L_dis by shrinking z_sem, since every distance shrinks
// with it, and the codes would collapse.
#pragma once

#include <torch/torch.h>

#include "ddim/nn/gae.h"
#include "ddim/nn/loss.h"
#include "ddim/nn/partition.h"

namespace ddim {

/// The weights of eq. 11 (and 12).
struct GaeLossWeights {
  double lambda_ss = 1.0;  ///< L_ss (the paper: 1.0 post hoc, 0.5 when fine-tuning)
  double lambda_ur = 0.5;  ///< L_ur (the paper: 0.5 both)
};

struct GaeLosses {
  torch::Tensor reconstruction;  ///< L_r
  torch::Tensor swap;            ///< L_ss
  torch::Tensor reassembly;      ///< L_ur
  torch::Tensor total;           ///< L_dis (eq. 11)
};

/// L_r of codes z_sem [N, z_dim].
torch::Tensor gae_reconstruction_loss(Gae& gae, const torch::Tensor& z_sem, Loss loss = Loss::MAE);
/// L_ss of centres [B, z_dim] and members [B, m, z_dim], member j sharing the value of the
/// partition's attribute part j (partition.attributes()[j]) with its centre. Zero when the
/// partition has no attribute part (nothing is supervised).
torch::Tensor supervised_swap_loss(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                                   const torch::Tensor& members, Loss loss = Loss::MAE);
/// L_ur of codes z_sem [B, z_dim], part k of output row i taken from row sources[i][k]
/// (int64 [B, parts]). The target z_u is held fixed (no gradient through it), so that the
/// encoder cannot lower the loss by shrinking z_dis.
torch::Tensor reassembly_loss(Gae& gae, const Partition& partition, const torch::Tensor& z_sem,
                              const torch::Tensor& sources, Loss loss = Loss::MAE);
/// All three and L_dis, encoding each code once; L_ur reassembles the centres.
GaeLosses gae_losses(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                     const torch::Tensor& members, const torch::Tensor& sources,
                     const GaeLossWeights& weights, Loss loss = Loss::MAE);

}  // namespace ddim
