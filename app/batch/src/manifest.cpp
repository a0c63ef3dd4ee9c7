#include "camgraph/batch/manifest.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "camgraph/bounded_read.h"
#include "camgraph/output_files.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::batch {

const char* to_string(ItemState s) {
  switch (s) {
    case ItemState::Pending: return "pending";
    case ItemState::Running: return "running";
    case ItemState::Done: return "done";
    case ItemState::Failed: return "failed";
  }
  return "pending";
}

ItemState item_state_from_string(const std::string& s) {
  if (s == "running") return ItemState::Running;
  if (s == "done") return ItemState::Done;
  if (s == "failed") return ItemState::Failed;
  return ItemState::Pending;
}

json ItemRecord::to_json() const {
  json j = {{"state", to_string(state)}, {"attempts", attempts}, {"seconds", seconds}, {"updated", updated}};
  if (!node.empty()) j["node"] = node;
  if (!param.empty()) j["param"] = param;
  if (!error.empty()) j["error"] = error;
  if (!worker.empty()) j["worker"] = worker;
  if (!log.empty()) j["log"] = log;
  if (computed_nodes || cached_nodes) {
    j["computed_nodes"] = computed_nodes;
    j["cached_nodes"] = cached_nodes;
  }
  if (!outputs.empty()) j["outputs"] = outputs;
  return j;
}

namespace {
// A count field of a record: absent -> 0; otherwise an integer in [0, 1e9] (a hostile double such
// as 1e300 must not reach a conversion to int).
int count_field(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return 0;
  const json& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000000000)
    throw std::runtime_error(std::string("'") + key + "' must be an integer from 0 to 1e9, got " + v.dump());
  return int(v.get<int64_t>());
}
}  // namespace

ItemRecord ItemRecord::from_json(const json& j) {
  if (!j.is_object()) throw std::runtime_error("an item record must be an object, got " + j.dump());
  ItemRecord r;
  r.state = item_state_from_string(j.value("state", "pending"));
  r.attempts = count_field(j, "attempts");
  r.node = j.value("node", "");
  r.param = j.value("param", "");
  r.error = j.value("error", "");
  r.seconds = j.value("seconds", 0.0);
  r.worker = j.value("worker", "");
  r.log = j.value("log", "");
  r.updated = j.value("updated", 0.0);
  r.computed_nodes = count_field(j, "computed_nodes");
  r.cached_nodes = count_field(j, "cached_nodes");
  if (j.contains("outputs") && j["outputs"].is_array()) r.outputs = j["outputs"];
  return r;
}

json Manifest::to_json() const {
  json j = {{"format", "camgraph-batch-manifest"},
            {"version", 1},
            {"sweep", sweep_name},
            {"graph_hash", graph_hash},
            {"items", json::object()}};
  for (const auto& [id, r] : items) j["items"][id] = r.to_json();
  return j;
}

Manifest Manifest::from_json(const json& j) {
  if (!j.is_object()) throw std::runtime_error("a manifest is a JSON object");
  Manifest m;
  m.sweep_name = j.value("sweep", "");
  m.graph_hash = j.value("graph_hash", "");
  if (j.contains("items") && j["items"].is_object()) {
    for (const auto& [id, r] : j["items"].items()) {
      try {
        m.items[id] = ItemRecord::from_json(r);
      } catch (const std::exception& e) {
        throw std::runtime_error("/items/" + id + ": " + e.what());
      }
    }
  }
  return m;
}

void Manifest::merge(const Manifest& other) {
  if (sweep_name.empty()) sweep_name = other.sweep_name;
  if (graph_hash.empty()) graph_hash = other.graph_hash;
  for (const auto& [id, r] : other.items) {
    auto it = items.find(id);
    if (it == items.end()) {
      items[id] = r;
      continue;
    }
    ItemRecord& mine = it->second;
    const bool mine_done = mine.state == ItemState::Done, theirs_done = r.state == ItemState::Done;
    const int attempts = std::max(mine.attempts, r.attempts);
    if (theirs_done && !mine_done) mine = r;
    else if (theirs_done == mine_done && r.updated > mine.updated) mine = r;
    mine.attempts = attempts;
  }
}

size_t Manifest::count(ItemState s) const {
  return size_t(std::count_if(items.begin(), items.end(), [&](const auto& kv) { return kv.second.state == s; }));
}

fs::path manifest_path(const fs::path& state_dir) { return state_dir / "manifest.json"; }
fs::path manifest_shard_dir(const fs::path& state_dir) { return state_dir / "manifest.d"; }

Manifest read_manifest_file(const fs::path& p) {
  // A manifest holds one small record per item: 1 GiB is millions of items.
  const std::string text = read_file_bounded(p, uint64_t(1) << 30, "a batch manifest");
  try {
    return Manifest::from_json(parse_json_bounded(text, p.string()));
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.rfind(p.string() + ": ", 0) == 0) what.erase(0, p.string().size() + 2);
    throw std::runtime_error(p.string() + ": not a batch manifest (" + what +
                             "); move it away to start the batch state afresh");
  }
}

namespace {
std::vector<fs::path> shard_files(const fs::path& state_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(manifest_shard_dir(state_dir), ec))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

Manifest load_manifest(const fs::path& state_dir) {
  Manifest m;
  if (fs::exists(manifest_path(state_dir))) m = read_manifest_file(manifest_path(state_dir));
  for (const auto& p : shard_files(state_dir)) m.merge(read_manifest_file(p));
  return m;
}

void save_manifest_file(const fs::path& path, const Manifest& m) {
  fs::create_directories(path.parent_path());
  write_file_atomic(path, m.to_json().dump(1) + "\n");
}

Manifest fold_manifest_shards(const fs::path& state_dir) {
  // Shards stay: a task that is still running rewrites its shard, and a removed one could lose a
  // state written between our read and the removal. Loading merges them again (done wins).
  Manifest m = load_manifest(state_dir);
  save_manifest_file(manifest_path(state_dir), m);
  return m;
}

}  // namespace camgraph::batch
