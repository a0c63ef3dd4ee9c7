// .cgraph reading and writing. Format reference: docs/cgraph-format.md.
#include "camgraph/cgraph_io.h"

#include <xxhash.h>

#include <algorithm>
#include <functional>
#include <map>

#include "camgraph/bounded_read.h"
#include "camgraph/error.h"
#include "camgraph/evaluator.h"
#include "camgraph/output_files.h"

namespace camgraph {

namespace {

using ojson = nlohmann::ordered_json;

// A graph is a few KB; 64 MiB leaves room for huge embedded params while bounding a hostile file.
constexpr uint64_t kMaxCgraphBytes = uint64_t(64) << 20;
// Validation and ordering look nodes up by scanning, so counts are bounded too (editor graphs
// have tens of nodes).
constexpr size_t kMaxCgraphNodes = 4000, kMaxCgraphLinks = 10000;

// Ordered format migrations: kMigrations[i] upgrades a document from version i+1 to i+2.
// Version 1 is the first released format, so the list is empty; a future version 2 appends
// one function here, and files of every older version load through the whole chain.
const std::vector<std::function<void(json&)>>& format_migrations() {
  static const std::vector<std::function<void(json&)>> m;
  return m;
}

[[noreturn]] void fail_at(const std::string& source, const std::string& path, const std::string& msg) {
  throw GraphError(Problem{"", "", path, source + ": " + msg});
}

PortRef parse_port_ref(const json& j, const std::string& source, const std::string& path) {
  if (!j.is_string()) fail_at(source, path, "expected \"node.port\", got " + j.dump());
  const std::string s = j.get<std::string>();
  const auto dot = s.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == s.size())
    fail_at(source, path, "expected \"node.port\", got \"" + s + "\"");
  return {s.substr(0, dot), s.substr(dot + 1)};
}

}  // namespace

