// SD 1.5 UNet; see unet.h. Axis order [B, C, H, W]; tokens [B, N, C].
#include "sd/unet.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include "sd/weight_file.h"

namespace camgraph::sd {

namespace nn = torch::nn;

namespace {
nn::GroupNorm group_norm(int64_t groups, int64_t c, double eps) {
  return nn::GroupNorm(nn::GroupNormOptions(groups, c).eps(eps));
}
nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2));
}
nn::Linear linear(int64_t in, int64_t out, bool bias = true) {
  return nn::Linear(nn::LinearOptions(in, out).bias(bias));
}

// Applies a proj_in/proj_out module, Conv2d 1x1 on [B, C, H, W] or Linear on [B, N, C].
at::Tensor apply_proj(const std::shared_ptr<nn::Module>& m, const at::Tensor& x) {
  if (auto* c = dynamic_cast<nn::Conv2dImpl*>(m.get())) return c->forward(x);
  return dynamic_cast<nn::LinearImpl&>(*m).forward(x);
}
}  // namespace

UNetResnetImpl::UNetResnetImpl(int64_t in, int64_t out, int64_t temb, int64_t groups) {
  norm1 = register_module("norm1", group_norm(groups, in, 1e-5));
  conv1 = register_module("conv1", conv(in, out, 3));
  time_emb_proj = register_module("time_emb_proj", linear(temb, out));
  norm2 = register_module("norm2", group_norm(groups, out, 1e-5));
  conv2 = register_module("conv2", conv(out, out, 3));
  if (in != out) conv_shortcut = register_module("conv_shortcut", conv(in, out, 1));
}

at::Tensor UNetResnetImpl::forward(const at::Tensor& x, const at::Tensor& temb) {
  at::Tensor h = conv1(at::silu(norm1(x)));                           // [B, out, H, W]
  h = h + time_emb_proj(at::silu(temb)).unsqueeze(-1).unsqueeze(-1);  // + [B, out, 1, 1]
  h = conv2(at::silu(norm2(h)));
  return (conv_shortcut ? conv_shortcut(x) : x) + h;
}

UNetAttentionImpl::UNetAttentionImpl(int64_t c, int64_t context, int64_t heads_) : heads(heads_) {
  if (heads <= 0 || c % heads != 0)
    throw std::invalid_argument("UNet attention: " + std::to_string(c) + " channels do not split into " +
                                std::to_string(heads) + " heads");
  to_q = register_module("to_q", linear(c, c, false));
  to_k = register_module("to_k", linear(context, c, false));
  to_v = register_module("to_v", linear(context, c, false));
  to_out = register_module("to_out", nn::ModuleList());
  to_out->push_back(linear(c, c));
}

at::Tensor UNetAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const at::Tensor& kv = context.defined() ? context : x;
  const int64_t B = x.size(0), N = x.size(1), C = to_q->weight.size(0), L = kv.size(1), d = C / heads;
  const at::Tensor q = to_q(x).view({B, N, heads, d}).transpose(1, 2);   // [B, heads, N, d]
  const at::Tensor k = to_k(kv).view({B, L, heads, d}).transpose(1, 2);  // [B, heads, L, d]
  const at::Tensor v = to_v(kv).view({B, L, heads, d}).transpose(1, 2);  // [B, heads, L, d]
#if TORCH_VERSION_MAJOR >= 2
  const at::Tensor o = at::scaled_dot_product_attention(q, k, v);  // [B, heads, N, d]
#else
  // softmax(q k^T / sqrt(d)) v over slices of the queries, so that the [B, heads, n, L] scores stay
  // under 64 M elements (SD 1.5 at 512x512 with CFG: 8 slices of 512 of the 4096 positions).
  const int64_t chunk = std::max<int64_t>(1, (int64_t(64) << 20) / std::max<int64_t>(B * heads * L, 1));
  at::Tensor o = chunk >= N ? at::Tensor() : at::empty_like(q);
  const at::Tensor kt = k.transpose(-1, -2);  // [B, heads, d, L]
  for (int64_t s = 0; s < N; s += chunk) {
    const int64_t e = std::min(N, s + chunk);
    const at::Tensor w =
        at::matmul(q.slice(2, s, e), kt).mul_(1.0 / std::sqrt(double(d))).softmax(-1);  // [B, heads, n, L]
    if (chunk >= N) o = at::matmul(w, v);
    else o.slice(2, s, e).copy_(at::matmul(w, v));
  }
