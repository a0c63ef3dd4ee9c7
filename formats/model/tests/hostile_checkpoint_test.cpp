// Hostile torch.save checkpoints built here byte by byte: cycles and deep nesting in the pickle,
// sizes that lie in the zip headers and the storages, stride-0 and overflowing views, copies that
// multiply, truncations. Each must end in a std::runtime_error naming the file and the problem,
// within 5 seconds, without allocating what the file cannot hold.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

#include "camgraph/formats/torch_checkpoint.h"
#include "checkpoint_builder.h"
#include "test_support.h"

namespace fs = std::filesystem;
using camgraph::CheckpointOptions;
using camgraph::testing::binint;
using camgraph::testing::kOrderedDict;
using camgraph::testing::long8;
using camgraph::testing::put16;
using camgraph::testing::put32;
using camgraph::testing::put64;
using camgraph::testing::tensor_pickle;
using camgraph::testing::unicode;
using camgraph::testing::zip_crafted;
using camgraph::testing::zip_stored;
using camgraph::testing::ZipFile;

namespace {

const std::string kSource = "hostile.pth";

// The error of loading `bytes`, which must come within 5 s and name the file.
std::string refusal(const std::string& bytes, const CheckpointOptions& options = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string err;
  try {
    camgraph::load_torch_checkpoint_bytes(bytes, kSource, options);
  } catch (const std::runtime_error& e) {
    err = e.what();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 5.0) << err;
  EXPECT_EQ(err.rfind(kSource + ": ", 0), 0u) << "not refused, or the error does not name the file: " << err;
  return err;
}

// An archive holding `pickle` as data.pkl and the given storages.
std::string archive(const std::string& pickle, const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  std::vector<std::pair<std::string, std::string>> files = {{"ck/data.pkl", pickle}};
  for (const auto& [key, data] : storages) files.push_back({"ck/data/" + key, data});
  return zip_stored(files);
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

// {"w": <tensor>} as a protocol-2 pickle.
std::string dict_of(const std::string& tensor) { return "\x80\x02" + kOrderedDict + unicode("w") + tensor + "s."; }

}  // namespace

TEST(HostileCheckpoint, ListThatContainsItselfIsRefused) {
  // [] MEMOIZE, BINGET 0, APPEND: the list holds itself.
  const std::string err = refusal(archive(std::string("\x80\x02]\x94h\x00", 6) + "a."));
  EXPECT_NE(err.find("contains itself"), std::string::npos) << err;
  // A state dict that holds itself next to a real tensor.
  const std::string dict = "\x80\x02}\x94" + unicode("w") + tensor_pickle("0", 1, {1}, {1}) + "s" + unicode("me") +
                           std::string("h\x00", 2) + "s.";
  const std::string err2 = refusal(archive(dict, {{"0", floats({1})}}));
  EXPECT_NE(err2.find("contains itself"), std::string::npos) << err2;
  EXPECT_NE(err2.find("'me'"), std::string::npos) << err2;
}

TEST(HostileCheckpoint, NestingAMillionDeepIsRefusedWithoutOverflowingTheStack) {
  // ] then TUPLE1 a million times: one byte per level.
  const std::string tuples = "\x80\x02]" + std::string(1000000, '\x85') + ".";
  std::string err = refusal(archive(tuples));
  EXPECT_NE(err.find("nested deeper than 1000"), std::string::npos) << err;
  // MARK a million times, then LIST a million times.
  const std::string lists = "\x80\x02" + std::string(1000000, '(') + std::string(1000000, 'l') + ".";
  err = refusal(archive(lists));
  EXPECT_NE(err.find("nested deeper than 1000"), std::string::npos) << err;
  // Deep but inside the limit: read (no tensors there, so that is the refusal).
  err = refusal(archive("\x80\x02]" + std::string(900, '\x85') + "."));
  EXPECT_NE(err.find("holds no tensors"), std::string::npos) << err;
}

TEST(HostileCheckpoint, SharedContainersThatMultiplyTheWalkAreRefused) {
  // L0 = [t]; L(k+1) = [Lk, Lk] sixty times: 2^60 paths through 120 objects.
  std::string p = "\x80\x02]" + tensor_pickle("0", 1, {1}, {1}) + "a";
  for (int k = 0; k < 60; ++k) p += "\x94(h" + std::string(1, char(k)) + "h" + std::string(1, char(k)) + "l";
  const std::string err = refusal(archive(p + ".", {{"0", floats({1})}}));
  EXPECT_NE(err.find("visits more than"), std::string::npos) << err;
}

TEST(HostileCheckpoint, RepeatedCopiesOfALargeListAreRefused) {
  // One list of 100k pairs, then OrderedDict(list) 100k times: 10^10 copied pairs.
  std::string p = "\x80\x02(";
  for (int k = 0; k < 100000; ++k) p += "K\x01K\x02\x86";
  p += "l\x94";
  const std::string reduce = "ccollections\nOrderedDict\nh" + std::string(1, '\0') + "\x85R0";  // POP the result
  for (int k = 0; k < 100000; ++k) p += reduce;
  const std::string err = refusal(archive(p + "."));
  EXPECT_NE(err.find("copies more than"), std::string::npos) << err;
}

TEST(HostileCheckpoint, OneObjectPerByteIsBounded) {
  // Three million None: an object per pickle byte, a few hundred bytes of memory each.
  const std::string err = refusal(archive("\x80\x02" + std::string(3000000, 'N') + "."));
  EXPECT_NE(err.find("objects"), std::string::npos) << err;
}

TEST(HostileCheckpoint, HugeSizesInTheZipHeadersAreRefusedBeforeAllocating) {
  const std::string pkl = dict_of(tensor_pickle("0", 2, {2}, {1}));
  // Central directory: data.pkl declares 4 GB.
  std::string err = refusal(zip_crafted({ZipFile{"ck/data.pkl", pkl, 0xFFFFFFF0}}));
  EXPECT_NE(err.find("declares 4294967280 bytes"), std::string::npos) << err;
  // Central directory: a local header offset past the end.
  err = refusal(zip_crafted({ZipFile{"ck/data.pkl", pkl, -1, -1, "", 0x7FFFFFFF}}));
  EXPECT_NE(err.find("past the end"), std::string::npos) << err;
  // Local header: a name length that pushes the data past the end of the file.
  err = refusal(zip_crafted({ZipFile{"ck/data.pkl", pkl, -1, 65535}}));
  EXPECT_NE(err.find("runs past the end"), std::string::npos) << err;
  // ZIP64 extra field with an 8-exabyte size.
  std::string extra;
  put16(extra, 1);
  put16(extra, 16);
  put64(extra, std::uint64_t(1) << 62);  // uncompressed and compressed size
  put64(extra, std::uint64_t(1) << 62);
  err = refusal(zip_crafted({ZipFile{"ck/data.pkl", pkl, 0xFFFFFFFF, -1, extra}}));
  EXPECT_NE(err.find("declares 4611686018427387904 bytes"), std::string::npos) << err;
  // An extra field whose length runs past its entry (read past the directory before).
  std::string bad_extra;
  put16(bad_extra, 1);
  put16(bad_extra, 60000);
  err = refusal(zip_crafted({ZipFile{"ck/data.pkl", pkl, 0xFFFFFFFF, -1, bad_extra}}));
  EXPECT_NE(err.find("extra field"), std::string::npos) << err;
}

TEST(HostileCheckpoint, LyingZip64EndRecordIsRefused) {
  std::string z = zip_stored({{"ck/data.pkl", dict_of(tensor_pickle("0", 1, {1}, {1}))}});
  const std::size_t eocd = z.size() - 22;
  std::string end64;  // zip64 end record: 2^60 entries in a 2^62-byte directory at offset 0
  put32(end64, 0x06064b50);
  put64(end64, 44);
  put16(end64, 45);
  put16(end64, 45);
  put32(end64, 0);
  put32(end64, 0);
  put64(end64, std::uint64_t(1) << 60);
  put64(end64, std::uint64_t(1) << 60);
  put64(end64, std::uint64_t(1) << 62);
  put64(end64, 0);
  std::string locator;
  put32(locator, 0x07064b50);
  put32(locator, 0);
  put64(locator, eocd);  // where end64 will be
  put32(locator, 1);
  const std::string hostile = z.substr(0, eocd) + end64 + locator + z.substr(eocd);
  const std::string err = refusal(hostile);
  EXPECT_NE(err.find("central directory"), std::string::npos) << err;
}

TEST(HostileCheckpoint, StorageLargerThanItsEntryIsRefusedBeforeAllocating) {
  // 2^40 floats declared, 8 bytes stored.
  std::string err = refusal(
      archive(dict_of(tensor_pickle("0", std::int64_t(1) << 40, {2}, {1})), {{"0", floats({1, 2})}}));
  EXPECT_NE(err.find("is shorter"), std::string::npos) << err;
  // Element count times element size overflows.
  err = refusal(archive(dict_of(tensor_pickle("0", std::int64_t(1) << 62, {2}, {1}, 0, "DoubleStorage")),
                        {{"0", floats({1, 2})}}));
  EXPECT_NE(err.find("storage '0'"), std::string::npos) << err;
  // The dtype's element size does not fit the entry: two float32 values read as two doubles.
  err = refusal(archive(dict_of(tensor_pickle("0", 2, {2}, {1}, 0, "DoubleStorage")), {{"0", floats({1, 2})}}));
  EXPECT_NE(err.find("DoubleStorage"), std::string::npos) << err;
  EXPECT_NE(err.find("is shorter"), std::string::npos) << err;
}

TEST(HostileCheckpoint, OverlappingZipEntriesCannotMultiplyTheStorages) {
  // 64 KiB of data under 200 names that all point at the same bytes: 12.8 MB of storages from a
  // 76 KB file. Each storage fits its entry; together they exceed the file.
  const std::string data(65536, '\1');
  std::string pkl = "\x80\x02" + kOrderedDict;
  std::vector<ZipFile> files = {{"ck/data/0", data}};
  for (int k = 0; k < 200; ++k) {
    pkl += unicode("w" + std::to_string(k)) + tensor_pickle(std::to_string(k), 16384, {16384}, {1}) + "s";
    if (k) files.push_back(ZipFile{"ck/data/" + std::to_string(k), "", 65536, -1, "", 0});
  }
  files.push_back(ZipFile{"ck/data.pkl", pkl + "."});
  const std::string err = refusal(zip_crafted(files));
  EXPECT_NE(err.find("overlap"), std::string::npos) << err;
}

TEST(HostileCheckpoint, StrideZeroViewIsNotMaterialisedAtFullSize) {
  // One float viewed as 2^20 x 2^20 with stride 0: 4 TB if copied.
  const std::string err = refusal(
      archive(dict_of(tensor_pickle("0", 1, {1 << 20, 1 << 20}, {0, 0})), {{"0", floats({1})}}));
  EXPECT_NE(err.find("stride-0"), std::string::npos) << err;
  // A small stride-0 view is fine, and copied out.
  const auto t = camgraph::load_torch_checkpoint_bytes(
      archive(dict_of(tensor_pickle("0", 1, {3, 2}, {0, 0})), {{"0", floats({2.5f})}}), kSource);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t[0].second.is_contiguous());
  EXPECT_TRUE(at::equal(t[0].second, at::full({3, 2}, 2.5f)));
}

