// Parameters of the current node, built from its spec. Every edit goes through the undo stack;
// a slider drag is one undo step (GraphController merges until the slider is released).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import CamGraph

Pane {
    id: inspector
    required property GraphController graph
    required property Dialogs dialogs
    readonly property string nodeId: graph.currentNode
    readonly property var info: graph.revision >= 0 ? graph.nodeInfo(nodeId) : ({})  // revision in the expression: see PreviewPanel.qml
    // The spec list changes only with the node; values are read per field (so a slider keeps its grab).
    readonly property var params: graph.paramsOf(nodeId)
    padding: 8
    background: Rectangle { color: "#222327" }

    function value(name) { return graph.revision >= 0 ? graph.paramValue(nodeId, name) : undefined }
    function set(name, v) { graph.setParam(nodeId, name, v) }

    ColumnLayout {
        anchors.fill: parent
        spacing: 4
        Label {
            text: inspector.nodeId === "" ? qsTr("No node selected") : inspector.info.title + "  \u2014  " + inspector.nodeId
            font.bold: true; font.pixelSize: 15
        }
        Label {
            visible: inspector.nodeId !== ""
            text: (inspector.info.type || "") + (inspector.info.doc ? "\n" + inspector.info.doc : "")
            color: "#8a8f98"; wrapMode: Text.Wrap; Layout.fillWidth: true; font.pixelSize: 11
        }
        CheckBox {
            visible: inspector.nodeId !== ""
            text: qsTr("Bypass")
            checked: inspector.info.bypass || false
            onToggled: graph.setBypass(inspector.nodeId, checked)
        }
        ScrollView {
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            contentWidth: availableWidth
            ColumnLayout {
                width: parent.width
                spacing: 6
                Repeater {
                    model: inspector.params
                    delegate: ColumnLayout {
                        id: field
                        required property var modelData
                        readonly property var current: inspector.value(modelData.name)
                        readonly property bool isDefault: current === modelData["default"]
                        Layout.fillWidth: true
                        spacing: 1
                        RowLayout {
                            Layout.fillWidth: true
                            Label {
                                text: field.modelData.name + (field.isDefault ? "" : " \u2022")
                                font.pixelSize: 12; Layout.fillWidth: true
                                ToolTip.visible: labelHover.hovered
                                ToolTip.text: field.modelData.doc
                                HoverHandler { id: labelHover }
                            }
                            ToolButton {
                                text: "\u21BA"; visible: !field.isDefault; implicitHeight: 20; implicitWidth: 20
                                ToolTip.visible: hovered; ToolTip.text: qsTr("Reset to %1").arg(field.modelData["default"])
                                onClicked: graph.resetParam(inspector.nodeId, field.modelData.name)
                            }
                        }
                        Loader {
                            Layout.fillWidth: true
                            property var p: field.modelData
                            property var current: field.current
                            sourceComponent: {
                                const t = field.modelData.type
                                if (t === "int" || t === "float") return numberEditor
                                if (t === "seed") return seedEditor
                                if (t === "bool") return boolEditor
                                if (t === "enum") return enumEditor
                                if (t === "colour") return colourEditor
                                if (t === "path") return pathEditor
                                return field.modelData.multiline ? textEditor : stringEditor
                            }
                        }
                    }
                }
            }
        }
    }

    Component {
        id: numberEditor
        RowLayout {
            readonly property bool isInt: p.type === "int"
            readonly property bool sliderable: p.min !== undefined && p.max !== undefined && (p.max - p.min) <= (isInt ? 4096 : 1e4)
            Slider {
                Layout.fillWidth: true
                visible: parent.sliderable
                from: p.min !== undefined ? p.min : 0
                to: p.max !== undefined ? p.max : 1
                stepSize: parent.isInt ? 1 : 0
                value: current
                onMoved: inspector.set(p.name, value)
                onPressedChanged: if (!pressed) graph.finishParamEdit()
            }
            TextField {
                Layout.preferredWidth: parent.sliderable ? 80 : -1
                Layout.fillWidth: !parent.sliderable
                text: parent.isInt ? String(current) : Number(current).toPrecision(6).replace(/\.?0+$/, "")
                validator: DoubleValidator {}
                onEditingFinished: { inspector.set(p.name, Number(text)); graph.finishParamEdit() }
                Keys.onUpPressed: { inspector.set(p.name, Number(current) + (parent.isInt ? 1 : 0.1)); graph.finishParamEdit() }
                Keys.onDownPressed: { inspector.set(p.name, Number(current) - (parent.isInt ? 1 : 0.1)); graph.finishParamEdit() }
            }
        }
    }
    Component {
        id: seedEditor
        // Lock and "re-roll each run" are saved in the file's ui section (GraphController::seedOptions).
        ColumnLayout {
            readonly property var opts: graph.revision >= 0 ? graph.seedOptions(inspector.nodeId, p.name) : ({})
            RowLayout {
                Layout.fillWidth: true
                TextField {
                    Layout.fillWidth: true
                    text: String(current)
                    enabled: !opts.lock
                    validator: DoubleValidator { bottom: 0; decimals: 0 }
                    onEditingFinished: if (text !== String(current)) { inspector.set(p.name, Number(text)); graph.finishParamEdit() }
                }
                Button {
                    text: qsTr("\u2684 Randomise"); enabled: !opts.lock
                    ToolTip.visible: hovered; ToolTip.text: qsTr("A new random seed (undoable)")
                    onClicked: graph.randomiseSeed(inspector.nodeId, p.name)
                }
            }
            RowLayout {
                CheckBox {
                    text: qsTr("Lock"); checked: opts.lock
                    ToolTip.visible: hovered; ToolTip.text: qsTr("Keep this seed: edits, Randomise and re-rolls are refused")
                    onToggled: graph.setSeedOptions(inspector.nodeId, p.name, checked, opts.eachRun)
                }
                CheckBox {
                    text: qsTr("Randomise each run"); checked: opts.eachRun; enabled: !opts.lock
                    ToolTip.visible: hovered; ToolTip.text: qsTr("Run picks a new seed first (not in live re-runs)")
                    onToggled: graph.setSeedOptions(inspector.nodeId, p.name, opts.lock, checked)
                }
            }
        }
    }
    Component {
        id: boolEditor
        CheckBox { checked: current; onToggled: inspector.set(p.name, checked) }
    }
    Component {
        id: enumEditor
        ComboBox {
            model: p.choices
            currentIndex: p.choices.indexOf(current)
            onActivated: inspector.set(p.name, currentText)
        }
    }
    Component {
        id: stringEditor
        TextField { text: current; onEditingFinished: if (text !== current) inspector.set(p.name, text) }
    }
    Component {
        id: textEditor
        ScrollView {
            implicitHeight: 90
            TextArea {
                text: current
                wrapMode: TextArea.Wrap
                background: Rectangle { color: "#1b1c1f"; border.color: "#3a3c42" }
                onActiveFocusChanged: if (!activeFocus && text !== current) inspector.set(p.name, text)
            }
        }
    }
    Component {
        id: colourEditor
        RowLayout {
            Rectangle {
                width: 36; height: 22; radius: 3; border.color: "#5a5d65"
                // #rrggbbaa in files; Qt colours want #aarrggbb.
                color: String(current).length === 9 ? "#" + String(current).substr(7, 2) + String(current).substr(1, 6) : current
                MouseArea {
                    anchors.fill: parent
                    onClicked: { const c = inspector.dialogs.pickColor(current); if (c !== "") inspector.set(p.name, c) }
                }
            }
            TextField { Layout.fillWidth: true; text: current; onEditingFinished: if (text !== current) inspector.set(p.name, text) }
        }
    }
    Component {
        id: pathEditor
        RowLayout {
            TextField { Layout.fillWidth: true; text: current; onEditingFinished: if (text !== current) inspector.set(p.name, text) }
            Button {
                text: "\u2026"
                implicitWidth: 32
                onClicked: {
                    const f = p.inputFile || p.filter === "dir"
                        ? inspector.dialogs.openFile(p.name, p.filter, graph.graphDir())
                        : inspector.dialogs.saveFile(p.name, p.filter, graph.graphDir())
                    if (f !== "") inspector.set(p.name, inspector.dialogs.relativeTo(f, graph.graphDir()))
                }
            }
        }
    }
}
