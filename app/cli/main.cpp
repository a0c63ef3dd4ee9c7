// camgraph-cli: run, validate and inspect CamGraph graphs without a GUI.
// Exit codes: 0 success, 1 graph or node error, 2 usage error, 130 cancelled (Ctrl-C).
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "camgraph/builtin_nodes.h"
#include "camgraph/cache.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/node_context.h"
#include "camgraph/shipped_files.h"
#include "batch_cmd.h"
#include "progress.h"
#include "usage.h"

namespace fs = std::filesystem;
using namespace camgraph;
using camgraph::cli::is_help;
using camgraph::cli::print_help;

namespace {

CancelToken g_cancel;
void on_sigint(int) {
  if (g_cancel.is_cancelled()) std::_Exit(130);  // second Ctrl-C: stop now
  g_cancel.cancel();
}

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "camgraph-cli: %s\n(see camgraph-cli --help)\n", msg.c_str());
  return 2;
}

void print_problems(const std::vector<Problem>& problems) {
  for (const auto& p : problems) std::fprintf(stderr, "error: %s\n", p.to_string().c_str());
}

// Where the shipped files and the models are (camgraph/shipped_files.h).
int cmd_paths(const std::vector<std::string>& args) {
  bool as_json = false;
  for (const auto& a : args) {
    if (is_help(a)) return print_help("paths");
    if (a == "--json") as_json = true;
    else return usage_error("paths: unknown option '" + a + "'");
  }
  nlohmann::json j;
  j["program"] = executable_path().string();
  j["data_dirs"] = nlohmann::json::array();
  for (const fs::path& d : shipped_data_dirs()) j["data_dirs"].push_back(d.string());
  j["examples"] = find_shipped_file(kExamplesFolder).string();
  j["clip_vocabulary"] = find_shipped_file(kClipVocabularyFile).string();
  const char* models = std::getenv("CAMGRAPH_MODELS");
  j["models_root"] = models ? models : "";
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  auto line = [](const char* what, const std::string& v, const char* missing) {
    std::printf("%-16s %s\n", what, v.empty() ? missing : v.c_str());
  };
  line("program", j["program"], "(unknown)");
  std::string dirs;
  for (const auto& d : j["data_dirs"]) dirs += (dirs.empty() ? "" : ", ") + d.get<std::string>();
  line("data folders", dirs, ("(none found; looked in " + describe_shipped_search("") + ")").c_str());
  line("examples", j["examples"], "(not found)");
  line("CLIP vocabulary", j["clip_vocabulary"],
       ("(not found; looked in " + describe_shipped_search(kClipVocabularyFile) + ")").c_str());
  line("models root", j["models_root"], "(unset: set $CAMGRAPH_MODELS or each node's models parameter)");
  return 0;
}

int cmd_nodes(const std::vector<std::string>& args) {
  const Registry& reg = builtin_registry();
  bool as_json = false;
  for (const auto& a : args) {
    if (is_help(a)) return print_help("nodes");
    if (a == "--json") as_json = true;
    else return usage_error("nodes: unknown option '" + a + "'");
  }
  if (as_json) {
    std::cout << reg.to_json().dump(2) << "\n";
    return 0;
  }
  std::string category;
  for (const auto* s : reg.all()) {
    std::printf("%-24s v%-2d %-12s %s\n", s->type.c_str(), s->version, s->category.c_str(), s->title.c_str());
  }
  return 0;
}

