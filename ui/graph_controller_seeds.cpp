// GraphController seeds: per node parameter options in `ui.params[node][param] = {lock, each_run}`.
// A locked seed refuses edits; an unlocked seed with each_run is re-rolled before every Run.
#include <QRandomGenerator>

#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::qs;
using detail::ss;
using nlohmann::json;

namespace {
int64_t randomSeed() { return QRandomGenerator::global()->bounded(2147483647); }
}  // namespace

QVariantMap GraphController::seedOptions(const QString& id, const QString& name) const {
  bool lock = false, eachRun = false;
  if (doc_.ui.is_object() && doc_.ui.contains("params") && doc_.ui["params"].is_object()) {
    const json& p = doc_.ui["params"];
    if (p.contains(ss(id)) && p[ss(id)].is_object() && p[ss(id)].contains(ss(name))) {
      const json& o = p[ss(id)][ss(name)];
      if (o.is_object()) {
        lock = o.value("lock", false);
        eachRun = o.value("each_run", false);
      }
    }
  }
  return {{"lock", lock}, {"eachRun", eachRun}};
}

QString GraphController::setSeedOptions(const QString& id, const QString& name, bool lock, bool eachRun) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* ps = spec ? spec->param(ss(name)) : nullptr;
  if (!ps || ps->type != ParamType::Seed) {
    const QString why = tr("node '%1' has no seed parameter '%2'").arg(id, name);
    fail(why);
    return why;
  }
  const QVariantMap now = seedOptions(id, name);
  if (now["lock"].toBool() == lock && now["eachRun"].toBool() == eachRun) return {};
  GraphDocument d = doc_;
  if (!d.ui.is_object()) d.ui = json::object();
  json& params = d.ui["params"];
  if (!params.is_object()) params = json::object();
  json& node = params[ss(id)];
  if (!node.is_object()) node = json::object();
  if (!lock && !eachRun) node.erase(ss(name));
  else node[ss(name)] = {{"lock", lock}, {"each_run", eachRun}};
  if (node.empty()) params.erase(ss(id));
  const QString what = lock != now["lock"].toBool()
                           ? (lock ? tr("Lock %1.%2") : tr("Unlock %1.%2"))
                           : (eachRun ? tr("Re-roll %1.%2 each run") : tr("Keep %1.%2 between runs"));
  push(what.arg(id, name), d);
  return {};
}

QVariant GraphController::randomiseSeed(const QString& id, const QString& name) {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* ps = spec ? spec->param(ss(name)) : nullptr;
  if (!ps || ps->type != ParamType::Seed) {
    fail(tr("node '%1' has no seed parameter '%2'").arg(id, name));
    return {};
  }
  const json old = n->params.contains(ps->name) ? n->params[ps->name] : ps->default_value;
  int64_t v = randomSeed();
  while (old.is_number_integer() && old.get<int64_t>() == v) v = randomSeed();
  finishParamEdit();  // its own undo step, not merged into a previous edit of this seed
  if (!setParam(id, name, QVariant::fromValue<qlonglong>(v)).isEmpty()) return {};
  finishParamEdit();
  return QVariant::fromValue<qlonglong>(v);
}

QStringList GraphController::rerollSeeds() {
  QStringList rolled;
  GraphDocument d = doc_;
  for (NodeInstance& n : d.graph.nodes) {
    const NodeSpec* spec = registry_->find(n.type);
    if (!spec || n.bypass) continue;
    for (const ParamSpec& p : spec->params) {
      if (p.type != ParamType::Seed) continue;
      const QVariantMap o = seedOptions(qs(n.id), qs(p.name));
      if (o["lock"].toBool() || !o["eachRun"].toBool()) continue;
      const json old = n.params.contains(p.name) ? n.params[p.name] : p.default_value;
      int64_t v = randomSeed();
      while (old.is_number_integer() && old.get<int64_t>() == v) v = randomSeed();
      n.params[p.name] = v;
      rolled << qs(n.id + "." + p.name);
    }
  }
  if (!rolled.isEmpty()) {
    finishParamEdit();
    push(tr("Re-roll %1 seed(s)").arg(rolled.size()), d);
  }
  return rolled;
}

}  // namespace camgraph::ui
