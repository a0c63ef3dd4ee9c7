// One node on the canvas: header coloured by category, typed ports, run state, progress, error.
import QtQuick
import QtQuick.Controls
import CamGraph

Item {
    id: node
    required property Item canvas
    required property GraphController graph
    required property Item contentItem
    required property string nodeId
    required property string title
    required property string headerColor
    required property real nodeX
    required property real nodeY
    required property real nodeWidth
    required property real nodeHeight
    required property var inputs
    required property var outputs
    required property bool bypass
    required property bool selected
    required property string runState
    required property real progress
    required property string message
    required property real seconds
    required property string summary
    objectName: "node_" + nodeId

    x: nodeX
    y: nodeY
    width: nodeWidth
    height: nodeHeight
    opacity: bypass ? 0.45 : 1

    readonly property color stateColor: ({
        "queued": "#5a6a8a", "running": "#e0c040", "done": "#4fc070", "cached": "#3fa0a0",
        "failed": "#e04848", "skipped": "#707070" })[runState] || "#3a3c42"

    Rectangle {
        id: body
        anchors.fill: parent
        radius: 6
        color: "#2b2d33"
        border.width: node.selected ? 2.5 : (node.runState !== "" ? 2 : 1)
        border.color: node.selected ? "#f0a040" : node.stateColor
    }
    Rectangle {
        width: parent.width; height: 26; radius: 6
        color: node.headerColor
        Rectangle { width: parent.width; height: 6; anchors.bottom: parent.bottom; color: parent.color }
        Text {
            x: 8; width: parent.width - 16 - (idLabel.visible ? idLabel.implicitWidth + 6 : 0); anchors.verticalCenter: parent.verticalCenter
            text: node.title + (node.bypass ? qsTr("  (bypassed)") : "")
            color: "white"; font.bold: true; font.pixelSize: 13; elide: Text.ElideRight
        }
        Text {
            id: idLabel
            anchors.right: parent.right; anchors.rightMargin: 6; anchors.verticalCenter: parent.verticalCenter
            text: node.nodeId; color: "#d0ffffff"; font.pixelSize: 10
            visible: node.width > 150
        }
    }

    // Drag / select: the whole body (ports sit above it and take their own presses).
    MouseArea {
        anchors.fill: parent
        acceptedButtons: Qt.LeftButton | Qt.RightButton
        property point last
        property bool moved
        onPressed: function (m) {
            node.canvas.forceActiveFocus()
            const additive = m.modifiers & (Qt.ShiftModifier | Qt.ControlModifier)
            if (!node.selected || additive) node.graph.select(node.nodeId, additive)
            else if (node.graph.currentNode !== node.nodeId) node.graph.select(node.nodeId, true), node.graph.select(node.nodeId, true)
            last = mapToItem(node.contentItem, m.x, m.y)
            moved = false
            if (m.button === Qt.LeftButton) node.graph.beginMove()
        }
        onPositionChanged: function (m) {
            if (!(m.buttons & Qt.LeftButton)) return
            const p = mapToItem(node.contentItem, m.x, m.y)
            node.graph.moveSelectionBy(p.x - last.x, p.y - last.y)
            last = p
            moved = true
        }
        onReleased: function (m) { if (m.button === Qt.LeftButton) node.graph.endMove() }
        onClicked: function (m) { if (m.button === Qt.RightButton) nodeMenu.popup() }
    }
    Menu {
        id: nodeMenu
        MenuItem { text: node.bypass ? qsTr("Enable") : qsTr("Bypass"); onTriggered: node.graph.setBypass(node.nodeId, !node.bypass) }
        MenuItem { text: qsTr("Duplicate"); onTriggered: node.graph.duplicateSelection() }
        MenuItem { text: qsTr("Copy"); onTriggered: node.graph.copySelection() }
        MenuItem { text: qsTr("Delete"); onTriggered: node.graph.removeSelection() }
    }

    // Ports: dots on the edges, coloured by type, labels inside.
    Repeater {
        model: node.inputs
        delegate: Item {
            required property var modelData
            required property int index
            x: -6; y: 26 + index * 20 + 4; width: node.width / 2; height: 12
            Rectangle {
                width: 12; height: 12; radius: 6
                color: modelData.connected ? modelData.color : "#2b2d33"
                border.color: modelData.color; border.width: 2
            }
            Text {
                x: 16; anchors.verticalCenter: parent.verticalCenter
                text: modelData.name + (modelData.optional ? "?" : "")
                color: "#c8ccd4"; font.pixelSize: 11
            }
            MouseArea {
                width: 18; height: 18; x: -3; y: -3
                cursorShape: Qt.CrossCursor
                hoverEnabled: true
                ToolTip.visible: containsMouse && !pressed
                ToolTip.text: modelData.type + (modelData.doc ? ": " + modelData.doc : "")
                onPressed: node.canvas.beginWire(node.nodeId, modelData.name, false, modelData.type)
                onPositionChanged: function (m) { const p = mapToItem(node.contentItem, m.x, m.y); node.canvas.moveWire(p.x, p.y) }
                onReleased: function (m) { const p = mapToItem(node.contentItem, m.x, m.y); node.canvas.endWire(p.x, p.y) }
            }
        }
    }
    Repeater {
        model: node.outputs
        delegate: Item {
            required property var modelData
            required property int index
            x: node.width / 2; y: 26 + index * 20 + 4; width: node.width / 2 + 6; height: 12
            Text {
                anchors.right: dot.left; anchors.rightMargin: 4; anchors.verticalCenter: parent.verticalCenter
                text: modelData.name; color: "#c8ccd4"; font.pixelSize: 11
            }
            Rectangle {
                id: dot
                anchors.right: parent.right
                width: 12; height: 12; radius: 6
                color: modelData.connected ? modelData.color : "#2b2d33"
                border.color: modelData.color; border.width: 2
            }
            MouseArea {
                width: 18; height: 18; x: dot.x - 3; y: -3
                cursorShape: Qt.CrossCursor
                hoverEnabled: true
                ToolTip.visible: containsMouse && !pressed
                ToolTip.text: modelData.type + (modelData.doc ? ": " + modelData.doc : "")
                onPressed: node.canvas.beginWire(node.nodeId, modelData.name, true, modelData.type)
                onPositionChanged: function (m) { const p = mapToItem(node.contentItem, m.x, m.y); node.canvas.moveWire(p.x, p.y) }
                onReleased: function (m) { const p = mapToItem(node.contentItem, m.x, m.y); node.canvas.endWire(p.x, p.y) }
            }
        }
    }

    // Footer: progress bar while running, then state and elapsed time.
    Item {
        anchors.left: parent.left; anchors.right: parent.right; anchors.bottom: parent.bottom
        anchors.margins: 6
        height: 12
        Rectangle {
            anchors.fill: parent; radius: 3; color: "#1e1f23"
            visible: node.runState === "running"
            Rectangle { width: parent.width * node.progress; height: parent.height; radius: 3; color: node.stateColor }
        }
        Text {
            anchors.fill: parent
            visible: node.runState !== "running"
            text: node.runState === "" ? node.summary
                  : node.runState + (node.seconds > 0 ? "  " + node.seconds.toFixed(2) + " s" : "") + (node.summary ? "  " + node.summary : "")
            color: node.runState === "" ? "#8a8f98" : node.stateColor
            font.pixelSize: 10; elide: Text.ElideRight
        }
    }
    // Progress message and errors below the node.
    Text {
        y: node.height + 4; width: Math.max(node.width, 260)
        visible: text !== ""
        text: node.runState === "failed" ? node.message : node.runState === "running" ? node.message : ""
        color: node.runState === "failed" ? "#ff7070" : "#c0c4cc"
        font.pixelSize: 11; wrapMode: Text.Wrap
    }
}
