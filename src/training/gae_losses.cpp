#include "ddim/training/gae_losses.h"

namespace ddim {

// ------------------------------------------------------------------ losses

namespace {
// Codes of centres and members, standardised and encoded once.
struct Encoded {
  torch::Tensor zc, zm;          // standardised z_sem: [B, d], [B, m, d]
  torch::Tensor ec, em;          // z_dis: [B, k], [B, m, k]
  torch::Tensor reconstruction;  // L_r over all of them
};

Encoded encode_group(Gae& gae, const Partition& p, const torch::Tensor& centres, const torch::Tensor& members,
                     Loss loss) {
  const auto m = static_cast<int64_t>(p.attributes().size());
  DDIM_CHECK_ARG(
      centres.dim() == 2 && members.dim() == 3 && members.size(0) == centres.size(0) &&
          members.size(1) == m && members.size(2) == centres.size(1),
      "a group batch of the partition {} needs centres [B, d] and members [B, {}, d], got {} and {}",
      p.to_string(), m, fmt::join(centres.sizes(), "x"), fmt::join(members.sizes(), "x"));
  DDIM_CHECK_ARG(gae.options().dis_dim == p.dim(), "the GAE's z_dis has {} dimensions, the partition {} {}",
                 gae.options().dis_dim, p.to_string(), p.dim());
  const int64_t b = centres.size(0), d = centres.size(1);
  const auto all = gae.standardize(torch::cat({centres, members.reshape({b * m, d})}));
  const auto e = gae.encode_standardized(all);
  Encoded g;
  g.zc = all.narrow(0, 0, b);
  g.zm = all.narrow(0, b, b * m).view({b, m, d});
  g.ec = e.narrow(0, 0, b);
  g.em = e.narrow(0, b, b * m).view({b, m, e.size(1)});
  // The targets are held fixed: L_dis trains the encoder of z_sem through the GAE's input
  // only, never by moving z_sem towards what the GAE makes of it.
  g.reconstruction = distance(gae.decode_standardized(e), all.detach(), loss);
  return g;
}

torch::Tensor swap_term(Gae& gae, const Partition& p, const Encoded& g, Loss loss) {
  const auto names = p.attributes();
  if (names.empty()) return torch::zeros({}, g.ec.options());
  // Part j exchanged between the centre and member j, both ways (GZS-Net's swap
  // reconstruction), and the centre reassembled from every member's shared part (its rest from
  // another centre: reassemble_group).
  std::vector<torch::Tensor> codes, targets;
  for (size_t j = 0; j < names.size(); ++j) {
    const auto mj = g.em.select(1, static_cast<int64_t>(j));
    codes.push_back(swap_partitions(g.ec, mj, p, {names[j]}));
    targets.push_back(g.zc);
    codes.push_back(swap_partitions(mj, g.ec, p, {names[j]}));
    targets.push_back(g.zm.select(1, static_cast<int64_t>(j)));
  }
  const auto swapped =
      distance(gae.decode_standardized(torch::cat(codes)), torch::cat(targets).detach(), loss);
  const auto rebuilt =
      distance(gae.decode_standardized(reassemble_group(g.ec, g.em, p)), g.zc.detach(), loss);
  return 0.5 * (swapped + rebuilt);
}

torch::Tensor reassembly_term(Gae& gae, const Partition& p, const torch::Tensor& codes,
                              const torch::Tensor& sources, Loss loss) {
  // eq. 10: z_dis -f-> z_u -D-> z-hat -E-> z_u-hat, an L1 (or L2) distance between z_u-hat and z_u.
  const auto zu = assemble_parts(codes, sources, p);
  const auto back = gae.encode_standardized(gae.decode_standardized(zu));
  return distance(back, zu.detach(), loss);
}
}  // namespace

torch::Tensor gae_reconstruction_loss(Gae& gae, const torch::Tensor& z_sem, Loss loss) {
  const auto z = gae.standardize(z_sem);
  return distance(gae.decode_standardized(gae.encode_standardized(z)), z.detach(), loss);
}

torch::Tensor supervised_swap_loss(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                                   const torch::Tensor& members, Loss loss) {
  return swap_term(gae, partition, encode_group(gae, partition, centres, members, loss), loss);
}

torch::Tensor reassembly_loss(Gae& gae, const Partition& partition, const torch::Tensor& z_sem,
                              const torch::Tensor& sources, Loss loss) {
  DDIM_CHECK_ARG(gae.options().dis_dim == partition.dim(),
                 "the GAE's z_dis has {} dimensions, the partition {} {}", gae.options().dis_dim,
                 partition.to_string(), partition.dim());
  return reassembly_term(gae, partition, gae.encode(z_sem), sources, loss);
}

GaeLosses gae_losses(Gae& gae, const Partition& partition, const torch::Tensor& centres,
                     const torch::Tensor& members, const torch::Tensor& sources, const GaeLossWeights& w,
                     Loss loss) {
  const auto g = encode_group(gae, partition, centres, members, loss);
  GaeLosses l;
  l.reconstruction = g.reconstruction;
  l.swap = swap_term(gae, partition, g, loss);
  l.reassembly = reassembly_term(gae, partition, g.ec, sources, loss);
  l.total = l.reconstruction + w.lambda_ss * l.swap + w.lambda_ur * l.reassembly;  // eq. 11
  return l;
}

}  // namespace ddim
