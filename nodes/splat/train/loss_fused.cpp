// Fused CPU photometric loss: (1 - lambda) L1 + lambda (1 - SSIM) with its analytic gradient,
// in raw loops over the interleaved [H, W, C] buffers (no per-pixel torch graph).
//
// SSIM as ssim() in loss.cpp: separable Gaussian window, zero padding ('same' size), C1, C2.
// With the five blurred moments mu1 = G x, mu2 = G y, sxx = G x^2, syy = G y^2, sxy = G xy
// (G: the zero-padded blur, which is self-adjoint for a symmetric window) and
//   A1 = 2 mu1 mu2 + C1, A2 = 2 (sxy - mu1 mu2) + C2,
//   B1 = mu1^2 + mu2^2 + C1, B2 = (sxx - mu1^2) + (syy - mu2^2) + C2,  m = A1 A2 / (B1 B2),
// the per-pixel partials are
//   dm/dmu1 = 2 mu2 (A2 - A1) / (B1 B2) - 2 mu1 m (1 / B1 - 1 / B2),
//   dm/dsxx = -m / B2,  dm/dsxy = 2 A1 / (B1 B2),
// and d mean(m) / dx = G(d_mu) + 2 x G(d_sxx) + y G(d_sxy) with d_* = dm/d* / (H W C).
//
// Both blurs stream rows through a ring buffer of 2R + 1 horizontally blurred rows per band of
// output rows (one band per thread), so nothing larger than three [H, W, C] maps is stored.
// Sums are per row in double and added in row order: results do not depend on the thread count.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <vector>

#include "splat/raster/parallel.h"
#include "splat/train/loss.h"