#endif
  return to_out->at<nn::LinearImpl>(0).forward(o.transpose(1, 2).reshape({B, N, C}));
}

UNetGegluImpl::UNetGegluImpl(int64_t c) { proj = register_module("proj", linear(c, 8 * c)); }

UNetFeedForwardImpl::UNetFeedForwardImpl(int64_t c) {
  net = register_module("net", nn::ModuleList());
  net->push_back(UNetGeglu(c));
  net->push_back(nn::Identity());  // diffusers' Dropout, no weights
  net->push_back(linear(4 * c, c));
}

at::Tensor UNetFeedForwardImpl::forward(const at::Tensor& x) {
  const auto hg = net->at<UNetGegluImpl>(0).proj->forward(x).chunk(2, -1);  // [B, N, 4C] x 2
  return net->at<nn::LinearImpl>(2).forward(hg[0] * at::gelu(hg[1]));
}

UNetTransformerBlockImpl::UNetTransformerBlockImpl(int64_t c, int64_t context, int64_t heads) {
  norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({c}).eps(1e-5)));
  attn1 = register_module("attn1", UNetAttention(c, c, heads));
  norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({c}).eps(1e-5)));
  attn2 = register_module("attn2", UNetAttention(c, context, heads));
  norm3 = register_module("norm3", nn::LayerNorm(nn::LayerNormOptions({c}).eps(1e-5)));
  ff = register_module("ff", UNetFeedForward(c));
}

at::Tensor UNetTransformerBlockImpl::forward(at::Tensor x, const at::Tensor& context) {
  x = x + attn1(norm1(x), at::Tensor());
  x = x + attn2(norm2(x), context);
  return x + ff(norm3(x));
}

UNetTransformerImpl::UNetTransformerImpl(int64_t c, const UNetConfig& cfg) {
  norm = register_module("norm", group_norm(cfg.norm_groups, c, 1e-6));
  if (cfg.linear_projection) {
    proj_in = register_module("proj_in", linear(c, c).ptr());
  } else {
    proj_in = register_module("proj_in", conv(c, c, 1).ptr());
  }
  transformer_blocks = register_module("transformer_blocks", nn::ModuleList());
  for (int64_t i = 0; i < cfg.transformer_depth; ++i)
    transformer_blocks->push_back(UNetTransformerBlock(c, cfg.context_dim, cfg.heads_for(c)));
  if (cfg.linear_projection) {
    proj_out = register_module("proj_out", linear(c, c).ptr());
  } else {
    proj_out = register_module("proj_out", conv(c, c, 1).ptr());
  }
}

at::Tensor UNetTransformerImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const bool linear_proj = dynamic_cast<nn::LinearImpl*>(proj_in.get()) != nullptr;
  at::Tensor h = norm(x);
  if (!linear_proj) h = apply_proj(proj_in, h);
  h = h.permute({0, 2, 3, 1}).reshape({B, H * W, C});  // [B, HW, C]
  if (linear_proj) h = apply_proj(proj_in, h);
  for (size_t i = 0; i < transformer_blocks->size(); ++i)
    h = transformer_blocks->at<UNetTransformerBlockImpl>(i).forward(h, context);
  if (linear_proj) h = apply_proj(proj_out, h);
  h = h.reshape({B, H, W, C}).permute({0, 3, 1, 2}).contiguous();  // [B, C, H, W]
  if (!linear_proj) h = apply_proj(proj_out, h);
  return h + x;
}

UNetSamplerImpl::UNetSamplerImpl(int64_t c, bool down) {
  conv = register_module("conv", sd::conv(c, c, 3, down ? 2 : 1));
}

UNetTimeEmbeddingImpl::UNetTimeEmbeddingImpl(int64_t in, int64_t out) {
  linear_1 = register_module("linear_1", linear(in, out));
  linear_2 = register_module("linear_2", linear(out, out));
}

