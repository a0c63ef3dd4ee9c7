// Local runner (see runner.h): slots, child commands, summaries, dataset indexing, gather. The run
// loop itself is run_loop.cpp, its child processes child_process.cpp.
#include "camgraph/batch/runner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "camgraph/dataset_report.h"
#include "camgraph/formats/dataset_metadata.h"
#include "camgraph/output_files.h"
#include "child_process.h"
#include "item_outputs.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::batch {

using detail::trim;

// ---- GPUs and slots ----

std::vector<GpuInfo> parse_nvidia_smi(const std::string& csv) {
  std::vector<GpuInfo> out;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(trim(cell));
    if (f.size() < 3) continue;
    try {
      GpuInfo g;
      g.index = std::stoi(f[0]);
      g.free_mib = std::stod(f[1]);
      g.total_mib = std::stod(f[2]);
      if (f.size() > 3) g.name = f[3];
      out.push_back(g);
    } catch (...) {
    }
  }
  return out;
}

std::vector<GpuInfo> query_gpus() {
  FILE* p = ::popen(
      "nvidia-smi --query-gpu=index,memory.free,memory.total,name --format=csv,noheader,nounits 2>/dev/null", "r");
  if (!p) return {};
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  if (::pclose(p) != 0) return {};
  return parse_nvidia_smi(text);
}

Slots plan_slots(int requested_jobs, const std::string& device, double mem_per_item_mib,
                 const std::vector<GpuInfo>& gpus) {
  Slots s;
  if (device == "cpu" || gpus.empty()) {
    s.jobs = requested_jobs > 0 ? requested_jobs : 1;
    s.reason = requested_jobs > 0 ? "--jobs " + std::to_string(requested_jobs) + " on the CPU"
                                  : "1 at a time on the CPU (no GPU found; --jobs N runs more)";
    return s;
  }
  // Per GPU: how many items fit into its free memory.
  std::vector<int> capacity;
  int total_capacity = 0;
  for (const auto& g : gpus) {
    int c = mem_per_item_mib > 0 ? int(std::floor(g.free_mib / mem_per_item_mib)) : 1;
    capacity.push_back(c);
    total_capacity += c;
  }
  int jobs = requested_jobs > 0 ? requested_jobs : total_capacity;
  std::ostringstream why;
  if (mem_per_item_mib > 0 && jobs > total_capacity) {
    why << "--jobs " << jobs << " lowered to " << total_capacity << ": " << mem_per_item_mib << " MiB per item fits "
        << total_capacity << " time(s) into the free GPU memory";
    jobs = total_capacity;
  } else {
    why << jobs << " at a time on " << gpus.size() << " GPU(s)";
    if (mem_per_item_mib > 0) why << " (" << mem_per_item_mib << " MiB per item)";
  }
  if (jobs < 1) {
    jobs = 1;
    why.str("");
    why << "1 at a time: no GPU has " << mem_per_item_mib << " MiB free (an item may run out of memory)";
  }
  s.jobs = jobs;
  s.reason = why.str();
  // Fill GPUs round robin, never beyond a GPU's capacity when memory is known.
  std::vector<int> used(gpus.size(), 0);
  for (int slot = 0; slot < jobs; ++slot) {
    size_t best = 0;
    double best_load = 1e18;
    for (size_t g = 0; g < gpus.size(); ++g) {
      const double load = double(used[g]) / std::max(1, capacity[g]);
      if (load < best_load) best_load = load, best = g;
    }
    used[best]++;
    s.gpu_of_slot.push_back(gpus[best].index);
  }
  return s;
}

// ---- paths and commands ----

fs::path default_state_dir(const fs::path& out_dir, const Sweep& sweep) {
  return out_dir / ".camgraph-batch" / sweep.name;
}

fs::path item_out_dir(const Sweep& sweep, const SweepItem& item, const fs::path& out_dir, const Registry& registry) {
  if (sweep.items_have_own_outputs(registry)) return out_dir;
  return out_dir / "items" / item.id;
}

std::vector<std::string> child_command(const Sweep& sweep, const SweepItem& item, const RunnerOptions& opt,
                                       const Registry& registry) {
  std::vector<std::string> a = {opt.cli.string(),
                                "run",
                                sweep.graph_path.string(),
                                "--out",
                                item_out_dir(sweep, item, opt.out_dir, registry).string(),
                                "--device",
                                opt.device,
                                "--events",
                                "json",
                                "--quiet"};
  if (opt.cache_dir) {
    a.push_back("--cache-dir");
    a.push_back(opt.cache_dir->string());
    if (opt.cache_max_gb >= 0) {
      char gb[32];
      std::snprintf(gb, sizeof gb, "%g", opt.cache_max_gb);
      a.push_back("--cache-max-gb");
      a.push_back(gb);
    }
  }
  for (const auto& s : item.set_args()) {
    a.push_back("--set");
    a.push_back(s);
  }
  return a;
}

// ---- summaries ----

int RunSummary::exit_code() const {
  if (cancelled) return 130;
  return failed > 0 ? 1 : 0;
}

