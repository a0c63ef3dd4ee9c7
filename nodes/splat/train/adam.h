// A small Adam optimiser over plain tensors (our own, not torch::optim), so that density control
// can add, remove and reset rows of parameters and moments together. All groups share their
// first dimension (one row per Gaussian).
//
// Update (as torch.optim.Adam, no weight decay, no amsgrad), per group with step count t:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// step() evaluates this in float in the same order as step_torch(), so the two agree to rounding.
// A group whose parameter has no gradient is skipped (its step count does not advance).
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace camgraph::splat {

struct AdamGroup {
  std::string name;
  at::Tensor param;       // leaf, requires_grad
  at::Tensor exp_avg;     // same shape as param
  at::Tensor exp_avg_sq;  // same shape as param
  double lr = 0;
  int64_t step = 0;
};

class Adam {
 public:
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-15;

  // Adds a group; `init` is copied into a new leaf tensor that requires grad. Returns its index.
  int add_group(std::string name, const at::Tensor& init, double lr);
  // Fused: one multithreaded pass over p, m, v per float32 group (others: step_torch()).
  void step();
  // The same update as a chain of torch ops (the reference twin of step()).
  void step_torch();
  void zero_grad();

  size_t size() const { return groups_.size(); }
  AdamGroup& operator[](size_t i) { return groups_.at(i); }
  const AdamGroup& operator[](size_t i) const { return groups_.at(i); }
  const at::Tensor& param(size_t i) const { return groups_.at(i).param; }
  int64_t rows() const { return groups_.empty() ? 0 : groups_[0].param.size(0); }

  // Row surgery (applies to parameters and both moments of every group).
  void keep_rows(const at::Tensor& mask);                   // mask [N] bool
  void append_rows(const std::vector<at::Tensor>& values);  // one [M, ...] per group; zero moments
  void zero_state_rows(const at::Tensor& index);            // index [M] int64: moments := 0
  void zero_state(size_t group);                            // all moments of one group := 0
  // Replaces parameter values in place (no autograd history).
  void set_rows(size_t group, const at::Tensor& index, const at::Tensor& values);
  void set_param(size_t group, const at::Tensor& value);  // same shape

 private:
  void step_group_torch(AdamGroup& g);
  void replace(AdamGroup& g, at::Tensor p, at::Tensor m, at::Tensor v);
  std::vector<AdamGroup> groups_;
};

}  // namespace camgraph::splat
