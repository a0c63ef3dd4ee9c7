// Output of the current node: images and masks (zoom to cursor, pan, checkerboard, pixel readout),
// frame sequences (scrub, play at the clip's fps, loop), splat scenes (orbit viewport),
// text/records, and the training plots from progress data.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import CamGraph

Pane {
    id: panel
    required property GraphController graph
    required property RunController runner
    readonly property string nodeId: graph.currentNode
    property string port: ""
    // Re-read whenever outputs change (runner.revision), live previews included. The revision is
    // used in the expression (not a bare `runner.revision;` statement, which the compiled QML may
    // drop together with the dependency).
    readonly property var info: runner.revision >= 0 ? runner.outputInfo(nodeId, port) : ({})
    readonly property bool hasCurve: runner.revision >= 0 && plot.points >= 0 && runner.curve(nodeId).length > 0
    // Per-frame lists in a record output (dataset.qc's metrics) for the "Per frame" tab.
    readonly property var frameSeries: runner.revision >= 0 ? runner.frameSeries(nodeId, port) : []
    onNodeIdChanged: port = ""
    padding: 4
    background: Rectangle { color: "#1b1c1f" }

    ColumnLayout {
        anchors.fill: parent
        spacing: 4
        RowLayout {
            Layout.fillWidth: true
            TabBar {
                id: tabs
                TabButton { text: qsTr("Output"); width: implicitWidth }
                TabButton { text: qsTr("Training"); width: implicitWidth; enabled: panel.hasCurve }
                TabButton { objectName: "perFrameTab"; text: qsTr("Per frame"); width: implicitWidth; enabled: panel.frameSeries.length > 0 }
            }
            ComboBox {
                Layout.maximumWidth: 120
                visible: panel.info.ports && panel.info.ports.length > 1
                model: panel.info.ports ? panel.info.ports.map(function (p) { return p.name }) : []
                currentIndex: model.indexOf(panel.info.port)
                onActivated: panel.port = currentText
            }
            Item { Layout.fillWidth: true }
            ToolButton { text: qsTr("Fit"); visible: image.visible; onClicked: image.fit() }
            ToolButton { text: "1:1"; visible: image.visible; onClicked: image.actualSize() }
            ToolButton { text: qsTr("Home"); visible: splat.visible; onClicked: { splat.home(); splat.orbit(0, 0) } }
            ToolButton {
                visible: splat.visible
                text: splat.flyMode ? qsTr("Fly") : qsTr("Orbit")
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Orbit: drag orbits, Shift/middle drag pans, wheel dollies. Fly: drag looks around, W/A/S/D move, Q/E down/up (click the view first)")
                onClicked: { splat.flyMode = !splat.flyMode; splat.forceActiveFocus() }
            }
        }
        StackLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            currentIndex: tabs.currentIndex
            Item {
                Label {
                    anchors.centerIn: parent
                    visible: panel.info.kind === "none" || panel.info.kind === undefined
                    text: panel.nodeId === "" ? qsTr("Select a node to preview its output")
                                              : qsTr("No output yet: run the graph (Ctrl+Enter)")
                    color: "#6a6f78"
                }
                ImageView {
                    id: image
                    objectName: "imageView"
                    anchors.fill: parent
                    anchors.bottomMargin: frameBar.visible ? frameBar.height + 24 : 22
                    visible: panel.info.kind === "image" || panel.info.kind === "frames" || panel.info.kind === "video"
                    runner: panel.runner
                    node: panel.nodeId
                    port: panel.info.port || ""
                    revision: panel.runner.revision
                    frame: frameSlider.value
                    WheelHandler { onWheel: function (e) { image.zoomAt(e.x, e.y, Math.pow(1.0015, e.angleDelta.y)) } }
                    DragHandler {
                        target: null
                        property point last
                        onActiveChanged: last = centroid.position
                        onCentroidChanged: if (active) { image.panBy(centroid.position.x - last.x, centroid.position.y - last.y); last = centroid.position }
                    }
                    HoverHandler { id: hover }
                }
                Label {
                    visible: image.visible
                    anchors.left: parent.left; anchors.bottom: parent.bottom
                    anchors.bottomMargin: frameBar.visible ? frameBar.height + 4 : 2
                    font.family: "monospace"; font.pixelSize: 11; color: "#a8adb8"
                    text: image.imageWidth + "x" + image.imageHeight + "  " + Math.round(image.zoom * 100) + "%   "
                          + (hover.hovered ? image.pixelAt(hover.point.position.x, hover.point.position.y) : "")
                }
                RowLayout {
                    id: frameBar
                    visible: panel.info.kind === "frames" || panel.info.kind === "video"
                    anchors.left: parent.left; anchors.right: parent.right; anchors.bottom: parent.bottom
                    Button { text: playTimer.running ? "\u275A\u275A" : "\u25B6"; onClicked: playTimer.running = !playTimer.running }
                    Slider {
                        id: frameSlider
                        Layout.fillWidth: true
                        from: 0; to: Math.max(0, (panel.info.frames || 1) - 1); stepSize: 1
                    }
                    Label { text: (frameSlider.value + 1) + "/" + (panel.info.frames || 0) + "  " + (panel.info.fps || 0) + " fps" }
                    CheckBox { id: loop; text: qsTr("Loop"); checked: true }
                    Timer {
                        id: playTimer
                        interval: 1000 / Math.max(1, panel.info.fps || 24)
                        repeat: true
                        onTriggered: {
                            if (frameSlider.value < frameSlider.to) frameSlider.value += 1
                            else if (loop.checked) frameSlider.value = 0
                            else running = false
                        }
                    }
                }
                SplatView {
                    id: splat
                    anchors.fill: parent
                    anchors.bottomMargin: 22
                    visible: panel.info.kind === "splat"
                    runner: panel.runner
                    node: visible ? panel.nodeId : ""
                    port: panel.info.port || ""
                    revision: panel.runner.revision
                    objectName: "splatView"
                    TapHandler { onTapped: splat.forceActiveFocus() }
                    Keys.onPressed: function (e) {
                        const k = e.key
                        const m = { [Qt.Key_W]: [1, 0, 0], [Qt.Key_S]: [-1, 0, 0], [Qt.Key_D]: [0, 1, 0],
                                    [Qt.Key_A]: [0, -1, 0], [Qt.Key_E]: [0, 0, 1], [Qt.Key_Q]: [0, 0, -1] }
                        if (m[k] === undefined) return
                        const f = (e.modifiers & Qt.ShiftModifier) ? 4 : 1
                        splat.fly(m[k][0] * f, m[k][1] * f, m[k][2] * f)
                        e.accepted = true
                    }
                    DragHandler {
                        target: null
                        acceptedButtons: Qt.LeftButton | Qt.MiddleButton
                        property point last
                        onActiveChanged: { last = centroid.position; if (active) splat.forceActiveFocus() }
                        onCentroidChanged: {
                            if (!active) return
                            const dx = centroid.position.x - last.x, dy = centroid.position.y - last.y
                            if (centroid.pressedButtons & Qt.MiddleButton || centroid.modifiers & Qt.ShiftModifier) splat.pan(dx, dy)
                            else if (splat.flyMode) splat.look(dx, dy)
                            else splat.orbit(dx, dy)
                            last = centroid.position
                        }
                    }
                    WheelHandler { onWheel: function (e) { splat.dolly(Math.pow(0.999, e.angleDelta.y)) } }
                }
                Label {
                    visible: splat.visible
                    anchors.left: parent.left; anchors.bottom: parent.bottom
                    text: splat.stats; color: "#a8adb8"; font.pixelSize: 11
                }
                // The device the viewport renders on (CUDA rasterizer when present, else CPU).
                Label {
                    objectName: "viewportBackend"
                    visible: splat.visible
                    anchors.left: parent.left; anchors.top: parent.top; anchors.margins: 6
                    text: splat.backend
                    font.pixelSize: 11; font.bold: true
                    color: splat.backend === "CUDA" ? "#8fd16a" : "#c9ccd3"
                    padding: 3
                    background: Rectangle { color: "#a0202226"; radius: 3 }
                }
                // A live snapshot of a running node (splat.train every preview_every steps, a
                // generator's decoded latents): replaced by the real output when the node finishes.
                Label {
                    objectName: "livePreviewLabel"
                    visible: !!panel.info.preview && (splat.visible || image.visible)
                    anchors.right: parent.right; anchors.top: parent.top; anchors.margins: 6
                    text: qsTr("Live: %1").arg(panel.info.preview || "")
                    font.pixelSize: 11; font.bold: true
                    color: "#f2c14e"
                    padding: 3
                    background: Rectangle { color: "#a0202226"; radius: 3 }
                }
                ScrollView {
                    anchors.fill: parent
                    visible: ["text", "record", "camera"].indexOf(panel.info.kind) >= 0
                    TextArea {
                        readOnly: true
                        text: panel.info.text || ""
                        font.family: "monospace"
                        wrapMode: TextArea.Wrap
                        selectByMouse: true
                    }
                }
            }
            PlotView {
                id: plot
                runner: panel.runner
                node: panel.nodeId
            }
            SeriesPlotView {
                objectName: "seriesPlot"
                series: panel.frameSeries
                frame: frameBar.visible ? frameSlider.value : -1
            }
        }
    }
}
