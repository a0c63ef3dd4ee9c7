// Sweep parsing and expansion (see sweep.h and docs/batch.md).
#include "camgraph/batch/sweep.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <set>

#include "camgraph/bounded_read.h"
#include "camgraph/error.h"
#include "camgraph/output_files.h"

namespace fs = std::filesystem;

namespace camgraph::batch {
namespace {

// SplitMix64: a tiny, fully specified generator, so draws are the same on every platform and
// standard library (std::uniform_*_distribution are not specified bit for bit).
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// The i-th draw of stream `seed`, uniform in [0, 1).
double unit_draw(uint64_t seed, uint64_t i) {
  const uint64_t r = splitmix64(splitmix64(seed) ^ (i * 0xd1b54a32d192ed03ULL + 1));
  return double(r >> 11) * (1.0 / 9007199254740992.0);
}

// Rounds away binary noise (0.1 * 3 -> 0.3): 12 significant digits.
double tidy(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return std::strtod(buf, nullptr);
}

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw SweepError("at " + (where.empty() ? std::string("/") : where) + ": " + msg);
}

void check_param_key(const std::string& key, const std::string& where) {
  const auto dot = key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
    fail(where, "'" + key + "' is not NODE.PARAM (a node id, a dot, a parameter name)");
}

// Integers a double holds exactly: the bounds of seeded integer draws.
constexpr int64_t kMaxExactInt = int64_t(1) << 53;

double number_of(const json& j, const std::string& where, const char* what) {
  if (!j.is_number()) fail(where, std::string(what) + " must be a number (got " + j.dump() + ")");
  return j.get<double>();
}

std::vector<json> leaf_values(const json& v, const std::string& where) {
  const std::string param = v.at("param").get<std::string>();
  int kinds = int(v.contains("values")) + int(v.contains("range")) + int(v.contains("random"));
  if (kinds != 1) fail(where, "'" + param + "' needs exactly one of \"values\", \"range\", \"random\"");
  for (const auto& [k, _] : v.items())
    if (k != "param" && k != "values" && k != "range" && k != "random")
      fail(where + "/" + k, "unknown key '" + k + "' (a parameter axis has param + values|range|random)");
  std::vector<json> out;
  if (v.contains("values")) {
    const json& vals = v["values"];
    if (!vals.is_array() || vals.empty()) fail(where + "/values", "must be a non-empty array");
    for (const auto& x : vals) out.push_back(x);
  } else if (v.contains("range")) {
    const json& r = v["range"];
    const std::string w = where + "/range";
    if (!r.is_object() || !r.contains("from") || !r.contains("to"))
      fail(w, "a range is {\"from\": A, \"to\": B, \"step\": S} or {\"from\": A, \"to\": B, \"count\": N}");
    const double a = number_of(r["from"], w + "/from", "from"), b = number_of(r["to"], w + "/to", "to");
    if (r.contains("step") == r.contains("count")) fail(w, "give exactly one of \"step\" and \"count\"");
    for (const auto& [k, _] : r.items())
      if (k != "from" && k != "to" && k != "step" && k != "count") fail(w + "/" + k, "unknown key '" + k + "'");
    if (r.contains("step")) {
      const double s = number_of(r["step"], w + "/step", "step");
      if (s == 0 || (b - a) * s < 0)
        fail(w + "/step",
             "step " + r["step"].dump() + " never gets from " + r["from"].dump() + " to " + r["to"].dump());
      const bool ints = r["from"].is_number_integer() && r["to"].is_number_integer() && r["step"].is_number_integer();
      if (ints && (std::abs(a) > double(kMaxExactInt) || std::abs(b) > double(kMaxExactInt)))
        fail(w, "integer bounds must lie within +-2^53");
      const double n = std::floor((b - a) / s + 1e-9);
      if (!(n <= 1e6)) fail(w, "more than a million values");
      for (int64_t i = 0; i <= int64_t(n); ++i) {
        const double x = a + double(i) * s;
        out.push_back(ints ? json(int64_t(std::llround(x))) : json(tidy(x)));
      }
    } else {
      if (!r["count"].is_number_integer() || r["count"].get<int64_t>() < 1 || r["count"].get<int64_t>() > 1000000)
        fail(w + "/count", "count must be an integer from 1 to 1000000");
      const int64_t n = r["count"].get<int64_t>();
      if (!std::isfinite(b - a)) fail(w, "from and to are too far apart");
      for (int64_t i = 0; i < n; ++i) out.push_back(tidy(n == 1 ? a : a + (b - a) * double(i) / double(n - 1)));
    }
  } else {
    const json& r = v["random"];
    const std::string w = where + "/random";
    if (!r.is_object()) fail(w, "must be an object: {\"seed\": S, \"count\": N, \"uniform\"|\"int\"|\"choice\": ...}");
    if (!r.contains("seed") || !r["seed"].is_number_integer()) fail(w + "/seed", "needs an integer \"seed\"");
    if (!r.contains("count") || !r["count"].is_number_integer() || r["count"].get<int64_t>() < 1 ||
        r["count"].get<int64_t>() > 1000000)
      fail(w + "/count", "needs \"count\": an integer from 1 to 1000000");
    const int dists = int(r.contains("uniform")) + int(r.contains("int")) + int(r.contains("choice"));
    if (dists != 1) fail(w, "give exactly one of \"uniform\": [A, B], \"int\": [A, B], \"choice\": [...]");
    for (const auto& [k, _] : r.items())
      if (k != "seed" && k != "count" && k != "uniform" && k != "int" && k != "choice" && k != "decimals")
        fail(w + "/" + k, "unknown key '" + k + "'");
    const uint64_t seed = uint64_t(r["seed"].get<int64_t>());
    const int64_t n = r["count"].get<int64_t>();
    int decimals = -1;
    if (r.contains("decimals")) {
      if (!r["decimals"].is_number_integer() || r["decimals"].get<int>() < 0 || r["decimals"].get<int>() > 12)
        fail(w + "/decimals", "decimals must be an integer from 0 to 12");
      decimals = r["decimals"].get<int>();
    }
    auto pair = [&](const char* key) {
      const json& p = r[key];
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number() ||
          p[0].get<double>() > p[1].get<double>() || !std::isfinite(p[1].get<double>() - p[0].get<double>()))
        fail(w + "/" + key, std::string("must be [low, high] with low <= high (got ") + p.dump() + ")");
      return std::pair<double, double>(p[0].get<double>(), p[1].get<double>());
    };
    for (int64_t i = 0; i < n; ++i) {
      const double u = unit_draw(seed, uint64_t(i));
      if (r.contains("uniform")) {
        auto [lo, hi] = pair("uniform");
        double x = lo + (hi - lo) * u;
        if (decimals >= 0) x = std::round(x * std::pow(10.0, decimals)) / std::pow(10.0, decimals);
        if (!std::isfinite(x)) fail(w + "/uniform", "a draw is not a finite number (bounds too large)");
        out.push_back(tidy(x));
      } else if (r.contains("int")) {
        if (!r["int"].is_array() || r["int"].size() != 2 || !r["int"][0].is_number_integer() ||
            !r["int"][1].is_number_integer())
          fail(w + "/int", "must be [low, high] integers (inclusive)");
        pair("int");
        const int64_t lo = r["int"][0].get<int64_t>(), hi = r["int"][1].get<int64_t>();
        if (lo < -kMaxExactInt || hi > kMaxExactInt)
          fail(w + "/int", "bounds must lie within +-2^53 (got " + r["int"].dump() + ")");
        const int64_t span = hi - lo + 1;
        out.push_back(lo + std::min<int64_t>(span - 1, int64_t(u * double(span))));
      } else {
        const json& c = r["choice"];
        if (!c.is_array() || c.empty()) fail(w + "/choice", "must be a non-empty array");
        out.push_back(c[std::min<size_t>(c.size() - 1, size_t(u * double(c.size())))]);
      }
    }
  }
  std::vector<json> objs;
  for (auto& x : out) objs.push_back(json{{param, x}});
  return objs;
}

