// CLIP text encoder; see clip_text_encoder.h. Axis order: [batch B, tokens L, width D].
#include "sd/clip_text_encoder.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <stdexcept>

#include "sd/weight_file.h"

namespace camgraph::sd {

namespace nn = torch::nn;

ClipAttentionImpl::ClipAttentionImpl(const ClipTextConfig& c) : heads(c.heads) {
  q_proj = register_module("q_proj", nn::Linear(c.width, c.width));
  k_proj = register_module("k_proj", nn::Linear(c.width, c.width));
  v_proj = register_module("v_proj", nn::Linear(c.width, c.width));
  out_proj = register_module("out_proj", nn::Linear(c.width, c.width));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x, const at::Tensor& causal_mask) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2), d = D / heads;
  auto split = [&](const at::Tensor& t) { return t.view({B, L, heads, d}).transpose(1, 2); };  // [B, H, L, d]
  const at::Tensor q = split(q_proj(x) * (1.0 / std::sqrt(double(d))));
  const at::Tensor k = split(k_proj(x)), v = split(v_proj(x));
  const at::Tensor w = at::softmax(at::matmul(q, k.transpose(-1, -2)) + causal_mask, -1);  // [B, H, L, L]
  return out_proj(at::matmul(w, v).transpose(1, 2).reshape({B, L, D}));
}

ClipMlpImpl::ClipMlpImpl(const ClipTextConfig& c) : quick_gelu(c.quick_gelu) {
  fc1 = register_module("fc1", nn::Linear(c.width, c.mlp));
  fc2 = register_module("fc2", nn::Linear(c.mlp, c.width));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) {
  at::Tensor h = fc1(x);  // [B, L, mlp]
  h = quick_gelu ? h * at::sigmoid(1.702 * h) : at::gelu(h);
  return fc2(h);
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTextConfig& c) {
  self_attn = register_module("self_attn", ClipAttention(c));
  layer_norm1 = register_module("layer_norm1", nn::LayerNorm(nn::LayerNormOptions({c.width}).eps(c.ln_eps)));
  mlp = register_module("mlp", ClipMlp(c));
  layer_norm2 = register_module("layer_norm2", nn::LayerNorm(nn::LayerNormOptions({c.width}).eps(c.ln_eps)));
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& causal_mask) {
  at::Tensor h = x + self_attn(layer_norm1(x), causal_mask);
  return h + mlp(layer_norm2(h));
}

ClipEmbeddingsImpl::ClipEmbeddingsImpl(const ClipTextConfig& c) {
  token_embedding = register_module("token_embedding", nn::Embedding(c.vocab, c.width));
  position_embedding = register_module("position_embedding", nn::Embedding(c.positions, c.width));
}

at::Tensor ClipEmbeddingsImpl::forward(const at::Tensor& ids) {
  const at::Tensor pos = at::arange(ids.size(1), ids.options().dtype(at::kLong));  // [L]
  return token_embedding(ids) + position_embedding(pos).unsqueeze(0);
}

ClipEncoderImpl::ClipEncoderImpl(const ClipTextConfig& c) {
  layers = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < c.layers; ++i) layers->push_back(ClipEncoderLayer(c));
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const ClipTextConfig& c) {
  embeddings = register_module("embeddings", ClipEmbeddings(c));
  encoder = register_module("encoder", ClipEncoder(c));
  final_layer_norm = register_module("final_layer_norm", nn::LayerNorm(nn::LayerNormOptions({c.width}).eps(c.ln_eps)));
}

ClipTextEncoderImpl::ClipTextEncoderImpl(const ClipTextConfig& c) : config_(c) {
  text_model = register_module("text_model", ClipTextTransformer(c));
}

at::Tensor ClipTextEncoderImpl::forward(const at::Tensor& ids, int clip_skip) {
  if (ids.dim() != 2 || ids.size(1) > config_.positions)
    throw std::invalid_argument("CLIP text encoder: ids must be [B, L<=" + std::to_string(config_.positions) + "]");
  if (clip_skip < 1 || clip_skip > config_.layers)
    throw std::invalid_argument("CLIP text encoder: clip_skip must be in 1.." + std::to_string(config_.layers));
  at::NoGradGuard no_grad;
  const auto& p = text_model->embeddings->token_embedding->weight;
  at::Tensor x = text_model->embeddings(ids.to(p.device(), at::kLong));  // [B, L, D]
  const int64_t L = ids.size(1);
  const at::Tensor mask = at::full({L, L}, -std::numeric_limits<float>::infinity(), x.options()).triu(1);  // [L, L]
  const int64_t run = config_.layers - (clip_skip - 1);
  for (int64_t i = 0; i < run; ++i)
    x = text_model->encoder->layers->at<ClipEncoderLayerImpl>(size_t(i)).forward(x, mask);
  return text_model->final_layer_norm(x);
}