std::string RunSummary::to_text() const {
  std::ostringstream o;
  o << "batch: " << total << " item(s): " << done << " done, " << skipped << " skipped (done before), " << failed
    << " failed, " << pending << " pending";
  if (cancelled) o << " (cancelled)";
  o << "; " << jobs << " at a time, " << std::lround(wall_seconds) << " s wall\n";
  if (!item_seconds.empty()) {
    double sum = 0, mx = 0, mn = 1e18;
    for (double s : item_seconds) sum += s, mx = std::max(mx, s), mn = std::min(mn, s);
    char buf[200];
    std::snprintf(buf, sizeof buf, "time per item: mean %.1f s, min %.1f s, max %.1f s; %.0f items/hour\n",
                  sum / item_seconds.size(), mn, mx,
                  wall_seconds > 0 ? 3600.0 * item_seconds.size() / wall_seconds : 0.0);
    o << buf;
  }
  for (const auto& [id, r] : failures) {
    o << "failed " << id << " after " << r.attempts << " attempt(s)";
    if (!r.node.empty()) o << ": node '" << r.node << "'" << (r.param.empty() ? "" : ", '" + r.param + "'");
    o << ": " << r.error;
    if (!r.log.empty()) o << " (log: " << r.log << ")";
    o << "\n";
  }
  for (const auto& n : notes) o << n << "\n";
  return o.str();
}

json RunSummary::to_json() const {
  json f = json::array();
  for (const auto& [id, r] : failures) {
    json j = r.to_json();
    j["id"] = id;
    f.push_back(j);
  }
  return {{"total", total},
          {"done", done},
          {"skipped", skipped},
          {"failed", failed},
          {"pending", pending},
          {"cancelled", cancelled},
          {"jobs", jobs},
          {"wall_seconds", wall_seconds},
          {"item_seconds", item_seconds},
          {"failures", f},
          {"notes", notes}};
}

// ---- datasets ----

bool dataset_index_available() { return true; }  // formats/dataset: in every build

std::vector<fs::path> find_dataset_folders(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::path& p = it->path();
    if (it->is_directory(ec)) {
      const std::string name = p.filename().string();
      if (name == ".camgraph-batch" || name == "metadata.d" || it.depth() > 6) {
        it.disable_recursion_pending();
        if (name == "metadata.d") out.push_back(p.parent_path());
      }
    } else if (p.filename() == "metadata.jsonl") {
      out.push_back(p.parent_path());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {
// The dataset card (README.md) of a merged folder, from its metadata and pose files (videos are not
// decoded here: `camgraph-cli dataset report` does that). A README.md CamGraph did not write is kept.
std::string write_dataset_card(const fs::path& folder) {
  try {
    report::ReportOptions options;
    options.decode_videos = false;
    options.thumbnails = false;
    const report::DatasetReport rep = report::build_dataset_report(folder, options);
    OutputFiles files(camgraph::dataset::output_root_of(folder));
    files.write(folder / "README.md", report::dataset_card(rep));
    return "dataset card " + (folder / "README.md").string() + " written (" + std::to_string(rep.problems.size()) +
           " problem(s) found without decoding the videos; camgraph-cli dataset report checks them all)";
  } catch (const std::exception& e) {
    return std::string("dataset card not written: ") + e.what();
  }
}
}  // namespace

std::vector<std::string> index_datasets_under(const fs::path& out_dir, bool* all_files_present) {
  std::vector<std::string> notes;
  if (all_files_present) *all_files_present = true;
  for (const auto& folder : find_dataset_folders(out_dir)) {
    const auto rep = camgraph::dataset::index_dataset_metadata(folder);
    std::ostringstream o;
    o << "dataset " << folder.string() << ": metadata.jsonl has " << rep.items << " item(s) (" << rep.shards
      << " shard(s) merged)";
    if (!rep.missing_files.empty()) {
      if (all_files_present) *all_files_present = false;
      o << "; MISSING files:";
      for (const auto& f : rep.missing_files) o << " " << f;
    }
    for (const auto& w : rep.warnings) o << "\n  warning: " << w;
    o << "\n  " << write_dataset_card(folder);
    notes.push_back(o.str());
  }
  return notes;
}

json GatherReport::to_json() const {
  return {{"done", done},       {"missing", missing}, {"failed", failed},
          {"damaged", damaged}, {"notes", notes},     {"files_complete", files_complete}};
}

std::map<std::string, std::string> damaged_done_items(const Sweep& sweep, const Manifest& manifest,
                                                      const fs::path& out_dir) {
  json lists = json::array();
  for (const auto& [id, r] : manifest.items)
    if (r.state == ItemState::Done) lists.push_back(r.outputs);
  detail::OutputChecker checker(out_dir, detail::shared_output_paths(lists));
  std::map<std::string, std::string> damaged;
  for (const auto& it : sweep.items) {
    auto r = manifest.items.find(it.id);
    if (r == manifest.items.end() || r->second.state != ItemState::Done) continue;
    std::string problem = checker.check(r->second.outputs);
    if (!problem.empty()) damaged[it.id] = std::move(problem);
  }
  return damaged;
}

GatherReport gather(const Sweep& sweep, const fs::path& out_dir, const fs::path& state_dir) {
  GatherReport g;
  g.manifest = fold_manifest_shards(state_dir);
  g.damaged = damaged_done_items(sweep, g.manifest, out_dir);
  for (const auto& it : sweep.items) {
    auto r = g.manifest.items.find(it.id);
    if (r != g.manifest.items.end() && r->second.state == ItemState::Done && !g.damaged.count(it.id)) {
      g.done.push_back(it.id);
    } else {
      g.missing.push_back(it.id);
      if (r != g.manifest.items.end() && r->second.state == ItemState::Failed) g.failed.push_back(it.id);
    }
  }
  g.notes = index_datasets_under(out_dir, &g.files_complete);
  return g;
}

}  // namespace camgraph::batch
