// Editors fit for each tunable's type in the Value column: a check box for
// bool, a combo box of the names for enum, a line edit for numbers (bounds in
// its placeholder; 64-bit bounds do not fit QSpinBox's int) and for strings
// (capped at the kext's length). Lists are edited in ListEditor, opened by
// the window. What an editor produced goes to TunableModel::setData, which
// validates it against the kext's descriptor.
#pragma once

#include <QStyledItemDelegate>

namespace kextconf::gui {

class TunableDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;
};

} // namespace kextconf::gui