UNetImpl::UNetImpl(const UNetConfig& c) : config_(c) {
  const size_t n = c.block_channels.size();
  if (n == 0 || c.cross_attention.size() != n)
    throw std::invalid_argument("UNet: block_channels and cross_attention must have the same, non-zero length");
  const int64_t temb = c.time_embed_dim(), g = c.norm_groups;
  time_embedding = register_module("time_embedding", UNetTimeEmbedding(c.block_channels[0], temb));
  conv_in = register_module("conv_in", conv(c.in_channels, c.block_channels[0], 3));
  down_blocks = register_module("down_blocks", nn::ModuleList());
  int64_t out = c.block_channels[0];
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = out;
    out = c.block_channels[i];
    UNetBlock b;
    b->resnets = b->register_module("resnets", nn::ModuleList());
    b->attentions = b->register_module("attentions", nn::ModuleList());
    b->samplers = b->register_module("downsamplers", nn::ModuleList());
    for (int64_t j = 0; j < c.layers_per_block; ++j) {
      b->resnets->push_back(UNetResnet(j == 0 ? in : out, out, temb, g));
      if (c.cross_attention[i]) b->attentions->push_back(UNetTransformer(out, c));
    }
    if (i + 1 < n) b->samplers->push_back(UNetSampler(out, true));
    down_blocks->push_back(b);
  }
  const int64_t top = c.block_channels.back();
  mid_block = register_module("mid_block", UNetBlock());
  mid_block->resnets = mid_block->register_module("resnets", nn::ModuleList());
  mid_block->attentions = mid_block->register_module("attentions", nn::ModuleList());
  mid_block->samplers = nn::ModuleList();  // not registered: no weights
  mid_block->resnets->push_back(UNetResnet(top, top, temb, g));
  mid_block->resnets->push_back(UNetResnet(top, top, temb, g));
  mid_block->attentions->push_back(UNetTransformer(top, c));
  up_blocks = register_module("up_blocks", nn::ModuleList());
  out = top;
  for (size_t i = 0; i < n; ++i) {  // up block i mirrors down block n-1-i
    const int64_t prev = out;
    out = c.block_channels[n - 1 - i];
    const int64_t skip_in = c.block_channels[n - 1 - std::min(i + 1, n - 1)];  // the down block's input
    UNetBlock b;
    b->resnets = b->register_module("resnets", nn::ModuleList());
    b->attentions = b->register_module("attentions", nn::ModuleList());
    b->samplers = b->register_module("upsamplers", nn::ModuleList());
    for (int64_t j = 0; j <= c.layers_per_block; ++j) {
      const int64_t skip = j == c.layers_per_block ? skip_in : out;
      b->resnets->push_back(UNetResnet((j == 0 ? prev : out) + skip, out, temb, g));
      if (c.cross_attention[n - 1 - i]) b->attentions->push_back(UNetTransformer(out, c));
    }
    if (i + 1 < n) b->samplers->push_back(UNetSampler(out, false));
    up_blocks->push_back(b);
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(g, c.block_channels[0], 1e-5));
  conv_out = register_module("conv_out", conv(c.block_channels[0], c.out_channels, 3));
}

at::Tensor unet_timestep_features(const at::Tensor& timesteps, int64_t dim) {
  const int64_t half = dim / 2;
  const at::Tensor k = at::arange(half, timesteps.options().dtype(at::kFloat));
  const at::Tensor freqs = at::exp(k * (-std::log(10000.0) / double(half)));           // [half]
  const at::Tensor args = timesteps.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);  // [B, half]
  at::Tensor emb = at::cat({at::cos(args), at::sin(args)}, 1);                         // [B, 2 half]
  if (dim % 2) emb = at::constant_pad_nd(emb, {0, 1});
  return emb;
}

