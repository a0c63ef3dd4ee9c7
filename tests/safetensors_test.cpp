// Hostile safetensors files built here: header lengths that lie, nesting, overlapping and
// out-of-range data_offsets, shapes that do not match their bytes or overflow, NaN in the header,
// truncations. Each ends in a std::runtime_error naming the file and the problem, within 5 s.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include "camgraph/safetensors.h"
#include "test_support.h"

using camgraph::safetensors_parse;
using camgraph::safetensors_serialize;

namespace {

const std::string kSource = "hostile.safetensors";

// A file with this header text (padded to 8 bytes) and `data_bytes` bytes of data.
std::string file_with(const std::string& header, std::size_t data_bytes, std::uint64_t declared_length = 0) {
  std::string h = header;
  while (h.size() % 8) h.push_back(' ');
  const std::uint64_t n = declared_length ? declared_length : h.size();
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(char((n >> (8 * i)) & 0xff));
  return out + h + std::string(data_bytes, '\0');
}

std::string refusal(const std::string& bytes) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string err;
  try {
    safetensors_parse(bytes, kSource);
  } catch (const std::runtime_error& e) {
    err = e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_EQ(err.rfind(kSource + ": not a valid safetensors file: ", 0), 0u) << "not refused or unnamed: " << err;
  return err;
}

}  // namespace

TEST(HostileSafetensors, HeaderLengthLies) {
  const std::string good = safetensors_serialize({{"w", at::ones({2, 2})}});
  std::string err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, 1000));
  EXPECT_NE(err.find("runs past the end of the file"), std::string::npos) << err;
  err = refusal(file_with("{}", 0, ~std::uint64_t(0)));  // 8 + length would wrap around
  EXPECT_NE(err.find("exceeds 100 MB"), std::string::npos) << err;
  err = refusal(file_with("{}", 0, 1));
  EXPECT_NE(err.find("too short"), std::string::npos) << err;
  // Shorter than the real header: the JSON is cut.
  std::string cut = good;
  cut[0] = char(10);
  err = refusal(cut);
  EXPECT_NE(err.find("not JSON"), std::string::npos) << err;
}

TEST(HostileSafetensors, DataOffsetsOutOfRangeOrOverlapping) {
  std::string err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  EXPECT_NE(err.find("ends at byte 16 of a 8-byte data buffer"), std::string::npos) << err;
  err = refusal(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          12));
  EXPECT_NE(err.find("overlap"), std::string::npos) << err;
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8));
  EXPECT_NE(err.find("data_offsets [8, 4)"), std::string::npos) << err;
  err = refusal(
      file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551616]}})", 8));
  EXPECT_NE(err.find("data_offsets"), std::string::npos) << err;
  // A hole: bytes that belong to no tensor.
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8));
  EXPECT_NE(err.find("belong to no tensor"), std::string::npos) << err;
}

TEST(HostileSafetensors, ShapeAndDtypeMustMatchTheBytes) {
  // F64 of 2 elements needs 16 bytes, not 8 (dtype size mismatch).
  std::string err = refusal(file_with(R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8));
  EXPECT_NE(err.find("(16 bytes)"), std::string::npos) << err;
  // A shape of 2^40 x 2^40 with 8 bytes: element count overflows the byte count.
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", 8));
  EXPECT_NE(err.find("overflows"), std::string::npos) << err;
  // No elements, but the non-zero dims overflow (libtorch's strides would).
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],)"
                          R"("data_offsets":[0,0]}})",
                          0));
  EXPECT_NE(err.find("overflows"), std::string::npos) << err;
  // A thousand dimensions, negative and fractional dims, an unknown dtype.
  std::string dims = "[1";
  for (int k = 0; k < 999; ++k) dims += ",1";
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":)" + dims + R"(],"data_offsets":[0,4]}})", 4));
  EXPECT_NE(err.find("at most 64"), std::string::npos) << err;
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
  EXPECT_NE(err.find("not a count"), std::string::npos) << err;
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4));
  EXPECT_NE(err.find("not a count"), std::string::npos) << err;
  err = refusal(file_with(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4));
  EXPECT_NE(err.find("unsupported dtype"), std::string::npos) << err;
}

TEST(HostileSafetensors, DeepNestingAndNaNInTheHeader) {
  // A dtype nested a million deep: refused before nlohmann builds (or dumps) it.
  const std::string deep = R"({"w":{"dtype":)" + std::string(1000000, '[') + std::string(1000000, ']') + "}}";
  std::string err = refusal(file_with(deep, 0));
  EXPECT_NE(err.find("nested deeper than 8"), std::string::npos) << err;
  // Brackets inside strings do not count.
  const auto f = safetensors_parse(file_with(R"({"__metadata__":{"k":"[[[[[[[[[[[[[["}})", 0), kSource);
  EXPECT_EQ(f.metadata.at("k"), "[[[[[[[[[[[[[[");
  // NaN is not JSON.
  err = refusal(file_with(R"({"w":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}})", 4));
  EXPECT_NE(err.find("not JSON"), std::string::npos) << err;
  // A huge key is cut in the message.
  err = refusal(file_with("{\"" + std::string(100000, 'k') + R"(":{"dtype":"F32"}})", 0));
  EXPECT_LT(err.size(), 400u) << err.size();
}

TEST(HostileSafetensors, EveryTruncationIsRefused) {
  const std::string good = safetensors_serialize({{"a", at::ones({3})}, {"b", at::zeros({2, 2}).to(at::kHalf)}});
  for (std::size_t n = 0; n < good.size(); ++n) refusal(good.substr(0, n));
}

TEST(HostileSafetensors, TheMappedReaderRefusesTheSameWayNamingThePath) {
  const auto dir = camgraph::testing::temp_dir("hostile-safetensors");
  const auto p = dir / "overlap.safetensors";
  const std::string bytes = file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                      12);
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  const std::string err = camgraph::testing::error_of([&] { camgraph::SafetensorsReader r(p); });
  EXPECT_EQ(err.rfind(p.string() + ": ", 0), 0u) << err;
  EXPECT_NE(err.find("overlap"), std::string::npos) << err;
}
