// sd family: sd.generate, Stable Diffusion 1.5 (+ LoRAs) txt2img / img2img / inpainting through
// the Pipeline (pipeline.h); weights found through model_paths.h.
#include <ATen/ATen.h>

#include <cstdlib>
#include <sstream>

#include "camgraph/node_context.h"
#include "camgraph/output_files.h"
#include "sd/model_paths.h"
#include "sd/pipeline.h"

namespace camgraph {

namespace fs = std::filesystem;
using namespace camgraph::sd;

namespace {

ParamSpec p_model_path(std::string name, std::string filter, std::string doc) {
  // A Path that may also be a model name inside the models folders. Not content-hashed (a
  // checkpoint is gigabytes): the node's cache_stamp adds size + mtime (model_files_stamp).
  return {std::move(name), ParamType::Path, "", {}, {}, {}, std::move(doc), std::move(filter)};
}

ModelFolders model_folders(NodeContext& ctx) {
  ModelFolders f;
  std::string root = ctx.param_string("models_root");
  if (root.empty())
    if (const char* env = std::getenv("CAMGRAPH_MODELS")) root = env;
  if (!root.empty()) {
    f.add_root(ctx.param_string("models_root").empty() ? fs::path(root) : ctx.input_path("models_root"));
  }
  const std::string extra = ctx.param_string("extra_model_paths");
  if (!extra.empty())
    ctx.guard("extra_model_paths", [&] { f.add_extra_model_paths(ctx.input_path("extra_model_paths")); });
  return f;
}

// A model named by `param`: an existing path (relative to the graph's folder) or a name in the
// models folders of `kind`. Empty: empty path.
fs::path resolve_model(NodeContext& ctx, const std::string& param, ModelKind kind, const ModelFolders& folders) {
  const std::string name = ctx.param_string(param);
  if (name.empty()) return {};
  fs::path p = name;
  if (p.is_relative()) {  // a path relative to the graph's folder wins over a model name
    try {
      p = ctx.input_path(param);
    } catch (const std::exception&) {
      p = name;
    }
  }
  return ctx.guard<MissingModelError>(param, [&] { return find_model(kind, p.string(), folders); });
}

// "name.safetensors:0.8:1.0; other.safetensors:0.5" -> specs (unet strength, te strength = unet
// strength when omitted); ';' or new lines separate entries. Paths may contain ':' (C:\...):
// only trailing ":<number>" fields are strengths.
std::vector<std::pair<std::string, std::pair<double, double>>> parse_lora_list(const std::string& text) {
  std::vector<std::pair<std::string, std::pair<double, double>>> out;
  std::string entry;
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  auto number = [](const std::string& s, double& v) {
    if (s.empty()) return false;
    char* end = nullptr;
    v = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
  };
  std::string all = text;
  for (char& c : all)
    if (c == '\n') c = ';';
  std::stringstream parts(all);
  while (std::getline(parts, entry, ';')) {
    std::string e = trim(entry);
    if (e.empty()) continue;
    std::vector<double> nums;
    for (int k = 0; k < 2; ++k) {
      const auto colon = e.rfind(':');
      double v;
      if (colon == std::string::npos || !number(trim(e.substr(colon + 1)), v)) break;
      nums.insert(nums.begin(), v);
      e = trim(e.substr(0, colon));
    }
    if (e.empty()) throw std::invalid_argument("an entry has strengths but no file: '" + trim(entry) + "'");
    const double unet = nums.empty() ? 1.0 : nums[0];
    const double te = nums.size() > 1 ? nums[1] : unet;
    out.push_back({e, {unet, te}});
  }
  return out;
}

// Cache-key stamp of every model file a run would read (checkpoint or diffusers folder, VAE,
// merges, LoRAs): size and modification time, so a LoRA retrained under the same name re-runs
// the node. Names that do not resolve stamp as "missing" (execute reports them).
json model_files_stamp(const json& params, const fs::path& graph_dir) {
  auto str = [&](const char* k) {
    return params.contains(k) && params[k].is_string() ? params[k].get<std::string>() : "";
  };
  auto local = [&](const std::string& name) {
    fs::path p = name;
    std::error_code ec;
    return p.is_relative() && fs::exists(graph_dir / p, ec) ? graph_dir / p : p;
  };
  ModelFolders folders;
  try {
    std::string root = str("models_root");
    if (root.empty())
      if (const char* env = std::getenv("CAMGRAPH_MODELS")) root = env;
    if (!root.empty()) folders.add_root(local(root));
    if (!str("extra_model_paths").empty()) folders.add_extra_model_paths(local(str("extra_model_paths")));
  } catch (const std::exception&) {
  }
  auto stamp = [&](ModelKind kind, const std::string& name) -> json {
    if (name.empty()) return nullptr;
    try {
      return file_stamp(find_model(kind, local(name).string(), folders));  // a diffusers folder: every file
    } catch (const std::exception&) {
      return "missing";
    }
  };
  json s = {{"checkpoint", stamp(ModelKind::Checkpoint, str("checkpoint"))},
            {"vae", stamp(ModelKind::Vae, str("vae"))}};
  json loras = json::array();
  try {
    for (const auto& [name, strengths] : parse_lora_list(str("loras"))) loras.push_back(stamp(ModelKind::Lora, name));
  } catch (const std::invalid_argument&) {
  }
  s["loras"] = loras;
  return s;
}

void generate_execute(NodeContext& ctx) {
  const ModelFolders folders = model_folders(ctx);
  PipelineSources src;
  src.checkpoint = resolve_model(ctx, "checkpoint", ModelKind::Checkpoint, folders);
  if (src.checkpoint.empty())
    ctx.fail("checkpoint",
             "no checkpoint set: name an SD 1.5 single file (.safetensors/.ckpt) or diffusers folder, "
             "a path or a name inside <models root>/checkpoints/");
  src.vae = resolve_model(ctx, "vae", ModelKind::Vae, folders);
  if (!ctx.param_string("merges").empty()) src.merges = ctx.input_path("merges");

  GenerateRequest r;
  r.prompt = ctx.param_string("prompt");
  r.negative_prompt = ctx.param_string("negative_prompt");
  r.sampler = parse_sampler(ctx.param_string("sampler"));
  r.steps = int(ctx.param_int("steps"));
  r.cfg = ctx.param_float("cfg");
  r.seed = ctx.param_seed("seed");
  r.width = int(ctx.param_int("width"));
  r.height = int(ctx.param_int("height"));
  r.batch = int(ctx.param_int("batch"));
  r.clip_skip = int(ctx.param_int("clip_skip"));
  r.strength = ctx.param_float("strength");
  try {
    for (const auto& [name, s] : parse_lora_list(ctx.param_string("loras"))) {
      LoraSpec spec;
      const fs::path p = name;
      spec.path = ctx.guard<MissingModelError>("loras",
                                               [&] { return find_model(ModelKind::Lora, p.string(), folders); });
      spec.unet_strength = s.first;
      spec.te_strength = s.second;
      r.loras.push_back(spec);
    }
  } catch (const std::invalid_argument& e) {
    ctx.fail("loras", std::string(e.what()) + " (format: \"file.safetensors:unet_strength[:te_strength]; ...\")");
  }
  if (ctx.has_input("init_image")) r.init_image = ctx.input<ImageValue>("init_image")->pixels;
  if (ctx.has_input("mask")) {
    if (!r.init_image.defined()) ctx.fail_port("mask", "inpainting needs init_image as well");
    r.mask = ctx.input<MaskValue>("mask")->mask;
  }
  try {
    validate_request(r);
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    const auto colon = msg.find(':');
    ctx.fail(colon == std::string::npos ? "" : msg.substr(0, colon),
             msg.substr(colon == std::string::npos ? 0 : colon + 2));
  }

  const c10::Device device = ctx.torch_device();
  ctx.progress(0.0, "loading " + src.checkpoint.filename().string());
  bool reused = false;
  std::shared_ptr<Pipeline> pipe;
  try {
    pipe = cached_pipeline(src, device, &reused);
  } catch (const std::exception& e) {
    ctx.fail(
        src.vae.empty() || std::string(e.what()).find(src.vae.string()) == std::string::npos ? "checkpoint" : "vae",
        e.what());
  }
  const int every = int(ctx.param_int("preview_every"));
  r.cancelled = [&] { return ctx.cancelled(); };
  r.on_step = [&](int step, int steps, const at::Tensor&, const at::Tensor& x0) {
    ctx.progress(0.05 + 0.9 * double(step) / steps, "step " + std::to_string(step) + "/" + std::to_string(steps));
    if (every > 0 && ctx.wants_previews() && (step % every == 0 || step == steps)) {
      auto img = std::make_shared<ImageValue>();
      at::Tensor rgb = latent_preview_rgb(x0.slice(0, 0, 1)).permute({0, 3, 1, 2});  // [1, 3, h, w]
      img->pixels =
          at::upsample_bilinear2d(rgb, {r.height, r.width}, false)[0].permute({1, 2, 0}).to(at::kCPU).contiguous();
      ctx.preview(img, "step " + std::to_string(step) + "/" + std::to_string(steps),
                  {{"step", step}, {"steps", steps}});
    }
  };
  GenerateResult res;
  try {
    res = pipe->generate(r);
  } catch (const GraphError&) {
    throw;
  } catch (const std::exception& e) {
    if (ctx.cancelled()) ctx.check_cancelled();
    // A LoRA file's problem names the file; an init-image problem starts with the field; anything
    // else (out of memory, a device error) is the node's, not a parameter's.
    const std::string msg = e.what();
    std::string param = msg.rfind("init_image", 0) == 0 ? "init_image" : "";
    for (const auto& l : r.loras)
      if (param.empty() && msg.find(l.path.filename().string()) != std::string::npos) param = "loras";
    ctx.fail(param, msg);
  }
  ctx.check_cancelled();

  // LoRA report: the top complaint about SD runtimes is LoRAs silently applying nothing.
  json lora_json = json::array();
  for (const auto& rep : res.loras) {
    lora_json.push_back(
        {{"file", rep.path}, {"modules", rep.modules}, {"matched", rep.matched}, {"unmatched", rep.unmatched}});
    if (!rep.unmatched.empty()) {
      std::string names;
      for (size_t i = 0; i < rep.unmatched.size() && i < 10; ++i) names += (i ? ", " : "") + rep.unmatched[i];
      if (rep.unmatched.size() > 10) names += " and " + std::to_string(rep.unmatched.size() - 10) + " more";
      ctx.warn("LoRA " + fs::path(rep.path).filename().string() + ": " + std::to_string(rep.matched) + " of " +
               std::to_string(rep.modules) + " modules matched; unmatched: " + names);
    }
  }
  auto first = std::make_shared<ImageValue>();
  first->pixels = res.images[0].contiguous();
  auto all = std::make_shared<FrameSequenceValue>();
  all->frames = res.images;
  all->fps = 1;
  json rec = res.summary;
  rec["loras"] = lora_json;
  rec["model"] = pipe->info();
  rec["model_reused"] = reused;
  rec["seeds"] = json::array();
  for (int b = 0; b < r.batch; ++b) rec["seeds"].push_back(r.seed + uint64_t(b));
  ctx.set_output("image", first);
  ctx.set_output("images", all);
  ctx.set_record("record", std::move(rec));
  ctx.progress(1.0, "done");
}

}  // namespace

void register_sd_nodes(Registry& r) {
  r.add(
      {.type = "sd.generate",
       .category = "Generate",
       .title = "Stable Diffusion",
       .doc = "Stable Diffusion 1.5 with LoRAs: txt2img, img2img (init_image + strength) and inpainting "
              "(init_image + mask, an ordinary checkpoint). Needs your own weights: a single-file checkpoint "
              "(.safetensors/.ckpt) or a diffusers folder in <models root>/checkpoints/, LoRAs in loras/. "
              "Image b of a batch uses seed + b. Progress per step, a latent preview every preview_every steps.",
       .inputs = {{"init_image", PortType::Image, "img2img: the image to start from (resized to width x height)", true},
                  {"mask", PortType::Mask, "inpainting (with init_image): 1 = regenerate, 0 = keep", true}},
       .outputs = {{"image", PortType::Image, "the first image of the batch"},
                   {"images", PortType::FrameSequence, "every image of the batch, in seed order"},
                   {"record", PortType::Record, "sampler, steps, seeds, timings, model, LoRA matched/total counts"}},
       .params =
           {p_model_path("checkpoint", "Checkpoints (*.safetensors *.ckpt);;dir",
                         "SD 1.5 single file or diffusers folder: a path or a name in <models root>/checkpoints/"),
            p_model_path("vae", "VAE (*.safetensors *.ckpt *.pt)", "optional separate VAE (path or name in vae/)"),
            p_string("loras", "",
                     "LoRAs: \"file.safetensors:unet_strength[:te_strength]; other:0.5\" (names in loras/ "
                     "or paths; te_strength defaults to unet_strength)"),
            p_text("prompt", "", "prompt; A1111 syntax: (word:1.2), [word], BREAK, longer than 75 tokens"),
            p_text("negative_prompt", "", "negative prompt (used when cfg > 1)"),
            p_enum("sampler", "dpmpp_2m_karras", {"ddim", "euler_a", "dpmpp_2m_karras"}, "sampler"),
            p_int("steps", 20, 1, 1000, "denoising steps"),
            p_float("cfg", 7.0, 0, 30, "classifier-free guidance scale (<= 1: off)"),
            p_seed("seed", 0, "noise seed; image b of the batch uses seed + b"),
            p_int("width", 512, 8, 8192, "image width, a multiple of 8"),
            p_int("height", 512, 8, 8192, "image height, a multiple of 8"), p_int("batch", 1, 1, 64, "images per run"),
            p_int("clip_skip", 1, 1, 12, "1: last text encoder layer; 2: penultimate (A1111/ComfyUI clip skip)"),
            p_float("strength", 0.75, 0.01, 1,
                    "img2img: how much of the init image is re-noised (steps * strength run)"),
            outputs_unaffected(p_int("preview_every", 5, 0, 1000, "a decoded latent preview every N steps (0: none)")),
            p_input_path("merges", "", "CLIP merges (*.txt *.gz)",
                         "single-file checkpoints: CLIP's BPE merges (bpe_simple_vocab_16e6.txt.gz or merges.txt); "
                         "empty: the CLIP vocabulary CamGraph ships (camgraph-cli paths shows where)"),
            p_model_path("models_root", "dir",
                         "models root with checkpoints/ loras/ vae/ (default $CAMGRAPH_MODELS; "
                         "a ComfyUI models/ folder works)"),
            p_input_path("extra_model_paths", "", "YAML (*.yaml *.yml)",
                         "ComfyUI's extra_model_paths.yaml for more folders")},
       .execute = generate_execute,
       .cache_stamp = model_files_stamp});
}

}  // namespace camgraph
