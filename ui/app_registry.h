// The node registry of the editor's controllers that QML creates (QML passes no constructor
// arguments). The app sets it once, before loading the QML, to the registry of the node families
// it links (app/gui/main.cpp: camgraph::builtin_registry()); the editor library links no family.
#pragma once

namespace camgraph {
class Registry;
}

namespace camgraph::ui {

void setAppRegistry(const camgraph::Registry& registry);  // must outlive the editor
// The registry set above; aborts with a message when the app has not set one.
const camgraph::Registry& appRegistry();

}  // namespace camgraph::ui