int cmd_validate(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (is_help(a)) return print_help("validate");
  if (args.size() != 1) return usage_error("validate takes exactly one FILE");
  const fs::path path = args[0];
  GraphDocument doc;
  try {
    std::string text = read_file(path);
    doc = parse_cgraph(text, path.string());
  } catch (const GraphError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  // Structure is fine: report every graph problem at once.
  try {
    doc = load_cgraph(path, builtin_registry());
  } catch (const GraphError&) {
    auto problems = validate(doc.graph, builtin_registry());
    for (auto& p : problems) p.message = path.string() + ": " + p.message;
    if (problems.empty()) problems.push_back({"", "", "", "invalid graph"});
    print_problems(problems);
    return 1;
  }
  std::printf("%s: ok (%zu nodes, %zu links, graph hash %s)\n", path.c_str(), doc.graph.nodes.size(),
              doc.graph.links.size(), graph_hash(doc.graph, &builtin_registry()).substr(0, 16).c_str());
  return 0;
}

constexpr double kDefaultCacheMaxGb = 50;

double parse_gb(const std::string& option, const std::string& text) {
  size_t used = 0;
  double gb = -1;
  try {
    gb = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || !std::isfinite(gb) || gb < 0 || gb > 1e9)
    throw std::invalid_argument(option + " needs a size in GB between 0 and 1e9 (got '" + text + "')");
  return gb;
}

std::string format_bytes(std::uintmax_t b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MB", double(b) / 1e6);
  return buf;
}

// Prunes a run's disk cache to its cap; reports what went.
void prune_cache(const fs::path& dir, double max_gb, bool quiet) {
  if (max_gb <= 0) return;
  try {
    const auto removed = Cache::prune_disk(dir, std::uintmax_t(max_gb * 1e9));
    for (const auto& f : removed.failed) std::fprintf(stderr, "warning: cache: could not remove %s\n", f.c_str());
    if (removed.entries && !quiet)
      std::fprintf(stderr, "cache: removed %zu least recently used entr%s (%s) to stay under %g GB\n", removed.entries,
                   removed.entries == 1 ? "y" : "ies", format_bytes(removed.bytes).c_str(), max_gb);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: cache %s: could not prune: %s\n", dir.c_str(), e.what());
  }
}

int cmd_cache(const std::vector<std::string>& args) {
  if (!args.empty() && is_help(args[0])) return print_help("cache");
  if (args.empty() || (args[0] != "usage" && args[0] != "prune"))
    return usage_error("cache: the subcommand is 'usage DIR' or 'prune DIR --max-gb G'");
  std::string dir;
  double max_gb = -1;
  bool as_json = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (is_help(args[i])) return print_help("cache " + args[0]);
    else if (args[i] == "--json") as_json = true;
    else if (args[i] == "--max-gb") {
      if (i + 1 >= args.size()) return usage_error("--max-gb needs a value");
      try {
        max_gb = parse_gb("--max-gb", args[++i]);
      } catch (const std::invalid_argument& e) {
        return usage_error(e.what());
      }
    } else if (!args[i].empty() && args[i][0] == '-') return usage_error("cache: unknown option '" + args[i] + "'");
    else if (dir.empty()) dir = args[i];
    else return usage_error("cache takes one DIR");
  }
  if (dir.empty()) return usage_error("cache " + args[0] + " needs the cache folder");
  if (!fs::is_directory(dir)) {
    std::fprintf(stderr, "error: cache folder %s does not exist\n", dir.c_str());
    return 1;
  }
  if (args[0] == "prune" && max_gb < 0) return usage_error("cache prune needs --max-gb G");
  Cache::DiskUsage removed;
  if (args[0] == "prune") removed = Cache::prune_disk(dir, std::uintmax_t(max_gb * 1e9));
  for (const auto& f : removed.failed) std::fprintf(stderr, "warning: could not remove %s\n", f.c_str());
  const Cache::DiskUsage now = Cache::disk_usage(dir);
  if (as_json) {
    nlohmann::json j = {{"entries", now.entries}, {"bytes", now.bytes}};
    if (args[0] == "prune") j["removed"] = {{"entries", removed.entries}, {"bytes", removed.bytes}};
    std::cout << j.dump() << "\n";
  } else {
    if (args[0] == "prune")
      std::printf("removed %zu entries (%s)\n", removed.entries, format_bytes(removed.bytes).c_str());
    std::printf("%s: %zu entries, %s\n", dir.c_str(), now.entries, format_bytes(now.bytes).c_str());
  }
  return 0;
}

