// The editor for list tunables: one entry per line in a QPlainTextEdit,
// which lays out lazily and keeps 100,000 entries responsive. OK hands the
// lines to TunableModel::stage_input (validated there); a refusal keeps the
// dialog open with the validator's message, so nothing typed is lost.
#pragma once

#include <QDialog>

class QLabel;
class QPlainTextEdit;

namespace kextconf::gui {

class TunableModel;

class ListEditor : public QDialog {
    Q_OBJECT
public:
    ListEditor(TunableModel& model, int row, QWidget* parent = nullptr);

    QPlainTextEdit* text() const { return text_; }
    QLabel* message() const { return message_; }
    // Validates and stages the lines; closes on success.
    void accept() override;

private:
    TunableModel& model_;
    int row_;
    QPlainTextEdit* text_;
    QLabel* message_;
};

} // namespace kextconf::gui
