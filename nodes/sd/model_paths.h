// Where users keep their weights, found as the ecosystem lays them out:
//   <models root>/checkpoints/  single-file SD 1.5 (.safetensors, .ckpt) or diffusers folders
//   <models root>/loras/        LoRAs (.safetensors)
//   <models root>/vae/          VAEs
// The models root is the node's parameter or $CAMGRAPH_MODELS; an existing ComfyUI install's
// models/ folder can be added, and ComfyUI's extra_model_paths.yaml (its A1111/ComfyUI sections:
// base_path plus per-kind folders, one per line in "|" blocks) is read for more folders.
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace camgraph::sd {

enum class ModelKind { Checkpoint, Lora, Vae };
const char* model_kind_folder(ModelKind k);  // "checkpoints", "loras", "vae"

struct ModelFolders {
  std::vector<std::filesystem::path> checkpoints, loras, vae;
  std::vector<std::filesystem::path>& of(ModelKind k);
  const std::vector<std::filesystem::path>& of(ModelKind k) const;
  // <root>/checkpoints etc. (ComfyUI's "models" folder has the same layout).
  void add_root(const std::filesystem::path& root);
  // Folders named by an extra_model_paths.yaml; throws naming the file and line when unreadable.
  void add_extra_model_paths(const std::filesystem::path& yaml);
};

struct MissingModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `name`: an existing path (file or diffusers folder), or a name inside the folders with or
// without its extension (.safetensors, .ckpt, .pt, .bin). Checkpoint folders count when they hold
// model_index.json. Throws MissingModelError naming the file, every folder searched and what to
// put where.
std::filesystem::path find_model(ModelKind kind, const std::string& name, const ModelFolders& folders);
// Model names (relative to their folder) for pickers, sorted.
std::vector<std::string> list_models(ModelKind kind, const ModelFolders& folders);

}  // namespace camgraph::sd
