// The hardened safetensors reader (graph-engine/src/safetensors.cpp): memory-mapped reading, every
// header check of the reference implementation, fp16/bf16 upcast, errors that name the file.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "camgraph/safetensors.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::error_of;
using camgraph::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// A file with a hand-written header (padded to 8) followed by `data`.
std::string make_file(const std::string& header, const std::string& data) {
  std::string h = header;
  while (h.size() % 8) h.push_back(' ');
  std::string out(8, '\0');
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
  return out + h + data;
}

// The error the memory-mapped reader gives for `bytes` written to a file named `name`.
std::string reader_error(const fs::path& dir, const std::string& name, const std::string& bytes) {
  const fs::path p = dir / name;
  write_bytes(p, bytes);
  return error_of([&] { SafetensorsReader r(p); });
}

}  // namespace

TEST(SafetensorsReader, MapsAFileAndCopiesTensorsOnRequest) {
  const fs::path dir = temp_dir("sd-st-map");
  std::map<std::string, at::Tensor> t = {
      {"w", at::randn({3, 5})},
      {"h", at::randn({4, 2}).to(at::kHalf)},
      {"b", at::randn({6}).to(at::kBFloat16)},
      {"d", at::randn({2}, at::kDouble)},
      {"i", at::arange(5, at::kInt)},
      {"alpha", at::tensor(4.0f)},
      {"mask", at::tensor({1, 0, 1}).to(at::kBool)},
      {"empty", at::zeros({0, 3})},
  };
  safetensors_save_atomic(dir / "m.safetensors", t, {{"format", "pt"}});
  SafetensorsReader r(dir / "m.safetensors");
  EXPECT_EQ(r.metadata().at("format"), "pt");
  ASSERT_EQ(r.tensors().size(), t.size());
  for (const auto& [name, x] : t) {
    ASSERT_TRUE(r.contains(name)) << name;
    const at::Tensor y = r.get(name);
    EXPECT_EQ(y.scalar_type(), x.scalar_type()) << name;
    EXPECT_TRUE(at::equal(y, x)) << name;
    EXPECT_EQ(r.tensors().at(name).shape, x.sizes().vec()) << name;
  }
  // fp16/bf16/f64 upcast (or downcast) to float32; integers and bools untouched.
  EXPECT_EQ(r.get_float("h").scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(r.get_float("h"), t["h"].to(at::kFloat)));
  EXPECT_TRUE(at::equal(r.get_float("b"), t["b"].to(at::kFloat)));
  EXPECT_EQ(r.get_float("d").scalar_type(), at::kFloat);
  EXPECT_EQ(r.get_float("i").scalar_type(), at::kInt);
  EXPECT_EQ(r.get_float("mask").scalar_type(), at::kBool);
  // A copy owns its storage: it outlives the reader.
  at::Tensor kept = r.get("w");
  const std::string missing = error_of([&] { r.get("nope"); });
  EXPECT_NE(missing.find("m.safetensors"), std::string::npos) << missing;
  EXPECT_NE(missing.find("'nope'"), std::string::npos) << missing;
  // safetensors_load goes through the reader and agrees with parsing the bytes.
  const SafetensorsFile f = safetensors_load(dir / "m.safetensors");
  EXPECT_TRUE(at::equal(f.tensors.at("w"), t["w"]));
  EXPECT_TRUE(at::equal(kept, t["w"]));
}

TEST(SafetensorsReader, RefusesBadFilesNamingTheFileAndTheProblem) {
  const fs::path dir = temp_dir("sd-st-bad");
  const std::string f32x4(16, '\0');
  struct Case {
    const char* name;
    std::string bytes;
    const char* expect;
  };
  const std::string good = make_file(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", f32x4);
  std::string huge_len = good;
  huge_len[5] = char(0x10);  // header length > 100 MB
  std::string past_end = good;
  past_end[0] = char(0xf0);  // header length beyond the file
  const std::vector<Case> cases = {
      {"empty.safetensors", "", "shorter than the 8-byte header length"},
      {"huge.safetensors", huge_len, "exceeds 100 MB"},
      {"pastend.safetensors", past_end, "runs past the end of the file"},
      {"notjson.safetensors", make_file("[1,2]", ""), "does not start with '{'"},
      {"brokenjson.safetensors", make_file("{\"a\":", ""), "not JSON"},
      {"dtype.safetensors", make_file(R"({"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", "abcd"),
       "unsupported dtype \"F8_E4M3\""},
      {"shape.safetensors", make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "12345678"),
       "bad shape"},
      {"overflow.safetensors",
       make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", f32x4), "overflows"},
      {"count.safetensors", make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", f32x4),
       "do not match shape [3] and dtype F32 (12 bytes)"},
      {"outside.safetensors", make_file(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", f32x4),
       "ends at byte 32 of a 16-byte data buffer"},
      {"overlap.safetensors",
       make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                 f32x4),
       "overlap"},
      {"hole.safetensors", make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", f32x4),
       "bytes [0, 8) of the data buffer belong to no tensor"},
      {"trailing.safetensors", make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x4),
       "8 trailing bytes"},
      {"fields.safetensors", make_file(R"({"a":{"dtype":"F32","shape":[4]}})", f32x4),
       "needs dtype, shape and data_offsets"},
      {"meta.safetensors", make_file(R"({"__metadata__":{"k":1}})", ""), "is not a string"},
  };
  EXPECT_EQ(reader_error(dir, "good.safetensors", good), "");
  for (const auto& c : cases) {
    const std::string e = reader_error(dir, c.name, c.bytes);
    EXPECT_NE(e.find((dir / c.name).string()), std::string::npos) << c.name << ": " << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.name << ": " << e;
    // The in-memory parser applies the same checks.
    EXPECT_NE(error_of([&] { safetensors_parse(c.bytes, "mem"); }).find(c.expect), std::string::npos) << c.name;
  }
  const std::string absent = error_of([&] { SafetensorsReader r(dir / "absent.safetensors"); });
  EXPECT_NE(absent.find("absent.safetensors"), std::string::npos) << absent;
  EXPECT_NE(absent.find("cannot open"), std::string::npos) << absent;
  const std::string folder = error_of([&] { SafetensorsReader r(dir); });
  EXPECT_NE(folder.find("not a regular file"), std::string::npos) << folder;
}
