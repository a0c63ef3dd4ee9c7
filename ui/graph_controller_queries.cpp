// GraphController queries for the inspector, the palette and the popups: parameters, node info,
// port types, node search.
#include <algorithm>

#include "graph_controller.h"
#include "graph_controller_support.h"

namespace camgraph::ui {

using detail::categoryColor;
using detail::qs;
using detail::ss;
using detail::toVariant;

QVariantList GraphController::paramsOf(const QString& id) const {
  QVariantList out;
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  if (!spec) return out;
  for (const ParamSpec& p : spec->params) {
    QVariantMap m{{"name", qs(p.name)},
                  {"type", qs(std::string(to_string(p.type)))},
                  {"value", toVariant(n->params.contains(p.name) ? n->params[p.name] : p.default_value)},
                  {"default", toVariant(p.default_value)},
                  {"doc", qs(p.doc)},
                  {"filter", qs(p.file_filter)},
                  {"inputFile", p.is_input_file},
                  {"multiline", p.multiline}};
    if (p.min) m["min"] = *p.min;
    if (p.max) m["max"] = *p.max;
    QStringList choices;
    for (const auto& c : p.choices) choices << qs(c);
    m["choices"] = choices;
    out.push_back(m);
  }
  return out;
}

QVariant GraphController::paramValue(const QString& id, const QString& name) const {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  const ParamSpec* p = spec ? spec->param(ss(name)) : nullptr;
  if (!p) return {};
  return toVariant(n->params.contains(p->name) ? n->params[p->name] : p->default_value);
}

QVariantMap GraphController::nodeInfo(const QString& id) const {
  const NodeInstance* n = doc_.graph.node(ss(id));
  const NodeSpec* spec = n ? registry_->find(n->type) : nullptr;
  if (!spec) return {};
  QStringList outputs;
  for (const PortSpec& p : spec->outputs) outputs << qs(p.name);
  return {{"id", id},
          {"type", qs(n->type)},
          {"title", qs(spec->title)},
          {"category", qs(spec->category)},
          {"doc", qs(spec->doc)},
          {"bypass", n->bypass},
          {"outputs", outputs},
          {"color", categoryColor(spec->category)}};
}

QString GraphController::portType(const QString& node, const QString& port, bool output) const {
  const NodeInstance* n = doc_.graph.node(ss(node));
  const NodeSpec* s = n ? registry_->find(n->type) : nullptr;
  const PortSpec* p = s ? (output ? s->output(ss(port)) : s->input(ss(port))) : nullptr;
  return p ? qs(std::string(to_string(p->type))) : QString();
}

QString GraphController::inputSource(const QString& node, const QString& port) const {
  const Link* l = doc_.graph.link_to({ss(node), ss(port)});
  return l ? qs(l->from.to_string()) : QString();
}

QVariantList GraphController::palette() const { return searchNodes({}); }

QVariantList GraphController::searchNodes(const QString& text, const QString& portType, bool wantInput) const {
  QVariantList out;
  const auto wanted = port_type_from_string(ss(portType));
  for (const NodeSpec* s : registry_->all()) {
    const QString hay = qs(s->title + " " + s->type + " " + s->category + " " + s->doc);
    bool match = true;
    for (const QString& word : text.split(' ', Qt::SkipEmptyParts))
      match = match && hay.contains(word, Qt::CaseInsensitive);
    if (!match) continue;
    if (wanted) {
      bool ok = false;
      for (const PortSpec& p : wantInput ? s->inputs : s->outputs)
        ok = ok || (wantInput ? port_types_compatible(*wanted, p.type) : port_types_compatible(p.type, *wanted));
      if (!ok) continue;
    }
    out.push_back(QVariantMap{{"type", qs(s->type)},
                              {"title", qs(s->title)},
                              {"category", qs(s->category)},
                              {"color", categoryColor(s->category)},
                              {"doc", qs(s->doc)}});
  }
  std::stable_sort(out.begin(), out.end(), [](const QVariant& a, const QVariant& b) {
    return a.toMap()["category"].toString() < b.toMap()["category"].toString();
  });
  return out;
}

}  // namespace camgraph::ui
