// CPU tile rasterizer, forward and backward.
//
// Binning: visible Gaussians are sorted once by (depth, index) and appended to every tile they
// touch in that order, so each tile's list is already front to back (no per-tile sort).
// Forward: threads take whole tiles from a shared counter; a tile gathers its Gaussians into
// SoA scratch, splits them into per-row lists, and composites each pixel front to back.
// Backward: each pixel replays its forward pass (keeping alpha and transmittance per contribution,
// no division by 1 - alpha), then walks back to front. Gradients go to a per-(tile, Gaussian)
// pair buffer owned by the tile, and are summed per Gaussian in tile order: no atomics, results
// are bitwise identical whatever the thread scheduling.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
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

// One tile's Gaussians as SoA, plus per-row lists of the ones whose support box covers the row.
struct TileGaussians {
  std::vector<float> mx, my, ca, cb, cc, op, cr, cg, cbl, z;
  std::vector<int> x0, x1;              // pixel columns covered (inclusive, clipped to the tile)
  std::vector<int> row_start, row_ids;  // CSR: row r holds row_ids[row_start[r] .. row_start[r+1])

  void load(const Inputs& in, const Grid& grid, int tile, const int* ids, int count) {
    for (auto* v : {&mx, &my, &ca, &cb, &cc, &op, &cr, &cg, &cbl, &z}) v->resize(count);
    x0.resize(count);
    x1.resize(count);
    const int tx = tile % grid.tiles_x, ty = tile / grid.tiles_x;
    const int px0 = tx * kTile, py0 = ty * kTile;
    const int px1 = std::min(grid.width, px0 + kTile) - 1, py1 = std::min(grid.height, py0 + kTile) - 1;
    int y0[1024], y1[1024];  // rows per Gaussian, for lists up to 1024 (else a heap vector)
    std::vector<int> ybig;
    int* ylo = y0;
    int* yhi = y1;
    if (count > 1024) {
      ybig.resize(2 * count);
      ylo = ybig.data();
      yhi = ybig.data() + count;
    }
    row_start.assign(kTile + 1, 0);
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
      pixel_span(mx[k], ex, px0, px1, &x0[k], &x1[k]);
      pixel_span(my[k], ey, py0, py1, &ylo[k], &yhi[k]);
      if (x0[k] > x1[k]) yhi[k] = ylo[k] - 1;  // no column: drop from every row
      for (int y = ylo[k]; y <= yhi[k]; ++y) ++row_start[y - py0 + 1];
    }
    for (int r = 0; r < kTile; ++r) row_start[r + 1] += row_start[r];
    row_ids.resize(row_start[kTile]);
    int cursor[kTile];
    for (int r = 0; r < kTile; ++r) cursor[r] = row_start[r];
    for (int k = 0; k < count; ++k)
      for (int y = ylo[k]; y <= yhi[k]; ++y) row_ids[cursor[y - py0]++] = k;
  }
};

struct FwdScratch {
  TileGaussians tg;
};

struct BwdScratch {
  TileGaussians tg;
  std::vector<int> k;
  std::vector<float> alpha, trans, vis;
};

// The power of Gaussian k at pixel centre (fx, fy), with d = mean - pixel.
inline float gauss_power(const TileGaussians& tg, int k, float fx, float fy, float* dx, float* dy) {
  *dx = tg.mx[k] - fx;
  *dy = tg.my[k] - fy;
  return 0.5f * (tg.ca[k] * *dx * *dx + tg.cc[k] * *dy * *dy) + tg.cb[k] * *dx * *dy;
}

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
  const int* offsets = out.bins.tile_offsets.data_ptr<int>();
  const int* ids = out.bins.gauss_ids.data_ptr<int>();
  float* rgb = out.rgb.data_ptr<float>();
  float* alpha = out.alpha.data_ptr<float>();
  float* depth = out.depth.data_ptr<float>();
  const float bg[3] = {in.background[0], in.background[1], in.background[2]};

  for_each_tile<FwdScratch>(grid.tiles(), [&](int tile, FwdScratch& s) {
    TileGaussians& tg = s.tg;
    tg.load(p, grid, tile, ids + offsets[tile], offsets[tile + 1] - offsets[tile]);
    const int px0 = (tile % grid.tiles_x) * kTile, py0 = (tile / grid.tiles_x) * kTile;
    const int px1 = std::min(grid.width, px0 + kTile), py1 = std::min(grid.height, py0 + kTile);
    for (int py = py0; py < py1; ++py) {
      const int* row = tg.row_ids.data() + tg.row_start[py - py0];
      const int row_n = tg.row_start[py - py0 + 1] - tg.row_start[py - py0];
      const float fy = py + 0.5f;
      for (int px = px0; px < px1; ++px) {
        const float fx = px + 0.5f;
        float T = 1.f, r = 0.f, g = 0.f, b = 0.f, d = 0.f;
        for (int i = 0; i < row_n; ++i) {
          const int k = row[i];
          if (px < tg.x0[k] || px > tg.x1[k]) continue;
          float dx, dy;
          const float power = gauss_power(tg, k, fx, fy, &dx, &dy);
          if (power < 0.f) continue;
          const float a = std::min(kAlphaMax, tg.op[k] * std::exp(-power));
          if (a < kAlphaMin) continue;
          const float next_T = T * (1.f - a);
          if (next_T < kTransmittanceMin) break;
          const float w = a * T;
          r += w * tg.cr[k];
          g += w * tg.cg[k];
          b += w * tg.cbl[k];
          d += w * tg.z[k];
          T = next_T;
        }
        const int64_t pix = (int64_t)py * grid.width + px;
        rgb[3 * pix] = r + T * bg[0];
        rgb[3 * pix + 1] = g + T * bg[1];
        rgb[3 * pix + 2] = b + T * bg[2];
        const float A = 1.f - T;
        alpha[pix] = A;
        depth[pix] = A > 0.f ? d / A : 0.f;
      }
    }
  });
  return out;
}

