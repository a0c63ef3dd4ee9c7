#include "gaussians.h"

#include <stdexcept>
#include <string>

namespace camgraph::splat {

int sh_degree_for_coeffs(int64_t k) {
  for (int d = 0; d <= 16; ++d)
    if (sh_coeffs_for_degree(d) == k) return d;
  return -1;
}

int GaussianSet::sh_degree() const {
  const int d = sh_degree_for_coeffs(sh_coeffs());
  if (d < 0)
    throw std::runtime_error("GaussianSet: sh has " + std::to_string(sh_coeffs()) +
                             " coefficients per channel; expected (degree + 1)^2");
  return d;
}

void GaussianSet::validate(const char* what) const {
  auto fail = [&](const std::string& msg) { throw std::runtime_error(std::string(what) + ": " + msg); };
  if (!means.defined()) fail("means is undefined");
  const int64_t n = means.size(0);
  auto check = [&](const at::Tensor& t, const char* name, std::vector<int64_t> shape) {
    if (!t.defined()) fail(std::string(name) + " is undefined");
    if (t.scalar_type() != at::kFloat)
      fail(std::string(name) + " must be float32, got " + std::string(at::toString(t.scalar_type())));
    bool ok = t.dim() == int64_t(shape.size());
    for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || t.size(int64_t(i)) == shape[i];
    if (!ok) {
      std::string want = "[";
      for (size_t i = 0; i < shape.size(); ++i)
        want += (i ? ", " : "") + (shape[i] < 0 ? std::string("K") : std::to_string(shape[i]));
      fail(std::string(name) + " has shape " + c10::str(t.sizes()) + ", expected " + want + "]");
    }
    if (t.device() != means.device())
      fail(std::string(name) + " is on " + t.device().str() + ", means on " + means.device().str());
  };
  check(means, "means", {n, 3});
  check(log_scales, "log_scales", {n, 3});
  check(quats, "quats", {n, 4});
  check(opacity_logits, "opacity_logits", {n});
  check(sh, "sh", {n, -1, 3});
  sh_degree();
}

}  // namespace camgraph::splat
