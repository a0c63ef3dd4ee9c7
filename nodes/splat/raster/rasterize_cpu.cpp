// CPU tile rasterizer, forward and backward.
//
// Binning: visible Gaussians are sorted once by (depth, index) and appended to every tile they
// touch in that order, so each tile's list is already front to back (no per-tile sort).
// Threads take whole tiles from a shared counter. Inside a tile the loop is Gaussian-major:
// each Gaussian visits only the pixels of its rows where its alpha can reach 1/255 (an exact
// per-row interval of its ellipse), updating per-pixel state kept in the tile's scratch.
// Forward composites front to back and records each pixel's final transmittance and last
// contributor. Backward walks the list back to front, recovering each pixel's transmittance
// before a Gaussian as T / (1 - alpha) (the same float (1 - alpha) the forward multiplied by).
// Each Gaussian's gradients are summed in registers, stored in a per-(tile, Gaussian) pair slot
// owned by the tile, and pair slots are summed per Gaussian in tile order: no atomics, results
// are bitwise identical whatever the thread scheduling.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <cmath>
#include <numeric>
#include <vector>

#include "splat/raster/backends.h"

namespace camgraph::splat {

namespace {

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
  __m128 p = _mm_set1_ps(kExpC[0]);
  for (int i = 1; i < 6; ++i) p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(kExpC[i]));
  p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, r), r), r), _mm_set1_ps(1.f));
  return _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(p), _mm_slli_epi32(ni, 23)));
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

// Runs fn(tile, scratch) for every tile on all threads; tiles are handed out dynamically
// (their costs differ a lot) and each thread owns one Scratch.
template <typename Scratch, typename Fn>
void for_each_tile(int tiles, Fn&& fn) {
  std::atomic<int> next{0};
  const int workers = std::max(1, std::min<int>(at::get_num_threads(), tiles));
  at::parallel_for(0, workers, 1, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      Scratch scratch;
      for (int t = next++; t < tiles; t = next++) fn(t, scratch);
    }
  });
}

// One tile's Gaussians as SoA, with the rows of the tile each one can reach.
struct TileGaussians {
  std::vector<float> mx, my, ca, cb, cc, op, cr, cg, cbl, z, thresh;
  std::vector<int> y0, y1;  // tile rows covered (inclusive, absolute pixel rows)
  int px0, py0, px1, py1;   // the tile's pixels: [px0, px1) x [py0, py1)