namespace camgraph::splat {

namespace {

constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;

template <typename T>
struct LossImages {
  const T* x = nullptr;  // [H, W, C] rendered
  const T* y = nullptr;  // [H, W, C] target
  int64_t H = 0, W = 0, C = 0;
  int64_t row() const { return W * C; }
};

// Copies `n` values into pad[R C .. R C + n) with R C zeros either side.
template <typename T>
void pad_row(const T* in, int64_t n, int64_t halo, T* pad) {
  std::fill(pad, pad + halo, T(0));
  std::copy(in, in + n, pad + halo);
  std::fill(pad + halo + n, pad + 2 * halo + n, T(0));
}

// out[i] = sum_k w[k] src[k][i] over n values: a correlation with K taps (the horizontal pass:
// src[k] = padded row + k C; the vertical pass: src[k] = row y - R + k). The 11-tap case (the
// SSIM window) keeps each output in a register: 11 loads and one store per vector of outputs.
template <typename T>
void taps11(int64_t n, const T* const* src, const T* w, T* __restrict out) {
  const T* __restrict s0 = src[0], * __restrict s1 = src[1], * __restrict s2 = src[2], * __restrict s3 = src[3], * __restrict s4 = src[4], * __restrict s5 = src[5], * __restrict s6 = src[6], * __restrict s7 = src[7], * __restrict s8 = src[8], * __restrict s9 = src[9], * __restrict s10 = src[10];
  const T w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8], w9 = w[9],
          w10 = w[10];
  for (int64_t i = 0; i < n; ++i)
    out[i] = w0 * s0[i] + w1 * s1[i] + w2 * s2[i] + w3 * s3[i] + w4 * s4[i] + w5 * s5[i] + w6 * s6[i] + w7 * s7[i] +
             w8 * s8[i] + w9 * s9[i] + w10 * s10[i];
}

template <typename T>
void taps(int K, int64_t n, const T* const* src, const T* w, T* __restrict out) {
  if (K == 11) return taps11(n, src, w, out);
  std::fill(out, out + n, T(0));
  for (int k = 0; k < K; ++k) {
    const T wk = w[k];
    const T* __restrict a = src[k];
    for (int64_t i = 0; i < n; ++i) out[i] += wk * a[i];
  }
}

// Rows [b, e) of a separable zero-padded blur of Q interleaved maps, fed by hrow(r, out[Q]) which
// writes the horizontally blurred row r of each map; emit(y, v[Q]) receives the blurred rows.
template <typename T, int Q, typename HRow, typename Emit>
void blur_band(int64_t H, int64_t n, const std::vector<T>& w, int64_t b, int64_t e, const HRow& hrow,
               const Emit& emit) {
  const int R = int(w.size()) / 2, K = 2 * R + 1;
  std::vector<T> ring(static_cast<size_t>(K * Q * n)), acc(static_cast<size_t>(Q * n)), zero(static_cast<size_t>(n));
  std::vector<const T*> src(static_cast<size_t>(K));
  auto slot = [&](int64_t r, int q) { return ring.data() + (size_t(r % K) * Q + q) * n; };
  int64_t next = std::max<int64_t>(0, b - R);  // next row to blur horizontally
  for (int64_t y = b; y < e; ++y) {
    const int64_t hi = std::min<int64_t>(H - 1, y + R);
    for (; next <= hi; ++next) {
      T* out[Q];
      for (int q = 0; q < Q; ++q) out[q] = slot(next, q);
      hrow(next, out);
    }
    T* v[Q];
    for (int q = 0; q < Q; ++q) {
      for (int k = 0; k < K; ++k) {
        const int64_t r = y - R + k;  // rows outside the image are zero
        src[size_t(k)] = r < 0 || r >= H ? zero.data() : slot(r, q);
      }
      v[q] = acc.data() + size_t(q) * n;
      taps(K, n, src.data(), w.data(), v[q]);
    }
    emit(y, v);
  }
}

// One row of the SSIM map m, |x - y| and the scaled partials g dm/dmu1, g dm/dsxx, g dm/dsxy.
template <typename T>
void ssim_row(int64_t n, const T* __restrict vm1, const T* __restrict vm2, const T* __restrict vxx,
              const T* __restrict vyy, const T* __restrict vxy, const T* __restrict xr, const T* __restrict yr, T c1,
              T c2, T g, T* __restrict map, T* __restrict l1, T* __restrict dmu, T* __restrict dxx, T* __restrict dxy) {
  for (int64_t i = 0; i < n; ++i) {
    const T mu1 = vm1[i], mu2 = vm2[i];
    const T s11 = vxx[i] - mu1 * mu1, s22 = vyy[i] - mu2 * mu2, s12 = vxy[i] - mu1 * mu2;
    const T a1 = 2 * mu1 * mu2 + c1, a2 = 2 * s12 + c2;
    const T b1 = mu1 * mu1 + mu2 * mu2 + c1, b2 = s11 + s22 + c2;
    const T inv = T(1) / (b1 * b2);
    const T m = a1 * a2 * inv;
    map[i] = m;
    const T d = xr[i] - yr[i];
    l1[i] = d < 0 ? -d : d;
    dmu[i] = g * (2 * mu2 * (a2 - a1) * inv - 2 * mu1 * m * (T(1) / b1 - T(1) / b2));
    dxx[i] = g * (-m / b2);
    dxy[i] = g * (2 * a1 * inv);
  }
}

// Forward (and, when `grad` is given, the gradient of the loss w.r.t. x). Returns {mean |x - y|,
// mean SSIM}; SSIM is skipped (NaN) when lambda == 0.
template <typename T>
std::pair<double, double> fused_loss_kernel(const LossImages<T>& im, double lambda, const std::vector<T>& w, T* grad) {
  const int64_t H = im.H, n = im.row(), C = im.C, total = H * n;
  const int64_t halo = int64_t(w.size() / 2) * C;
  const int K = int(w.size());
  std::vector<double> row_l1(size_t(H), 0.0), row_ssim(size_t(H), 0.0);
  const T l1_scale = T((1 - lambda) / double(total));
  const int64_t grain = std::max<int64_t>(8, (1 << 16) / std::max<int64_t>(1, n));  // rows per thread, at least

  if (lambda <= 0) {
    parallel_chunks(H, grain, [&](int64_t b, int64_t e) {
      for (int64_t y = b; y < e; ++y) {
        const T *xr = im.x + y * n, *yr = im.y + y * n;
        double s = 0;
        for (int64_t i = 0; i < n; ++i) {
          const T d = xr[i] - yr[i];
          s += std::abs(d);
          if (grad) grad[y * n + i] = l1_scale * T((d > 0) - (d < 0));
        }
        row_l1[size_t(y)] = s;
      }
    });
    double l1 = 0;
    for (double s : row_l1) l1 += s;
    return {l1 / double(total), std::nan("")};
  }

  // Pass 1: moments -> SSIM map (summed per row) and, for the gradient, d_mu, d_sxx, d_sxy.
  // The partial maps live in a per-thread buffer reused across calls (3 [H, W, C] maps).
  // (A named reference: the worker threads must see the caller's buffer, not their own.)
  static thread_local std::vector<T> dmaps_buffer;
  std::vector<T>& dmaps = dmaps_buffer;
  if (grad && dmaps.size() < size_t(3 * total)) dmaps.resize(size_t(3 * total));
  const T c1 = T(kC1), c2 = T(kC2), g_ssim = T(-lambda / double(total));
  parallel_chunks(H, grain, [&](int64_t b, int64_t e) {
    std::vector<T> px(size_t(n + 2 * halo)), py(size_t(n + 2 * halo)), pq(size_t(n + 2 * halo));
    std::vector<T> scratch(size_t(5 * n));
    std::vector<const T*> hsrc(static_cast<size_t>(K));  // the map, |x - y|, and the partials when there is no grad
    auto hrow = [&](int64_t r, T* out[5]) {
      pad_row(im.x + r * n, n, halo, px.data());
      pad_row(im.y + r * n, n, halo, py.data());
      for (int q = 0; q < 5; ++q) {
        const T* src = q == 0 ? px.data() : q == 1 ? py.data() : pq.data();
        if (q >= 2) {  // the product image x^2, y^2 or xy, zero in the halo like its factors
          const T* __restrict u = q == 3 ? py.data() : px.data(), * __restrict v = q == 2 ? px.data() : py.data();
          T* __restrict d = pq.data();
          for (int64_t i = 0; i < n + 2 * halo; ++i) d[i] = u[i] * v[i];
        }
        for (int k = 0; k < K; ++k) hsrc[size_t(k)] = src + k * C;
        taps(K, n, hsrc.data(), w.data(), out[q]);
      }
    };
    auto emit = [&](int64_t y, T* v[5]) {
      const T* __restrict xr = im.x + y * n, * __restrict yr = im.y + y * n;
      const T* __restrict vm1 = v[0], * __restrict vm2 = v[1], * __restrict vxx = v[2], * __restrict vyy = v[3], * __restrict vxy = v[4];
      T* __restrict map = scratch.data();
      T* __restrict l1 = map + n;
      T* __restrict dmu = grad ? dmaps.data() + y * n : map + 2 * n;
      T* __restrict dxx = grad ? dmaps.data() + total + y * n : map + 3 * n;
      T* __restrict dxy = grad ? dmaps.data() + 2 * total + y * n : map + 4 * n;
      ssim_row(n, vm1, vm2, vxx, vyy, vxy, xr, yr, c1, c2, g_ssim, map, l1, dmu, dxx, dxy);
      double s_ssim = 0, s_l1 = 0;
      for (int64_t i = 0; i < n; ++i) s_ssim += double(map[i]), s_l1 += double(l1[i]);
      row_ssim[size_t(y)] = s_ssim;
      row_l1[size_t(y)] = s_l1;
    };
    blur_band<T, 5>(H, n, w, b, e, hrow, emit);
  });

  // Pass 2: blur the three partial maps and combine with x, y and the L1 term.
  if (grad) {
    parallel_chunks(H, grain, [&](int64_t b, int64_t e) {
      std::vector<T> pad(size_t(n + 2 * halo));
      std::vector<const T*> hsrc(static_cast<size_t>(K));
      auto hrow = [&](int64_t r, T* out[3]) {
        for (int q = 0; q < 3; ++q) {
          pad_row(dmaps.data() + q * total + r * n, n, halo, pad.data());
          for (int k = 0; k < K; ++k) hsrc[size_t(k)] = pad.data() + k * C;
          taps(K, n, hsrc.data(), w.data(), out[q]);
        }
      };
      auto emit = [&](int64_t y, T* v[3]) {
        const T *xr = im.x + y * n, *yr = im.y + y * n;
        T* g = grad + y * n;
        for (int64_t i = 0; i < n; ++i) {
          const T d = xr[i] - yr[i];
          g[i] = l1_scale * T((d > 0) - (d < 0)) + v[0][i] + 2 * xr[i] * v[1][i] + yr[i] * v[2][i];
        }
      };
      blur_band<T, 3>(H, n, w, b, e, hrow, emit);
    });
  }
  double l1 = 0, ss = 0;
  for (int64_t y = 0; y < H; ++y) l1 += row_l1[size_t(y)], ss += row_ssim[size_t(y)];
  return {l1 / double(total), ss / double(total)};
}

template <typename T>
std::vector<T> window_values(int window, double sigma) {
  auto g = gaussian_window(window, sigma, at::kDouble);  // the same weights as ssim()
  std::vector<T> w(static_cast<size_t>(window));
  for (int i = 0; i < window; ++i) w[size_t(i)] = T(g[i].item<double>());
  return w;
}

void check_images(const at::Tensor& a, const at::Tensor& b, const char* what) {
  TORCH_CHECK(a.dim() == 3 && a.sizes() == b.sizes(), what, ": expected two [H, W, C] images of the same size");
  TORCH_CHECK(a.device().is_cpu() && b.device().is_cpu(), what, ": CPU tensors only");
  TORCH_CHECK(a.scalar_type() == at::kFloat || a.scalar_type() == at::kDouble, what, ": float or double images");
}

// {mean L1, mean SSIM, gradient of the loss w.r.t. a (undefined unless with_grad)}.
std::tuple<double, double, at::Tensor> run_fused(const at::Tensor& a, const at::Tensor& b, double lambda,
                                                 bool with_grad, int window = 11, double sigma = 1.5) {
  const auto x = a.detach().contiguous(), y = b.detach().to(a.scalar_type()).contiguous();
  at::Tensor grad = with_grad ? at::empty_like(x) : at::Tensor();
  std::pair<double, double> r;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_loss", [&] {
    LossImages<scalar_t> im{x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), x.size(0), x.size(1), x.size(2)};
    r = fused_loss_kernel<scalar_t>(im, lambda, window_values<scalar_t>(window, sigma),
                                    with_grad ? grad.data_ptr<scalar_t>() : nullptr);
  });
  return {r.first, r.second, grad};
}

