#include "tunable_delegate.hpp"

#include "kext_reader.hpp"
#include "tunable_model.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>

namespace kextconf::gui {

namespace {

const proto::TunableDesc* desc_of(const QModelIndex& index)
{
    const auto* model = qobject_cast<const TunableModel*>(index.model());
    return model != nullptr ? model->desc(index.row()) : nullptr;
}

} // namespace

QWidget* TunableDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem& option,
                                       const QModelIndex& index) const
{
    const auto* d = desc_of(index);
    if (d == nullptr)
        return nullptr;
    switch (d->type) {
    case KC_TYPE_BOOL: {
        auto* box = new QCheckBox(parent);
        box->setAutoFillBackground(true);
        box->setText(QString::fromStdString(d->name));
        return box;
    }
    case KC_TYPE_ENUM: {
        auto* combo = new QComboBox(parent);
        for (const auto& n : d->enum_names)
            combo->addItem(QString::fromStdString(n));
        return combo;
    }
    case KC_TYPE_INT64:
    case KC_TYPE_UINT64: {
        auto* edit = new QLineEdit(parent);
        edit->setPlaceholderText(QString::fromStdString(bounds_text(*d)));
        edit->setToolTip(tr("An integer in %1").arg(QString::fromStdString(bounds_text(*d))));
        return edit;
    }
    case KC_TYPE_STRING: {
        auto* edit = new QLineEdit(parent);
        edit->setMaxLength(static_cast<int>(d->max_count));
        edit->setToolTip(tr("Text of up to %1 bytes").arg(d->max_count));
        return edit;
    }
    default: return QStyledItemDelegate::createEditor(parent, option, index);
    }
}

void TunableDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const
{
    const QVariant v = index.data(Qt::EditRole);
    if (auto* box = qobject_cast<QCheckBox*>(editor))
        box->setChecked(v.toBool());
    else if (auto* combo = qobject_cast<QComboBox*>(editor))
        combo->setCurrentText(v.toString());
    else if (auto* edit = qobject_cast<QLineEdit*>(editor))
        edit->setText(v.toString());
    else
        QStyledItemDelegate::setEditorData(editor, index);
}

void TunableDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const
{
    // The model validates; a refusal leaves the staged value as it was and
    // the model's refused() signal tells the user why.
    if (auto* box = qobject_cast<QCheckBox*>(editor))
        model->setData(index, box->isChecked(), Qt::EditRole);
    else if (auto* combo = qobject_cast<QComboBox*>(editor))
        model->setData(index, combo->currentText(), Qt::EditRole);
    else if (auto* edit = qobject_cast<QLineEdit*>(editor)) {
        if (edit->text() != index.data(Qt::EditRole).toString())
            model->setData(index, edit->text(), Qt::EditRole);
    } else
        QStyledItemDelegate::setModelData(editor, model, index);
}

} // namespace kextconf::gui