TEST(HostileCheckpoint, OverflowingShapeAndStrideProductsAreRefused) {
  const std::string four = floats({1, 2, 3, 4});
  // (size - 1) * stride overflows int64.
  std::string err = refusal(archive(dict_of(tensor_pickle("0", 4, {std::int64_t(1) << 62, 1}, {4, 1})), {{"0", four}}));
  EXPECT_NE(err.find("overflows"), std::string::npos) << err;
  // The element count overflows.
  err = refusal(
      archive(dict_of(tensor_pickle("0", 4, {std::int64_t(1) << 32, std::int64_t(1) << 32}, {0, 0})), {{"0", four}}));
  EXPECT_NE(err.find("overflows"), std::string::npos) << err;
  // Offset + reach past the storage.
  err = refusal(archive(dict_of(tensor_pickle("0", 4, {2}, {2}, 3)), {{"0", four}}));
  EXPECT_NE(err.find("4-element storage"), std::string::npos) << err;
  // Negative strides and a thousand dimensions.
  err = refusal(archive(dict_of(tensor_pickle("0", 4, {2}, {-1}, 3)), {{"0", four}}));
  EXPECT_NE(err.find("negative"), std::string::npos) << err;
  err = refusal(
      archive(dict_of(tensor_pickle("0", 4, std::vector<std::int64_t>(1000, 1), std::vector<std::int64_t>(1000, 1))),
              {{"0", four}}));
  EXPECT_NE(err.find("1000 dimensions"), std::string::npos) << err;
}