GraphDocument parse_cgraph(const std::string& text, const std::string& source) {
  try {
    check_json_depth(text, source);  // before nlohmann, whose copies and dumps recurse per level
  } catch (const std::runtime_error& e) {
    throw GraphError(Problem{"", "", "", e.what()});
  }
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    const auto p = what.find("syntax error");
    fail_at(source, "",
            "invalid JSON at " + text_position(text, e.byte > 0 ? e.byte - 1 : 0) + ": " +
                (p == std::string::npos ? what : what.substr(p)));
  } catch (const json::exception& e) {  // out_of_range: a number that overflows a double
    fail_at(source, "", "invalid JSON: " + json_error_text(e));
  }
  if (!root.is_object()) fail_at(source, "/", "a .cgraph file is a JSON object");
  if (!root.contains("format") || root["format"] != "camgraph")
    fail_at(source, "/format",
            "not a CamGraph graph (\"format\" must be \"camgraph\"" +
                std::string(root.contains("format") ? ", got " + root["format"].dump() : "") + ")");
  if (!root.contains("version") || !root["version"].is_number_integer())
    fail_at(source, "/version", "missing integer schema \"version\"");
  const int64_t version64 = root["version"].is_number_unsigned() && root["version"].get<uint64_t>() > INT64_MAX
                                ? INT64_MAX
                                : root["version"].get<int64_t>();
  if (version64 > kCgraphVersion)
    fail_at(source, "/version",
            "written by a newer CamGraph (schema version " + root["version"].dump() + "; this build reads up to " +
                std::to_string(kCgraphVersion) + ")");
  if (version64 < 1) fail_at(source, "/version", "schema version must be >= 1");
  const int version = int(version64);
  for (int v = version; v < kCgraphVersion; ++v) format_migrations().at(size_t(v - 1))(root);
  root["version"] = kCgraphVersion;

  GraphDocument doc;
  if (!root.contains("graph") || !root["graph"].is_object()) fail_at(source, "/graph", "missing \"graph\" object");
  const json& g = root["graph"];
  if (!g.contains("nodes") || !g["nodes"].is_array()) fail_at(source, "/graph/nodes", "missing \"nodes\" array");
  if (g["nodes"].size() > kMaxCgraphNodes)
    fail_at(source, "/graph/nodes",
            std::to_string(g["nodes"].size()) + " nodes, more than the " + std::to_string(kMaxCgraphNodes) +
                " a graph may have");
  for (size_t i = 0; i < g["nodes"].size(); ++i) {
    const json& jn = g["nodes"][i];
    const std::string path = "/graph/nodes/" + std::to_string(i);
    if (!jn.is_object()) fail_at(source, path, "a node is an object");
    NodeInstance n;
    if (!jn.contains("id") || !jn["id"].is_string() || jn["id"].get<std::string>().empty())
      fail_at(source, path + "/id", "node needs a non-empty string \"id\"");
    n.id = jn["id"];
    if (!jn.contains("type") || !jn["type"].is_string())
      fail_at(source, path + "/type", "node '" + n.id + "' needs a string \"type\"");
    n.type = jn["type"];
    if (jn.contains("version")) {
      if (!jn["version"].is_number_integer() || jn["version"].get<int64_t>() < 1 ||
          jn["version"].get<int64_t>() > 1000000)
        fail_at(source, path + "/version", "node '" + n.id + "': version must be an integer from 1 to 1000000");
      n.version = jn["version"];
    }
    if (jn.contains("params")) {
      if (!jn["params"].is_object()) fail_at(source, path + "/params", "node '" + n.id + "': params must be an object");
      n.params = jn["params"];
    }
    if (jn.contains("bypass")) {
      if (!jn["bypass"].is_boolean())
        fail_at(source, path + "/bypass", "node '" + n.id + "': bypass must be true or false");
      n.bypass = jn["bypass"];
    }
    for (auto it = jn.begin(); it != jn.end(); ++it)
      if (it.key() != "id" && it.key() != "type" && it.key() != "version" && it.key() != "params" &&
          it.key() != "bypass")
        n.extra[it.key()] = *it;
    doc.graph.nodes.push_back(std::move(n));
  }
  if (g.contains("links")) {
    if (!g["links"].is_array()) fail_at(source, "/graph/links", "\"links\" must be an array");
    if (g["links"].size() > kMaxCgraphLinks)
      fail_at(source, "/graph/links",
              std::to_string(g["links"].size()) + " links, more than the " + std::to_string(kMaxCgraphLinks) +
                  " a graph may have");
    std::map<std::pair<std::string, std::string>, size_t> seen;  // "from" and "to" -> first index
    for (size_t i = 0; i < g["links"].size(); ++i) {
      const json& jl = g["links"][i];
      const std::string path = "/graph/links/" + std::to_string(i);
      if (!jl.is_object() || !jl.contains("from") || !jl.contains("to"))
        fail_at(source, path, "a link is {\"from\": \"node.output\", \"to\": \"node.input\"}");
      Link l{parse_port_ref(jl["from"], source, path + "/from"), parse_port_ref(jl["to"], source, path + "/to")};
      const auto [it, fresh] = seen.emplace(std::make_pair(l.from.to_string(), l.to.to_string()), i);
      if (!fresh)
        fail_at(source, path,
                "duplicate link " + l.from.to_string() + " -> " + l.to.to_string() + " (same as /graph/links/" +
                    std::to_string(it->second) + ")");
      doc.graph.links.push_back(std::move(l));
    }
  }
  for (auto it = g.begin(); it != g.end(); ++it)
    if (it.key() != "nodes" && it.key() != "links") doc.graph_extra[it.key()] = *it;
  if (root.contains("ui")) {
    if (!root["ui"].is_object()) fail_at(source, "/ui", "\"ui\" must be an object");
    doc.ui = root["ui"];
  }
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it.key() != "format" && it.key() != "version" && it.key() != "graph" && it.key() != "ui")
      doc.extra[it.key()] = *it;
  return doc;
}

