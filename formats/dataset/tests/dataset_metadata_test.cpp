// The dataset folder format on its own (no dataset family, no FFmpeg): writer names, one-line
// upserts and the shard merge. The family's tests (nodes/dataset/tests) cover annotate writing them.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "camgraph/formats/dataset_metadata.h"
#include "camgraph/output_files.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
namespace dataset = camgraph::dataset;

TEST(DatasetMetadata, WriterNamesAndTheirFiles) {
  EXPECT_TRUE(dataset::valid_writer_name(""));
  EXPECT_TRUE(dataset::valid_writer_name("local-12-s0"));
  EXPECT_FALSE(dataset::valid_writer_name("../x"));
  EXPECT_FALSE(dataset::valid_writer_name(".hidden"));
  EXPECT_EQ(dataset::metadata_file_for_writer("ds", ""), fs::path("ds") / "metadata.jsonl");
  EXPECT_EQ(dataset::metadata_file_for_writer("ds", "w1"), fs::path("ds") / "metadata.d" / "w1.jsonl");
}

TEST(DatasetMetadata, UpsertReplacesTheLineOfTheSameFile) {
  std::string text = dataset::upsert_jsonl_line("", {{"file_name", "a.mp4"}, {"v", 1}});
  text = dataset::upsert_jsonl_line(text, {{"file_name", "b.mp4"}, {"v", 2}});
  text = dataset::upsert_jsonl_line(text, {{"file_name", "a.mp4"}, {"v", 3}});
  EXPECT_EQ(text, "{\"file_name\":\"a.mp4\",\"v\":3}\n{\"file_name\":\"b.mp4\",\"v\":2}\n");
}

TEST(DatasetMetadata, IndexMergesShardsAndRemovesThem) {
  const fs::path ds = camgraph::testing::temp_dir("dataset-formats-index");
  fs::create_directories(ds / "metadata.d");
  std::ofstream(ds / "metadata.d" / "w1.jsonl") << "{\"file_name\": \"a.mp4\", \"w\": 1}\n";
  std::ofstream(ds / "metadata.d" / "w2.jsonl") << "{\"file_name\": \"a.mp4\", \"w\": 2}\n{\"file_name\": \"b.mp4\"}\n";
  std::ofstream(ds / "a.mp4") << "x";
  const auto report = dataset::index_dataset_metadata(ds);
  EXPECT_EQ(report.shards, 2u);
  EXPECT_EQ(report.items, 2u);
  EXPECT_EQ(report.replaced, 1u);
  ASSERT_EQ(report.missing_files.size(), 1u);
  EXPECT_EQ(report.missing_files[0], "b.mp4");
  EXPECT_FALSE(fs::exists(ds / "metadata.d" / "w1.jsonl"));
  const std::string merged = camgraph::read_file(ds / "metadata.jsonl");
  EXPECT_NE(merged.find("\"w\": 2"), std::string::npos) << merged;
  EXPECT_EQ(dataset::index_dataset_metadata(ds).shards, 0u);
  EXPECT_EQ(camgraph::read_file(ds / "metadata.jsonl"), merged);
}

TEST(DatasetMetadata, AnItemThatRanAgainKeepsItsNewestLineOnce) {
  // A killed run's writer wrote the item's line; the run that did it again (a writer name that sorts
  // later, as the batch runner's names do by start time) wrote it too: one line, the newer one.
  const fs::path ds = camgraph::testing::temp_dir("dataset-formats-newest");
  fs::create_directories(ds / "metadata.d");
  std::ofstream(ds / "metadata.d" / "local-1765000000000-9-s0.jsonl")
      << "{\"file_name\": \"videos/a.mp4\", \"run\": 1}\n";
  camgraph::OutputFiles files(ds);
  const fs::path newer = ds / "metadata.d" / "local-1765000000500-10-s0.jsonl";
  dataset::write_metadata_line(files, newer, {{"file_name", "videos/a.mp4"}, {"run", 2}}, false);
  dataset::write_metadata_line(files, newer, {{"file_name", "videos/b.mp4"}, {"run", 2}}, false);
  EXPECT_EQ(dataset::dataset_folder_of(newer), ds);
  EXPECT_EQ(dataset::dataset_folder_of(ds / "metadata.jsonl"), ds);
  EXPECT_EQ(dataset::metadata_file_names(ds), (std::set<std::string>{"videos/a.mp4", "videos/b.mp4"}));
  const auto report = dataset::index_dataset_metadata(ds, files);
  EXPECT_EQ(report.items, 2u);
  const std::string merged = camgraph::read_file(ds / "metadata.jsonl");
  EXPECT_EQ(merged, "{\"file_name\":\"videos/a.mp4\",\"run\":2}\n{\"file_name\":\"videos/b.mp4\",\"run\":2}\n");
  EXPECT_EQ(dataset::metadata_file_names(ds), (std::set<std::string>{"videos/a.mp4", "videos/b.mp4"}));
}