RasterGrads rasterize_bwd_cpu(const RasterInputs& in, const TileBins& bins, const at::Tensor& v_rgb_t,
                              const at::Tensor& v_alpha_t, const at::Tensor& v_depth_t) {
  const Grid grid(in);
  const Inputs p(in);
  const int n = (int)in.means2d.size(0);
  const int* offsets = bins.tile_offsets.data_ptr<int>();
  const int* ids = bins.gauss_ids.data_ptr<int>();
  const int pairs = offsets[grid.tiles()];
  const float* v_rgb = v_rgb_t.data_ptr<float>();
  const float* v_alpha = v_alpha_t.defined() ? v_alpha_t.data_ptr<float>() : nullptr;
  const float* v_depth = v_depth_t.defined() ? v_depth_t.data_ptr<float>() : nullptr;
  const float bg[3] = {in.background[0], in.background[1], in.background[2]};
  std::vector<float> pair_grads((size_t)pairs * kPairGrads, 0.f);

  for_each_tile<BwdScratch>(grid.tiles(), [&](int tile, BwdScratch& s) {
    TileGaussians& tg = s.tg;
    const int count = offsets[tile + 1] - offsets[tile];
    if (count == 0) return;
    tg.load(p, grid, tile, ids + offsets[tile], count);
    s.k.resize(count);
    s.alpha.resize(count);
    s.trans.resize(count);
    s.vis.resize(count);
    float* acc_base = pair_grads.data() + (size_t)offsets[tile] * kPairGrads;
    const int px0 = (tile % grid.tiles_x) * kTile, py0 = (tile / grid.tiles_x) * kTile;
    const int px1 = std::min(grid.width, px0 + kTile), py1 = std::min(grid.height, py0 + kTile);
    for (int py = py0; py < py1; ++py) {
      const int* row = tg.row_ids.data() + tg.row_start[py - py0];
      const int row_n = tg.row_start[py - py0 + 1] - tg.row_start[py - py0];
      const float fy = py + 0.5f;
      for (int px = px0; px < px1; ++px) {
        const float fx = px + 0.5f;
        // Forward replay.
        float T = 1.f, D = 0.f;
        int m = 0;
        for (int i = 0; i < row_n; ++i) {
          const int k = row[i];
          if (px < tg.x0[k] || px > tg.x1[k]) continue;
          float dx, dy;
          const float power = gauss_power(tg, k, fx, fy, &dx, &dy);
          if (power < 0.f) continue;
          const float vis = std::exp(-power);
          const float a = std::min(kAlphaMax, tg.op[k] * vis);
          if (a < kAlphaMin) continue;
          const float next_T = T * (1.f - a);
          if (next_T < kTransmittanceMin) break;
          s.k[m] = k;
          s.alpha[m] = a;
          s.trans[m] = T;
          s.vis[m] = vis;
          ++m;
          D += a * T * tg.z[k];
          T = next_T;
        }
        if (m == 0) continue;
        const int64_t pix = (int64_t)py * grid.width + px;
        const float vr = v_rgb[3 * pix], vg = v_rgb[3 * pix + 1], vb = v_rgb[3 * pix + 2];
        // alpha_out = 1 - T, depth = D / alpha_out.
        const float A = 1.f - T;
        float vA = v_alpha ? v_alpha[pix] : 0.f, vD = 0.f;
        if (v_depth && A > 0.f) {
          vD = v_depth[pix] / A;
          vA -= v_depth[pix] * D / (A * A);
        }
        // Back to front. R*: colour/depth behind the current Gaussian relative to its
        // transmittance after it; Q: T_final relative to the same.
        float Rr = bg[0], Rg = bg[1], Rb = bg[2], Rd = 0.f, Q = 1.f;
        for (int j = m - 1; j >= 0; --j) {
          const int k = s.k[j];
          const float a = s.alpha[j], Ti = s.trans[j], vis = s.vis[j];
          const float w = a * Ti;
          float* acc = acc_base + (size_t)k * kPairGrads;
          acc[kGR] += w * vr;
          acc[kGG] += w * vg;
          acc[kGB] += w * vb;
          acc[kGZ] += w * vD;
          const float v_a = Ti * ((tg.cr[k] - Rr) * vr + (tg.cg[k] - Rg) * vg + (tg.cbl[k] - Rb) * vb +
                                  (tg.z[k] - Rd) * vD + Q * vA);
          const float om = 1.f - a;
          Rr = tg.cr[k] * a + om * Rr;
          Rg = tg.cg[k] * a + om * Rg;
          Rb = tg.cbl[k] * a + om * Rb;
          Rd = tg.z[k] * a + om * Rd;
          Q *= om;
          if (tg.op[k] * vis > kAlphaMax) continue;  // alpha clamped: no gradient
          acc[kGOp] += vis * v_a;
          const float v_power = -tg.op[k] * vis * v_a;
          float dx, dy;
          gauss_power(tg, k, fx, fy, &dx, &dy);
          acc[kGCa] += 0.5f * dx * dx * v_power;
          acc[kGCb] += dx * dy * v_power;
          acc[kGCc] += 0.5f * dy * dy * v_power;
          acc[kGMx] += (tg.ca[k] * dx + tg.cb[k] * dy) * v_power;
          acc[kGMy] += (tg.cb[k] * dx + tg.cc[k] * dy) * v_power;
        }
      }
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
  RasterGrads out{at::zeros({n, 2}, opts), at::zeros({n, 3}, opts), at::zeros({n, 3}, opts), at::zeros({n}, opts),
                  at::zeros({n}, opts)};
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
