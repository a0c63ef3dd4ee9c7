// camgraph-cli dataset index / dataset report: the dataset folder after a run or a batch.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "batch_cmd.h"
#include "camgraph/dataset_report.h"
#include "camgraph/formats/dataset_metadata.h"
#include "camgraph/output_files.h"
#include "usage.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace camgraph::cli {
namespace {

int usage(const std::string& msg) {
  std::fprintf(stderr, "camgraph-cli: %s\n(see camgraph-cli dataset --help)\n", msg.c_str());
  return 2;
}

int cmd_dataset_index(const std::vector<std::string>& args) {
  std::string dir;
  bool keep = false, as_json = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (is_help(args[i])) return print_help("dataset index");
    else if (args[i] == "--keep-shards") keep = true;
    else if (args[i] == "--json") as_json = true;
    else if (!args[i].empty() && args[i][0] == '-') return usage("dataset index: unknown option '" + args[i] + "'");
    else if (dir.empty()) dir = args[i];
    else return usage("dataset index takes one DIR");
  }
  if (dir.empty()) return usage("dataset index needs the dataset folder");
  if (!fs::is_directory(dir)) {
    std::fprintf(stderr, "error: dataset folder %s does not exist\n", dir.c_str());
    return 1;
  }
  const auto rep = dataset::index_dataset_metadata(fs::path(dir), !keep);
  if (as_json) {
    std::cout << json{{"items", rep.items},
                      {"shards", rep.shards},
                      {"replaced", rep.replaced},
                      {"bad_lines", rep.bad_lines},
                      {"missing_files", rep.missing_files},
                      {"warnings", rep.warnings}}
                     .dump(1)
              << "\n";
  } else {
    std::printf("%s: metadata.jsonl has %zu item(s); %zu shard(s) merged, %zu line(s) replaced, %zu bad line(s)\n",
                dir.c_str(), rep.items, rep.shards, rep.replaced, rep.bad_lines);
    for (const auto& w : rep.warnings) std::printf("warning: %s\n", w.c_str());
    for (const auto& f : rep.missing_files) std::printf("missing file: %s\n", f.c_str());
  }
  return rep.missing_files.empty() ? 0 : 1;
}

struct ReportArgs {
  std::string dir, html, license = "other";
  bool write_html = true, write_card = true, as_json = false, overwrite = false;
  report::ReportOptions options;
};

int cmd_dataset_report(const std::vector<std::string>& args) {
  ReportArgs a;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& o = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    if (is_help(o)) return print_help("dataset report");
    else if (o == "--html") {
      if (!value(a.html)) return usage("dataset report: --html needs a file");
    } else if (o == "--no-html") a.write_html = false;
    else if (o == "--no-card") a.write_card = false;
    else if (o == "--license") {
      if (!value(a.license) || a.license.empty() || a.license.find_first_of(" \n:") != std::string::npos)
        return usage("dataset report: --license needs a licence identifier (e.g. cc-by-4.0)");
    } else if (o == "--json") a.as_json = true;
    else if (o == "--no-decode") a.options.decode_videos = false, a.options.thumbnails = false;
    else if (o == "--overwrite") a.overwrite = true;
    else if (!o.empty() && o[0] == '-') return usage("dataset report: unknown option '" + o + "'");
    else if (a.dir.empty()) a.dir = o;
    else return usage("dataset report takes one DIR");
  }
  if (a.dir.empty()) return usage("dataset report needs the dataset folder");
  report::DatasetReport rep;
  try {
    rep = report::build_dataset_report(fs::path(a.dir), a.options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  // The page and the card go through the output manifest: a user's own README.md or page is never
  // replaced unless --overwrite.
  std::vector<std::string> written;
  try {
    OutputFiles files(dataset::output_root_of(a.dir));
    if (a.write_html) {
      const fs::path page = a.html.empty() ? fs::path(a.dir) / "report.html" : fs::path(a.html);
      files.write(page, report::report_html(rep), a.overwrite);
      written.push_back(page.string());
    }
    if (a.write_card) {
      const fs::path card = fs::path(a.dir) / "README.md";
      files.write(card, report::dataset_card(rep, a.license), a.overwrite);
      written.push_back(card.string());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (a.as_json) {
    json j = report::report_json(rep);
    j["written"] = written;
    std::cout << j.dump(1) << "\n";
  } else {
    std::cout << report::report_text(rep);
    for (const auto& w : written) std::cout << "wrote " << w << "\n";
  }
  return rep.problems.empty() ? 0 : 1;
}

}  // namespace

int cmd_dataset(const std::vector<std::string>& args) {
  if (!args.empty() && is_help(args[0])) return print_help("dataset");
  if (args.empty()) return usage("dataset: the subcommands are 'index DIR' and 'report DIR'");
  if (args[0] == "index") return cmd_dataset_index(args);
  if (args[0] == "report") return cmd_dataset_report(args);
  return usage("dataset: unknown subcommand '" + args[0] + "' (index DIR, report DIR)");
}

}  // namespace camgraph::cli
