// Model discovery; see model_paths.h.
#include "sd/model_paths.h"

#include <algorithm>
#include <fstream>
#include <set>

namespace camgraph::sd {

namespace fs = std::filesystem;

namespace {

const char* const kExtensions[] = {".safetensors", ".ckpt", ".pt", ".bin", ".pth"};

bool is_model_file(const fs::path& p) {
  const std::string e = p.extension().string();
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* x) { return e == x; });
}

bool is_diffusers_folder(const fs::path& p) { return fs::is_directory(p) && fs::exists(p / "model_index.json"); }

bool usable(ModelKind kind, const fs::path& p) {
  if (fs::is_regular_file(p)) return is_model_file(p);
  if (kind == ModelKind::Checkpoint) return is_diffusers_folder(p);
  if (kind == ModelKind::Vae) return fs::is_directory(p) && fs::exists(p / "config.json");  // diffusers vae/
  return false;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

const char* model_kind_folder(ModelKind k) {
  switch (k) {
    case ModelKind::Checkpoint: return "checkpoints";
    case ModelKind::Lora: return "loras";
    case ModelKind::Vae: return "vae";
  }
  return "?";
}

std::vector<fs::path>& ModelFolders::of(ModelKind k) {
  return k == ModelKind::Checkpoint ? checkpoints : k == ModelKind::Lora ? loras : vae;
}
const std::vector<fs::path>& ModelFolders::of(ModelKind k) const {
  return k == ModelKind::Checkpoint ? checkpoints : k == ModelKind::Lora ? loras : vae;
}

void ModelFolders::add_root(const fs::path& root) {
  for (ModelKind k : {ModelKind::Checkpoint, ModelKind::Lora, ModelKind::Vae})
    of(k).push_back(root / model_kind_folder(k));
}

void ModelFolders::add_extra_model_paths(const fs::path& yaml) {
  std::ifstream in(yaml);
  if (!in) throw std::runtime_error(yaml.string() + ": cannot open extra_model_paths.yaml");
  // The subset ComfyUI documents: top-level sections; inside, "key: value" or "key: |" followed by
  // more-indented lines, one folder each. Kinds: checkpoints, loras (also "lora"), vae.
  struct Entry {
    std::string key;
    std::vector<std::string> values;
  };
  std::vector<std::vector<Entry>> sections;
  std::string line;
  int lineno = 0;
  int block_indent = -1;  // indentation of the key owning the current "|" block
  while (std::getline(in, line)) {
    ++lineno;
    const size_t hash = line.find('#');
    if (hash != std::string::npos && (hash == 0 || line[hash - 1] == ' ' || line[hash - 1] == '\t')) line.resize(hash);
    if (trim(line).empty()) continue;
    const int indent = int(line.find_first_not_of(" \t"));
    if (indent == 0) {
      sections.emplace_back();
      block_indent = -1;
      continue;
    }
    if (sections.empty())
      throw std::runtime_error(yaml.string() + ":" + std::to_string(lineno) + ": expected a section name first");
    if (block_indent >= 0 && indent > block_indent && !sections.back().empty()) {
      sections.back().back().values.push_back(unquote(trim(line)));
      continue;
    }
    const std::string t = trim(line);
    const size_t colon = t.find(':');
    if (colon == std::string::npos)
      throw std::runtime_error(yaml.string() + ":" + std::to_string(lineno) + ": expected \"key: value\", got \"" + t +
                               "\"");
    Entry e{trim(t.substr(0, colon)), {}};
    const std::string v = trim(t.substr(colon + 1));
    block_indent = -1;
    if (v == "|" || v == "|-" || v == ">") block_indent = indent;
    else if (!v.empty()) e.values.push_back(unquote(v));
    sections.back().push_back(e);
  }
  for (const auto& sec : sections) {
    fs::path base;
    for (const auto& e : sec)
      if (e.key == "base_path" && !e.values.empty()) base = e.values.front();
    if (!base.empty() && base.is_relative()) base = yaml.parent_path() / base;
    for (const auto& e : sec) {
      ModelKind k;
      if (e.key == "checkpoints") k = ModelKind::Checkpoint;
      else if (e.key == "loras" || e.key == "lora") k = ModelKind::Lora;
      else if (e.key == "vae") k = ModelKind::Vae;
      else continue;
      for (const auto& v : e.values) {
        fs::path p = v;
        if (p.is_relative()) p = base.empty() ? yaml.parent_path() / p : base / p;
        of(k).push_back(p.lexically_normal());
      }
    }
  }
}

fs::path find_model(ModelKind kind, const std::string& name, const ModelFolders& folders) {
  if (name.empty()) throw MissingModelError(std::string("no ") + model_kind_folder(kind) + " model named (empty name)");
  const fs::path direct = name;
  if (direct.is_absolute() || fs::exists(direct)) {
    if (usable(kind, direct)) return direct;
    if (fs::exists(direct))
      throw MissingModelError(direct.string() + " is not a " + std::string(model_kind_folder(kind)) +
                              " model (expected .safetensors/.ckpt" +
                              (kind == ModelKind::Checkpoint
                                   ? std::string(" or a diffusers folder with model_index.json)")
                                   : std::string(")")));
  }
  std::vector<std::string> searched;
  for (const fs::path& dir : folders.of(kind)) {
    searched.push_back(dir.string() + (fs::is_directory(dir) ? "" : " (missing)"));
    if (!fs::is_directory(dir)) continue;
    if (usable(kind, dir / name)) return dir / name;
    for (const char* ext : kExtensions)
      if (fs::is_regular_file(dir / (name + ext))) return dir / (name + ext);
  }
  std::string msg = std::string(model_kind_folder(kind)) + " model '" + name + "' not found. Searched: ";
  if (searched.empty()) msg += "(no folders: set the models root or $CAMGRAPH_MODELS)";
  for (size_t i = 0; i < searched.size(); ++i) msg += (i ? ", " : "") + searched[i];
  msg += ". ";
  switch (kind) {
    case ModelKind::Checkpoint:
      msg +=
          "Put a Stable Diffusion 1.5 single-file checkpoint (.safetensors or .ckpt, e.g. "
          "v1-5-pruned-emaonly.safetensors) or a diffusers folder (model_index.json, unet/, vae/, text_encoder/, "
          "tokenizer/) into <models root>/checkpoints/";
      break;
    case ModelKind::Lora:
      msg += "Put LoRA files (.safetensors, kohya or diffusers/PEFT keys) into <models root>/loras/";
      break;
    case ModelKind::Vae:
      msg += "Put VAE weights (.safetensors, e.g. vae-ft-mse-840000-ema-pruned.safetensors) into <models root>/vae/";
      break;
  }
  msg += ", or point the node at a ComfyUI models/ folder or its extra_model_paths.yaml";
  throw MissingModelError(msg);
}

std::vector<std::string> list_models(ModelKind kind, const ModelFolders& folders) {
  std::set<std::string> names;
  for (const fs::path& dir : folders.of(kind)) {
    if (!fs::is_directory(dir)) continue;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      const fs::path p = it->path();
      if (usable(kind, p)) {
        names.insert(fs::relative(p, dir).generic_string());
        if (fs::is_directory(p)) it.disable_recursion_pending();
      }
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace camgraph::sd
