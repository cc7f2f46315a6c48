#include "tunable_model.hpp"

#include "kext_reader.hpp"
#include <kextconf/value_text.hpp>
#include <kextconf/values.hpp>

#include <QBrush>
#include <QFont>
#include <QPalette>

#include <charconv>

namespace kextconf::gui {

using nlohmann::json;

TunableModel::TunableModel(QObject* parent) : QAbstractTableModel(parent)
{
}

void TunableModel::set_kext(const std::string& bundle_id, std::uint32_t load_id, std::vector<proto::TunableDesc> schema,
                            std::vector<proto::Value> values)
{
    const bool same = bundle_id == bundle_id_ && load_id == load_id_ && schema.size() == schema_.size();
    if (same) {
        values_ = std::move(values);
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    bundle_id_ = bundle_id;
    load_id_ = load_id;
    schema_ = std::move(schema);
    values_ = std::move(values);
    const bool had = !staged_.empty();
    staged_.clear();
    endResetModel();
    if (had)
        emit staged_changed();
}

void TunableModel::clear_kext()
{
    set_kext({}, 0, {}, {});
}

void TunableModel::set_editable(bool editable)
{
    if (editable == editable_)
        return;
    editable_ = editable;
    if (rowCount() > 0)
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
}

const proto::TunableDesc* TunableModel::desc(int row) const
{
    return row >= 0 && static_cast<std::size_t>(row) < schema_.size() ? &schema_[static_cast<std::size_t>(row)]
                                                                      : nullptr;
}

const proto::Value* TunableModel::current(int row) const
{
    return row >= 0 && static_cast<std::size_t>(row) < values_.size() ? &values_[static_cast<std::size_t>(row)]
                                                                      : nullptr;
}

const proto::Value* TunableModel::staged(int row) const
{
    const auto it = staged_.find(row);
    return it == staged_.end() ? nullptr : &it->second.value;
}

int TunableModel::row_of(const std::string& name) const
{
    for (std::size_t i = 0; i < schema_.size(); ++i)
        if (schema_[i].name == name)
            return static_cast<int>(i);
    return -1;
}

bool TunableModel::stage(int row, const json& value, std::string& error)
{
    const auto* d = desc(row);
    if (d == nullptr) {
        error = "no such tunable";
        return false;
    }
    std::vector<std::string> errors;
    const auto valid = validate_assignments(bundle_id_, json{{d->name, value}}, schema_, errors);
    if (!valid || valid->values.size() != 1) {
        error.clear();
        for (const auto& e : errors)
            error += (error.empty() ? "" : "; ") + e;
        if (error.empty())
            error = "tunable \"" + d->name + "\": not accepted";
        return false;
    }
    staged_[row] = {value, valid->values.front().second};
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    emit staged_changed();
    return true;
}

namespace {

// One list entry as JSON: an integer where the type wants one and the text
// reads as one, else the text (so the validator says what is wrong with it).
json list_entry(std::uint32_t type, const QString& line)
{
    const std::string s = line.trimmed().toStdString();
    if (type == KC_TYPE_INT64_LIST) {
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc() && end == s.data() + s.size() && !s.empty())
            return v;
        return s;
    }
    return line.toStdString();
}

} // namespace

bool TunableModel::stage_input(int row, const QVariant& input, std::string& error)
{
    const auto* d = desc(row);
    if (d == nullptr) {
        error = "no such tunable";
        return false;
    }
    if (d->type == KC_TYPE_BOOL && input.typeId() == QMetaType::Bool)
        return stage(row, input.toBool(), error);
    if (d->type == KC_TYPE_INT64_LIST || d->type == KC_TYPE_STRING_LIST) {
        json arr = json::array();
        for (const auto& line : input.toStringList())
            arr.push_back(list_entry(d->type, line));
        return stage(row, arr, error);
    }
    return stage(row, text_to_json(*d, input.toString().toStdString()), error);
}

void TunableModel::discard_staged()
{
    if (staged_.empty())
        return;
    staged_.clear();
    emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    emit staged_changed();
}

json TunableModel::staged_json() const
{
    json out = json::object();
    for (const auto& [row, s] : staged_)
        out[schema_[static_cast<std::size_t>(row)].name] = s.json;
    return out;
}

QString TunableModel::shown(int row, const proto::Value& v) const
{
    const auto& d = schema_[static_cast<std::size_t>(row)];
    const bool list = d.type == KC_TYPE_INT64_LIST || d.type == KC_TYPE_STRING_LIST;
    if (list && v.element_count() > kShownListEntries)
        return tr("%1 entries").arg(v.element_count());
    if (d.type == KC_TYPE_STRING)
        return QString::fromStdString(v.str);
    return QString::fromStdString(format_value(d, v));
}

int TunableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(schema_.size());
}

int TunableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TunableModel::data(const QModelIndex& index, int role) const
{
    const int row = index.row();
    const auto* d = desc(row);
    if (d == nullptr || static_cast<std::size_t>(row) >= values_.size())
        return {};
    const proto::Value& cur = values_[static_cast<std::size_t>(row)];
    const proto::Value* st = staged(row);
    switch (role) {
    case Qt::ToolTipRole: return tool_tip(row, *d, cur, st);
    case Qt::FontRole:
        if (st != nullptr) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    case Qt::EditRole: return index.column() == Value ? edit_value(row, *d, st != nullptr ? *st : cur) : QVariant();
    case Qt::DisplayRole: return display_text(index.column(), row, *d, cur, st);
    default: return {};
    }
}

QString TunableModel::tool_tip(int row, const proto::TunableDesc& d, const proto::Value& cur,
                               const proto::Value* st) const
{
    QString tip = QString::fromStdString(d.help);
    if (d.flags & KC_TF_LOAD_ONLY)
        tip += tr("\nLoad-only: takes effect when the kext next loads (Save, then reload the kext).");
    if (st != nullptr)
        tip += tr("\nStaged: %1 (the kext holds %2). Apply or Save to send it.").arg(shown(row, *st), shown(row, cur));
    return tip;
}

// What an editor starts from: a bool as a check, a list as one line per element.
QVariant TunableModel::edit_value(int row, const proto::TunableDesc& d, const proto::Value& v) const
{
    if (d.type == KC_TYPE_BOOL)
        return v.scalar.i != 0;
    if (d.type == KC_TYPE_INT64_LIST) {
        QStringList lines;
        lines.reserve(static_cast<int>(v.ints.size()));
        for (auto i : v.ints)
            lines.push_back(QString::number(i));
        return lines;
    }
    if (d.type == KC_TYPE_STRING_LIST) {
        QStringList lines;
        lines.reserve(static_cast<int>(v.strs.size()));
        for (const auto& s : v.strs)
            lines.push_back(QString::fromStdString(s));
        return lines;
    }
    return shown(row, v);
}

QVariant TunableModel::display_text(int column, int row, const proto::TunableDesc& d, const proto::Value& cur,
                                    const proto::Value* st) const
{
    switch (column) {
    case Name: return QString::fromStdString(d.name);
    case Value: return shown(row, st != nullptr ? *st : cur);
    case Default: return shown(row, d.def);
    case Unit: return QString::fromStdString(d.unit);
    case Bounds: {
        if (d.type == KC_TYPE_ENUM) {
            QStringList names;
            for (const auto& n : d.enum_names)
                names.push_back(QString::fromStdString(n));
            return names.join(QStringLiteral(" | "));
        }
        return QString::fromStdString(bounds_text(d));
    }
    case State:
        if (st != nullptr)
            return tr("staged");
        if (d.flags & KC_TF_LOAD_ONLY)
            return cur == d.def ? tr("default, load-only") : tr("set, load-only");
        return cur == d.def ? tr("default") : tr("set");
    default: return {};
    }
}

QVariant TunableModel::headerData(int section, Qt::Orientation o, int role) const
{
    if (o != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name: return tr("Name");
    case Value: return tr("Value");
    case Default: return tr("Default");
    case Unit: return tr("Unit");
    case Bounds: return tr("Bounds");
    case State: return tr("State");
    default: return {};
    }
}

Qt::ItemFlags TunableModel::flags(const QModelIndex& index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (editable_ && index.column() == Value)
        f |= Qt::ItemIsEditable;
    return f;
}

bool TunableModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (role != Qt::EditRole || index.column() != Value || !editable_)
        return false;
    std::string error;
    if (stage_input(index.row(), value, error))
        return true;
    emit refused(QString::fromStdString(error));
    return false;
}

} // namespace kextconf::gui
