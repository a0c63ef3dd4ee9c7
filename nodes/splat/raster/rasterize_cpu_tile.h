// Internal to rasterize_cpu.cpp: one tile's Gaussians and pixel state, and the row kernels
// (SSE2 where available, scalar otherwise). A row kernel applies one Gaussian to the pixels of
// one tile row; pixels are independent, so 4 pixels go in one SSE2 lane group.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "splat/raster/ops.h"

namespace camgraph::splat::cpu {

constexpr int kPix = kTile * kTile;
constexpr int kPairGrads = 10;  // per pair: mx my ca cb cc r g b opacity depth
enum { kGMx, kGMy, kGCa, kGCb, kGCc, kGR, kGG, kGB, kGOp, kGZ };

struct Grid {
  int width, height, tiles_x, tiles_y;
  explicit Grid(const RasterInputs& in)
      : width(in.width),
        height(in.height),
        tiles_x((in.width + kTile - 1) / kTile),
        tiles_y((in.height + kTile - 1) / kTile) {}
  int tiles() const { return tiles_x * tiles_y; }
};

// Raw views of the raster inputs.
struct Inputs {
  const float* means2d;
  const float* conics;
  const float* colors;
  const float* opacities;
  const float* depths;
  const int* radii;
  explicit Inputs(const RasterInputs& in)
      : means2d(in.means2d.data_ptr<float>()),
        conics(in.conics.data_ptr<float>()),
        colors(in.colors.data_ptr<float>()),
        opacities(in.opacities.data_ptr<float>()),
        depths(in.depths.data_ptr<float>()),
        radii(in.radii.data_ptr<int>()) {}
};

// exp(x) for x <= 0 within ~2 ulp: range reduction x = n ln2 + r, then the classic degree-6
// polynomial for e^r (Cephes expf constants). A 4-wide SSE2 version for the row loops.
constexpr float kExpC[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                            4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
#ifdef __SSE2__
inline __m128 exp_neg4(__m128 x) {
  x = _mm_max_ps(x, _mm_set1_ps(-87.f));
  const __m128i ni = _mm_cvtps_epi32(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f)));  // round to nearest
  const __m128 n = _mm_cvtepi32_ps(ni);
  const __m128 r = _mm_add_ps(_mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693359375f))),
                              _mm_mul_ps(n, _mm_set1_ps(2.12194440e-4f)));
  // Estrin's scheme for the degree-5 polynomial (shorter dependency chain than Horner).
  const __m128 r2 = _mm_mul_ps(r, r), r4 = _mm_mul_ps(r2, r2);
  const __m128 p01 = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(kExpC[0]), r), _mm_set1_ps(kExpC[1]));
  const __m128 p23 = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(kExpC[2]), r), _mm_set1_ps(kExpC[3]));
  const __m128 p45 = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(kExpC[4]), r), _mm_set1_ps(kExpC[5]));
  __m128 p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(p01, r4), _mm_mul_ps(p23, r2)), p45);
  p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(p, r2), r), _mm_set1_ps(1.f));
  return _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(p), _mm_slli_epi32(ni, 23)));
}
// Centres x + 0.5 of columns x0 .. x0 + 3 (exact), so that dx = mean - centre depends only on
// the pixel, not on where a span starts: forward and backward make identical decisions.
inline __m128 pixel_centres(int x0) {
  return _mm_add_ps(_mm_cvtepi32_ps(_mm_setr_epi32(x0, x0 + 1, x0 + 2, x0 + 3)), _mm_set1_ps(0.5f));
}
#else
inline float exp_neg(float x) {
  x = std::max(x, -87.f);
  const float n = std::nearbyint(x * 1.44269504088896341f);
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = kExpC[0];
  for (int i = 1; i < 6; ++i) p = p * r + kExpC[i];
  p = p * r * r + r + 1.f;
  int32_t bits;
  std::memcpy(&bits, &p, 4);
  bits += (int32_t)n << 23;
  std::memcpy(&p, &bits, 4);
  return p;
}
#endif

