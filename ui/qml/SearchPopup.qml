// Node search at the cursor (Tab, double-click, or a wire dropped on empty canvas, then filtered
// to nodes with a compatible port). Type to filter, arrows to choose, Enter to add.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import CamGraph

Popup {
    id: popup
    required property GraphController graph
    property string portType: ""
    property bool wantInput: true
    signal picked(string type)
    width: 300
    height: 340
    padding: 4
    focus: true
    onOpened: { field.text = ""; field.forceActiveFocus(); list.currentIndex = 0 }
    background: Rectangle { color: "#2a2c31"; border.color: "#4a4d55"; radius: 4 }

    function accept() {
        if (list.currentIndex >= 0 && list.currentIndex < list.count) {
            popup.picked(list.model[list.currentIndex].type)
            popup.close()
        }
    }

    ColumnLayout {
        anchors.fill: parent
        TextField {
            id: field
            objectName: "searchField"
            Layout.fillWidth: true
            placeholderText: popup.portType === "" ? qsTr("Add node\u2026") : qsTr("Nodes taking %1\u2026").arg(popup.portType)
            Keys.onDownPressed: list.incrementCurrentIndex()
            Keys.onUpPressed: list.decrementCurrentIndex()
            Keys.onReturnPressed: popup.accept()
            Keys.onEnterPressed: popup.accept()
            onTextChanged: list.currentIndex = 0
        }
        ListView {
            id: list
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: popup.graph.searchNodes(field.text, popup.portType, popup.wantInput)
            highlight: Rectangle { color: "#3d5a7a"; radius: 3 }
            highlightMoveDuration: 0
            delegate: Item {
                required property var modelData
                required property int index
                width: list.width
                height: 24
                Row {
                    x: 6; spacing: 8; anchors.verticalCenter: parent.verticalCenter
                    Rectangle { width: 4; height: 16; radius: 2; color: modelData.color }
                    Label { text: modelData.title }
                    Label { text: modelData.category; color: "#8a8f98" }
                }
                MouseArea {
                    anchors.fill: parent
                    hoverEnabled: true
                    onEntered: list.currentIndex = index
                    onClicked: { list.currentIndex = index; popup.accept() }
                }
            }
        }
    }
}