  void load(const Inputs& in, const Grid& grid, int tile, const int* ids, int count) {
    for (auto* v : {&mx, &my, &ca, &cb, &cc, &op, &cr, &cg, &cbl, &z, &thresh}) v->resize(count);
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
      float ex = 0.f, ey = 0.f;
      alpha_support(con, op[k], &ex, &ey);  // true for every binned Gaussian
      thresh[k] = std::log(op[k] / kAlphaMin) + 2e-3f;
      pixel_span(my[k], ey, py0, py1 - 1, &y0[k], &y1[k]);
    }
  }

  // Columns [x0, x1] of row py where Gaussian k's power can be <= its threshold (conservative:
  // every pixel where alpha >= 1/255 is inside). False when none.
  bool row_span(int k, int py, int* x0, int* x1) const {
    const float dy = my[k] - (py + 0.5f);
    // 0.5 a dx^2 + b dy dx + 0.5 c dy^2 <= t  with dx = mean - pixel.
    const float det = ca[k] * cc[k] - cb[k] * cb[k];
    const float disc = 2.f * ca[k] * thresh[k] - det * dy * dy;
    if (disc < 0.f) return false;
    const float root = std::sqrt(disc), inv_a = 1.f / ca[k];
    const float dx_lo = (-cb[k] * dy - root) * inv_a, dx_hi = (-cb[k] * dy + root) * inv_a;
    // Pixel centres fx = x + 0.5 with fx in [mx - dx_hi, mx - dx_lo], widened by 0.01 px.
    *x0 = (int)std::max((float)px0, std::ceil(mx[k] - dx_hi - 0.51f));
    *x1 = (int)std::min((float)(px1 - 1), std::floor(mx[k] - dx_lo - 0.49f));
    return *x0 <= *x1;
  }

  // Along row py, columns x0..x1 (at most kTile): alpha of Gaussian k (0 when skipped: power < 0
  // or alpha < 1/255) and vis = exp(-power). Writes up to 3 entries past x1 (buffers hold kTile).
  void row_alphas(int k, int py, int x0, int x1, float* alpha, float* vis) const {
    const float dy = my[k] - (py + 0.5f), dx0 = mx[k] - (x0 + 0.5f);
    const float qa = 0.5f * ca[k], qb = cb[k] * dy, qc = 0.5f * cc[k] * dy * dy, o = op[k];
    const int n = x1 - x0 + 1;
#ifdef __SSE2__
    const __m128 vqa = _mm_set1_ps(qa), vqb = _mm_set1_ps(qb), vqc = _mm_set1_ps(qc), vo = _mm_set1_ps(o);
    const __m128 amax = _mm_set1_ps(kAlphaMax), amin = _mm_set1_ps(kAlphaMin), zero = _mm_setzero_ps();
    for (int j = 0; j < n; j += 4) {
      const __m128 dx = _mm_sub_ps(_mm_set1_ps(dx0), _mm_setr_ps((float)j, j + 1.f, j + 2.f, j + 3.f));
      const __m128 power = _mm_add_ps(_mm_mul_ps(_mm_add_ps(_mm_mul_ps(vqa, dx), vqb), dx), vqc);
      const __m128 v = exp_neg4(_mm_sub_ps(zero, power));
      const __m128 a = _mm_min_ps(_mm_mul_ps(vo, v), amax);
      const __m128 skip = _mm_or_ps(_mm_cmplt_ps(power, zero), _mm_cmplt_ps(a, amin));
      _mm_storeu_ps(alpha + j, _mm_andnot_ps(skip, a));
      _mm_storeu_ps(vis + j, v);
    }
#else
    for (int j = 0; j < n; ++j) {
      const float dx = dx0 - (float)j;
      const float power = (qa * dx + qb) * dx + qc;
      const float v = exp_neg(-power);
      const float a = std::min(o * v, kAlphaMax);
      alpha[j] = (power < 0.f || a < kAlphaMin) ? 0.f : a;
      vis[j] = v;
    }
#endif
  }
};

// Per-pixel state of one tile (pixel p = (py - py0) * kTile + (px - px0)).
struct PixelState {
  float T[kPix], r[kPix], g[kPix], b[kPix], d[kPix];
  int last[kPix];
  uint32_t done[kTile];  // forward: per row, bit x set once pixel x stopped compositing
  int row_last[kTile];   // backward: per row, the largest last[]
};

struct Scratch {
  TileGaussians tg;
  PixelState px;
};

at::Tensor int_tensor(const std::vector<int>& v) {
  auto t = at::empty({(int64_t)v.size()}, at::kInt);
  std::copy(v.begin(), v.end(), t.data_ptr<int>());
  return t;
}

}  // namespace

TileBins bin_tiles_cpu(const RasterInputs& in) {
  const Grid grid(in);
  const Inputs p(in);
  const int n = (int)in.means2d.size(0);
  std::vector<int> rects(4 * (size_t)n);
  std::vector<char> listed(n, 0);
  at::parallel_for(0, n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g)
      listed[g] = gaussian_tiles(p.means2d + 2 * g, p.conics + 3 * g, p.opacities[g], p.radii[g], grid.tiles_x,
                                 grid.tiles_y, &rects[4 * g]);
  });
  std::vector<int> order;
  order.reserve(n);
  for (int g = 0; g < n; ++g)
    if (listed[g]) order.push_back(g);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const float da = p.depths[a], db = p.depths[b];
    return da < db || (da == db && a < b);
  });
  std::vector<int> offsets(grid.tiles() + 1, 0);
  for (int g : order) {
    const int* r = &rects[4 * g];
    for (int ty = r[1]; ty < r[3]; ++ty)
      for (int tx = r[0]; tx < r[2]; ++tx) ++offsets[ty * grid.tiles_x + tx + 1];
  }
  std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
  std::vector<int> cursor(offsets.begin(), offsets.end() - 1), ids(offsets.back());
  for (int g : order) {
    const int* r = &rects[4 * g];
    for (int ty = r[1]; ty < r[3]; ++ty)
      for (int tx = r[0]; tx < r[2]; ++tx) ids[cursor[ty * grid.tiles_x + tx]++] = g;
  }
  return TileBins{int_tensor(offsets), int_tensor(ids)};
}

