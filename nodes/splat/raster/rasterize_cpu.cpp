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

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "splat/raster/backends.h"
#include "splat/raster/parallel.h"
#include "splat/raster/rasterize_cpu_tile.h"

namespace camgraph::splat {

namespace {
using namespace cpu;

// Runs fn(tile, scratch) for every tile on all threads; tiles are handed out dynamically
// (their costs differ a lot) and each thread owns one Scratch.
template <typename Scratch, typename Fn>
void for_each_tile(int tiles, Fn&& fn) {
  std::atomic<int> next{0};
  run_workers(std::max(1, std::min(cpu_threads(), tiles)), [&](int) {
    Scratch scratch;
    for (int t = next++; t < tiles; t = next++) fn(t, scratch);
  });
}

struct Scratch {
  TileGaussians tg;
  PixelState px;
  std::vector<int> bucket;  // backward: first pixel whose last contributor is k
};

// Support constants of every listed Gaussian (others are never read).
std::vector<Support> supports(const Inputs& p, int n, const int* radii) {
  std::vector<Support> out(n);
  parallel_chunks(n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g)
      if (radii[g] > 0 && p.opacities[g] >= kAlphaMin) out[g] = make_support(p.conics + 3 * g, p.opacities[g]);
  });
  return out;
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
  parallel_chunks(n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g)
      listed[g] = gaussian_tiles(p.means2d + 2 * g, p.conics + 3 * g, p.opacities[g], p.radii[g], grid.tiles_x,
                                 grid.tiles_y, &rects[4 * g]);
  });
  // Front to back: sort (depth bits, index) packed in 64 bits; depths are > 0, so their bit
  // patterns order like their values, and ties keep index order.
  std::vector<uint64_t> keys;
  keys.reserve(n);
  for (int g = 0; g < n; ++g)
    if (listed[g]) {
      uint32_t bits;
      std::memcpy(&bits, p.depths + g, 4);
      keys.push_back((uint64_t)bits << 32 | (uint32_t)g);
    }
  std::sort(keys.begin(), keys.end());
  std::vector<int> order(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) order[i] = (int)(uint32_t)keys[i];
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
  RasterOutput out = empty_raster_output(in);
  out.bins = bin_tiles_cpu(in);
  const int* offsets = out.bins.tile_offsets.data_ptr<int>();
  const int* ids = out.bins.gauss_ids.data_ptr<int>();
  float* rgb = out.rgb.data_ptr<float>();
  float* alpha = out.alpha.data_ptr<float>();
  float* depth = out.depth.data_ptr<float>();
  float* trans = out.transmittance.data_ptr<float>();
  int* last = out.last_ids.data_ptr<int>();
  const float bg[3] = {in.background[0], in.background[1], in.background[2]};

  const std::vector<Support> support = supports(p, (int)in.means2d.size(0), p.radii);
  for_each_tile<Scratch>(grid.tiles(), [&](int tile, Scratch& s) {
    TileGaussians& tg = s.tg;
    PixelState& st = s.px;
    const int count = offsets[tile + 1] - offsets[tile];
    tg.load(p, support.data(), grid, tile, ids + offsets[tile], count);
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
        const int row = py - tg.py0;
        if (!trim_span(st.done[row] ^ 0xFFFFu, tg.px0, &x0, &x1)) continue;  // skip stopped pixels
        float ab[kTile], vb[kTile];
        tg.row_alphas(k, py, x0, x1, ab, vb);
        alive -= composite_row(tg, k, row, x0, x1, ab, st);
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
  // Every slot is written by its tile below (no need to zero here).
  std::unique_ptr<float[]> pair_grads(new float[(size_t)pairs * kPairGrads]);

  const std::vector<Support> support = supports(p, (int)in.means2d.size(0), p.radii);
  for_each_tile<Scratch>(grid.tiles(), [&](int tile, Scratch& s) {
    TileGaussians& tg = s.tg;
    PixelState& st = s.px;
    const int count = offsets[tile + 1] - offsets[tile];
    if (count == 0) return;
    tg.load(p, support.data(), grid, tile, ids + offsets[tile], count);
    int max_last = -1;
    s.bucket.assign(count, -1);
    for (int py = tg.py0; py < tg.py1; ++py)
      for (int px = tg.px0; px < tg.px1; ++px) {
        const int i = (py - tg.py0) * kTile + (px - tg.px0);
        const int64_t pix = (int64_t)py * grid.width + px;
        st.T[i] = trans[pix];
        st.last[i] = last[pix];
        max_last = std::max(max_last, last[pix]);
        if (last[pix] >= 0) {
          st.next[i] = s.bucket[last[pix]];
          s.bucket[last[pix]] = i;
        }
        // R (st.r/g/b, st.Rd): colour/depth composited behind the current Gaussian relative to the
        // transmittance after it; Q: final transmittance relative to the same.
        st.r[i] = bg[0];
        st.g[i] = bg[1];
        st.b[i] = bg[2];
        st.Rd[i] = 0.f;
        st.Q[i] = 1.f;
        st.vr[i] = v_rgb[3 * pix];
        st.vg[i] = v_rgb[3 * pix + 1];
        st.vb[i] = v_rgb[3 * pix + 2];
        // alpha_out = 1 - T, depth = D / alpha_out.
        const float A = 1.f - trans[pix];
        st.vA[i] = v_alpha ? v_alpha[pix] : 0.f;
        st.vD[i] = 0.f;
        if (v_depth && A > 0.f) {
          st.vD[i] = v_depth[pix] / A;
          st.vA[i] -= v_depth[pix] * depth[pix] / A;
        }
      }
    float* pair_base = pair_grads.get() + (size_t)offsets[tile] * kPairGrads;
    std::fill_n(pair_base, (size_t)count * kPairGrads, 0.f);
    std::fill_n(st.active, kTile, 0u);
    for (int k = max_last; k >= 0; --k) {  // back to front
      for (int i = s.bucket[k]; i >= 0; i = st.next[i]) st.active[i / kTile] |= 1u << (i % kTile);
      GradAcc acc;
      for (int py = tg.y0[k]; py <= tg.y1[k]; ++py) {
        int x0, x1;
        const int row = py - tg.py0;
        if (!st.active[row] || !tg.row_span(k, py, &x0, &x1) || !trim_span(st.active[row], tg.px0, &x0, &x1)) continue;
        float ab[kTile], vb[kTile];
        tg.row_alphas(k, py, x0, x1, ab, vb);
        backprop_row(tg, k, row, x0, x1, ab, vb, st, acc);
      }
      acc.store(pair_base + (size_t)k * kPairGrads);
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
  parallel_chunks(n, 512, [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g) {
      float sum[kPairGrads] = {};
      for (int j = g_start[g]; j < g_start[g + 1]; ++j) {
        const float* acc = pair_grads.get() + (size_t)g_pairs[j] * kPairGrads;
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