TEST(HostileCheckpoint, EveryTruncationOfARealCheckpointIsRefusedNamingTheFile) {
  std::ifstream in(fs::path(CAMGRAPH_SOURCE_DIR) / "formats/model/tests/golden/tiny_state_dict.pth", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  for (std::size_t n = 0; n < bytes.size(); ++n) refusal(bytes.substr(0, n));
  // And the pickle alone cut anywhere, inside an otherwise valid archive.
  const std::string pkl = dict_of(tensor_pickle("0", 2, {2}, {1}));
  for (std::size_t n = 0; n < pkl.size(); ++n) refusal(archive(pkl.substr(0, n), {{"0", floats({1, 2})}}));
}

TEST(HostileCheckpoint, NaNValuesAreDataAndReadAsStored) {
  // NaN is not a size or an offset anywhere in the format: a NaN weight or hyperparameter loads
  // unchanged (checking values is the model's business).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::string hparam = "G\x7f\xf8" + std::string(6, '\0');  // BINFLOAT NaN
  const std::string pkl = "\x80\x02" + kOrderedDict + unicode("w") + tensor_pickle("0", 2, {2}, {1}) + "s" +
                          unicode("lr") + hparam + "s.";
  const auto t = camgraph::load_torch_checkpoint_bytes(archive(pkl, {{"0", floats({nan, 1})}}), kSource);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(std::isnan(t[0].second[0].item<float>()));
  EXPECT_EQ(t[0].second[1].item<float>(), 1.0f);
}

TEST(HostileCheckpoint, RefusalsFromAFileNameItsPath) {
  const fs::path dir = camgraph::testing::temp_dir("hostile-checkpoint");
  const fs::path p = dir / "cycle.pth";
  const std::string bytes = archive(std::string("\x80\x02]\x94h\x00", 6) + "a.");
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  const std::string err = camgraph::testing::error_of([&] { camgraph::load_torch_checkpoint(p); });
  EXPECT_EQ(err.rfind(p.string() + ": ", 0), 0u) << err;
  EXPECT_NE(err.find("contains itself"), std::string::npos) << err;
}
