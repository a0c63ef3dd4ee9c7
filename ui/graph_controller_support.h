// Helpers shared by GraphController's role files (graph_controller*.cpp) and the list models:
// string conversion, JSON <-> QVariant for parameter values, and the canvas colours.
// Internal to ui/; not part of the controller's API.
#pragma once
#include <QString>
#include <QVariant>
#include <string>

#include "camgraph/spec.h"

namespace camgraph::ui::detail {

inline QString qs(const std::string& s) { return QString::fromStdString(s); }
inline std::string ss(const QString& s) { return s.toStdString(); }

QVariant toVariant(const nlohmann::json& j);
nlohmann::json toJson(const ParamSpec& spec, const QVariant& v);  // a QML value as the spec's type

// Header colour per palette category (Blender-like: sources warm, processing cool, outputs red).
QString categoryColor(const std::string& category);
QString typeColor(PortType t);  // wire and port colour of a port type

}  // namespace camgraph::ui::detail