at::Tensor UNetImpl::forward(const at::Tensor& latents, const at::Tensor& timesteps, const at::Tensor& context) {
  at::NoGradGuard no_grad;
  const int64_t B = latents.size(0);
  const auto dtype = conv_in->weight.scalar_type();
  const auto device = conv_in->weight.device();
  at::Tensor t = timesteps.to(device).reshape({-1});
  if (t.size(0) == 1 && B > 1) t = t.expand({B});
  if (t.size(0) != B)
    throw std::invalid_argument("UNet: " + std::to_string(t.size(0)) + " timesteps for a batch of " +
                                std::to_string(B));
  const at::Tensor ctx = context.to(device, dtype);                                          // [B, L, D]
  const at::Tensor tf = unet_timestep_features(t, config_.block_channels[0]).to(dtype);      // [B, 320]
  const at::Tensor temb = time_embedding->linear_2(at::silu(time_embedding->linear_1(tf)));  // [B, 1280]

  at::Tensor h = conv_in(latents.to(device, dtype));  // [B, 320, h, w]
  std::vector<at::Tensor> skips{h};
  for (size_t i = 0; i < down_blocks->size(); ++i) {
    auto& b = down_blocks->at<UNetBlockImpl>(i);
    for (size_t j = 0; j < b.resnets->size(); ++j) {
      h = b.resnets->at<UNetResnetImpl>(j).forward(h, temb);
      if (b.attentions->size()) h = b.attentions->at<UNetTransformerImpl>(j).forward(h, ctx);
      skips.push_back(h);
    }
    if (b.samplers->size()) {
      h = b.samplers->at<UNetSamplerImpl>(0).conv(h);  // [B, C, ceil(H/2), ceil(W/2)]
      skips.push_back(h);
    }
  }
  h = mid_block->resnets->at<UNetResnetImpl>(0).forward(h, temb);
  h = mid_block->attentions->at<UNetTransformerImpl>(0).forward(h, ctx);
  h = mid_block->resnets->at<UNetResnetImpl>(1).forward(h, temb);  // [B, 1280, h/8, w/8]
  for (size_t i = 0; i < up_blocks->size(); ++i) {
    auto& b = up_blocks->at<UNetBlockImpl>(i);
    for (size_t j = 0; j < b.resnets->size(); ++j) {
      h = at::cat({h, skips.back()}, 1);  // [B, C + skip, H, W]
      skips.pop_back();
      h = b.resnets->at<UNetResnetImpl>(j).forward(h, temb);
      if (b.attentions->size()) h = b.attentions->at<UNetTransformerImpl>(j).forward(h, ctx);
    }
    if (b.samplers->size()) {  // nearest 2x, or to the next skip's size when the input was odd
      const at::Tensor& next = skips.back();
      h = b.samplers->at<UNetSamplerImpl>(0).conv(at::upsample_nearest2d(h, {next.size(2), next.size(3)}));
    }
  }
  return conv_out(at::silu(conv_norm_out(h)));  // [B, 4, h, w]
}