using torch::autograd::AutogradContext;
using torch::autograd::Variable;
using torch::autograd::variable_list;

// The loss as an autograd function of `rendered`; the gradient is computed in the forward pass.
struct FusedLossFn : public torch::autograd::Function<FusedLossFn> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rendered, const at::Tensor& target,
                               double lambda) {
    auto [l1, s, grad] = run_fused(rendered, target, lambda, true);
    ctx->save_for_backward({grad});
    const double loss = (1 - lambda) * l1 + (lambda > 0 ? lambda * (1 - s) : 0.0);
    return {at::scalar_tensor(loss, rendered.options())};
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    const auto s = ctx->get_saved_variables();
    if (g[0].numel() == 1 && g[0].item<double>() == 1.0) return {s[0], Variable(), Variable()};  // the usual case
    return {s[0] * g[0], Variable(), Variable()};
  }
};

}  // namespace

at::Tensor photometric_loss_fused(const at::Tensor& rendered, const at::Tensor& target, double lambda) {
  if (!rendered.device().is_cpu() || !target.device().is_cpu())  // other devices: the torch-op twin
    return photometric_loss(rendered, target.to(rendered.device()), lambda);
  check_images(rendered, target, "photometric_loss_fused");
  if (rendered.requires_grad() && at::GradMode::is_enabled()) return FusedLossFn::apply(rendered, target, lambda)[0];
  auto [l1, s, grad] = run_fused(rendered, target, lambda, false);
  return at::scalar_tensor((1 - lambda) * l1 + (lambda > 0 ? lambda * (1 - s) : 0.0), rendered.options());
}

double ssim_fused(const at::Tensor& a, const at::Tensor& b, int window, double sigma) {
  if (!a.device().is_cpu() || !b.device().is_cpu()) return ssim(a, b.to(a.device()), window, sigma).item<double>();
  check_images(a, b, "ssim_fused");
  TORCH_CHECK(window >= 1 && window % 2 == 1, "ssim_fused: odd window size expected");
  return std::get<1>(run_fused(a, b, 1.0, false, window, sigma));
}

}  // namespace camgraph::splat