// Per-Gaussian constants of the region where alpha can reach 1/255, i.e. power <= t with
// t = log(255 opacity) (+ a small margin): see alpha_support in math.h.
struct Support {
  float two_a_t, det, inv_a;  // 2 conic.a t, det(conic), 1 / conic.a (row spans)
  float ey;                   // half height of the region's bounding box
};
inline Support make_support(const float* conic, float opacity) {
  float ex = 0.f, ey = 0.f;
  alpha_support(conic, opacity, &ex, &ey);
  const float t = std::log(opacity / kAlphaMin) + 2e-3f;
  return Support{2.f * conic[0] * t, conic[0] * conic[2] - conic[1] * conic[1], 1.f / conic[0], ey};
}

// One tile's Gaussians as SoA, with the rows of the tile each one can reach.
struct TileGaussians {
  std::vector<float> mx, my, ca, cb, cc, op, cr, cg, cbl, z;
  std::vector<float> span_2at, span_det, span_inv_a;  // row_span constants: 2 a t, det, 1 / a
  std::vector<int> y0, y1;                            // tile rows covered (inclusive, absolute pixel rows)
  int px0, py0, px1, py1;                             // the tile's pixels: [px0, px1) x [py0, py1)

  void load(const Inputs& in, const Support* support, const Grid& grid, int tile, const int* ids, int count) {
    for (auto* v : {&mx, &my, &ca, &cb, &cc, &op, &cr, &cg, &cbl, &z, &span_2at, &span_det, &span_inv_a})
      v->resize(count);
    y0.resize(count);
    y1.resize(count);
    px0 = (tile % grid.tiles_x) * kTile;
    py0 = (tile / grid.tiles_x) * kTile;
    px1 = std::min(grid.width, px0 + kTile);
    py1 = std::min(grid.height, py0 + kTile);
    for (int k = 0; k < count; ++k) {
      const int g = ids[k];
      const float* con = in.conics + 3 * g;
      mx[k] = in.means2d[2 * g];
      my[k] = in.means2d[2 * g + 1];
      ca[k] = con[0];
      cb[k] = con[1];
      cc[k] = con[2];
      op[k] = in.opacities[g];
      cr[k] = in.colors[3 * g];
      cg[k] = in.colors[3 * g + 1];
      cbl[k] = in.colors[3 * g + 2];
      z[k] = in.depths[g];
      const Support& sp = support[g];
      span_2at[k] = sp.two_a_t;
      span_det[k] = sp.det;
      span_inv_a[k] = sp.inv_a;
      // Rows whose centres lie within my -+ ey, clamped to the tile.
      const float lo = std::max((float)py0, my[k] - sp.ey - 0.5f),
                  hi = std::min((float)(py1 - 1), my[k] + sp.ey - 0.5f);
      const int ilo = (int)lo;
      y0[k] = ilo + (lo > (float)ilo);
      y1[k] = hi >= 0.f ? (int)hi : -1;
    }
  }

  // Columns [x0, x1] of row py where Gaussian k's power can be <= its threshold (conservative:
  // every pixel where alpha >= 1/255 is inside). False when none.
  bool row_span(int k, int py, int* x0, int* x1) const {
    const float dy = my[k] - (py + 0.5f);
    // 0.5 a dx^2 + b dy dx + 0.5 c dy^2 <= t with dx = mean - pixel: pixel centres
    // fx in centre -+ half, centre = mx + b dy / a, half = sqrt(2 a t - det dy^2) / a.
    const float disc = span_2at[k] - span_det[k] * dy * dy;
    if (!(disc >= 0.f)) return false;
    const float centre = mx[k] + cb[k] * dy * span_inv_a[k], half = std::sqrt(disc) * span_inv_a[k];
    // Columns x with x + 0.5 in that range, widened by 0.01 px, clamped to the tile.
    const float lo = std::max((float)px0, centre - half - 0.51f), hi = std::min((float)px1, centre + half - 0.49f);
    if (!(hi >= 0.f)) return false;
    const int ilo = (int)lo, ihi = (int)hi;  // truncation is floor here: lo, hi >= 0
    *x0 = ilo + (lo > (float)ilo);           // ceil
    *x1 = std::min(px1 - 1, ihi);
    return *x0 <= *x1;
  }