RasterOutput rasterize_fwd_cpu(const RasterInputs& in) {
  const Grid grid(in);
  const Inputs p(in);
  RasterOutput out;
  out.bins = bin_tiles_cpu(in);
  const auto opts = in.means2d.options();
  out.rgb = at::empty({grid.height, grid.width, 3}, opts);
  out.alpha = at::empty({grid.height, grid.width}, opts);
  out.depth = at::empty({grid.height, grid.width}, opts);
  out.transmittance = at::empty({grid.height, grid.width}, opts);
  out.last_ids = at::empty({grid.height, grid.width}, opts.dtype(at::kInt));
  const int* offsets = out.bins.tile_offsets.data_ptr<int>();
  const int* ids = out.bins.gauss_ids.data_ptr<int>();
  float* rgb = out.rgb.data_ptr<float>();
  float* alpha = out.alpha.data_ptr<float>();
  float* depth = out.depth.data_ptr<float>();
  float* trans = out.transmittance.data_ptr<float>();
  int* last = out.last_ids.data_ptr<int>();
  const float bg[3] = {in.background[0], in.background[1], in.background[2]};

  for_each_tile<Scratch>(grid.tiles(), [&](int tile, Scratch& s) {
    TileGaussians& tg = s.tg;
    PixelState& st = s.px;
    const int count = offsets[tile + 1] - offsets[tile];
    tg.load(p, grid, tile, ids + offsets[tile], count);
    std::fill_n(st.T, kPix, 1.f);
    std::fill_n(st.r, kPix, 0.f);
    std::fill_n(st.g, kPix, 0.f);
    std::fill_n(st.b, kPix, 0.f);
    std::fill_n(st.d, kPix, 0.f);
    std::fill_n(st.last, kPix, -1);
    std::fill_n(st.done, kTile, 0u);
    int alive = (tg.px1 - tg.px0) * (tg.py1 - tg.py0);
    for (int k = 0; k < count && alive > 0; ++k) {
      for (int py = tg.y0[k]; py <= tg.y1[k]; ++py) {
        int x0, x1;
        if (!tg.row_span(k, py, &x0, &x1)) continue;
        uint32_t& done = st.done[py - tg.py0];
        const uint32_t span = ((2u << (x1 - x0)) - 1u) << (x0 - tg.px0);
        if ((done & span) == span) continue;  // every pixel of the span has stopped
        float ab[kTile], vb[kTile];
        tg.row_alphas(k, py, x0, x1, ab, vb);
        const int row = (py - tg.py0) * kTile - tg.px0;
        for (int px = x0; px <= x1; ++px) {
          const int i = row + px;
          const float a = ab[px - x0];
          const uint32_t bit = 1u << (px - tg.px0);
          if (a == 0.f || (done & bit)) continue;
          const float next_T = st.T[i] * (1.f - a);
          if (next_T < kTransmittanceMin) {  // this Gaussian would make the pixel opaque: stop here
            done |= bit;
            --alive;
            continue;
          }
          const float w = a * st.T[i];
          st.r[i] += w * tg.cr[k];
          st.g[i] += w * tg.cg[k];
          st.b[i] += w * tg.cbl[k];
          st.d[i] += w * tg.z[k];
          st.T[i] = next_T;
          st.last[i] = k;
        }
      }
    }
    for (int py = tg.py0; py < tg.py1; ++py)
      for (int px = tg.px0; px < tg.px1; ++px) {
        const int i = (py - tg.py0) * kTile + (px - tg.px0);
        const int64_t pix = (int64_t)py * grid.width + px;
        const float T = st.T[i], A = 1.f - T;
        rgb[3 * pix] = st.r[i] + T * bg[0];
        rgb[3 * pix + 1] = st.g[i] + T * bg[1];
        rgb[3 * pix + 2] = st.b[i] + T * bg[2];
        alpha[pix] = A;
        depth[pix] = A > 0.f ? st.d[i] / A : 0.f;
        trans[pix] = T;
        last[pix] = st.last[i];
      }
  });
  return out;
}