std::string unet_ldm_key(const std::string& diffusers_key, const UNetConfig& c) {
  // The LDM <-> diffusers table of the UNet (checked in make_goldens.py against diffusers'
  // convert_ldm_unet_checkpoint). LDM numbers input_blocks 0 (conv_in), then per level
  // layers_per_block (resnet[, transformer]) entries and one downsampler; output_blocks per level
  // layers_per_block + 1 entries, the upsampler inside the last one.
  const std::string P = "model.diffusion_model.";
  const int64_t per = c.layers_per_block + 1;
  std::smatch m;
  auto resnet_inner = [](std::string rest) {
    static const std::pair<const char*, const char*> kResnet[] = {
        {"norm1", "in_layers.0"},  {"conv1", "in_layers.2"},  {"time_emb_proj", "emb_layers.1"},
        {"norm2", "out_layers.0"}, {"conv2", "out_layers.3"}, {"conv_shortcut", "skip_connection"},
    };
    for (const auto& [d, l] : kResnet) {
      const size_t n = std::strlen(d);
      if (rest.compare(0, n, d) == 0 && (rest.size() == n || rest[n] == '.')) return l + rest.substr(n);
    }
    return rest;
  };
  static const std::regex fixed_re(
      "^(time_embedding\\.linear_1|time_embedding\\.linear_2|conv_in|conv_norm_out|conv_out)(\\..*)?$");
  static const std::regex down_re("^down_blocks\\.(\\d+)\\.(resnets|attentions)\\.(\\d+)(\\.(.*))?$");
  static const std::regex downs_re("^down_blocks\\.(\\d+)\\.downsamplers\\.0\\.conv(\\..*)?$");
  static const std::regex mid_re("^mid_block\\.(resnets|attentions)\\.(\\d+)(\\.(.*))?$");
  static const std::regex up_re("^up_blocks\\.(\\d+)\\.(resnets|attentions)\\.(\\d+)(\\.(.*))?$");
  static const std::regex ups_re("^up_blocks\\.(\\d+)\\.upsamplers\\.0\\.conv(\\..*)?$");
  auto inner = [&](bool resnet, const std::ssub_match& rest) {
    if (!rest.matched) return std::string();
    return "." + (resnet ? resnet_inner(rest.str()) : rest.str());
  };
  if (std::regex_match(diffusers_key, m, fixed_re)) {
    static const std::map<std::string, std::string> kFixed = {
        {"time_embedding.linear_1", "time_embed.0"},
        {"time_embedding.linear_2", "time_embed.2"},
        {"conv_in", "input_blocks.0.0"},
        {"conv_norm_out", "out.0"},
        {"conv_out", "out.2"},
    };
    return P + kFixed.at(m[1].str()) + m[2].str();
  }
  if (std::regex_match(diffusers_key, m, down_re)) {
    const bool resnet = m[2] == "resnets";
    const int64_t idx = 1 + std::stoll(m[1]) * per + std::stoll(m[3]);
    return P + "input_blocks." + std::to_string(idx) + (resnet ? ".0" : ".1") + inner(resnet, m[5]);
  }
  if (std::regex_match(diffusers_key, m, downs_re))
    return P + "input_blocks." + std::to_string(1 + std::stoll(m[1]) * per + c.layers_per_block) + ".0.op" + m[2].str();
  if (std::regex_match(diffusers_key, m, mid_re)) {
    const bool resnet = m[1] == "resnets";
    const int64_t idx = resnet ? 2 * std::stoll(m[2]) : 1;
    return P + "middle_block." + std::to_string(idx) + inner(resnet, m[4]);
  }
  if (std::regex_match(diffusers_key, m, up_re)) {
    const bool resnet = m[2] == "resnets";
    const int64_t idx = std::stoll(m[1]) * per + std::stoll(m[3]);
    return P + "output_blocks." + std::to_string(idx) + (resnet ? ".0" : ".1") + inner(resnet, m[5]);
  }
  if (std::regex_match(diffusers_key, m, ups_re)) {
    const int64_t i = std::stoll(m[1]);
    const size_t level = c.block_channels.size() - 1 - size_t(i);
    const bool attn = level < c.cross_attention.size() && c.cross_attention[level];
    return P + "output_blocks." + std::to_string(i * per + c.layers_per_block) + (attn ? ".2" : ".1") + ".conv" +
           m[2].str();
  }
  return P + diffusers_key;
}

UNetHints unet_hints_from_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the UNet config");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": not a UNet config.json (" + e.what() + ")");
  }
  UNetHints h;
  // diffusers: num_attention_heads, when set, else attention_head_dim (which SD 1.x/2.x configs
  // use for the head count, a per-level list in SD 2.x).
  const nlohmann::json heads = j.contains("num_attention_heads") && !j["num_attention_heads"].is_null()
                                   ? j["num_attention_heads"]
                                   : j.value("attention_head_dim", nlohmann::json());
  const nlohmann::json widths = j.value("block_out_channels", nlohmann::json());
  if (heads.is_number_integer()) h.heads = heads.get<int64_t>();
  else if (heads.is_array() && !heads.empty() && widths.is_array() && !widths.empty() && heads[0].get<int64_t>() > 0)
    h.head_dim = widths[0].get<int64_t>() / heads[0].get<int64_t>();
  if (j.contains("norm_num_groups") && j["norm_num_groups"].is_number_integer())
    h.norm_groups = j["norm_num_groups"].get<int64_t>();
  return h;
}

UNet load_unet(const WeightFile& file) {
  const std::filesystem::path config = std::filesystem::path(file.source()).parent_path() / "config.json";
  std::error_code ec;
  return load_unet(
      file, std::filesystem::is_regular_file(config, ec) ? unet_hints_from_config(config.string()) : UNetHints{});
}