ClipTextEncoder load_clip_text_encoder(const WeightFile& file, int64_t heads, LoadReport* report) {
  // The prefix P such that P + "embeddings.token_embedding.weight" exists; OpenCLIP layouts
  // (cond_stage_model.model.*, SD 2) are not this architecture.
  const std::string anchor = "embeddings.token_embedding.weight";
  std::string prefix;
  bool found = false;
  for (const std::string& name : file.names()) {
    if (name.size() < anchor.size() || name.compare(name.size() - anchor.size(), anchor.size(), anchor) != 0) continue;
    const std::string p = name.substr(0, name.size() - anchor.size());
    if (p.empty() || p == "text_model." || p == "cond_stage_model.transformer.text_model." ||
        p == "cond_stage_model.transformer." || p == "text_encoder.text_model.") {
      prefix = p;
      found = true;
      break;
    }
  }
  if (!found)
    throw std::runtime_error(file.source() +
                             ": no CLIP text encoder found (expected text_model.embeddings.token_embedding.weight "
                             "or cond_stage_model.transformer.text_model.embeddings.token_embedding.weight)");
  auto shape = [&](const std::string& key) { return file.shape(prefix + key); };
  ClipTextConfig c;
  const auto emb = shape("embeddings.token_embedding.weight");
  const auto pos = shape("embeddings.position_embedding.weight");
  if (emb.size() != 2 || pos.size() != 2 || pos[1] != emb[1])
    throw std::runtime_error(file.source() + ": CLIP embeddings have unexpected shapes");
  c.vocab = emb[0];
  c.width = emb[1];
  c.positions = pos[0];
  c.layers = 0;
  const std::regex layer_re("encoder\\.layers\\.(\\d+)\\.");
  std::set<int64_t> seen;
  for (const std::string& name : file.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::smatch m;
    const std::string rest = name.substr(prefix.size());
    if (std::regex_search(rest, m, layer_re) && m.position(0) == 0) seen.insert(std::stoll(m[1]));
  }
  c.layers = int64_t(seen.size());
  if (c.layers == 0 || *seen.rbegin() != c.layers - 1)
    throw std::runtime_error(file.source() + ": CLIP encoder layers are missing or not numbered 0..N-1");
  c.mlp = shape("encoder.layers.0.mlp.fc1.weight")[0];
  c.heads = heads > 0 ? heads : std::max<int64_t>(1, c.width / 64);
  if (c.width % c.heads != 0)
    throw std::runtime_error(file.source() + ": width " + std::to_string(c.width) + " is not divisible by " +
                             std::to_string(c.heads) + " heads");

  ClipTextEncoder te(c);
  LoadReport rep;
  rep.source = file.source();
  rep.prefix = prefix;
  std::set<std::string> used;
  at::NoGradGuard no_grad;
  for (auto& kv : te->named_parameters()) {
    // Module names start with "text_model."; the file's prefix already ends where that does.
    const std::string key = prefix + kv.key().substr(std::string("text_model.").size());
    if (!file.contains(key)) {
      rep.missing.push_back(key);
      continue;
    }
    const at::Tensor t = file.get_float(key);
    if (t.sizes() != kv.value().sizes())
      throw std::runtime_error(file.source() + ": tensor " + key + " has shape " + c10::str(t.sizes()) +
                               ", the model expects " + c10::str(kv.value().sizes()));
    kv.value().copy_(t);
    used.insert(key);
    ++rep.loaded;
  }
  for (const std::string& name : file.names())
    if (name.compare(0, prefix.size(), prefix) == 0 && !used.count(name) &&
        name.find("position_ids") == std::string::npos)
      rep.unused.push_back(name);
  if (!rep.missing.empty())
    throw std::runtime_error(
        file.source() + ": CLIP text encoder tensors missing: " + rep.missing.front() +
        (rep.missing.size() > 1 ? " and " + std::to_string(rep.missing.size() - 1) + " more" : ""));
  te->eval();
  if (report) *report = std::move(rep);
  return te;
}

at::Tensor encode_tokenized_prompt(ClipTextEncoder& te, const TokenizedPrompt& prompt, int clip_skip) {
  std::vector<at::Tensor> windows;
  const auto device = te->text_model->embeddings->token_embedding->weight.device();
  for (size_t w = 0; w < prompt.ids.size(); ++w) {
    std::vector<int64_t> ids(prompt.ids[w].begin(), prompt.ids[w].end());
    const at::Tensor t = at::tensor(ids, at::kLong).unsqueeze(0);  // [1, 77]
    at::Tensor z = te->forward(t, clip_skip);                      // [1, 77, D]
    const at::Tensor weights = at::tensor(prompt.weights[w], at::kFloat).to(device).view({1, -1, 1});
    const at::Tensor mean_before = z.mean();
    z = z * weights.to(z.dtype());
    z = z * (mean_before / z.mean());
    windows.push_back(z);
  }
  return at::cat(windows, 1);  // [1, 77 * windows, D]
}

}  // namespace camgraph::sd