RasterGrads rasterize_bwd_cpu(const RasterInputs& in, const RasterOutput& fwd, const at::Tensor& v_rgb_t,
                              const at::Tensor& v_alpha_t, const at::Tensor& v_depth_t) {
  const Grid grid(in);
  const Inputs p(in);
  const int n = (int)in.means2d.size(0);
  const int* offsets = fwd.bins.tile_offsets.data_ptr<int>();
  const int* ids = fwd.bins.gauss_ids.data_ptr<int>();
  const int pairs = offsets[grid.tiles()];
  const float* trans = fwd.transmittance.data_ptr<float>();
  const float* depth = fwd.depth.data_ptr<float>();
  const int* last = fwd.last_ids.data_ptr<int>();
  const float* v_rgb = v_rgb_t.data_ptr<float>();
  const float* v_alpha = v_alpha_t.defined() ? v_alpha_t.data_ptr<float>() : nullptr;
  const float* v_depth = v_depth_t.defined() ? v_depth_t.data_ptr<float>() : nullptr;
  const float bg[3] = {in.background[0], in.background[1], in.background[2]};
  std::vector<float> pair_grads((size_t)pairs * kPairGrads);

  // Per pixel: upstream gradients of rgb, alpha and the depth numerator D = depth * alpha.
  struct BwdPixels {
    float vr[kPix], vg[kPix], vb[kPix], vA[kPix], vD[kPix], Rd[kPix], Q[kPix];
  };
  struct BwdScratch : Scratch {
    BwdPixels v;
  };
  for_each_tile<BwdScratch>(grid.tiles(), [&](int tile, BwdScratch& s) {
    TileGaussians& tg = s.tg;
    PixelState& st = s.px;  // T: transmittance after the current Gaussian; r, g, b: R (see below)
    BwdPixels& v = s.v;
    const int count = offsets[tile + 1] - offsets[tile];
    if (count == 0) return;
    tg.load(p, grid, tile, ids + offsets[tile], count);
    int max_last = -1;
    std::fill_n(st.row_last, kTile, -1);
    for (int py = tg.py0; py < tg.py1; ++py)
      for (int px = tg.px0; px < tg.px1; ++px) {
        const int i = (py - tg.py0) * kTile + (px - tg.px0);
        const int64_t pix = (int64_t)py * grid.width + px;
        st.T[i] = trans[pix];
        st.last[i] = last[pix];
        max_last = std::max(max_last, last[pix]);
        st.row_last[py - tg.py0] = std::max(st.row_last[py - tg.py0], last[pix]);
        st.r[i] = bg[0];
        st.g[i] = bg[1];
        st.b[i] = bg[2];
        v.Rd[i] = 0.f;
        v.Q[i] = 1.f;
        v.vr[i] = v_rgb[3 * pix];
        v.vg[i] = v_rgb[3 * pix + 1];
        v.vb[i] = v_rgb[3 * pix + 2];
        // alpha_out = 1 - T, depth = D / alpha_out.
        const float A = 1.f - trans[pix];
        v.vA[i] = v_alpha ? v_alpha[pix] : 0.f;
        v.vD[i] = 0.f;
        if (v_depth && A > 0.f) {
          v.vD[i] = v_depth[pix] / A;
          v.vA[i] -= v_depth[pix] * depth[pix] / A;
        }
      }
    float* pair_base = pair_grads.data() + (size_t)offsets[tile] * kPairGrads;
    std::fill_n(pair_base, (size_t)count * kPairGrads, 0.f);
    // Back to front. Per pixel, R (st.r/g/b, v.Rd) is the colour/depth composited behind the
    // current Gaussian relative to the transmittance after it; Q is T_final relative to the same.
    for (int k = max_last; k >= 0; --k) {
      float acc[kPairGrads] = {};
      for (int py = tg.y0[k]; py <= tg.y1[k]; ++py) {
        int x0, x1;
        if (k > st.row_last[py - tg.py0] || !tg.row_span(k, py, &x0, &x1)) continue;
        float ab[kTile], vb[kTile];
        tg.row_alphas(k, py, x0, x1, ab, vb);
        const int row = (py - tg.py0) * kTile - tg.px0;
        const float dy = tg.my[k] - (py + 0.5f), dx0 = tg.mx[k] - (x0 + 0.5f);
        for (int px = x0; px <= x1; ++px) {
          const int i = row + px;
          const float a = ab[px - x0], vis = vb[px - x0];
          if (a == 0.f || k > st.last[i]) continue;
          const float dx = dx0 - (float)(px - x0);
          const float om = 1.f - a;
          const float Ti = st.T[i] / om;  // transmittance before this Gaussian
          const float w = a * Ti;
          acc[kGR] += w * v.vr[i];
          acc[kGG] += w * v.vg[i];
          acc[kGB] += w * v.vb[i];
          acc[kGZ] += w * v.vD[i];
          const float v_a = Ti * ((tg.cr[k] - st.r[i]) * v.vr[i] + (tg.cg[k] - st.g[i]) * v.vg[i] +
                                  (tg.cbl[k] - st.b[i]) * v.vb[i] + (tg.z[k] - v.Rd[i]) * v.vD[i] +
                                  v.Q[i] * v.vA[i]);
          st.r[i] = tg.cr[k] * a + om * st.r[i];
          st.g[i] = tg.cg[k] * a + om * st.g[i];
          st.b[i] = tg.cbl[k] * a + om * st.b[i];
          v.Rd[i] = tg.z[k] * a + om * v.Rd[i];
          v.Q[i] *= om;
          st.T[i] = Ti;
          if (tg.op[k] * vis > kAlphaMax) continue;  // alpha clamped: no gradient
          acc[kGOp] += vis * v_a;
          const float v_power = -tg.op[k] * vis * v_a;
          acc[kGCa] += 0.5f * dx * dx * v_power;
          acc[kGCb] += dx * dy * v_power;
          acc[kGCc] += 0.5f * dy * dy * v_power;
          acc[kGMx] += (tg.ca[k] * dx + tg.cb[k] * dy) * v_power;
          acc[kGMy] += (tg.cb[k] * dx + tg.cc[k] * dy) * v_power;
        }
      }
      std::copy_n(acc, kPairGrads, pair_base + (size_t)k * kPairGrads);
    }
  });

  // Pairs of each Gaussian, in tile order.
  std::vector<int> g_start(n + 1, 0), g_pairs(pairs);
  for (int i = 0; i < pairs; ++i) ++g_start[ids[i] + 1];
  std::partial_sum(g_start.begin(), g_start.end(), g_start.begin());
  {
    std::vector<int> cursor(g_start.begin(), g_start.end() - 1);
    for (int i = 0; i < pairs; ++i) g_pairs[cursor[ids[i]]++] = i;
  }
  const auto opts = in.means2d.options();
  RasterGrads out{at::empty({n, 2}, opts), at::empty({n, 3}, opts), at::empty({n, 3}, opts), at::empty({n}, opts),
                  at::empty({n}, opts)};
  float* o_m = out.v_means2d.data_ptr<float>();
  float* o_c = out.v_conics.data_ptr<float>();
  float* o_col = out.v_colors.data_ptr<float>();
  float* o_op = out.v_opacities.data_ptr<float>();
  float* o_z = out.v_depths.data_ptr<float>();
  at::parallel_for(0, n, 512, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g) {
      float sum[kPairGrads] = {};
      for (int j = g_start[g]; j < g_start[g + 1]; ++j) {
        const float* acc = pair_grads.data() + (size_t)g_pairs[j] * kPairGrads;
        for (int c = 0; c < kPairGrads; ++c) sum[c] += acc[c];
      }
      o_m[2 * g] = sum[kGMx];
      o_m[2 * g + 1] = sum[kGMy];
      o_c[3 * g] = sum[kGCa];
      o_c[3 * g + 1] = sum[kGCb];
      o_c[3 * g + 2] = sum[kGCc];
      o_col[3 * g] = sum[kGR];
      o_col[3 * g + 1] = sum[kGG];
      o_col[3 * g + 2] = sum[kGB];
      o_op[g] = sum[kGOp];
      o_z[g] = sum[kGZ];
    }
  });
  return out;
}

}  // namespace camgraph::splat
