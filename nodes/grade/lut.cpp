// .cube parsing and application (linear 1D, tetrahedral 3D).
#include "lut.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "camgraph/bounded_read.h"

namespace camgraph::grade {

namespace {

[[noreturn]] void bad(int line, const std::string& what) {
  throw std::runtime_error("line " + std::to_string(line) + ": " + what);
}

double number(const std::string& s, int line) {
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size()) bad(line, "'" + s + "' is not a number");
    if (!std::isfinite(v)) bad(line, "'" + s + "' is not a finite number");
    return v;
  } catch (const std::logic_error&) {
    bad(line, "'" + s + "' is not a number");
  }
}

// Position in the domain, clamped to [0, 1] in double (a huge value must not overflow a float) and
// NaN to 0: a NaN pixel must not become a table index.
float clamp01(double v) { return v >= 0 ? (v > 1 ? 1.0f : float(v)) : 0.0f; }

// The largest table a file may hold: a 1D shaper of 65536 rows and a 256^3 3D table.
constexpr size_t kMaxTableRows = 65536 + size_t(256) * 256 * 256;

}  // namespace

CubeLut CubeLut::parse(const std::string& text) {
  CubeLut lut;
  std::vector<float> data;
  bool domain_given = false, range1d_given = false, range3d_given = false;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    if (auto hash = raw.find('#'); hash != std::string::npos) raw.erase(hash);
    std::istringstream ls(raw);
    std::vector<std::string> tok;
    for (std::string t; ls >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    const std::string& key = tok[0];
    if (key == "TITLE") {
      const auto q0 = raw.find('"'), q1 = raw.rfind('"');
      lut.title = q0 != std::string::npos && q1 > q0 ? raw.substr(q0 + 1, q1 - q0 - 1) : "";
    } else if (key == "LUT_1D_SIZE" || key == "LUT_3D_SIZE") {
      if (tok.size() != 2) bad(line_no, key + " needs one value");
      const double v = number(tok[1], line_no);
      if (v != std::floor(v) || v < 2 || v > (key == "LUT_1D_SIZE" ? 65536 : 256))
        bad(line_no, key + " " + tok[1] + " is out of range");
      (key == "LUT_1D_SIZE" ? lut.size1d : lut.size3d) = int(v);
    } else if (key == "DOMAIN_MIN" || key == "DOMAIN_MAX") {
      if (tok.size() != 4) bad(line_no, key + " needs three values");
      std::array<double, 3> v{number(tok[1], line_no), number(tok[2], line_no), number(tok[3], line_no)};
      if (key == "DOMAIN_MIN") lut.min1d = lut.min3d = v;
      else lut.max1d = lut.max3d = v;
      domain_given = true;
    } else if (key == "LUT_1D_INPUT_RANGE" || key == "LUT_3D_INPUT_RANGE") {
      if (tok.size() != 3) bad(line_no, key + " needs two values");
      const double lo = number(tok[1], line_no), hi = number(tok[2], line_no);
      if (key == "LUT_1D_INPUT_RANGE") {
        lut.min1d = {lo, lo, lo};
        lut.max1d = {hi, hi, hi};
        range1d_given = true;
      } else {
        lut.min3d = {lo, lo, lo};
        lut.max3d = {hi, hi, hi};
        range3d_given = true;
      }
    } else if (std::isdigit(static_cast<unsigned char>(key[0])) || key[0] == '-' || key[0] == '+' || key[0] == '.') {
      if (tok.size() != 3) bad(line_no, "a table row needs three values, got " + std::to_string(tok.size()));
      const size_t declared = size_t(lut.size1d) + size_t(lut.size3d) * size_t(lut.size3d) * size_t(lut.size3d);
      if (data.size() / 3 >= (declared > 0 ? declared : kMaxTableRows))
        bad(line_no, "more table rows than " +
                         (declared > 0 ? "LUT_1D_SIZE / LUT_3D_SIZE declare (" + std::to_string(declared) + ")"
                                       : "any LUT may have (" + std::to_string(kMaxTableRows) + ")"));
      for (const auto& t : tok) {
        const double v = number(t, line_no);
        if (std::abs(v) > 1e30) bad(line_no, "table value " + t + " is out of range");
        data.push_back(float(v));
      }
    } else {
      bad(line_no, "unknown keyword '" + key + "'");
    }
  }
  if (lut.size1d == 0 && lut.size3d == 0) bad(line_no, "no LUT_1D_SIZE or LUT_3D_SIZE");
  if (domain_given && (range1d_given || range3d_given)) bad(line_no, "DOMAIN_MIN/MAX and LUT_*_INPUT_RANGE together");
  for (int c = 0; c < 3; ++c)
    if (!(lut.max1d[size_t(c)] > lut.min1d[size_t(c)]) || !(lut.max3d[size_t(c)] > lut.min3d[size_t(c)]))
      bad(line_no, "the domain maximum must exceed the minimum");
  const size_t rows1 = size_t(lut.size1d), rows3 = size_t(lut.size3d) * lut.size3d * lut.size3d;
  if (data.size() != 3 * (rows1 + rows3))
    bad(line_no, std::to_string(data.size() / 3) + " table rows, expected " + std::to_string(rows1 + rows3));
  lut.table1d.assign(data.begin(), data.begin() + long(3 * rows1));
  lut.table3d.assign(data.begin() + long(3 * rows1), data.end());
  return lut;
}