int cmd_run(const std::vector<std::string>& args) {
  std::string file;
  double cache_max_gb = kDefaultCacheMaxGb;
  std::vector<std::string> sets, targets;
  RunOptions opt;
  bool events_json = false, quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(std::string(name) + " needs a value");
      return args[++i];
    };
    try {
      if (is_help(a)) return print_help("run");
      else if (a == "--set") sets.push_back(value("--set"));
      else if (a == "--device") {
        const std::string d = value("--device");
        if (!parse_device(d, opt.device)) return usage_error("--device must be auto, cpu or cuda (got '" + d + "')");
      } else if (a == "--out") opt.out_dir = value("--out");
      else if (a == "--cache-dir") opt.cache_dir = fs::path(value("--cache-dir"));
      else if (a == "--cache-max-gb") cache_max_gb = parse_gb(a, value("--cache-max-gb"));
      else if (a == "--target") targets.push_back(value("--target"));
      else if (a == "--events") {
        const std::string v = value("--events");
        if (v != "json") return usage_error("--events supports only 'json'");
        events_json = true;
      } else if (a == "--quiet") quiet = true;
      else if (!a.empty() && a[0] == '-') return usage_error("run: unknown option '" + a + "'");
      else if (file.empty()) file = a;
      else return usage_error("run takes one FILE (got '" + file + "' and '" + a + "')");
    } catch (const std::invalid_argument& e) {
      return usage_error(e.what());
    }
  }
  if (file.empty()) return usage_error("run needs a FILE");

  GraphDocument doc;
  try {
    doc = load_cgraph(file, builtin_registry());
  } catch (const GraphError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  for (const auto& s : sets) {
    const auto eq = s.find('='), dot = s.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq)
      return usage_error("--set expects NODE.PARAM=VALUE (got '" + s + "')");
    const std::string node_id = s.substr(0, dot), param = s.substr(dot + 1, eq - dot - 1), text = s.substr(eq + 1);
    NodeInstance* n = doc.graph.node(node_id);
    if (!n) return usage_error("--set: no node '" + node_id + "' in " + file);
    const ParamSpec* ps = builtin_registry().find(n->type)->param(param);
    if (!ps) return usage_error("--set: node '" + node_id + "' (" + n->type + ") has no parameter '" + param + "'");
    try {
      n->params[param] = parse_param_text(node_id, *ps, text);
    } catch (const GraphError& e) {
      return usage_error(std::string("--set: ") + e.what());
    }
  }

  opt.targets = targets;
  opt.graph_dir = fs::absolute(file).parent_path();
  opt.cancel = &g_cancel;
  cli::ProgressPrinter printer(stderr, ::isatty(STDERR_FILENO) && !events_json);
  opt.on_event = [&](const Event& e) {
    if (events_json) {
      std::cout << e.to_json().dump() << "\n";
      std::cout.flush();
    }
    if (!quiet) printer.on_event(e);
  };
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);

  Evaluator evaluator(builtin_registry());
  const RunResult r = evaluator.run(doc.graph, opt);
  if (opt.cache_dir) prune_cache(*opt.cache_dir, cache_max_gb, quiet);
  if (!r.problems.empty()) {
    print_problems(r.problems);
    return 1;
  }
  if (r.cancelled) return 130;
  if (!r.ok) {
    for (const auto& [id, nr] : r.nodes)
      if (nr.state == NodeState::Failed)
        std::fprintf(stderr, "error: node '%s'%s: %s\n", id.c_str(),
                     nr.error_param.empty() ? "" : (", '" + nr.error_param + "'").c_str(), nr.error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(cli::main_usage().c_str(), stderr);
    return 2;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(cli::main_usage().c_str(), stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("camgraph-cli %s (cgraph schema %d; node families:", CAMGRAPH_VERSION, kCgraphVersion);
    for (const auto& f : builtin_family_names()) std::printf(" %s", f.c_str());
    std::printf(")\n");
    return 0;
  }
  try {
    if (cmd == "run") return cmd_run(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "nodes") return cmd_nodes(args);
    if (cmd == "batch") return cli::cmd_batch(args);
    if (cmd == "dataset") return cli::cmd_dataset(args);
    if (cmd == "cache") return cmd_cache(args);
    if (cmd == "paths") return cmd_paths(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return usage_error("unknown command '" + cmd + "'");
}