json merge_disjoint(const json& a, const json& b, const std::string& where) {
  json m = a;
  for (const auto& [k, v] : b.items()) {
    if (m.contains(k)) fail(where, "parameter '" + k + "' is set by two factors of one product/zip");
    m[k] = v;
  }
  return m;
}

}  // namespace

std::vector<json> expand_vary(const json& v, const std::string& where) {
  if (v.is_null()) return {json::object()};
  if (v.is_array()) return expand_vary(json{{"product", v}}, where);
  if (!v.is_object())
    fail(where, "expected an axis object, a list of them (a product) or {\"product\"|\"zip\": [...]}");
  if (v.contains("param")) {
    if (!v["param"].is_string()) fail(where + "/param", "must be a string NODE.PARAM");
    check_param_key(v["param"].get<std::string>(), where + "/param");
    return leaf_values(v, where);
  }
  if (v.contains("product") || v.contains("zip")) {
    const bool zip = v.contains("zip");
    const char* op = zip ? "zip" : "product";
    if (v.size() != 1) fail(where, std::string("a \"") + op + "\" object has no other keys");
    const json& parts = v[op];
    const std::string w = where + "/" + op;
    if (!parts.is_array() || parts.empty()) fail(w, "must be a non-empty array");
    std::vector<std::vector<json>> lists;
    for (size_t i = 0; i < parts.size(); ++i) lists.push_back(expand_vary(parts[i], w + "/" + std::to_string(i)));
    std::vector<json> out;
    if (zip) {
      for (size_t i = 1; i < lists.size(); ++i)
        if (lists[i].size() != lists[0].size())
          fail(w, "zip needs equal lengths: part 0 has " + std::to_string(lists[0].size()) + " values, part " +
                      std::to_string(i) + " has " + std::to_string(lists[i].size()));
      for (size_t k = 0; k < lists[0].size(); ++k) {
        json m = json::object();
        for (auto& l : lists) m = merge_disjoint(m, l[k], w);
        out.push_back(std::move(m));
      }
    } else {
      out.push_back(json::object());
      for (auto& l : lists) {  // first factor varies slowest (nested loops, outermost first)
        std::vector<json> next;
        size_t total = out.size() * l.size();
        // A million items is a large dataset; more would take minutes and gigabytes to expand.
        if (total > 1000000) fail(w, "more than a million items");
        next.reserve(total);
        for (const auto& a : out)
          for (const auto& b : l) next.push_back(merge_disjoint(a, b, w));
        out = std::move(next);
      }
    }
    return out;
  }
  if (v.contains("values")) {  // bundles: [{"a.x": 1, "b.y": 2}, ...]
    if (v.size() != 1) fail(where, "a bundle list {\"values\": [...]} without \"param\" has no other keys");
    const json& vals = v["values"];
    if (!vals.is_array() || vals.empty())
      fail(where + "/values", "must be a non-empty array of {\"NODE.PARAM\": value} objects");
    std::vector<json> out;
    for (size_t i = 0; i < vals.size(); ++i) {
      const std::string w = where + "/values/" + std::to_string(i);
      if (!vals[i].is_object() || vals[i].empty()) fail(w, "must be an object {\"NODE.PARAM\": value, ...}");
      for (const auto& [k, _] : vals[i].items()) check_param_key(k, w + "/" + k);
      out.push_back(vals[i]);
    }
    return out;
  }
  // Shorthand: {"node.a": [..], "node.b": [..]} = product of the lists (keys in sorted order).
  json parts = json::array();
  for (const auto& [k, x] : v.items()) {
    check_param_key(k, where + "/" + k);
    parts.push_back(json{{"param", k}, {"values", x.is_array() ? x : json::array({x})}});
  }
  if (parts.empty()) fail(where, "empty object");
  return expand_vary(json{{"product", parts}}, where);
}