CubeLut CubeLut::load(const std::filesystem::path& file) {
  // The largest table (65536 + 256^3 rows of three numbers) is some 500 MB of text.
  const std::string text = read_file_bounded(file, uint64_t(1) << 30, "a .cube LUT");
  try {
    return parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error("'" + file.string() + "' " + e.what());
  }
}

std::array<float, 3> tetrahedral(const CubeLut& lut, std::array<float, 3> rgb) {
  const int n = lut.size3d;
  int i[3];
  float f[3];
  for (int c = 0; c < 3; ++c) {
    const float x = clamp01((rgb[size_t(c)] - lut.min3d[size_t(c)]) / (lut.max3d[size_t(c)] - lut.min3d[size_t(c)])) *
                    float(n - 1);
    i[c] = std::min(int(x), n - 2);
    f[c] = x - float(i[c]);
  }
  auto at = [&](int dr, int dg, int db) {
    return &lut.table3d[3 * (size_t(i[0] + dr) + size_t(i[1] + dg) * n + size_t(i[2] + db) * n * n)];
  };
  const float fr = f[0], fg = f[1], fb = f[2];
  const float* c000 = at(0, 0, 0);
  const float* c111 = at(1, 1, 1);
  const float *ca, *cb;
  float w0, wa, wb, w1;
  if (fr > fg) {
    if (fg > fb) {
      ca = at(1, 0, 0), cb = at(1, 1, 0), w0 = 1 - fr, wa = fr - fg, wb = fg - fb, w1 = fb;
    } else if (fr > fb) {
      ca = at(1, 0, 0), cb = at(1, 0, 1), w0 = 1 - fr, wa = fr - fb, wb = fb - fg, w1 = fg;
    } else {
      ca = at(0, 0, 1), cb = at(1, 0, 1), w0 = 1 - fb, wa = fb - fr, wb = fr - fg, w1 = fg;
    }
  } else {
    if (fb > fg) {
      ca = at(0, 0, 1), cb = at(0, 1, 1), w0 = 1 - fb, wa = fb - fg, wb = fg - fr, w1 = fr;
    } else if (fb > fr) {
      ca = at(0, 1, 0), cb = at(0, 1, 1), w0 = 1 - fg, wa = fg - fb, wb = fb - fr, w1 = fr;
    } else {
      ca = at(0, 1, 0), cb = at(1, 1, 0), w0 = 1 - fg, wa = fg - fr, wb = fr - fb, w1 = fb;
    }
  }
  return {w0 * c000[0] + wa * ca[0] + wb * cb[0] + w1 * c111[0], w0 * c000[1] + wa * ca[1] + wb * cb[1] + w1 * c111[1],
          w0 * c000[2] + wa * ca[2] + wb * cb[2] + w1 * c111[2]};
}

std::array<float, 3> trilinear(const CubeLut& lut, std::array<float, 3> rgb) {
  const int n = lut.size3d;
  int i[3];
  float f[3];
  for (int c = 0; c < 3; ++c) {
    const float x = clamp01((rgb[size_t(c)] - lut.min3d[size_t(c)]) / (lut.max3d[size_t(c)] - lut.min3d[size_t(c)])) *
                    float(n - 1);
    i[c] = std::min(int(x), n - 2);
    f[c] = x - float(i[c]);
  }
  std::array<float, 3> out{0, 0, 0};
  for (int corner = 0; corner < 8; ++corner) {
    const int dr = corner & 1, dg = (corner >> 1) & 1, db = (corner >> 2) & 1;
    const float w = (dr ? f[0] : 1 - f[0]) * (dg ? f[1] : 1 - f[1]) * (db ? f[2] : 1 - f[2]);
    const float* v = &lut.table3d[3 * (size_t(i[0] + dr) + size_t(i[1] + dg) * n + size_t(i[2] + db) * n * n)];
    for (int c = 0; c < 3; ++c) out[size_t(c)] += w * v[c];
  }
  return out;
}

void CubeLut::apply(float* rgb, size_t count) const {
  for (size_t p = 0; p < count; ++p) {
    float* v = rgb + 3 * p;
    if (size1d > 0) {
      for (int c = 0; c < 3; ++c) {
        const float x = clamp01((v[c] - min1d[size_t(c)]) / (max1d[size_t(c)] - min1d[size_t(c)])) * float(size1d - 1);
        const int k = std::min(int(x), size1d - 2);
        const float t = x - float(k);
        v[c] = (1 - t) * table1d[3 * size_t(k) + c] + t * table1d[3 * size_t(k + 1) + c];
      }
    }
    if (size3d > 0) {
      const auto out = trilinear ? grade::trilinear(*this, {v[0], v[1], v[2]}) : tetrahedral(*this, {v[0], v[1], v[2]});
      v[0] = out[0], v[1] = out[1], v[2] = out[2];
    }
  }
}

}  // namespace camgraph::grade
