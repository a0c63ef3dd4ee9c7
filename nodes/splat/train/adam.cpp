#include "splat/train/adam.h"

#include <cmath>
#include <stdexcept>

#include "splat/train/kernels.h"

namespace camgraph::splat {

int Adam::add_group(std::string name, const at::Tensor& init, double lr) {
  if (!groups_.empty() && init.size(0) != rows())
    throw std::invalid_argument("Adam: group '" + name + "' has a different number of rows");
  AdamGroup g;
  g.name = std::move(name);
  g.lr = lr;
  replace(g, init.detach().clone(), at::zeros_like(init), at::zeros_like(init));
  groups_.push_back(std::move(g));
  return int(groups_.size()) - 1;
}

void Adam::replace(AdamGroup& g, at::Tensor p, at::Tensor m, at::Tensor v) {
  g.param = p.detach().contiguous().set_requires_grad(true);
  g.exp_avg = m.contiguous();
  g.exp_avg_sq = v.contiguous();
}

void Adam::step() {
  at::NoGradGuard no_grad;
  for (auto& g : groups_) {
    const at::Tensor& grad_t = g.param.grad();
    if (!grad_t.defined()) continue;
    if (g.param.scalar_type() != at::kFloat || !g.param.device().is_cpu() || !g.exp_avg.is_contiguous() ||
        !g.exp_avg_sq.is_contiguous()) {
      step_group_torch(g);
      continue;
    }
    g.step += 1;
    const at::Tensor grad = grad_t.to(at::kFloat).contiguous();
    const double bc1 = 1 - std::pow(beta1, double(g.step));
    const double bc2 = 1 - std::pow(beta2, double(g.step));
    AdamCoeffs c;
    c.beta1 = float(beta1), c.beta2 = float(beta2), c.one_minus_beta1 = float(1 - beta1);
    c.one_minus_beta2 = float(1 - beta2), c.sqrt_bc2 = float(std::sqrt(bc2)), c.step_size = float(-g.lr / bc1);
    c.eps = float(eps);
    adam_update(g.param.data_ptr<float>(), g.exp_avg.data_ptr<float>(), g.exp_avg_sq.data_ptr<float>(),
                grad.data_ptr<float>(), g.param.numel(), c);
  }
}

void Adam::step_torch() {
  at::NoGradGuard no_grad;
  for (auto& g : groups_)
    if (g.param.grad().defined()) step_group_torch(g);
}

void Adam::step_group_torch(AdamGroup& g) {
  const at::Tensor& grad = g.param.grad();
  g.step += 1;
  g.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
  g.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  const double bc1 = 1 - std::pow(beta1, double(g.step));
  const double bc2 = 1 - std::pow(beta2, double(g.step));
  auto denom = (g.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(eps);
  g.param.addcdiv_(g.exp_avg, denom, -g.lr / bc1);
}

void Adam::zero_grad() {
  for (auto& g : groups_)
    if (g.param.grad().defined()) g.param.mutable_grad() = at::Tensor();
}

void Adam::keep_rows(const at::Tensor& mask) {
  auto idx = mask.nonzero().squeeze(1);
  for (auto& g : groups_)
    replace(g, g.param.detach().index_select(0, idx), g.exp_avg.index_select(0, idx),
            g.exp_avg_sq.index_select(0, idx));
}

void Adam::append_rows(const std::vector<at::Tensor>& values) {
  if (values.size() != groups_.size()) throw std::invalid_argument("Adam::append_rows: one tensor per group");
  for (size_t i = 0; i < groups_.size(); ++i) {
    auto& g = groups_[i];
    auto v = values[i].detach().to(g.param.options().requires_grad(false));
    auto z = at::zeros_like(v);
    replace(g, at::cat({g.param.detach(), v}), at::cat({g.exp_avg, z}), at::cat({g.exp_avg_sq, z}));
  }
}

void Adam::zero_state_rows(const at::Tensor& index) {
  for (auto& g : groups_) {
    g.exp_avg.index_fill_(0, index, 0);
    g.exp_avg_sq.index_fill_(0, index, 0);
  }
}

void Adam::zero_state(size_t group) {
  groups_.at(group).exp_avg.zero_();
  groups_.at(group).exp_avg_sq.zero_();
}

void Adam::set_rows(size_t group, const at::Tensor& index, const at::Tensor& values) {
  at::NoGradGuard no_grad;
  groups_.at(group).param.index_copy_(0, index, values.to(groups_.at(group).param.dtype()));
}

void Adam::set_param(size_t group, const at::Tensor& value) {
  at::NoGradGuard no_grad;
  groups_.at(group).param.copy_(value);
}

}  // namespace camgraph::splat