std::string item_id(const std::string& graph_hash, const json& overrides) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, hash_bytes(graph_hash + "\n" + overrides.dump()));
  return buf;
}

std::string override_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

std::vector<std::string> SweepItem::set_args() const {
  std::vector<std::string> out;
  json all = overrides;
  for (const auto& [k, v] : outputs.items()) all[k] = v;
  for (const auto& [k, v] : all.items()) out.push_back(k + "=" + override_text(v));
  return out;
}

std::string expand_template(const std::string& tmpl, const SweepItem& item, const std::string& sweep_name) {
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      const auto end = tmpl.find('}', i);
      if (end == std::string::npos) throw SweepError("template '" + tmpl + "': '{' without '}'");
      const std::string key = tmpl.substr(i + 1, end - i - 1);
      if (key == "id") out += item.id;
      else if (key == "index") out += std::to_string(item.index);
      else if (key == "name") out += sweep_name;
      else if (item.overrides.contains(key)) out += override_text(item.overrides[key]);
      else
        throw SweepError("template '" + tmpl + "': unknown field {" + key +
                         "} (use {id}, {index}, {name} or an overridden NODE.PARAM)");
      i = end + 1;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

const SweepItem* Sweep::find(const std::string& id) const {
  for (const auto& it : items)
    if (it.id == id) return &it;
  return nullptr;
}

bool Sweep::items_have_own_outputs(const Registry& registry) const {
  for (const auto& [k, _] : per_item.items()) {
    const NodeInstance* n = graph.graph.node(k.substr(0, k.find('.')));
    if (n && registry.find(n->type) && registry.find(n->type)->is_output) return true;
  }
  return false;
}

json Sweep::to_json() const {
  json j = {{"sweep", file.string()},
            {"name", name},
            {"graph", graph_path.string()},
            {"graph_hash", graph_hash},
            {"items", json::array()}};
  if (!out.empty()) j["out"] = out.string();
  for (const auto& it : items)
    j["items"].push_back({{"index", it.index}, {"id", it.id}, {"overrides", it.overrides}, {"outputs", it.outputs}});
  return j;
}

Sweep parse_sweep(const json& doc, const fs::path& file, const Registry& registry) {
  const std::string src = file.string();
  auto err = [&](const std::string& where, const std::string& msg) -> SweepError {
    return SweepError(src + ": at " + where + ": " + msg);
  };
  if (!doc.is_object()) throw err("/", "a sweep file is a JSON object");
  static const std::set<std::string> known = {"format", "version", "name", "description", "graph",
                                              "out",    "set",     "vary", "per_item"};
  for (const auto& [k, _] : doc.items())
    if (!known.count(k))
      throw err("/" + k,
                "unknown key '" + k + "' (known: format, version, name, description, graph, out, set, vary, per_item)");
  if (doc.contains("format") && doc["format"] != "camgraph-sweep")
    throw err("/format",
              "not a CamGraph sweep (\"format\" must be \"camgraph-sweep\", got " + doc["format"].dump() + ")");
  if (doc.contains("version") && (!doc["version"].is_number_integer() || doc["version"].get<int>() > 1))
    throw err("/version", "sweep format version " + doc["version"].dump() + " is newer than this build reads (1)");
  if (!doc.contains("graph") || !doc["graph"].is_string())
    throw err("/graph", "\"graph\": the .cgraph file to run (relative to the sweep file) is required");

  Sweep s;
  s.file = fs::absolute(file).lexically_normal();
  const fs::path base = s.file.parent_path();
  s.graph_path = (base / doc["graph"].get<std::string>()).lexically_normal();
  s.name = doc.value("name", s.file.stem().string());
  if (doc.contains("out")) {
    if (!doc["out"].is_string()) throw err("/out", "must be a folder path");
    s.out = (base / doc["out"].get<std::string>()).lexically_normal();
  }
  if (!fs::exists(s.graph_path)) throw err("/graph", "graph file not found: " + s.graph_path.string());
  try {
    s.graph = load_cgraph(s.graph_path, registry);
  } catch (const std::exception& e) {
    throw err("/graph", std::string("the graph does not load: ") + e.what());
  }
  s.graph_hash = graph_hash(s.graph.graph, &registry);

  // Resolves "node.param" against the graph and normalises the value with the param's checks.
  auto resolve = [&](const std::string& key, const json& value, const std::string& where) -> json {
    const auto dot = key.find('.');
    if (dot == std::string::npos) throw err(where, "'" + key + "' is not NODE.PARAM");
    const std::string node_id = key.substr(0, dot), param = key.substr(dot + 1);
    const NodeInstance* n = s.graph.graph.node(node_id);
    if (!n) throw err(where, "no node '" + node_id + "' in " + s.graph_path.filename().string());
    const NodeSpec* spec = registry.find(n->type);
    const ParamSpec* ps = spec ? spec->param(param) : nullptr;
    if (!ps) throw err(where, "node '" + node_id + "' (" + n->type + ") has no parameter '" + param + "'");
    try {
      return check_param(node_id, *ps, value);
    } catch (const GraphError& e) {
      throw err(where, e.what());
    }
  };

  if (doc.contains("set")) {
    if (!doc["set"].is_object()) throw err("/set", "must be an object {\"NODE.PARAM\": value}");
    for (const auto& [k, v] : doc["set"].items()) s.fixed[k] = resolve(k, v, "/set/" + k);
  }
  if (doc.contains("per_item")) {
    if (!doc["per_item"].is_object()) throw err("/per_item", "must be an object {\"NODE.PARAM\": \"template\"}");
    for (const auto& [k, v] : doc["per_item"].items()) {
      if (!v.is_string()) throw err("/per_item/" + k, "must be a template string, e.g. \"clips/{id}.mp4\"");
      resolve(k, v, "/per_item/" + k);  // names a real string parameter
      s.per_item[k] = v;
    }
  }
  std::vector<json> variants;
  try {
    variants = expand_vary(doc.value("vary", json()), "/vary");
  } catch (const SweepError& e) {
    throw SweepError(src + ": " + e.what());
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < variants.size(); ++i) {
    SweepItem item;
    item.overrides = s.fixed;
    for (const auto& [k, v] : variants[i].items()) {
      if (s.fixed.contains(k)) throw err("/vary", "'" + k + "' is both fixed in \"set\" and varied");
      if (s.per_item.contains(k)) throw err("/vary", "'" + k + "' is both varied and a per_item template");
      item.overrides[k] = resolve(k, v, "/vary (item " + std::to_string(i) + ", " + k + ")");
    }
    item.id = item_id(s.graph_hash, item.overrides);
    if (!seen.insert(item.id).second) {
      s.duplicates++;
      continue;
    }
    item.index = s.items.size();
    item.outputs = json::object();
    for (const auto& [k, t] : s.per_item.items()) {
      try {
        item.outputs[k] = resolve(k, expand_template(t.get<std::string>(), item, s.name), "/per_item/" + k);
      } catch (const SweepError& e) {
        if (std::string(e.what()).rfind(src, 0) == 0) throw;
        throw err("/per_item/" + k, e.what());
      }
    }
    s.items.push_back(std::move(item));
  }
  return s;
}

Sweep load_sweep(const fs::path& file, const Registry& registry) {
  json doc;
  try {
    // A sweep is a page of JSON; its expansion, not its text, makes the items.
    doc = parse_json_bounded(read_file_bounded(file, uint64_t(16) << 20, "a sweep file"), file.string());
  } catch (const std::runtime_error& e) {
    throw SweepError(e.what());
  }
  return parse_sweep(doc, file, registry);
}

}  // namespace camgraph::batch