  // Along row py, columns x0..x1 (at most kTile): alpha of Gaussian k (0 when skipped: power < 0
  // or alpha < 1/255) and vis = exp(-power). Writes up to 3 entries past x1 (buffers hold kTile).
  void row_alphas(int k, int py, int x0, int x1, float* alpha, float* vis) const {
    const float dy = my[k] - (py + 0.5f);
    const float qa = 0.5f * ca[k], qb = cb[k] * dy, qc = 0.5f * cc[k] * dy * dy, o = op[k];
    const int n = x1 - x0 + 1;
#ifdef __SSE2__
    const __m128 vqa = _mm_set1_ps(qa), vqb = _mm_set1_ps(qb), vqc = _mm_set1_ps(qc), vo = _mm_set1_ps(o);
    const __m128 amax = _mm_set1_ps(kAlphaMax), amin = _mm_set1_ps(kAlphaMin), zero = _mm_setzero_ps();
    const __m128 m = _mm_set1_ps(mx[k]);
    __m128 xc = pixel_centres(x0);
    for (int j = 0; j < n; j += 4, xc = _mm_add_ps(xc, _mm_set1_ps(4.f))) {
      const __m128 dx = _mm_sub_ps(m, xc);
      const __m128 power = _mm_add_ps(_mm_mul_ps(_mm_add_ps(_mm_mul_ps(vqa, dx), vqb), dx), vqc);
      const __m128 v = exp_neg4(_mm_sub_ps(zero, power));
      const __m128 a = _mm_min_ps(_mm_mul_ps(vo, v), amax);
      const __m128 skip = _mm_or_ps(_mm_cmplt_ps(power, zero), _mm_cmplt_ps(a, amin));
      _mm_storeu_ps(alpha + j, _mm_andnot_ps(skip, a));
      _mm_storeu_ps(vis + j, v);
    }
#else
    for (int j = 0; j < n; ++j) {
      const float dx = mx[k] - (x0 + j + 0.5f);
      const float power = (qa * dx + qb) * dx + qc;
      const float v = exp_neg(-power);
      const float a = std::min(o * v, kAlphaMax);
      alpha[j] = (power < 0.f || a < kAlphaMin) ? 0.f : a;
      vis[j] = v;
    }
#endif
  }
};

// Per-pixel state of one tile (pixel i = row * kTile + column, both tile-relative), padded so
// that 4-wide loads at the end of the last row stay inside.
struct PixelState {
  static constexpr int kN = kPix + 4;
  float T[kN] = {};  // forward: transmittance; backward: transmittance after the current Gaussian
  float r[kN] = {}, g[kN] = {}, b[kN] = {};  // forward: colour; backward: R (colour behind, see below)
  float d[kN] = {};                          // forward: depth numerator
  int last[kN] = {};                         // list position of the last contributor, -1 if none
  uint32_t done[kTile] = {};                 // forward: per row, bit c set once column c stopped compositing
  uint32_t active[kTile] = {};               // backward: per row, bit c set while the current k <= last[c]
  int next[kN] = {};                         // backward: pixels bucketed by last[] (linked lists)
  // Backward only: upstream gradients and the remaining recurrences.
  float vr[kN] = {}, vg[kN] = {}, vb[kN] = {}, vA[kN] = {}, vD[kN] = {}, Rd[kN] = {}, Q[kN] = {};
};

// Narrows columns [x0, x1] to the first and last whose bit is set in mask (bit c = column
// px0 + c). False when none is set.
inline bool trim_span(uint32_t mask, int px0, int* x0, int* x1) {
  const uint32_t m = mask & (((2u << (*x1 - *x0)) - 1u) << (*x0 - px0));
  if (!m) return false;
  *x0 = px0 + __builtin_ctz(m);
  *x1 = px0 + 31 - __builtin_clz(m);
  return true;
}

// Per-Gaussian gradient sums over the pixels of a tile.
#ifdef __SSE2__
struct GradAcc {
  __m128 v[kPairGrads];
  GradAcc() {
    for (auto& x : v) x = _mm_setzero_ps();
  }
  void store(float* out) const {
    for (int c = 0; c < kPairGrads; ++c) {
      alignas(16) float l[4];
      _mm_store_ps(l, v[c]);
      out[c] = (l[0] + l[1]) + (l[2] + l[3]);
    }
  }
};

