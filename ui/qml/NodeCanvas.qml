// The node canvas: grid, groups, comments, wires (cubic Beziers) and nodes over a pannable,
// zoomable content item. All edits go through GraphController (undoable).
import QtQuick
import QtQuick.Controls
import QtQuick.Shapes
import CamGraph

Item {
    id: canvas
    required property GraphController graph
    required property RunController runner
    property real zoom: 1
    property real panX: 0
    property real panY: 0
    // Last cursor position in canvas (content) coordinates: paste and popups go there.
    property real cursorX: 0
    property real cursorY: 0
    property bool spaceDown: false
    // The wire being dragged from a port.
    property var wire: null    // {node, port, output, type, x, y}
    property real wireX: 0
    property real wireY: 0
    property string wireHint: ""
    clip: true
    focus: true

    function toContent(x, y) { return Qt.point((x - panX) / zoom, (y - panY) / zoom) }
    function zoomAt(x, y, factor) {
        const z = Math.max(0.1, Math.min(4, zoom * factor))
        panX = x - (x - panX) * z / zoom
        panY = y - (y - panY) * z / zoom
        zoom = z
        fitted = false
    }
    // Fit (Home/F, and every new/opened/recovered graph): the graph's nodes centred with a margin,
    // zoomed out as needed but never in past 100% (GraphController::fitTransform). A fitted view
    // stays fitted while the canvas settles its size (the window laying out after a file opened
    // from the command line, a moved panel) until the user pans, zooms or edits.
    property bool fitted: false
    function fitView() {
        const t = graph.fitTransform(width, height)
        zoom = t.zoom
        panX = t.panX
        panY = t.panY
        fitted = true
    }
    onWidthChanged: if (fitted) fitView()
    onHeightChanged: if (fitted) fitView()
    Connections {
        target: canvas.graph
        function onRevisionChanged() { canvas.fitted = false }
        function onDocumentReplaced() { canvas.fitView() }
    }
    function addNodeAtCentre(type) {
        const p = toContent(width / 2, height / 2)
        graph.addNode(type, p.x - graph.nodeWidth() / 2, p.y - 40)
    }
    function openSearch(x, y, portType, wantOutputs, fromNode, fromPort) {
        search.place = Qt.point(x, y)
        search.portType = portType
        search.wantInput = !wantOutputs
        search.fromNode = fromNode
        search.fromPort = fromPort
        const s = Qt.point(x * zoom + panX, y * zoom + panY)
        search.x = Math.min(s.x, width - search.width)
        search.y = Math.min(s.y, height - search.height)
        search.open()
    }
    // Port drags (from NodeDelegate).
    function beginWire(node, port, output, type) {
        if (!output) {
            // Dragging a connected input picks its wire up (Blender): re-drag it elsewhere or drop it.
            const src = graph.inputSource(node, port)
            if (src !== "") {
                graph.disconnectInput(node, port)
                const dot = src.lastIndexOf(".")
                node = src.substring(0, dot); port = src.substring(dot + 1); output = true
                type = graph.portType(node, port, true)
            }
        }
        const p = graph.portPoint(node, port, output)
        wire = { node: node, port: port, output: output, type: type, x: p.x, y: p.y }
        wireX = p.x; wireY = p.y
    }
    function moveWire(cx, cy) {
        wireX = cx; wireY = cy
        const hit = graph.portAt(cx, cy, 14)
        if (!wire || !hit.node || hit.output === wire.output) { wireHint = ""; return }
        wireHint = wire.output ? graph.canConnect(wire.node, wire.port, hit.node, hit.port)
                               : graph.canConnect(hit.node, hit.port, wire.node, wire.port)
    }
    function endWire(cx, cy) {
        if (!wire) return
        const w = wire
        wire = null
        wireHint = ""
        const hit = graph.portAt(cx, cy, 14)
        if (hit.node && hit.output !== w.output) {
            if (w.output) graph.connectPorts(w.node, w.port, hit.node, hit.port)
            else graph.connectPorts(hit.node, hit.port, w.node, w.port)
        } else if (!hit.node) {
            // Dropped on empty canvas: offer the nodes that can take (or give) this type.
            openSearch(cx, cy, w.type, !w.output, w.node, w.port)
        }
    }

    Rectangle { anchors.fill: parent; color: "#1e1f23" }

    // Grid: minor lines every 20 units, major every 100.
    Canvas {
        id: grid
        anchors.fill: parent
        property real z0: canvas.zoom
        property real x0: canvas.panX
        property real y0: canvas.panY
        onZ0Changed: requestPaint()
        onX0Changed: requestPaint()
        onY0Changed: requestPaint()
        onPaint: {
            const ctx = getContext("2d")
            ctx.reset()
            const step = 20 * canvas.zoom
            if (step < 6) return
            for (let pass = 0; pass < 2; ++pass) {
                const s = pass === 0 ? step : step * 5
                ctx.strokeStyle = pass === 0 ? "#26282d" : "#2f3238"
                ctx.lineWidth = 1
                ctx.beginPath()
                for (let x = ((canvas.panX % s) + s) % s; x < width; x += s) { ctx.moveTo(Math.round(x) + 0.5, 0); ctx.lineTo(Math.round(x) + 0.5, height) }
                for (let y = ((canvas.panY % s) + s) % s; y < height; y += s) { ctx.moveTo(0, Math.round(y) + 0.5); ctx.lineTo(width, Math.round(y) + 0.5) }
                ctx.stroke()
            }
        }
    }

    // Background: selection box (left), pan (middle, or space + left), zoom to cursor (wheel),
    // double-click for the node search, click on a wire to select it.
    MouseArea {
        id: background
        anchors.fill: parent
        acceptedButtons: Qt.LeftButton | Qt.MiddleButton | Qt.RightButton
        hoverEnabled: true
        property point pressPos
        property bool panning: false
        property bool boxing: false
        property var reroute: null   // {toNode, toPort, index} while dragging a reroute point
        onPressed: function (mouse) {
            canvas.forceActiveFocus()
            pressPos = Qt.point(mouse.x, mouse.y)
            if (mouse.button === Qt.LeftButton && !canvas.spaceDown) {
                const r = canvas.toContent(mouse.x, mouse.y)
                const hit = graph.rerouteAt(r.x, r.y, 8 / canvas.zoom)
                if (hit.toNode) { reroute = hit; return }
            }
            panning = mouse.button === Qt.MiddleButton || (mouse.button === Qt.LeftButton && canvas.spaceDown)
            boxing = !panning && mouse.button === Qt.LeftButton
            if (boxing) {
                const c = canvas.toContent(mouse.x, mouse.y)
                const link = graph.linkAt(c.x, c.y, 6 / canvas.zoom)
                if (link.toNode) { graph.selectLink(link.toNode, link.toPort); boxing = false; return }
            }
        }
        onPositionChanged: function (mouse) {
            const c = canvas.toContent(mouse.x, mouse.y)
            canvas.cursorX = c.x; canvas.cursorY = c.y
            if (reroute && pressed) {
                graph.moveReroute(reroute.toNode, reroute.toPort, reroute.index, c.x, c.y)
            } else if (panning) {
                canvas.fitted = false
                canvas.panX += mouse.x - pressPos.x
                canvas.panY += mouse.y - pressPos.y
                pressPos = Qt.point(mouse.x, mouse.y)
            } else if (boxing && pressed) {
                box.visible = true
                box.x = Math.min(pressPos.x, mouse.x); box.y = Math.min(pressPos.y, mouse.y)
                box.width = Math.abs(mouse.x - pressPos.x); box.height = Math.abs(mouse.y - pressPos.y)
            }
        }
        onReleased: function (mouse) {
            if (reroute) { reroute = null; graph.finishParamEdit(); return }
            if (boxing) {
                if (box.visible) {
                    const a = canvas.toContent(box.x, box.y)
                    graph.selectInRect(a.x, a.y, box.width / canvas.zoom, box.height / canvas.zoom,
                                       mouse.modifiers & (Qt.ShiftModifier | Qt.ControlModifier))
                } else if (!(mouse.modifiers & (Qt.ShiftModifier | Qt.ControlModifier))) {
                    graph.clearSelection()
                }
            }
            box.visible = false
            panning = boxing = false
        }
        onDoubleClicked: function (mouse) {
            const c = canvas.toContent(mouse.x, mouse.y)
            // On a reroute point: remove it; on a wire: add one there; elsewhere: the node search.
            const hit = graph.rerouteAt(c.x, c.y, 8 / canvas.zoom)
            if (hit.toNode) { graph.removeReroute(hit.toNode, hit.toPort, hit.index); return }
            const link = graph.linkAt(c.x, c.y, 6 / canvas.zoom)
            if (link.toNode) { graph.addReroute(link.toNode, link.toPort, c.x, c.y); return }
            canvas.openSearch(c.x, c.y, "", false, "", "")
        }
        onWheel: function (wheel) { canvas.zoomAt(wheel.x, wheel.y, Math.pow(1.0015, wheel.angleDelta.y)) }
    }

    Keys.onPressed: function (event) {
        if (event.key === Qt.Key_Space && !event.isAutoRepeat) { spaceDown = true; event.accepted = true }
        else if (event.key === Qt.Key_Delete || event.key === Qt.Key_Backspace) { graph.removeSelection(); event.accepted = true }
        else if (event.key === Qt.Key_F) { fitView(); event.accepted = true }
    }
    Keys.onReleased: function (event) { if (event.key === Qt.Key_Space && !event.isAutoRepeat) spaceDown = false }

    DropArea {
        anchors.fill: parent
        keys: ["application/x-camgraph-node"]
        onDropped: function (drop) {
            const c = canvas.toContent(drop.x, drop.y)
            graph.addNode(drop.getDataAsString("application/x-camgraph-node"), c.x - graph.nodeWidth() / 2, c.y - 13)
            drop.accept(Qt.CopyAction)
        }
    }

    Item {
        id: content
        x: canvas.panX
        y: canvas.panY
        scale: canvas.zoom
        transformOrigin: Item.TopLeft

        Repeater {
            model: graph.groups
            delegate: Rectangle {
                id: group
                required property var modelData
                x: modelData.x; y: modelData.y; width: modelData.w; height: modelData.h
                color: "transparent"
                border.color: modelData.color
                radius: 6
                Rectangle { anchors.fill: parent; radius: 6; color: group.modelData.color; opacity: 0.16 }
                Rectangle { width: parent.width; height: 28; radius: 6; color: group.modelData.color; opacity: 0.6 }
                Item {
                    width: parent.width; height: 28
                    TextInput {
                        id: groupTitle
                        x: 8; anchors.verticalCenter: parent.verticalCenter
                        text: group.modelData.title; color: "white"; font.bold: true; font.pixelSize: 15
                        enabled: false
                        onEditingFinished: { enabled = false; graph.updateGroup(group.modelData.id, { title: text }) }
                    }
                    MouseArea {
                        anchors.fill: parent
                        enabled: !groupTitle.enabled
                        acceptedButtons: Qt.LeftButton | Qt.RightButton
                        property point last
                        onPressed: function (m) { last = mapToItem(content, m.x, m.y); graph.beginMove() }
                        onPositionChanged: function (m) {
                            const p = mapToItem(content, m.x, m.y)
                            graph.moveGroupBy(group.modelData.id, p.x - last.x, p.y - last.y)
                            last = p
                        }
                        onReleased: graph.endMove()
                        onDoubleClicked: { groupTitle.enabled = true; groupTitle.forceActiveFocus(); groupTitle.selectAll() }
                        onClicked: function (m) { if (m.button === Qt.RightButton) groupMenu.popup() }
                    }
                    Menu {
                        id: groupMenu
                        Repeater {
                            model: ["#4a6fa5", "#5a9a5a", "#a5564a", "#9a8a3a", "#7a4aa5", "#5a5a5a"]
                            MenuItem {
                                required property string modelData
                                text: qsTr("Colour %1").arg(modelData)
                                onTriggered: graph.updateGroup(group.modelData.id, { color: modelData })
                            }
                        }
                        MenuItem { text: qsTr("Delete group"); onTriggered: graph.removeDecoration(group.modelData.id) }
                    }
                }
                // Resize handle.
                Rectangle {
                    width: 14; height: 14; anchors.right: parent.right; anchors.bottom: parent.bottom
                    color: group.modelData.color; opacity: 0.6
                    MouseArea {
                        anchors.fill: parent
                        property point start
                        property size size0
                        onPressed: function (m) { start = mapToItem(content, m.x, m.y); size0 = Qt.size(group.width, group.height) }
                        onPositionChanged: function (m) {
                            const p = mapToItem(content, m.x, m.y)
                            group.width = Math.max(120, size0.width + p.x - start.x)
                            group.height = Math.max(80, size0.height + p.y - start.y)
                        }
                        onReleased: graph.updateGroup(group.modelData.id, { w: group.width, h: group.height })
                    }
                }
            }
        }

        Repeater {
            model: graph.comments
            delegate: Rectangle {
                id: comment
                required property var modelData
                x: modelData.x; y: modelData.y; width: modelData.w; height: modelData.h
                color: "#3a3a2a"; border.color: "#8a8a5a"; radius: 4
                Rectangle {
                    width: parent.width; height: 12; color: "#8a8a5a"; radius: 4
                    MouseArea {
                        anchors.fill: parent
                        acceptedButtons: Qt.LeftButton | Qt.RightButton
                        property point last
                        onPressed: function (m) { last = mapToItem(content, m.x, m.y); graph.beginMove() }
                        onPositionChanged: function (m) {
                            const p = mapToItem(content, m.x, m.y)
                            graph.moveGroupBy(comment.modelData.id, p.x - last.x, p.y - last.y)
                            last = p
                        }
                        onReleased: graph.endMove()
                        onDoubleClicked: graph.removeDecoration(comment.modelData.id)
                    }
                }
                TextEdit {
                    anchors.fill: parent; anchors.margins: 6; anchors.topMargin: 16
                    text: comment.modelData.text; color: "#e8e6c8"; wrapMode: TextEdit.Wrap; font.pixelSize: 13
                    onActiveFocusChanged: if (!activeFocus && text !== comment.modelData.text) graph.updateComment(comment.modelData.id, { text: text })
                }
            }
        }

        // Wires: cubic segments through the reroute points (path from GraphController::wireSvgPath).
        Repeater {
            model: graph.links
            delegate: Item {
                id: wireItem
                required property string svgPath
                required property string wireColor
                required property bool selected
                required property var reroutes
                required property string toNode
                required property string toPort
                Shape {
                    ShapePath {
                        strokeColor: wireItem.selected ? "#ffffff" : wireItem.wireColor
                        strokeWidth: wireItem.selected ? 3.5 : 2.2
                        fillColor: "transparent"
                        PathSvg { path: wireItem.svgPath }
                    }
                }
                // Reroute points (drawn here; the background's mouse area drags and removes them,
                // as these delegates are rebuilt whenever a point moves).
                Repeater {
                    model: wireItem.reroutes
                    delegate: Rectangle {
                        required property var modelData
                        x: modelData.x - 6; y: modelData.y - 6
                        width: 12; height: 12; radius: 6
                        color: wireItem.wireColor; border.color: wireItem.selected ? "#ffffff" : "#1b1c1f"; border.width: 2
                    }
                }
            }
        }

        // The wire being dragged.
        Shape {
            visible: canvas.wire !== null
            ShapePath {
                id: dragPath
                strokeColor: canvas.wireHint !== "" ? "#ff5050" : "#e8e8e8"
                strokeWidth: 2
                strokeStyle: ShapePath.DashLine
                fillColor: "transparent"
                startX: canvas.wire ? canvas.wire.x : 0
                startY: canvas.wire ? canvas.wire.y : 0
                PathCubic {
                    x: canvas.wireX; y: canvas.wireY
                    control1X: dragPath.startX + (canvas.wire && canvas.wire.output ? 60 : -60); control1Y: dragPath.startY
                    control2X: canvas.wireX + (canvas.wire && canvas.wire.output ? -60 : 60); control2Y: canvas.wireY
                }
            }
        }

        Repeater {
            id: nodeRepeater
            model: graph.nodes
            // (not `canvas: canvas`: inside the delegate that name is its own property)
            delegate: NodeDelegate { canvas: nodeRepeater.parent.parent; graph: nodeRepeater.parent.parent.graph; contentItem: nodeRepeater.parent }
        }
    }

    // Refusal reason while hovering an incompatible port.
    Rectangle {
        visible: canvas.wire !== null && canvas.wireHint !== ""
        x: canvas.wireX * canvas.zoom + canvas.panX + 14
        y: canvas.wireY * canvas.zoom + canvas.panY + 14
        width: hint.implicitWidth + 12; height: hint.implicitHeight + 8
        color: "#5a2020"; radius: 3
        Label { id: hint; anchors.centerIn: parent; text: canvas.wireHint; color: "#ffdede" }
    }

    Rectangle { id: box; visible: false; color: "#30d98c2b"; border.color: "#d98c2b" }

    SearchPopup {
        id: search
        objectName: "searchPopup"
        graph: canvas.graph
        property point place
        property string fromNode
        property string fromPort
        onPicked: function (type) {
            if (fromNode !== "") graph.addNodeConnected(type, place.x, place.y, fromNode, fromPort, !wantInput)
            else graph.addNode(type, place.x, place.y)
        }
    }

    Label {
        anchors.right: parent.right; anchors.bottom: parent.bottom; anchors.margins: 6
        text: Math.round(canvas.zoom * 100) + "%"
        color: "#6a6f78"
    }
}