UNet load_unet(const WeightFile& file, const UNetHints& hints) {
  std::string prefix;
  const bool ldm = file.contains("model.diffusion_model.input_blocks.0.0.weight");
  if (ldm) {
    prefix = "model.diffusion_model.";
  } else if (!file.contains("conv_in.weight")) {
    if (file.contains("unet.conv_in.weight")) prefix = "unet.";
    else
      throw std::runtime_error(file.source() +
                               ": no UNet found (expected conv_in.weight, unet.conv_in.weight or "
                               "model.diffusion_model.input_blocks.0.0.weight)");
  }
  if (file.contains(prefix + (ldm ? "label_emb.0.0.weight" : "add_embedding.linear_1.weight")))
    throw std::runtime_error(file.source() + ": this is an SDXL UNet (" + prefix +
                             (ldm ? "label_emb.0.0.weight" : "add_embedding.linear_1.weight") +
                             "); only SD 1.x/2.x UNets are supported");
  auto shape = [&](const std::string& key) {
    if (!file.contains(prefix + key))
      throw std::runtime_error(file.source() + ": UNet tensor missing: " + prefix + key);
    return file.shape(prefix + key);
  };
  UNetConfig c;
  const auto conv_in_shape = shape(ldm ? "input_blocks.0.0.weight" : "conv_in.weight");  // [C0, 4, 3, 3]
  if (conv_in_shape.size() != 4)
    throw std::runtime_error(file.source() + ": " + prefix + (ldm ? "input_blocks.0.0.weight" : "conv_in.weight") +
                             " has shape " + c10::str(conv_in_shape) + ", expected a 4-D conv weight");
  c.in_channels = conv_in_shape[1];
  c.out_channels = shape(ldm ? "out.2.weight" : "conv_out.weight")[0];
  // The structure from the key names: diffusers down_blocks.N.resnets.M / attentions.M; LDM
  // input_blocks.K.0 (resnet or downsampler op) and input_blocks.K.1 (transformer).
  std::map<int64_t, std::set<int64_t>> resnets;  // diffusers: down block -> resnet indices
  std::map<int64_t, bool> attn;
  std::map<int64_t, bool> ldm_op, ldm_attn, ldm_res;  // LDM input block -> has op / transformer / resnet
  int64_t depth = 0;
  static const std::regex d_res("^down_blocks\\.(\\d+)\\.resnets\\.(\\d+)\\.conv1\\.weight$");
  static const std::regex d_att("^down_blocks\\.(\\d+)\\.attentions\\.(\\d+)\\.proj_in\\.weight$");
  static const std::regex l_in("^input_blocks\\.(\\d+)\\.(0\\.op|0\\.in_layers\\.2|1\\.proj_in)\\.weight$");
  static const std::regex blocks_re("transformer_blocks\\.(\\d+)\\.attn1\\.to_q\\.weight$");
  for (const std::string& name : file.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    std::smatch m;
    if (std::regex_search(rest, m, blocks_re)) depth = std::max<int64_t>(depth, std::stoll(m[1]) + 1);
    if (ldm && std::regex_match(rest, m, l_in)) {
      const int64_t k = std::stoll(m[1]);
      (m[2] == "0.op" ? ldm_op : m[2] == "1.proj_in" ? ldm_attn : ldm_res)[k] = true;
    } else if (!ldm && std::regex_match(rest, m, d_res)) {
      resnets[std::stoll(m[1])].insert(std::stoll(m[2]));
    } else if (!ldm && std::regex_match(rest, m, d_att)) {
      attn[std::stoll(m[1])] = true;
    }
  }
  c.block_channels.clear();
  c.cross_attention.clear();
  std::string attn_key;  // one proj_in weight, for the projection kind
  if (ldm) {
    // Levels end at each downsampler op; the last level has none.
    int64_t level_res = 0;
    bool level_attn = false;
    int64_t first = 1;
    const int64_t last = ldm_res.empty() ? 0 : ldm_res.rbegin()->first;
    for (int64_t k = 1; k <= std::max(last, ldm_op.empty() ? 0 : ldm_op.rbegin()->first); ++k) {
      if (ldm_res.count(k)) {
        ++level_res;
        level_attn = level_attn || ldm_attn.count(k);
        if (ldm_attn.count(k) && attn_key.empty()) attn_key = "input_blocks." + std::to_string(k) + ".1.proj_in.weight";
      }
      const bool end = ldm_op.count(k) || k == last;
      if (end) {
        if (level_res == 0)
          throw std::runtime_error(file.source() + ": UNet input block " + std::to_string(k) + " has no resnet");
        if (!c.block_channels.empty() && level_res != c.layers_per_block)
          throw std::runtime_error(file.source() + ": UNet levels have different resnet counts");
        c.layers_per_block = level_res;
        c.block_channels.push_back(shape("input_blocks." + std::to_string(first) + ".0.in_layers.2.weight")[0]);
        c.cross_attention.push_back(level_attn);
        first = k + 1;
        level_res = 0;
        level_attn = false;
      }
    }
  } else {
    for (const auto& [i, rs] : resnets) {
      if (i != int64_t(c.block_channels.size()))
        throw std::runtime_error(file.source() + ": UNet down_blocks are not numbered 0..N-1 (found " +
                                 std::to_string(i) + ")");
      c.layers_per_block = int64_t(rs.size());
      c.block_channels.push_back(shape("down_blocks." + std::to_string(i) + ".resnets.0.conv1.weight")[0]);
      c.cross_attention.push_back(attn.count(i) > 0);
      if (attn.count(i) && attn_key.empty())
        attn_key = "down_blocks." + std::to_string(i) + ".attentions.0.proj_in.weight";
    }
  }
  if (c.block_channels.empty()) throw std::runtime_error(file.source() + ": UNet has no down blocks");
  c.norm_groups = 32;
  // GroupNorm groups are not stored; 32 (SD) unless the narrowest level is not divisible by 32.
  for (int64_t ch : c.block_channels)
    while (ch % c.norm_groups) c.norm_groups /= 2;
  if (!attn_key.empty()) {
    c.linear_projection = shape(attn_key).size() == 2;
    const std::string k_key = attn_key.substr(0, attn_key.size() - std::strlen("proj_in.weight")) +
                              "transformer_blocks.0.attn2.to_k.weight";
    c.context_dim = shape(k_key)[1];
    c.transformer_depth = std::max<int64_t>(depth, 1);
    // SD 2.x (Linear projections, context 1024) uses 64-wide heads; SD 1.x eight heads.
    if (c.linear_projection && c.context_dim == 1024) c.head_dim = 64;
  }
  if (hints.norm_groups > 0) c.norm_groups = hints.norm_groups;
  if (hints.heads > 0) {
    c.heads = hints.heads;
    c.head_dim = 0;
  } else if (hints.head_dim > 0) {
    c.head_dim = hints.head_dim;
  }
  for (size_t i = 0; i < c.block_channels.size(); ++i) {
    const int64_t ch = c.block_channels[i];
    const bool attention = c.cross_attention[i] || i + 1 == c.block_channels.size();  // the mid block has one
    const int64_t heads = c.heads_for(ch);
    if (ch % c.norm_groups != 0 || (attention && (heads <= 0 || ch % heads != 0)))
      throw std::runtime_error(file.source() + ": UNet level of " + std::to_string(ch) +
                               " channels does not split into " + std::to_string(c.norm_groups) + " norm groups and " +
                               std::to_string(heads) + " attention heads (pass UNetHints or a config.json)");
  }
  UNet unet(c);
  at::NoGradGuard no_grad;
  for (auto& kv : unet->named_parameters()) {
    const std::string key = ldm ? unet_ldm_key(kv.key(), c) : prefix + kv.key();
    if (!file.contains(key)) throw std::runtime_error(file.source() + ": UNet tensor missing: " + key);
    const auto s = file.shape(key);
    int64_t numel = 1;
    for (int64_t d : s) numel *= d;
    // A 1x1 conv and a Linear of the same size are interchangeable (proj_in/proj_out across versions).
    if (numel != kv.value().numel() || s.empty() || s[0] != kv.value().size(0))
      throw std::runtime_error(file.source() + ": tensor " + key + " has shape " + c10::str(s) + ", the UNet expects " +
                               c10::str(kv.value().sizes()));
    kv.value().copy_(file.get_float(key).view(kv.value().sizes()));
  }
  unet->eval();
  return unet;
}

}  // namespace camgraph::sd