inline __m128 lane_mask(uint32_t bits4) {
  const __m128i sel = _mm_setr_epi32(1, 2, 4, 8);
  return _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(_mm_set1_epi32((int)bits4), sel), sel));
}
inline __m128 select(__m128 m, __m128 a, __m128 b) { return _mm_or_ps(_mm_and_ps(m, a), _mm_andnot_ps(m, b)); }
inline __m128 ld(const float* p) { return _mm_loadu_ps(p); }
inline void st(float* p, __m128 v) { _mm_storeu_ps(p, v); }
inline __m128 sp(float v) { return _mm_set1_ps(v); }

// Forward: composites Gaussian k (alphas ab[0..n)) over tile row `row`, columns x0..x1.
// Returns how many pixels stopped (their next transmittance would fall below 1e-4).
inline int composite_row(const TileGaussians& tg, int k, int row, int x0, int x1, const float* ab, PixelState& s) {
  const int c0 = x0 - tg.px0, n = x1 - x0 + 1, base = row * kTile + c0;
  uint32_t& done = s.done[row];
  const uint32_t todo = ((((2u << (n - 1)) - 1u) << c0) & ~done) >> c0;
  const __m128 zero = _mm_setzero_ps(), one = sp(1.f), tmin = sp(kTransmittanceMin);
  const __m128 cr = sp(tg.cr[k]), cg = sp(tg.cg[k]), cb = sp(tg.cbl[k]), cz = sp(tg.z[k]);
  const __m128i kk = _mm_set1_epi32(k);
  int stopped = 0;
  for (int j = 0; j < n; j += 4) {
    const uint32_t bits = (todo >> j) & 0xFu;
    if (!bits) continue;
    const int i = base + j;
    const __m128 a = ld(ab + j), t = ld(s.T + i);
    const __m128 m = _mm_and_ps(lane_mask(bits), _mm_cmpneq_ps(a, zero));
    const __m128 nt = _mm_mul_ps(t, _mm_sub_ps(one, a));
    const __m128 stop = _mm_and_ps(m, _mm_cmplt_ps(nt, tmin));
    if (const int sb = _mm_movemask_ps(stop)) {
      done |= (uint32_t)sb << (c0 + j);
      stopped += __builtin_popcount((unsigned)sb);
    }
    const __m128 c = _mm_andnot_ps(stop, m);
    const __m128 w = _mm_and_ps(c, _mm_mul_ps(a, t));
    st(s.r + i, _mm_add_ps(ld(s.r + i), _mm_mul_ps(w, cr)));
    st(s.g + i, _mm_add_ps(ld(s.g + i), _mm_mul_ps(w, cg)));
    st(s.b + i, _mm_add_ps(ld(s.b + i), _mm_mul_ps(w, cb)));
    st(s.d + i, _mm_add_ps(ld(s.d + i), _mm_mul_ps(w, cz)));
    st(s.T + i, select(c, nt, t));
    const __m128i ci = _mm_castps_si128(c);
    __m128i* lp = reinterpret_cast<__m128i*>(s.last + i);
    _mm_storeu_si128(lp, _mm_or_si128(_mm_and_si128(ci, kk), _mm_andnot_si128(ci, _mm_loadu_si128(lp))));
  }
  return stopped;
}

