// The restricted torch.save checkpoint reader: real torch.save goldens (formats/model/tests/golden,
// values recomputed from the generator's formulas), archives the test writes itself, refusals.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "camgraph/formats/torch_checkpoint.h"
#include "camgraph/safetensors.h"
#include "checkpoint_builder.h"
#include "test_support.h"

namespace fs = std::filesystem;
using camgraph::CheckpointOptions;
using camgraph::testing::error_of;
using camgraph::testing::one_tensor_pickle;
using camgraph::testing::temp_dir;
using camgraph::testing::unicode;
using camgraph::testing::zip_stored;

namespace {

fs::path golden(const std::string& name) {
  return fs::path(CAMGRAPH_SOURCE_DIR) / "formats" / "model" / "tests" / "golden" / name;
}

at::Tensor arange(at::IntArrayRef shape, double scale = 0.25, double offset = 0.0) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return (at::arange(n, at::kDouble) * scale + offset).reshape(shape).to(at::kFloat);
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST(Checkpoint, ReadsTorchSaveStateDictInFileOrder) {
  const auto list = camgraph::load_torch_checkpoint_ordered(golden("tiny_state_dict.pth"));
  std::vector<std::string> keys;
  for (const auto& kv : list) keys.push_back(kv.first);
  const std::vector<std::string> expected = {"conv.weight", "conv.bias", "half",       "steps", "flags",
                                             "base",        "view_t",    "view_slice", "beta",  "empty"};
  EXPECT_EQ(keys, expected);

  auto sd = camgraph::load_torch_checkpoint(golden("tiny_state_dict.pth"));
  EXPECT_TRUE(at::equal(sd.at("conv.weight"), arange({2, 3, 3, 3})));
  EXPECT_TRUE(at::equal(sd.at("conv.bias"), arange({2}, 0.25, -1.0)));
  EXPECT_EQ(sd.at("half").scalar_type(), at::kHalf);
  EXPECT_TRUE(at::equal(sd.at("half").to(at::kFloat), arange({5}, 0.5)));
  ASSERT_EQ(sd.at("steps").scalar_type(), at::kLong);
  EXPECT_EQ(sd.at("steps")[2].item<std::int64_t>(), 5'000'000'000LL);
  EXPECT_EQ(sd.at("steps")[1].item<std::int64_t>(), -4);
  EXPECT_EQ(sd.at("flags").scalar_type(), at::kBool);
  EXPECT_FALSE(sd.at("flags")[1].item<bool>());
  const auto base = arange({4, 6});
  EXPECT_TRUE(at::equal(sd.at("base"), base));
  EXPECT_TRUE(at::equal(sd.at("view_t"), base.t()));
  EXPECT_TRUE(at::equal(sd.at("view_slice"), base.slice(0, 1, 3).slice(1, 2, 5)));
  EXPECT_TRUE(sd.at("view_t").is_contiguous());
  EXPECT_TRUE(at::equal(sd.at("beta"), arange({1, 3, 1, 1}, 0.25, 1.0)));
  EXPECT_EQ(sd.at("empty").sizes(), (std::vector<std::int64_t>{0, 3}));
}

TEST(Checkpoint, PrefixIsKeptWhenAsked) {
  CheckpointOptions keep;
  keep.strip_prefix = "";
  auto sd = camgraph::load_torch_checkpoint(golden("tiny_state_dict.pth"), keep);
  EXPECT_EQ(sd.count("module.conv.weight"), 1u);
  EXPECT_EQ(sd.count("conv.weight"), 0u);
}

TEST(Checkpoint, TrainingCheckpointNeedsPermissionForForeignGlobals) {
  const std::string err = error_of([] { camgraph::load_torch_checkpoint(golden("training.ckpt")); });
  EXPECT_NE(err.find("training.ckpt"), std::string::npos) << err;
  EXPECT_NE(err.find("forbidden global '__main__.Callback'"), std::string::npos) << err;

  CheckpointOptions lenient;
  lenient.allow_unknown_globals = true;
  auto sd = camgraph::load_torch_checkpoint(golden("training.ckpt"), lenient);
  ASSERT_EQ(sd.size(), 2u);  // the "state_dict" entry is chosen automatically
  EXPECT_TRUE(at::equal(sd.at("model.w"), arange({3, 2}, 0.25, 2.0)));
  EXPECT_TRUE(at::equal(sd.at("model.b"), arange({2}, -1.0)));

  lenient.entry = "hparams";  // no tensors there
  EXPECT_NE(error_of([&] { camgraph::load_torch_checkpoint(golden("training.ckpt"), lenient); }).find("no tensors"),
            std::string::npos);
}

TEST(Checkpoint, ReadsAnArchiveWrittenHere) {
  const auto dir = temp_dir("checkpoint-own");
  std::string data(4 * 3, '\0');
  const float v[3] = {1.5f, -2.0f, 7.25f};
  std::memcpy(data.data(), v, sizeof v);
  write(dir / "own.pth", zip_stored({{"own/data.pkl", one_tensor_pickle("module.x", 3)}, {"own/data/0", data}}));
  auto sd = camgraph::load_torch_checkpoint(dir / "own.pth");
  ASSERT_EQ(sd.size(), 1u);
  const auto x = sd.at("x");
  ASSERT_EQ(x.numel(), 3);
  EXPECT_FLOAT_EQ(x[0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(x[2].item<float>(), 7.25f);

  // The same archive with a storage entry shorter than the tensor.
  write(dir / "short.pth",
        zip_stored({{"own/data.pkl", one_tensor_pickle("x", 3)}, {"own/data/0", data.substr(0, 8)}}));
  const std::string err = error_of([&] { camgraph::load_torch_checkpoint(dir / "short.pth"); });
  EXPECT_NE(err.find("short.pth"), std::string::npos) << err;
  EXPECT_NE(err.find("shorter"), std::string::npos) << err;
}

TEST(Checkpoint, RefusesForbiddenGlobalWithoutRunningIt) {
  const auto dir = temp_dir("checkpoint-evil");
  // pickle of os.system("touch <marker>"): the classic payload.
  const fs::path marker = dir / "ran";
  const std::string pkl =
      "\x80\x02"
      "cos\nsystem\n" +
      unicode("touch " + marker.string()) + "\x85R.";
  write(dir / "evil.pth", zip_stored({{"evil/data.pkl", pkl}}));
  const std::string err = error_of([&] { camgraph::load_torch_checkpoint(dir / "evil.pth"); });
  EXPECT_NE(err.find("evil.pth"), std::string::npos) << err;
  EXPECT_NE(err.find("forbidden global 'os.system'"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(marker));

  // Even when unknown globals are allowed they are placeholders, never called: no tensors result.
  CheckpointOptions lenient;
  lenient.allow_unknown_globals = true;
  EXPECT_NE(error_of([&] { camgraph::load_torch_checkpoint(dir / "evil.pth", lenient); }).find("no tensors"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(marker));
}

TEST(Checkpoint, TruncatedMissingAndWrongFilesNameTheFile) {
  const auto dir = temp_dir("checkpoint-bad");
  std::ifstream in(golden("tiny_state_dict.pth"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  write(dir / "cut.pth", bytes.substr(0, bytes.size() / 2));
  std::string err = error_of([&] { camgraph::load_torch_checkpoint(dir / "cut.pth"); });
  EXPECT_NE(err.find("cut.pth"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;

  write(dir / "notes.pth", "these are not weights");
  err = error_of([&] { camgraph::load_torch_checkpoint(dir / "notes.pth"); });
  EXPECT_NE(err.find("notes.pth"), std::string::npos) << err;
  EXPECT_NE(err.find("not a PyTorch zip checkpoint"), std::string::npos) << err;

  write(dir / "legacy.pt", std::string("\x80\x02\x8a\x0a", 4));
  EXPECT_NE(error_of([&] { camgraph::load_torch_checkpoint(dir / "legacy.pt"); }).find("legacy"), std::string::npos);

  err = error_of([&] { camgraph::load_torch_checkpoint(dir / "absent.pkl"); });
  EXPECT_NE(err.find("absent.pkl"), std::string::npos) << err;
  EXPECT_NE(err.find("not found"), std::string::npos) << err;
}

TEST(Checkpoint, AnyFormatReadsSafetensorsWithTheSamePrefixRule) {
  const auto dir = temp_dir("checkpoint-any");
  camgraph::safetensors_save_atomic(dir / "w.safetensors", {{"module.a", arange({2, 2})}, {"b", arange({3})}});
  auto sd = camgraph::load_state_dict_any(dir / "w.safetensors");
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_TRUE(at::equal(sd.at("a"), arange({2, 2})));
  EXPECT_TRUE(at::equal(sd.at("b"), arange({3})));
  auto pth = camgraph::load_state_dict_any(golden("tiny_state_dict.pth"));
  EXPECT_EQ(pth.count("conv.weight"), 1u);
  EXPECT_NE(error_of([&] { camgraph::load_state_dict_any(dir / "none.safetensors"); }).find("none.safetensors"),
            std::string::npos);
}