GraphDocument load_cgraph_text(const std::string& text, const Registry& registry, const std::string& source) {
  GraphDocument doc = parse_cgraph(text, source);
  // Node-level migrations: params written for an older spec version are upgraded in order.
  for (size_t i = 0; i < doc.graph.nodes.size(); ++i) {
    auto& n = doc.graph.nodes[i];
    const NodeSpec* spec = registry.find(n.type);
    if (!spec || n.version >= spec->version) continue;
    if (!spec->migrate)
      throw GraphError(Problem{n.id, "", "/graph/nodes/" + std::to_string(i) + "/version",
                               source + ": saved with v" + std::to_string(n.version) + " of '" + n.type +
                                   "', which this build (v" + std::to_string(spec->version) + ") cannot upgrade"});
    for (int v = n.version; v < spec->version; ++v) spec->migrate(n.params, v);
    n.version = spec->version;
  }
  const auto problems = validate(doc.graph, registry);
  if (!problems.empty()) {
    Problem p = problems.front();
    p.message = source + ": " + p.message;
    if (problems.size() > 1)
      p.message += " (and " + std::to_string(problems.size() - 1) + " more problem" + (problems.size() > 2 ? "s" : "") +
                   "; run `camgraph-cli validate` for all)";
    throw GraphError(p);
  }
  return doc;
}

GraphDocument load_cgraph(const std::filesystem::path& path, const Registry& registry) {
  std::string text;
  try {
    text = read_file_bounded(path, kMaxCgraphBytes, "a .cgraph file");
  } catch (const std::exception& e) {
    throw GraphError(Problem{"", "", "", e.what()});
  }
  GraphDocument doc = load_cgraph_text(text, registry, path.string());
  doc.source = path;
  return doc;
}

nlohmann::json to_json(const GraphDocument& doc) {
  json nodes = json::array();
  for (const auto& n : doc.graph.nodes) {
    json jn = n.extra;
    jn["id"] = n.id;
    jn["type"] = n.type;
    jn["version"] = n.version;
    jn["params"] = n.params;
    if (n.bypass) jn["bypass"] = true;
    nodes.push_back(jn);
  }
  json links = json::array();
  for (const auto& l : doc.graph.links) links.push_back({{"from", l.from.to_string()}, {"to", l.to.to_string()}});
  json g = doc.graph_extra;
  g["nodes"] = nodes;
  g["links"] = links;
  json root = doc.extra;
  root["format"] = "camgraph";
  root["version"] = kCgraphVersion;
  root["graph"] = g;
  root["ui"] = doc.ui;
  return root;
}

std::string to_cgraph_text(const GraphDocument& doc) {
  // Fixed key order for the known keys (readable diffs), then unknown keys sorted.
  const json j = to_json(doc);
  auto ordered = [](const json& src, std::initializer_list<const char*> first) {
    ojson o;
    for (const char* k : first)
      if (src.contains(k)) o[k] = ojson::parse(src[k].dump());
    for (auto it = src.begin(); it != src.end(); ++it)
      if (!o.contains(it.key())) o[it.key()] = ojson::parse(it->dump());
    return o;
  };
  ojson root = ordered(j, {"format", "version", "graph", "ui"});
  ojson g = ordered(j["graph"], {"nodes", "links"});
  ojson nodes = ojson::array();
  for (const auto& n : j["graph"]["nodes"]) nodes.push_back(ordered(n, {"id", "type", "version", "params", "bypass"}));
  g["nodes"] = nodes;
  root["graph"] = g;
  return root.dump(2) + "\n";
}

void save_cgraph(const GraphDocument& doc, const std::filesystem::path& path) {
  write_file_atomic(path, to_cgraph_text(doc));
}

std::string graph_hash(const Graph& graph, const Registry* registry) {
  // Canonical form: nodes sorted by id, params sorted (json objects are), links sorted.
  json nodes = json::object();
  for (const auto& n : graph.nodes) {
    json params = n.params;
    if (const NodeSpec* spec = registry ? registry->find(n.type) : nullptr)
      for (const auto& p : spec->params)
        if (!p.affects_outputs) params.erase(p.name);
    nodes[n.id] = {{"type", n.type}, {"version", n.version}, {"params", params}, {"bypass", n.bypass}};
  }
  std::vector<std::string> links;
  for (const auto& l : graph.links) links.push_back(l.from.to_string() + ">" + l.to.to_string());
  std::sort(links.begin(), links.end());
  const std::string canon = json{{"nodes", nodes}, {"links", links}}.dump();
  const XXH128_hash_t h = XXH3_128bits(canon.data(), canon.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
  return buf;
}

}  // namespace camgraph
