// The editor window: menus and shortcuts, palette | canvas + log | inspector + preview.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import CamGraph

ApplicationWindow {
    id: window
    width: 1500
    height: 900
    visible: true
    title: graph.windowTitle
    color: "#1b1c1f"
    palette.window: "#232428"
    palette.base: "#1b1c1f"
    palette.text: "#d8dbe2"
    palette.windowText: "#d8dbe2"
    palette.button: "#2e3036"
    palette.buttonText: "#d8dbe2"
    palette.highlight: "#d98c2b"

    property alias graph: graph
    property alias runner: runner
    property alias canvas: canvas
    property bool closeConfirmed: false

    GraphController { id: graph; objectName: "graph" }
    RunController { id: runner; objectName: "runner"; graph: window.graph }
    Dialogs { id: fileDialogs }

    function openDialog() {
        confirmDiscard(function () {
            const f = fileDialogs.openFile(qsTr("Open graph"), "CamGraph graphs (*.cgraph)", graph.graphDir())
            if (f !== "") openPath(f)
        })
    }
    function openPath(f) { graph.open(f) }  // the canvas fits the view to the opened graph
    function saveAsDialog() {
        const f = fileDialogs.saveFile(qsTr("Save graph as"), "CamGraph graphs (*.cgraph)", graph.graphDir())
        if (f === "") return false
        return graph.saveAs(f.endsWith(".cgraph") ? f : f + ".cgraph")
    }
    function saveOrAsk() { return graph.filePath === "" ? saveAsDialog() : graph.save() }
    // Runs `then` after the user agreed to lose (or saved) unsaved changes.
    function confirmDiscard(then) {
        if (!graph.dirty) { then(); return }
        discardDialog.then = then
        discardDialog.open()
    }

    onClosing: function (close) {
        if (graph.dirty && !closeConfirmed) {
            close.accepted = false
            confirmDiscard(function () { closeConfirmed = true; window.close() })
        } else {
            runner.cancel()
        }
    }

    menuBar: MenuBar {
        Menu {
            title: qsTr("&File")
            Action { text: qsTr("&New"); shortcut: StandardKey.New; onTriggered: confirmDiscard(graph.newGraph) }
            Action { text: qsTr("&Open..."); shortcut: StandardKey.Open; onTriggered: openDialog() }
            Menu {
                id: recentMenu
                title: qsTr("Open &Recent")
                Repeater {
                    model: graph.recentFiles
                    MenuItem { text: modelData; onTriggered: confirmDiscard(function () { openPath(modelData) }) }
                }
            }
            Action { text: qsTr("&Save"); shortcut: StandardKey.Save; onTriggered: saveOrAsk() }
            Action { text: qsTr("Save &As..."); shortcut: StandardKey.SaveAs; onTriggered: saveAsDialog() }
            MenuSeparator {}
            Action { text: qsTr("&Quit"); shortcut: StandardKey.Quit; onTriggered: window.close() }
        }
        Menu {
            title: qsTr("&Edit")
            Action { text: qsTr("&Undo %1").arg(graph.undoText); enabled: graph.canUndo; shortcut: StandardKey.Undo; onTriggered: graph.undo() }
            Action { text: qsTr("&Redo %1").arg(graph.redoText); enabled: graph.canRedo; shortcut: StandardKey.Redo; onTriggered: graph.redo() }
            MenuSeparator {}
            Action { text: qsTr("Cu&t"); shortcut: StandardKey.Cut; onTriggered: { graph.copySelection(); graph.removeSelection() } }
            Action { text: qsTr("&Copy"); shortcut: StandardKey.Copy; onTriggered: graph.copySelection() }
            Action { text: qsTr("&Paste"); shortcut: StandardKey.Paste; onTriggered: graph.pasteClipboard(canvas.cursorX, canvas.cursorY) }
            Action { text: qsTr("&Duplicate"); shortcut: "Ctrl+D"; onTriggered: graph.duplicateSelection() }
            Action { text: qsTr("&Delete"); shortcut: StandardKey.Delete; onTriggered: graph.removeSelection() }
            Action { text: qsTr("Select &All"); shortcut: StandardKey.SelectAll; onTriggered: graph.selectAll() }
            MenuSeparator {}
            Action { text: qsTr("&Bypass"); shortcut: "M"; onTriggered: graph.toggleBypassSelection() }
            Action { text: qsTr("&Group"); shortcut: "Ctrl+G"; onTriggered: graph.addGroup(qsTr("Group"), "#4a6fa5") }
            Action { text: qsTr("Co&mment"); shortcut: "Ctrl+Shift+C"; onTriggered: graph.addComment(qsTr("Note"), canvas.cursorX, canvas.cursorY) }
        }
        Menu {
            title: qsTr("&View")
            Action { text: qsTr("&Fit"); shortcut: "Home"; onTriggered: canvas.fitView() }
            Action { text: qsTr("&Add node..."); shortcut: "Tab"; onTriggered: canvas.openSearch(canvas.cursorX, canvas.cursorY, "", false, "", "") }
        }
        Menu {
            title: qsTr("&Run")
            Action { text: qsTr("&Run"); shortcut: "Ctrl+Return"; enabled: !runner.running; onTriggered: runner.run() }
            Action { text: qsTr("Run to &selected"); shortcut: "Ctrl+Shift+Return"; enabled: !runner.running && graph.selection.length > 0; onTriggered: runner.runSelected() }
            Action { text: qsTr("&Cancel"); shortcut: "Esc"; enabled: runner.running; onTriggered: runner.cancel() }
            Action { text: qsTr("&Live mode"); checkable: true; checked: runner.liveMode; onToggled: runner.liveMode = checked }
        }
    }

    header: ToolBar {
        background: Rectangle { color: "#26272c" }
        RowLayout {
            anchors.fill: parent
            spacing: 6
            ToolButton { text: qsTr("\u25B6 Run"); enabled: !runner.running; onClicked: runner.run() }
            ToolButton { text: qsTr("\u25B6| Run to selected"); enabled: !runner.running && graph.selection.length > 0; onClicked: runner.runSelected() }
            ToolButton { text: qsTr("\u25A0 Cancel"); enabled: runner.running; onClicked: runner.cancel() }
            Switch { text: qsTr("Live"); checked: runner.liveMode; onToggled: runner.liveMode = checked }
            ToolSeparator {}
            ToolButton { text: qsTr("Undo"); enabled: graph.canUndo; onClicked: graph.undo() }
            ToolButton { text: qsTr("Redo"); enabled: graph.canRedo; onClicked: graph.redo() }
            ToolButton { text: qsTr("Fit"); onClicked: canvas.fitView() }
            Item { Layout.fillWidth: true }
            Label {
                text: runner.running ? qsTr("running\u2026")
                      : runner.status === "" ? "" : qsTr("last run: %1 (%2 s)").arg(runner.status).arg(runner.elapsed.toFixed(2))
                color: runner.status === "failed" ? "#e05050" : "#a8adb8"
                rightPadding: 12
            }
        }
    }

    SplitView {
        anchors.fill: parent
        orientation: Qt.Horizontal

        // Palette: categories + search; drag onto the canvas or double-click.
        Pane {
            SplitView.preferredWidth: 230
            padding: 6
            background: Rectangle { color: "#222327" }
            ColumnLayout {
                anchors.fill: parent
                TextField { id: paletteSearch; Layout.fillWidth: true; placeholderText: qsTr("Search nodes") }
                ListView {
                    id: paletteList
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: graph.searchNodes(paletteSearch.text, "", true)
                    section.property: "category"
                    section.delegate: Label { text: section; font.bold: true; color: "#8a8f98"; topPadding: 8; bottomPadding: 2 }
                    delegate: Rectangle {
                        id: entry
                        required property var modelData
                        width: paletteList.width
                        height: 26
                        radius: 3
                        color: entryMouse.containsMouse ? "#34363c" : "transparent"
                        Rectangle { width: 4; height: parent.height - 6; anchors.verticalCenter: parent.verticalCenter; color: entry.modelData.color; radius: 2 }
                        Label { x: 10; anchors.verticalCenter: parent.verticalCenter; text: entry.modelData.title; elide: Text.ElideRight; width: parent.width - 14 }
                        ToolTip.visible: entryMouse.containsMouse
                        ToolTip.delay: 600
                        ToolTip.text: entry.modelData.type + "\n" + entry.modelData.doc
                        Drag.active: entryMouse.drag.active
                        Drag.dragType: Drag.Automatic
                        Drag.supportedActions: Qt.CopyAction
                        Drag.mimeData: ({ "application/x-camgraph-node": entry.modelData.type })
                        MouseArea {
                            id: entryMouse
                            anchors.fill: parent
                            hoverEnabled: true
                            drag.target: entry
                            onDoubleClicked: canvas.addNodeAtCentre(entry.modelData.type)
                        }
                    }
                }
            }
        }

        SplitView {
            SplitView.fillWidth: true
            orientation: Qt.Vertical
            NodeCanvas {
                id: canvas
                objectName: "canvas"
                graph: window.graph
                runner: window.runner
                SplitView.fillHeight: true
            }
            // Log panel.
            Rectangle {
                SplitView.preferredHeight: 140
                color: "#18191c"
                ListView {
                    id: logView
                    anchors.fill: parent
                    anchors.margins: 4
                    clip: true
                    model: runner.log
                    onCountChanged: positionViewAtEnd()
                    delegate: Text {
                        required property string modelData
                        text: modelData
                        font.family: "monospace"
                        font.pixelSize: 12
                        color: modelData.indexOf("error") >= 0 ? "#ff6b6b" : modelData.indexOf("warning") >= 0 ? "#e0c060" : "#a8adb8"
                        width: logView.width
                        wrapMode: Text.Wrap
                    }
                }
            }
        }

        SplitView {
            SplitView.preferredWidth: 420
            orientation: Qt.Vertical
            Inspector {
                graph: window.graph
                dialogs: fileDialogs
                SplitView.preferredHeight: 380
            }
            PreviewPanel {
                objectName: "preview"
                graph: window.graph
                runner: window.runner
                SplitView.fillHeight: true
            }
        }
    }

    // .cgraph files dropped on the window open (after the unsaved-changes prompt).
    DropArea {
        anchors.fill: parent
        keys: ["text/uri-list"]
        onDropped: function (drop) {
            if (!drop.hasUrls) return
            const f = fileDialogs.localPath(drop.urls[0])
            if (f.endsWith(".cgraph")) { drop.accept(); confirmDiscard(function () { openPath(f) }) }
        }
    }

    Dialog {
        id: discardDialog
        property var then
        anchors.centerIn: parent
        modal: true
        title: qsTr("Unsaved changes")
        ColumnLayout {
            Label { text: qsTr("%1 has unsaved changes. Save them first?").arg(graph.filePath === "" ? qsTr("This graph") : graph.filePath) }
            RowLayout {
                Layout.alignment: Qt.AlignRight
                Button { text: qsTr("Save"); onClicked: { if (saveOrAsk()) { discardDialog.close(); discardDialog.then() } } }
                Button { text: qsTr("Discard"); onClicked: { discardDialog.close(); graph.newGraph(); discardDialog.then() } }
                Button { text: qsTr("Cancel"); onClicked: discardDialog.close() }
            }
        }
    }

    Dialog {
        id: recoveryDialog
        property var files: []
        anchors.centerIn: parent
        modal: true
        title: qsTr("Recover unsaved work")
        Label { text: qsTr("CamGraph did not close cleanly. Recover the autosave of\n%1?").arg(recoveryDialog.files.length ? recoveryDialog.files[0] : "") }
        standardButtons: Dialog.Yes | Dialog.Discard | Dialog.Cancel
        onAccepted: graph.recover(files[0])
        onDiscarded: { graph.discardRecovery(files[0]); close() }
    }

    // Refusals and errors, shown briefly at the bottom of the canvas.
    Rectangle {
        id: toast
        property string text: ""
        visible: opacity > 0
        opacity: 0
        color: "#5a2020"
        radius: 4
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        anchors.bottomMargin: 170
        width: toastLabel.implicitWidth + 24
        height: toastLabel.implicitHeight + 12
        Label { id: toastLabel; anchors.centerIn: parent; text: toast.text; color: "#ffdede" }
        Timer { id: toastTimer; interval: 4000; onTriggered: toast.opacity = 0 }
        Behavior on opacity { NumberAnimation { duration: 200 } }
    }
    Connections {
        target: graph
        function onErrorOccurred(message) { toast.text = message; toast.opacity = 1; toastTimer.restart() }
    }

    Component.onCompleted: {
        const files = graph.recoverableFiles()
        if (files.length > 0 && Qt.application.arguments.indexOf("--no-recovery") < 0) {
            recoveryDialog.files = files
            recoveryDialog.open()
        }
    }
}
