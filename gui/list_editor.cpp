#include "list_editor.hpp"

#include "kext_reader.hpp"
#include "tunable_model.hpp"

#include <QDialogButtonBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QVBoxLayout>

namespace kextconf::gui {

ListEditor::ListEditor(TunableModel& model, int row, QWidget* parent)
    : QDialog(parent), model_(model), row_(row), text_(new QPlainTextEdit(this)), message_(new QLabel(this))
{
    const auto* d = model.desc(row);
    setWindowTitle(tr("Edit %1").arg(QString::fromStdString(d->name)));
    auto* layout = new QVBoxLayout(this);
    auto* about = new QLabel(tr("One entry per line; %1.").arg(QString::fromStdString(bounds_text(*d))), this);
    about->setWordWrap(true);
    layout->addWidget(about);
    text_->setLineWrapMode(QPlainTextEdit::NoWrap);
    text_->setPlainText(model.index(row, TunableModel::Value).data(Qt::EditRole).toStringList().join(u'\n'));
    layout->addWidget(text_);
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    message_->setObjectName(QStringLiteral("listEditorMessage"));
    layout->addWidget(message_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &ListEditor::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ListEditor::reject);
    layout->addWidget(buttons);
    resize(480, 420);
}

void ListEditor::accept()
{
    QStringList lines = text_->toPlainText().split(u'\n');
    // A trailing newline is not an empty last entry; an empty text is an empty list.
    while (!lines.isEmpty() && lines.back().isEmpty())
        lines.pop_back();
    std::string error;
    if (!model_.stage_input(row_, lines, error)) {
        message_->setText(QString::fromStdString(error));
        return;
    }
    QDialog::accept();
}

} // namespace kextconf::gui
