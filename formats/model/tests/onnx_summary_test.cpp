// The bounded ONNX walk (camgraph/formats/onnx_summary.h): the families' tiny real models, and
// models built here field by field with lying lengths, weights that claim more than they hold,
// overflowing dims, external data, truncations.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include "camgraph/formats/onnx_summary.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace {

const std::string kSource = "model.onnx";

std::string varint(std::uint64_t v) {
  std::string s;
  do {
    s.push_back(char((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
    v >>= 7;
  } while (v);
  return s;
}
std::string key(int field, int wire) { return varint(std::uint64_t(field) << 3 | std::uint64_t(wire)); }
std::string num(int field, std::uint64_t v) { return key(field, 0) + varint(v); }
std::string msg(int field, const std::string& body) { return key(field, 2) + varint(body.size()) + body; }

// TensorProto: dims, data type, name, raw data.
std::string tensor(const std::vector<std::int64_t>& dims, int type, const std::string& raw, bool has_raw = true) {
  std::string t;
  for (auto d : dims) t += num(1, std::uint64_t(d));
  t += num(2, std::uint64_t(type)) + msg(8, "w");
  if (has_raw) t += msg(9, raw);
  return t;
}

// A model: IR version 8, opset 13, one Relu node, one output, the given initializers.
std::string model(const std::vector<std::string>& initializers = {}) {
  std::string graph = msg(1, msg(1, "x") + msg(2, "y") + msg(4, "Relu"));
  for (const auto& t : initializers) graph += msg(5, t);
  graph += msg(12, msg(1, "y"));
  return num(1, 8) + msg(8, num(2, 13)) + msg(7, graph);
}

std::string refusal(const std::string& bytes) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string err;
  try {
    camgraph::inspect_onnx(bytes, kSource);
  } catch (const std::runtime_error& e) {
    err = e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_EQ(err.rfind(kSource + ": not a valid ONNX model: ", 0), 0u) << "not refused or unnamed: " << err;
  EXPECT_NE(err.find(" at byte "), std::string::npos) << err;
  return err;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(OnnxSummary, ReadsTheFamiliesTinyModels) {
  const fs::path root(CAMGRAPH_SOURCE_DIR);
  for (const char* f : {"nodes/matting/tests/golden/tiny_model.onnx", "nodes/depth/tests/golden/midas_tiny.onnx",
                        "nodes/depth/tests/golden/depth_anything_tiny.onnx"}) {
    const auto s = camgraph::inspect_onnx(read(root / f), f);
    EXPECT_FALSE(s.outputs.empty()) << f;
    EXPECT_GT(s.nodes, 0u) << f;
    EXPECT_GT(s.opset, 0) << f;
  }
  const auto s = camgraph::inspect_onnx(read(root / "nodes/matting/tests/golden/layernorm_opset17.onnx"), "ln");
  EXPECT_NE(std::find(s.op_types.begin(), s.op_types.end(), "LayerNormalization"), s.op_types.end());
  EXPECT_EQ(s.opset, 17);
}

TEST(OnnxSummary, ConsistentWeightsPass) {
  const auto s = camgraph::inspect_onnx(model({tensor({2, 3}, 1, std::string(24, '\0')), tensor({0}, 7, "")}), kSource);
  EXPECT_EQ(s.weights, 2u);
  EXPECT_EQ(s.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(s.op_types, std::vector<std::string>{"Relu"});
  // float_data, packed: six floats for a 2x3 FLOAT tensor.
  const std::string packed = num(1, 2) + num(1, 3) + num(2, 1) + msg(4, std::string(24, '\0'));
  EXPECT_EQ(camgraph::inspect_onnx(model({packed}), kSource).weights, 1u);
}

TEST(OnnxSummary, WeightsThatClaimMoreThanTheyHoldAreRefused) {
  // A billion by a billion floats, with 4 bytes of data.
  std::string err = refusal(model({tensor({1000000000, 1000000000}, 1, "abcd")}));
  EXPECT_NE(err.find("declares 1000000000000000000 elements"), std::string::npos) << err;
  // The same with no data at all (OpenCV would allocate it).
  err = refusal(model({tensor({1 << 20, 1 << 20}, 1, "", false)}));
  EXPECT_NE(err.find("holds 0"), std::string::npos) << err;
  // Dims whose product overflows.
  err = refusal(model({tensor({std::int64_t(1) << 40, std::int64_t(1) << 40}, 1, "abcd")}));
  EXPECT_NE(err.find("overflows"), std::string::npos) << err;
  // A negative dim (a ten-byte varint).
  err = refusal(model({tensor({-4}, 1, "abcd")}));
  EXPECT_NE(err.find("negative dimension"), std::string::npos) << err;
  // Element size times count does not match the raw bytes (dtype size mismatch: DOUBLE).
  err = refusal(model({tensor({1}, 11, "abcd")}));
  EXPECT_NE(err.find("holds 4 bytes"), std::string::npos) << err;
  // Unknown data type, external data.
  err = refusal(model({tensor({1}, 99, "abcd")}));
  EXPECT_NE(err.find("unknown data type 99"), std::string::npos) << err;
  err = refusal(model({tensor({1}, 1, "abcd") + num(14, 1)}));
  EXPECT_NE(err.find("external file"), std::string::npos) << err;
}

TEST(OnnxSummary, LyingLengthsAndBrokenFieldsAreRefused) {
  // The graph declares a gigabyte.
  std::string err = refusal(num(1, 8) + key(7, 2) + varint(1u << 30) + "short");
  EXPECT_NE(err.find("declares 1073741824 bytes"), std::string::npos) << err;
  // An eleven-byte varint, a group wire type, field number 0.
  err = refusal(num(1, 8) + key(3, 0) + std::string(11, '\xff'));
  EXPECT_NE(err.find("varint"), std::string::npos) << err;
  err = refusal(num(1, 8) + key(5, 3));
  EXPECT_NE(err.find("wire type 3"), std::string::npos) << err;
  err = refusal(std::string(1, '\x02') + "x");
  EXPECT_NE(err.find("field number 0"), std::string::npos) << err;
  // Not ONNX at all, and a model without a graph.
  refusal("this is not a protobuf at all, just text");
  err = refusal(num(1, 8));
  EXPECT_NE(err.find("no graph"), std::string::npos) << err;
}

TEST(OnnxSummary, TruncationsNeverCrashAndNameTheFile) {
  const std::string bytes = model({tensor({2, 3}, 1, std::string(24, '\0'))});
  int refused = 0;
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    try {
      camgraph::inspect_onnx(bytes.substr(0, n), kSource);
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(kSource + ": ", 0), 0u) << e.what();
      ++refused;
    }
  }
  // The graph comes last: every cut loses it or truncates it.
  EXPECT_EQ(refused, int(bytes.size()));
}

TEST(OnnxSummary, ReadingAFileNamesItsPath) {
  const fs::path dir = camgraph::testing::temp_dir("onnx-summary");
  const std::string err = camgraph::testing::error_of([&] { camgraph::read_onnx_file(dir / "absent.onnx"); });
  EXPECT_NE(err.find("absent.onnx"), std::string::npos) << err;
  std::ofstream(dir / "m.onnx", std::ios::binary) << model();
  EXPECT_EQ(camgraph::inspect_onnx(camgraph::read_onnx_file(dir / "m.onnx"), "m").nodes, 1u);
}
