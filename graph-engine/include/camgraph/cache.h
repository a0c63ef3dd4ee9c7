// Output cache: an in-memory LRU (by bytes) and an optional on-disk tier that survives
// restarts. Keys are content hashes computed by the evaluator (see cache_key in evaluator.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "camgraph/spec.h"
#include "camgraph/value.h"

namespace camgraph {

using Outputs = std::map<std::string, Value>;

class Cache {
 public:
  explicit Cache(std::size_t memory_budget_bytes) : budget_(memory_budget_bytes) {}

  std::optional<Outputs> get_memory(const std::string& key);
  void put_memory(const std::string& key, const Outputs& outputs);
  void clear_memory();
  std::size_t memory_bytes() const { return bytes_; }

  // Disk tier: one safetensors file per key under dir/<key[0..2]>/<key>.cgcache.
  // A corrupt or unreadable entry counts as a miss (and is removed).
  static std::optional<Outputs> get_disk(const std::filesystem::path& dir, const std::string& key,
                                         const NodeSpec& spec);
  static void put_disk(const std::filesystem::path& dir, const std::string& key, const Outputs& outputs);

  // Size control for the disk tier. A hit refreshes the entry's modification time, so pruning
  // removes the least recently used entries first. Safe while other processes use the cache:
  // an entry removed under a reader is only a miss for the next run (readers map whole files).
  struct DiskUsage {
    std::size_t entries = 0;
    std::uintmax_t bytes = 0;
    std::vector<std::string> failed;  // prune: entries that could not be removed, with the reason
  };
  static DiskUsage disk_usage(const std::filesystem::path& dir);
  // Removes temp files that writers killed mid-write left (older than an hour), then least
  // recently used entries until at most max_bytes remain; returns what it removed.
  static DiskUsage prune_disk(const std::filesystem::path& dir, std::uintmax_t max_bytes);

 private:
  struct Entry {
    Outputs outputs;
    std::size_t bytes;
    std::list<std::string>::iterator lru;
  };
  std::size_t budget_, bytes_ = 0;
  std::map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front: most recent
  std::mutex mutex_;
};

}  // namespace camgraph