// Backward: Gaussian k (alphas ab, vis = exp(-power) vb) over tile row `row`, columns x0..x1,
// back to front: adds its gradients to acc and steps each pixel's state to before it.
inline void backprop_row(const TileGaussians& tg, int k, int row, int x0, int x1, const float* ab, const float* vb,
                         PixelState& s, GradAcc& acc) {
  const int c0 = x0 - tg.px0, n = x1 - x0 + 1, base = row * kTile + c0;
  const uint32_t lanes = (2u << (n - 1)) - 1u;
  const float dyf = tg.my[k] - (tg.py0 + row + 0.5f);
  const __m128 zero = _mm_setzero_ps(), one = sp(1.f), half = sp(0.5f);
  const __m128 cr = sp(tg.cr[k]), cg = sp(tg.cg[k]), cb = sp(tg.cbl[k]), cz = sp(tg.z[k]), op = sp(tg.op[k]);
  const __m128 ca = sp(tg.ca[k]), cbb = sp(tg.cb[k]), cc = sp(tg.cc[k]), dy = sp(dyf);
  const __m128i kk = _mm_set1_epi32(k);
  const __m128 mxv = sp(tg.mx[k]);
  __m128 xc = pixel_centres(x0);
  for (int j = 0; j < n; j += 4, xc = _mm_add_ps(xc, sp(4.f))) {
    const __m128 dx = _mm_sub_ps(mxv, xc);  // as in row_alphas
    const int i = base + j;
    const __m128 a = ld(ab + j), vis = ld(vb + j);
    const __m128 after_last = _mm_castsi128_ps(
        _mm_cmpgt_epi32(kk, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.last + i))));
    const __m128 m = _mm_andnot_ps(after_last, _mm_and_ps(lane_mask((lanes >> j) & 0xFu), _mm_cmpneq_ps(a, zero)));
    if (!_mm_movemask_ps(m)) continue;
    const __m128 om = _mm_sub_ps(one, a);
    const __m128 T = ld(s.T + i), Ti = _mm_div_ps(T, select(m, om, one));  // before this Gaussian
    const __m128 w = _mm_and_ps(m, _mm_mul_ps(a, Ti));
    const __m128 vr = ld(s.vr + i), vg = ld(s.vg + i), vbl = ld(s.vb + i), vA = ld(s.vA + i), vD = ld(s.vD + i);
    const __m128 Rr = ld(s.r + i), Rg = ld(s.g + i), Rb = ld(s.b + i), Rd = ld(s.Rd + i), Q = ld(s.Q + i);
    acc.v[kGR] = _mm_add_ps(acc.v[kGR], _mm_mul_ps(w, vr));
    acc.v[kGG] = _mm_add_ps(acc.v[kGG], _mm_mul_ps(w, vg));
    acc.v[kGB] = _mm_add_ps(acc.v[kGB], _mm_mul_ps(w, vbl));
    acc.v[kGZ] = _mm_add_ps(acc.v[kGZ], _mm_mul_ps(w, vD));
    __m128 va = _mm_add_ps(_mm_mul_ps(_mm_sub_ps(cr, Rr), vr), _mm_mul_ps(_mm_sub_ps(cg, Rg), vg));
    va = _mm_add_ps(va, _mm_mul_ps(_mm_sub_ps(cb, Rb), vbl));
    va = _mm_add_ps(va, _mm_mul_ps(_mm_sub_ps(cz, Rd), vD));
    va = _mm_and_ps(m, _mm_mul_ps(Ti, _mm_add_ps(va, _mm_mul_ps(Q, vA))));
    st(s.r + i, select(m, _mm_add_ps(_mm_mul_ps(cr, a), _mm_mul_ps(om, Rr)), Rr));
    st(s.g + i, select(m, _mm_add_ps(_mm_mul_ps(cg, a), _mm_mul_ps(om, Rg)), Rg));
    st(s.b + i, select(m, _mm_add_ps(_mm_mul_ps(cb, a), _mm_mul_ps(om, Rb)), Rb));
    st(s.Rd + i, select(m, _mm_add_ps(_mm_mul_ps(cz, a), _mm_mul_ps(om, Rd)), Rd));
    st(s.Q + i, select(m, _mm_mul_ps(om, Q), Q));
    st(s.T + i, select(m, Ti, T));
    // Through alpha = opacity * vis (no gradient where alpha was clamped).
    const __m128 ov = _mm_mul_ps(op, vis);
    const __m128 g = _mm_andnot_ps(_mm_cmpgt_ps(ov, sp(kAlphaMax)), m);
    acc.v[kGOp] = _mm_add_ps(acc.v[kGOp], _mm_and_ps(g, _mm_mul_ps(vis, va)));
    const __m128 vp = _mm_and_ps(g, _mm_sub_ps(zero, _mm_mul_ps(ov, va)));
    acc.v[kGCa] = _mm_add_ps(acc.v[kGCa], _mm_mul_ps(_mm_mul_ps(half, _mm_mul_ps(dx, dx)), vp));
    acc.v[kGCb] = _mm_add_ps(acc.v[kGCb], _mm_mul_ps(_mm_mul_ps(dx, dy), vp));
    acc.v[kGCc] = _mm_add_ps(acc.v[kGCc], _mm_mul_ps(_mm_mul_ps(half, _mm_mul_ps(dy, dy)), vp));
    acc.v[kGMx] = _mm_add_ps(acc.v[kGMx], _mm_mul_ps(_mm_add_ps(_mm_mul_ps(ca, dx), _mm_mul_ps(cbb, dy)), vp));
    acc.v[kGMy] = _mm_add_ps(acc.v[kGMy], _mm_mul_ps(_mm_add_ps(_mm_mul_ps(cbb, dx), _mm_mul_ps(cc, dy)), vp));
  }
}
#else
struct GradAcc {
  float v[kPairGrads] = {};
  void store(float* out) const { std::copy_n(v, kPairGrads, out); }
};

