// .cube files written to break the parser: NaN and infinite values, out-of-range sizes and values,
// more rows than declared, lying sizes, oversized files; NaN pixels through a valid table.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "grade/lut.h"
#include "hostile_file_support.h"
#include "test_support.h"

using camgraph::grade::CubeLut;
namespace fs = std::filesystem;

using camgraph::testing::expect_has;
using camgraph::testing::fast_error;

namespace {

std::string parse_error(const std::string& text) {
  return fast_error([&] { CubeLut::parse(text); });
}

const char* const kIdentity2 = "LUT_3D_SIZE 2\n0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n";

}  // namespace

TEST(CubeLutHostile, NonFiniteAndHugeValues) {
  for (const char* v : {"nan", "-nan", "+inf", "-inf", "inf", "1e999", "-infinity", "0x1p99999"}) {
    std::string text = kIdentity2;
    text.replace(text.find("1 1 1"), 5, std::string("1 ") + v + " 1");
    expect_has(parse_error(text), {"line 9"});
  }
  std::string text = kIdentity2;
  text.replace(text.find("1 1 1"), 5, "1 1e38 1");
  expect_has(parse_error(text), {"line 9", "out of range"});
  expect_has(parse_error(std::string("DOMAIN_MIN 0 nan 0\n") + kIdentity2), {"line 1", "nan"});
  expect_has(parse_error(std::string("LUT_3D_INPUT_RANGE 0 inf\n") + kIdentity2), {"line 1", "inf"});
}

TEST(CubeLutHostile, SizesOutOfRange) {
  for (const char* size : {"0", "1", "-2", "2.5", "257", "1e300", "99999999999999999999"})
    expect_has(parse_error(std::string("LUT_3D_SIZE ") + size + "\n0 0 0\n"),
               {"line 1", "LUT_3D_SIZE", "out of range"});
  for (const char* size : {"nan", "inf", "two"})
    expect_has(parse_error(std::string("LUT_3D_SIZE ") + size + "\n0 0 0\n"), {"line 1", size});
  expect_has(parse_error("LUT_1D_SIZE 65537\n"), {"line 1", "out of range"});
  expect_has(parse_error("LUT_3D_SIZE 2 2\n"), {"line 1", "needs one value"});
}

// A size that promises a huge table over a few rows fails at the end, having stored only the rows.
TEST(CubeLutHostile, LyingSizes) {
  expect_has(parse_error("LUT_3D_SIZE 256\n0 0 0\n1 1 1\n"), {"2 table rows, expected 16777216"});
  // More rows than declared: stops at the first extra row, not at the end of the file.
  std::string text = kIdentity2;
  for (int i = 0; i < 100000; ++i) text += "0.5 0.5 0.5\n";
  expect_has(parse_error(text), {"line 10", "more table rows than LUT_1D_SIZE / LUT_3D_SIZE declare (8)"});
}

TEST(CubeLutHostile, OversizedAndUnreadableFiles) {
  const fs::path dir = camgraph::testing::temp_dir("cube_hostile");
  const fs::path big = dir / "big.cube";
  { std::ofstream(big) << kIdentity2; }
  fs::resize_file(big, (uint64_t(1) << 30) + 1);  // sparse: no disk used
  expect_has(fast_error([&] { CubeLut::load(big); }), {"big.cube", "1073741825 bytes", "more than"});
  expect_has(fast_error([&] { CubeLut::load(dir / "missing.cube"); }), {"missing.cube", "not found"});
  expect_has(fast_error([&] { CubeLut::load(dir); }), {"cube_hostile", "not a regular file"});
  const fs::path bad = dir / "bad.cube";
  { std::ofstream(bad) << "TITLE \"x\"\nLUT_3D_SIZE 2\n0 0 0\n1 nan 0\n"; }
  expect_has(fast_error([&] { CubeLut::load(bad); }), {"bad.cube", "line 4", "not a finite number"});
  fs::remove_all(dir);
}

// NaN and infinite pixels through a valid 1D + 3D table stay inside the tables (clamped to the
// domain's low end), never an index computed from NaN.
TEST(CubeLutHostile, NonFinitePixelsStayInsideTheTable) {
  const std::string text = std::string("LUT_1D_SIZE 2\nLUT_3D_SIZE 2\n0 0 0\n1 1 1\n") + (kIdentity2 + 14);
  for (bool tri : {false, true}) {
    CubeLut l = CubeLut::parse(text);
    l.trilinear = tri;
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    float px[12] = {nan, 0.5f, 0.5f, inf, -inf, nan, 0.25f, nan, inf, nan, nan, nan};
    l.apply(px, 4);
    for (float v : px) {
      EXPECT_TRUE(std::isfinite(v)) << (tri ? "trilinear" : "tetrahedral");
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 1.0f);
    }
  }
}
