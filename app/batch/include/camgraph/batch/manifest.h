// The batch manifest: each item's state (pending/running/done/failed), attempts, the failing node
// and error, seconds. The local runner owns <state>/manifest.json; Slurm array tasks each write a
// shard <state>/manifest.d/<task>.json (no two processes write one file). Loading merges the main
// file and every shard; `gather` folds the shards into the main file. Written atomically.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace camgraph::batch {

enum class ItemState { Pending, Running, Done, Failed };
const char* to_string(ItemState s);
ItemState item_state_from_string(const std::string& s);  // unknown -> Pending

struct ItemRecord {
  ItemState state = ItemState::Pending;
  int attempts = 0;         // runs started (all invocations together)
  std::string node, param;  // failing node / parameter (from the run's error)
  std::string error;        // last error
  double seconds = 0;       // wall time of the last attempt
  std::string worker;       // who ran it last (host:pid/slot or Slurm task)
  std::string log;          // log file of the last attempt, relative to the state folder
  double updated = 0;       // unix time of the last change
  int computed_nodes = 0;   // nodes the last attempt executed
  int cached_nodes = 0;     // nodes the last attempt took from the cache (memory or the shared disk cache)
  // What a done item wrote (checked when a run resumes, src/item_outputs.h): files as
  // {"path", "size", "xxh3"}, lines in a shared file (a dataset's metadata.jsonl) as {"path",
  // "line_key"}; paths relative to the output root when under it.
  nlohmann::json outputs = nlohmann::json::array();
  nlohmann::json to_json() const;
  static ItemRecord from_json(const nlohmann::json& j);
};

struct Manifest {
  std::string sweep_name, graph_hash;
  std::map<std::string, ItemRecord> items;  // by item id

  nlohmann::json to_json() const;
  static Manifest from_json(const nlohmann::json& j);
  // Folds `other` in: a done record wins; otherwise the more recently updated one.
  void merge(const Manifest& other);
  size_t count(ItemState s) const;
};

std::filesystem::path manifest_path(const std::filesystem::path& state_dir);       // state/manifest.json
std::filesystem::path manifest_shard_dir(const std::filesystem::path& state_dir);  // state/manifest.d
// The main manifest merged with every shard (an absent folder gives an empty manifest). A corrupt
// shard or manifest throws naming the file.
Manifest load_manifest(const std::filesystem::path& state_dir);
// One manifest file (the main one or a shard), size and nesting bounded; throws naming the file
// and what is wrong with it.
Manifest read_manifest_file(const std::filesystem::path& path);
void save_manifest_file(const std::filesystem::path& path, const Manifest& m);  // atomic
// Writes the merged manifest (main file + shards) to manifest.json; shards are kept.
Manifest fold_manifest_shards(const std::filesystem::path& state_dir);

}  // namespace camgraph::batch
