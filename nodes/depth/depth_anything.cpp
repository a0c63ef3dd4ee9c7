#include "depth/depth_anything.h"

#include <ATen/ATen.h>

#include <cmath>
#include <set>

#include "camgraph/formats/torch_checkpoint.h"

namespace camgraph::depth {

namespace fs = std::filesystem;

namespace {

std::string shape_str(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// Residual conv unit of the DPT fusion blocks: x + conv2(relu(conv1(relu(x)))).
at::Tensor residual_unit(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2,
                         const at::Tensor& b2) {
  at::Tensor y = at::conv2d(at::relu(x), w1, b1, 1, 1);
  y = at::conv2d(at::relu(y), w2, b2, 1, 1);
  return y + x;
}

at::Tensor resize_bilinear_corners(const at::Tensor& x, int64_t h, int64_t w) {
  return at::upsample_bilinear2d(x, {h, w}, /*align_corners=*/true);
}

}  // namespace

std::vector<int64_t> DepthAnythingV2::intermediate_layers_for(int64_t blocks) {
  if (blocks == 12) return {2, 5, 8, 11};
  if (blocks == 24) return {4, 11, 17, 23};
  if (blocks == 40) return {9, 19, 29, 39};
  std::vector<int64_t> l;
  for (int64_t i = 1; i <= 4; ++i) l.push_back(std::max<int64_t>(0, blocks * i / 4 - 1));
  return l;
}

DepthAnythingV2::DepthAnythingV2(const fs::path& file, const DepthAnythingOptions& options) : options_(options) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw DepthAnythingError(file.string() + " does not exist or is not a file");
  std::map<std::string, at::Tensor> weights;
  try {
    CheckpointOptions o;
    o.allow_unknown_globals = false;  // a published state dict needs none: anything else is refused by name
    weights = load_torch_checkpoint(file, o);
  } catch (const std::exception& e) {
    throw DepthAnythingError(std::string(e.what()));
  }
  init(std::move(weights), file.filename().string());
}

DepthAnythingV2::DepthAnythingV2(std::map<std::string, at::Tensor> weights, const DepthAnythingOptions& options,
                                 const std::string& source)
    : options_(options) {
  init(std::move(weights), source);
}

const at::Tensor& DepthAnythingV2::w(const std::string& key) const { return w_.at(key); }

void DepthAnythingV2::init(std::map<std::string, at::Tensor> weights, const std::string& source) {
  auto fail = [&](const std::string& m) -> void { throw DepthAnythingError(source + ": " + m); };
  std::set<std::string> used;
  auto need = [&](const std::string& key, std::vector<int64_t> shape) {
    auto it = weights.find(key);
    if (it == weights.end()) {
      std::string hint;
      if (!weights.empty()) hint = " (its first tensor is '" + weights.begin()->first + "')";
      fail("no tensor '" + key + "': not a Depth Anything V2 checkpoint in the original layout" + hint);
    }
    const at::Tensor& t = it->second;
    bool ok = t.dim() == int64_t(shape.size());
    for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || t.size(int64_t(i)) == shape[i];
    if (!ok) {
      std::string want = "[";
      for (size_t i = 0; i < shape.size(); ++i)
        want += (i ? ", " : "") + (shape[i] < 0 ? std::string("*") : std::to_string(shape[i]));
      fail("'" + key + "' has shape " + shape_str(t) + ", expected " + want + "]");
    }
    used.insert(key);
    return t;
  };

  // Backbone sizes from the patch embedding and the block count.
  const at::Tensor pe = need("pretrained.patch_embed.proj.weight", {-1, 3, 14, 14});
  hidden_ = pe.size(0);
  const int64_t C = hidden_;
  blocks_ = 0;
  while (weights.count("pretrained.blocks." + std::to_string(blocks_) + ".norm1.weight")) ++blocks_;
  if (blocks_ < 1) fail("no 'pretrained.blocks.0.*' tensors (DINOv2 blocks, block_chunks = 0 as in Depth Anything V2)");
  heads_ = options_.num_heads > 0 ? options_.num_heads : (C % 64 == 0 ? C / 64 : 0);
  if (heads_ <= 0 || C % heads_ != 0)
    fail("cannot split hidden size " + std::to_string(C) +
         " into attention heads (published models use 64-wide heads; "
         "give the head count)");
  switch (C) {
    case 384: variant_ = "vits"; break;
    case 768: variant_ = "vitb"; break;
    case 1024: variant_ = "vitl"; break;
    case 1536: variant_ = "vitg"; break;
    default: variant_ = "vit-" + std::to_string(C) + "x" + std::to_string(blocks_);
  }
  layers_ = intermediate_layers_for(blocks_);

  need("pretrained.patch_embed.proj.bias", {C});
  need("pretrained.cls_token", {1, 1, C});
  const at::Tensor pos = need("pretrained.pos_embed", {1, -1, C});
  const int64_t M = int64_t(std::lround(std::sqrt(double(pos.size(1) - 1))));
  if (M * M + 1 != pos.size(1))
    fail("'pretrained.pos_embed' has " + std::to_string(pos.size(1)) + " positions, not 1 + a square grid");
  if (weights.count("pretrained.mask_token")) used.insert("pretrained.mask_token");  // training only
  for (int64_t i = 0; i < blocks_; ++i) {
    const std::string b = "pretrained.blocks." + std::to_string(i) + ".";
    need(b + "norm1.weight", {C});
    need(b + "norm1.bias", {C});
    need(b + "attn.qkv.weight", {3 * C, C});
    need(b + "attn.qkv.bias", {3 * C});
    need(b + "attn.proj.weight", {C, C});
    need(b + "attn.proj.bias", {C});
    need(b + "ls1.gamma", {C});
    need(b + "norm2.weight", {C});
    need(b + "norm2.bias", {C});
    const int64_t hid = need(b + "mlp.fc1.weight", {-1, C}).size(0);
    need(b + "mlp.fc1.bias", {hid});
    need(b + "mlp.fc2.weight", {C, hid});
    need(b + "mlp.fc2.bias", {C});
    need(b + "ls2.gamma", {C});
  }
  need("pretrained.norm.weight", {C});
  need("pretrained.norm.bias", {C});

  const std::string h = "depth_head.";
  std::vector<int64_t> oc;
  for (int i = 0; i < 4; ++i) {
    const std::string p = h + "projects." + std::to_string(i) + ".";
    oc.push_back(need(p + "weight", {-1, C, 1, 1}).size(0));
    need(p + "bias", {oc.back()});
  }
  need(h + "resize_layers.0.weight", {oc[0], oc[0], 4, 4});
  need(h + "resize_layers.0.bias", {oc[0]});
  need(h + "resize_layers.1.weight", {oc[1], oc[1], 2, 2});
  need(h + "resize_layers.1.bias", {oc[1]});
  need(h + "resize_layers.3.weight", {oc[3], oc[3], 3, 3});
  need(h + "resize_layers.3.bias", {oc[3]});
  const int64_t F = need(h + "scratch.layer1_rn.weight", {-1, oc[0], 3, 3}).size(0);
  for (int i = 1; i < 4; ++i)
    need(h + "scratch.layer" + std::to_string(i + 1) + "_rn.weight", {F, oc[size_t(i)], 3, 3});
  for (int r = 1; r <= 4; ++r) {
    const std::string p = h + "scratch.refinenet" + std::to_string(r) + ".";
    need(p + "out_conv.weight", {F, F, 1, 1});
    need(p + "out_conv.bias", {F});
    for (int u = 1; u <= 2; ++u)
      for (int c = 1; c <= 2; ++c) {
        const std::string q = p + "resConfUnit" + std::to_string(u) + ".conv" + std::to_string(c) + ".";
        need(q + "weight", {F, F, 3, 3});
        need(q + "bias", {F});
      }
  }
  const int64_t F2 = need(h + "scratch.output_conv1.weight", {-1, F, 3, 3}).size(0);
  need(h + "scratch.output_conv1.bias", {F2});
  const int64_t H2 = need(h + "scratch.output_conv2.0.weight", {-1, F2, 3, 3}).size(0);
  need(h + "scratch.output_conv2.0.bias", {H2});
  need(h + "scratch.output_conv2.2.weight", {1, H2, 1, 1});
  need(h + "scratch.output_conv2.2.bias", {1});

  for (const auto& [k, t] : weights)
    if (!used.count(k)) {
      std::string hint;
      if (k.find("readout_projects") != std::string::npos)
        hint = " (a DPT head with class-token readout: not in Depth Anything V2)";
      if (k.find(".bn") != std::string::npos) hint = " (a DPT head with batch norm: not in Depth Anything V2)";
      fail("unexpected tensor '" + k + "'" + hint + ": not a Depth Anything V2 checkpoint in the original layout");
    }
  for (const auto& k : used) w_[k] = weights[k].to(options_.device, at::kFloat).contiguous();
}

at::Tensor DepthAnythingV2::position_embedding(int64_t ph, int64_t pw) const {
  const at::Tensor& pos = w("pretrained.pos_embed");  // [1, 1 + M*M, C]
  const int64_t N = pos.size(1) - 1, C = hidden_;
  if (N == ph * pw && ph == pw) return pos;
  const int64_t M = int64_t(std::lround(std::sqrt(double(N))));
  const at::Tensor grid = pos.slice(1, 1).reshape({1, M, M, C}).permute({0, 3, 1, 2});
  // DINOv2 interpolates by scale factor (ph + 0.1) / M: the sampling positions follow that factor,
  // not ph / M.
  const at::Tensor r = at::upsample_bicubic2d(grid, {ph, pw}, /*align_corners=*/false, double(ph + 0.1) / double(M),
                                              double(pw + 0.1) / double(M));
  return at::cat({pos.slice(1, 0, 1), r.permute({0, 2, 3, 1}).reshape({1, ph * pw, C})}, 1);
}

at::Tensor DepthAnythingV2::forward(const at::Tensor& input) const {
  TORCH_CHECK(input.dim() == 4 && input.size(1) == 3, "Depth Anything V2 expects [B, 3, H, W]");
  const at::Tensor x = input.to(options_.device, at::kFloat);
  const int64_t B = x.size(0), ph = x.size(2) / 14, pw = x.size(3) / 14, C = hidden_;
  TORCH_CHECK(ph > 0 && pw > 0, "Depth Anything V2 needs an input of at least 14x14");

  // ---- DINOv2 ----
  at::Tensor t = at::conv2d(x, w("pretrained.patch_embed.proj.weight"), w("pretrained.patch_embed.proj.bias"), 14);
  t = t.flatten(2).transpose(1, 2);                                  // [B, ph*pw, C]
  t = at::cat({w("pretrained.cls_token").expand({B, 1, C}), t}, 1);  // [B, 1+ph*pw, C]
  t = t + position_embedding(ph, pw);
  const int64_t T = t.size(1), D = C / heads_;
  const double scale = 1.0 / std::sqrt(double(D));
  std::vector<at::Tensor> feats;
  for (int64_t i = 0; i < blocks_; ++i) {
    const std::string b = "pretrained.blocks." + std::to_string(i) + ".";
    at::Tensor y = at::layer_norm(t, {C}, w(b + "norm1.weight"), w(b + "norm1.bias"), 1e-6);
    at::Tensor qkv = at::linear(y, w(b + "attn.qkv.weight"), w(b + "attn.qkv.bias"));
    qkv = qkv.reshape({B, T, 3, heads_, D}).permute({2, 0, 3, 1, 4});  // [3, B, heads, T, D]
    const at::Tensor q = qkv[0] * scale, k = qkv[1], v = qkv[2];
    at::Tensor a = at::softmax(at::matmul(q, k.transpose(-2, -1)), -1);  // [B, heads, T, T]
    y = at::matmul(a, v).transpose(1, 2).reshape({B, T, C});
    y = at::linear(y, w(b + "attn.proj.weight"), w(b + "attn.proj.bias"));
    t = t + w(b + "ls1.gamma") * y;
    y = at::layer_norm(t, {C}, w(b + "norm2.weight"), w(b + "norm2.bias"), 1e-6);
    y = at::linear(at::gelu(at::linear(y, w(b + "mlp.fc1.weight"), w(b + "mlp.fc1.bias"))), w(b + "mlp.fc2.weight"),
                   w(b + "mlp.fc2.bias"));
    t = t + w(b + "ls2.gamma") * y;
    for (int64_t l : layers_)
      if (l == i) {
        at::Tensor f = at::layer_norm(t, {C}, w("pretrained.norm.weight"), w("pretrained.norm.bias"), 1e-6);
        feats.push_back(f.slice(1, 1).transpose(1, 2).reshape({B, C, ph, pw}));
      }
  }

  // ---- DPT head ----
  const std::string h = "depth_head.";
  std::vector<at::Tensor> lv;
  for (int i = 0; i < 4; ++i) {
    const std::string n = std::to_string(i);
    at::Tensor f = at::conv2d(feats[size_t(i)], w(h + "projects." + n + ".weight"), w(h + "projects." + n + ".bias"));
    if (i == 0) f = at::conv_transpose2d(f, w(h + "resize_layers.0.weight"), w(h + "resize_layers.0.bias"), 4);
    if (i == 1) f = at::conv_transpose2d(f, w(h + "resize_layers.1.weight"), w(h + "resize_layers.1.bias"), 2);
    if (i == 3) f = at::conv2d(f, w(h + "resize_layers.3.weight"), w(h + "resize_layers.3.bias"), 2, 1);
    lv.push_back(at::conv2d(f, w(h + "scratch.layer" + std::to_string(i + 1) + "_rn.weight"), {}, 1, 1));
  }
  auto fusion = [&](int r, at::Tensor z, const at::Tensor& skip, int64_t oh, int64_t ow) {
    const std::string p = h + "scratch.refinenet" + std::to_string(r) + ".";
    auto unit = [&](const at::Tensor& u, const std::string& n) {
      const std::string q = p + n + ".";
      return residual_unit(u, w(q + "conv1.weight"), w(q + "conv1.bias"), w(q + "conv2.weight"), w(q + "conv2.bias"));
    };
    if (skip.defined()) z = z + unit(skip, "resConfUnit1");
    z = unit(z, "resConfUnit2");
    z = resize_bilinear_corners(z, oh, ow);
    return at::conv2d(z, w(p + "out_conv.weight"), w(p + "out_conv.bias"));
  };
  at::Tensor p = fusion(4, lv[3], {}, lv[2].size(2), lv[2].size(3));
  p = fusion(3, p, lv[2], lv[1].size(2), lv[1].size(3));
  p = fusion(2, p, lv[1], lv[0].size(2), lv[0].size(3));
  p = fusion(1, p, lv[0], 2 * lv[0].size(2), 2 * lv[0].size(3));
  at::Tensor o = at::conv2d(p, w(h + "scratch.output_conv1.weight"), w(h + "scratch.output_conv1.bias"), 1, 1);
  o = resize_bilinear_corners(o, 14 * ph, 14 * pw);
  o = at::relu(at::conv2d(o, w(h + "scratch.output_conv2.0.weight"), w(h + "scratch.output_conv2.0.bias"), 1, 1));
  o = at::conv2d(o, w(h + "scratch.output_conv2.2.weight"), w(h + "scratch.output_conv2.2.bias"));
  o = options_.metric ? at::sigmoid(o) * options_.max_depth : at::relu(o);
  return o.select(1, 0);
}

}  // namespace camgraph::depth
