// The Tunables table: one row per tunable (name, value, default, unit,
// bounds, state), the kext's current values with the user's staged edits
// over them. An edit is read the way `kextconfctl set NAME=VALUE` reads its
// text and checked by the same validator against the kext's own descriptor,
// so a refusal names the kext's bounds; a refused edit stages nothing.
//
// Threading: the GUI thread (a Qt model).
#pragma once

#include <kextconf/codec.hpp>
#include <nlohmann/json.hpp>

#include <QAbstractTableModel>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kextconf::gui {

class TunableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Value, Default, Unit, Bounds, State, ColumnCount };
    // Lists longer than this show their size instead of their entries.
    static constexpr std::size_t kShownListEntries = 8;

    explicit TunableModel(QObject* parent = nullptr);

    // A new reading of the kext. Staged edits survive if the table is the
    // same (same kext load); a different table drops them.
    void set_kext(const std::string& bundle_id, std::uint32_t load_id, std::vector<proto::TunableDesc> schema,
                  std::vector<proto::Value> values);
    void clear_kext();
    void set_editable(bool editable);
    bool editable() const { return editable_; }

    // Stages `json` for the tunable in `row` after validating it; false with
    // `error` (the validator's words, with the kext's bounds) if refused.
    bool stage(int row, const nlohmann::json& value, std::string& error);
    // Stages what an editor produced: bool, text, or a list of lines.
    bool stage_input(int row, const QVariant& input, std::string& error);
    void discard_staged();
    bool has_staged() const { return !staged_.empty(); }
    // name -> JSON value of every staged edit (the "values" of set/persist).
    nlohmann::json staged_json() const;

    const proto::TunableDesc* desc(int row) const;
    const proto::Value* current(int row) const;
    const proto::Value* staged(int row) const;
    int row_of(const std::string& name) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation o, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;

signals:
    // An edit was refused (the message names the tunable and the bounds).
    void refused(const QString& message);
    void staged_changed();

private:
    QString shown(int row, const proto::Value& v) const;
    // data()'s roles for one row: `st` is its staged value, if any.
    QString tool_tip(int row, const proto::TunableDesc& d, const proto::Value& cur, const proto::Value* st) const;
    QVariant edit_value(int row, const proto::TunableDesc& d, const proto::Value& v) const;
    QVariant display_text(int column, int row, const proto::TunableDesc& d, const proto::Value& cur,
                          const proto::Value* st) const;

    std::string bundle_id_;
    std::uint32_t load_id_ = 0;
    std::vector<proto::TunableDesc> schema_;
    std::vector<proto::Value> values_;
    struct Staged {
        nlohmann::json json;
        proto::Value value;
    };
    std::map<int, Staged> staged_; // by row
    bool editable_ = true;
};

} // namespace kextconf::gui
