// Model discovery: models root layout, ComfyUI extra_model_paths.yaml, missing-weights message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sd/model_paths.h"
#include "test_support.h"

using namespace camgraph::sd;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;

namespace {
void touch(const fs::path& p, const std::string& text = "x") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}
}  // namespace

TEST(ModelPaths, FindsFilesAndDiffusersFoldersUnderAModelsRoot) {
  const fs::path root = temp_dir("sd-models");
  touch(root / "checkpoints/v15.safetensors");
  touch(root / "checkpoints/old/dreamy.ckpt");
  touch(root / "checkpoints/sd15-diffusers/model_index.json", "{}");
  touch(root / "checkpoints/notes.txt");
  touch(root / "loras/style.safetensors");
  touch(root / "vae/mse.safetensors");
  ModelFolders f;
  f.add_root(root);
  EXPECT_EQ(find_model(ModelKind::Checkpoint, "v15", f), root / "checkpoints/v15.safetensors");
  EXPECT_EQ(find_model(ModelKind::Checkpoint, "v15.safetensors", f), root / "checkpoints/v15.safetensors");
  EXPECT_EQ(find_model(ModelKind::Checkpoint, "old/dreamy", f), root / "checkpoints/old/dreamy.ckpt");
  EXPECT_EQ(find_model(ModelKind::Checkpoint, "sd15-diffusers", f), root / "checkpoints/sd15-diffusers");
  EXPECT_EQ(find_model(ModelKind::Lora, "style", f), root / "loras/style.safetensors");
  EXPECT_EQ(find_model(ModelKind::Vae, "mse", f), root / "vae/mse.safetensors");
  // An absolute path is taken as is.
  EXPECT_EQ(find_model(ModelKind::Lora, (root / "loras/style.safetensors").string(), f),
            root / "loras/style.safetensors");
  EXPECT_EQ(list_models(ModelKind::Checkpoint, f),
            (std::vector<std::string>{"old/dreamy.ckpt", "sd15-diffusers", "v15.safetensors"}));
  EXPECT_EQ(list_models(ModelKind::Lora, f), (std::vector<std::string>{"style.safetensors"}));
  // The wrong kind of file is refused by name.
  const std::string txt = error_of(
      [&] { find_model(ModelKind::Checkpoint, (root / "checkpoints/notes.txt").string(), f); });
  EXPECT_NE(txt.find("notes.txt is not a checkpoints model"), std::string::npos) << txt;
}

TEST(ModelPaths, MissingWeightsNameTheFileTheFoldersAndWhatToDo) {
  const fs::path root = temp_dir("sd-models-missing");
  fs::create_directories(root / "checkpoints");
  ModelFolders f;
  f.add_root(root);
  f.add_root(root / "comfy/models");  // absent
  const std::string e = error_of([&] { find_model(ModelKind::Checkpoint, "v1-5-pruned-emaonly", f); });
  EXPECT_NE(e.find("'v1-5-pruned-emaonly' not found"), std::string::npos) << e;
  EXPECT_NE(e.find((root / "checkpoints").string()), std::string::npos) << e;
  EXPECT_NE(e.find((root / "comfy/models/checkpoints").string() + " (missing)"), std::string::npos) << e;
  EXPECT_NE(e.find("into <models root>/checkpoints/"), std::string::npos) << e;
  EXPECT_NE(e.find("model_index.json"), std::string::npos) << e;
  const std::string l = error_of([&] { find_model(ModelKind::Lora, "detail", f); });
  EXPECT_NE(l.find("<models root>/loras/"), std::string::npos) << l;
  ModelFolders none;
  EXPECT_NE(error_of([&] { find_model(ModelKind::Vae, "x", none); }).find("CAMGRAPH_MODELS"), std::string::npos);
}

TEST(ModelPaths, ReadsComfyUiExtraModelPaths) {
  const fs::path dir = temp_dir("sd-models-yaml");
  touch(dir / "webui/models/Stable-diffusion/a1111.safetensors");
  touch(dir / "webui/models/Lora/one.safetensors");
  touch(dir / "webui/models/LyCORIS/two.safetensors");
  touch(dir / "abs/ckpts/other.safetensors");
  std::ofstream(dir / "extra_model_paths.yaml") << "# ComfyUI example\n"
                                                   "a111:\n"
                                                   "    base_path: webui/   # relative to this file\n"
                                                   "\n"
                                                   "    checkpoints: models/Stable-diffusion\n"
                                                   "    vae: models/VAE\n"
                                                   "    loras: |\n"
                                                   "         models/Lora\n"
                                                   "         models/LyCORIS\n"
                                                   "    upscale_models: |\n"
                                                   "                  models/ESRGAN\n"
                                                   "other:\n"
                                                   "    checkpoints: "
                                                << (dir / "abs/ckpts").string() << "\n";
  ModelFolders f;
  f.add_extra_model_paths(dir / "extra_model_paths.yaml");
  ASSERT_EQ(f.loras.size(), 2u);
  EXPECT_EQ(find_model(ModelKind::Checkpoint, "a1111", f), dir / "webui/models/Stable-diffusion/a1111.safetensors");
  EXPECT_EQ(find_model(ModelKind::Checkpoint, "other", f), dir / "abs/ckpts/other.safetensors");
  EXPECT_EQ(find_model(ModelKind::Lora, "two", f), dir / "webui/models/LyCORIS/two.safetensors");
  EXPECT_EQ(f.vae.size(), 1u);

  std::ofstream(dir / "bad.yaml") << "a111:\n    checkpoints models\n";
  const std::string e = error_of([&] { f.add_extra_model_paths(dir / "bad.yaml"); });
  EXPECT_NE(e.find("bad.yaml:2"), std::string::npos) << e;
}