inline int composite_row(const TileGaussians& tg, int k, int row, int x0, int x1, const float* ab, PixelState& s) {
  uint32_t& done = s.done[row];
  int stopped = 0;
  for (int px = x0; px <= x1; ++px) {
    const int i = row * kTile + (px - tg.px0);
    const float a = ab[px - x0];
    const uint32_t bit = 1u << (px - tg.px0);
    if (a == 0.f || (done & bit)) continue;
    const float next_T = s.T[i] * (1.f - a);
    if (next_T < kTransmittanceMin) {
      done |= bit;
      ++stopped;
      continue;
    }
    const float w = a * s.T[i];
    s.r[i] += w * tg.cr[k];
    s.g[i] += w * tg.cg[k];
    s.b[i] += w * tg.cbl[k];
    s.d[i] += w * tg.z[k];
    s.T[i] = next_T;
    s.last[i] = k;
  }
  return stopped;
}

inline void backprop_row(const TileGaussians& tg, int k, int row, int x0, int x1, const float* ab, const float* vb,
                         PixelState& s, GradAcc& acc) {
  const float dy = tg.my[k] - (tg.py0 + row + 0.5f);
  float* A = acc.v;
  for (int px = x0; px <= x1; ++px) {
    const int i = row * kTile + (px - tg.px0);
    const float a = ab[px - x0], vis = vb[px - x0];
    if (a == 0.f || k > s.last[i]) continue;
    const float dx = tg.mx[k] - (px + 0.5f);
    const float om = 1.f - a;
    const float Ti = s.T[i] / om;
    const float w = a * Ti;
    A[kGR] += w * s.vr[i];
    A[kGG] += w * s.vg[i];
    A[kGB] += w * s.vb[i];
    A[kGZ] += w * s.vD[i];
    const float va = Ti * ((tg.cr[k] - s.r[i]) * s.vr[i] + (tg.cg[k] - s.g[i]) * s.vg[i] +
                           (tg.cbl[k] - s.b[i]) * s.vb[i] + (tg.z[k] - s.Rd[i]) * s.vD[i] + s.Q[i] * s.vA[i]);
    s.r[i] = tg.cr[k] * a + om * s.r[i];
    s.g[i] = tg.cg[k] * a + om * s.g[i];
    s.b[i] = tg.cbl[k] * a + om * s.b[i];
    s.Rd[i] = tg.z[k] * a + om * s.Rd[i];
    s.Q[i] *= om;
    s.T[i] = Ti;
    const float ov = tg.op[k] * vis;
    if (ov > kAlphaMax) continue;
    A[kGOp] += vis * va;
    const float vp = -ov * va;
    A[kGCa] += 0.5f * dx * dx * vp;
    A[kGCb] += dx * dy * vp;
    A[kGCc] += 0.5f * dy * dy * vp;
    A[kGMx] += (tg.ca[k] * dx + tg.cb[k] * dy) * vp;
    A[kGMy] += (tg.cb[k] * dx + tg.cc[k] * dy) * vp;
  }
}
#endif

}  // namespace camgraph::splat::cpu
