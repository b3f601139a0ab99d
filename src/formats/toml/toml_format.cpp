#include "formats/toml/toml_format.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "formats/text_helpers.hpp"

// TOML goes through toml++ (Debian's libtomlplusplus 3.3, a compiled library).
// Decisions worth knowing:
//  - Dates, times and date-times have no Value type, so they become strings in
//    RFC 3339 form: "1979-05-27", "07:32:00.5", "1979-05-27T07:32:00Z",
//    "1979-05-27T07:32:00-07:00"; local date-times keep TOML's offset-less form.
//    Binding parses them like any other string.
//  - toml++ keeps table keys sorted; parse() restores the document's order from
//    the keys' positions. emit() writes keys in toml++'s (sorted) order.
//  - toml++ counts columns in code points; we map them to byte columns.
//  - Debian builds toml++ without floating-point to_chars, so emit() writes
//    doubles with 17 significant digits (0.1 as 0.10000000000000001). The text
//    reads back as exactly the same double.

namespace liveconf {
namespace {

constexpr std::array<std::string_view, 1> kTomlExtensions = {"toml"};

// Maps toml++'s (line, code-point column) to our (line, byte column). Nodes are
// visited roughly in document order, so a cursor on the current line makes the
// mapping linear overall.
class ColumnMapper {
 public:
  explicit ColumnMapper(std::string_view text) : text_(text) {
    line_starts_.push_back(0);
    for (std::size_t i = text.find('\n'); i != std::string_view::npos; i = text.find('\n', i + 1)) {
      line_starts_.push_back(i + 1);
    }
  }

  detail::TextPosition map(std::uint32_t line, std::uint32_t column) {
    if (line == 0 || line > line_starts_.size() || column == 0) {
      return {line, column};
    }
    const std::size_t start = line_starts_[line - 1];
    if (line != line_ || column < column_) {
      line_ = line;
      column_ = 1;
      offset_ = start;
    }
    while (column_ < column && offset_ < text_.size() && text_[offset_] != '\n') {
      const std::size_t len =
          detail::utf8_sequence_length(text_.data() + offset_, text_.data() + text_.size());
      offset_ += len == 0 ? 1 : len;
      ++column_;
    }
    return {line, detail::to_position(offset_ - start + 1)};
  }

 private:
  std::string_view text_;
  std::vector<std::size_t> line_starts_;
  std::uint32_t line_ = 0;
  std::uint32_t column_ = 1;
  std::size_t offset_ = 0;
};

void append_2digits(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + (v / 10) % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

std::string format_date(const toml::date& d) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "%04u-%02u-%02u", static_cast<unsigned>(d.year),
                static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
  return buf.data();
}

std::string format_time(const toml::time& t) {
  std::string out;
  append_2digits(out, t.hour);
  out.push_back(':');
  append_2digits(out, t.minute);
  out.push_back(':');
  append_2digits(out, t.second);
  if (t.nanosecond != 0) {
    std::array<char, 16> buf{};
    std::snprintf(buf.data(), buf.size(), ".%09u", static_cast<unsigned>(t.nanosecond));
    std::string fraction = buf.data();
    while (fraction.back() == '0') {
      fraction.pop_back();
    }
    out += fraction;
  }
  return out;
}

std::string format_date_time(const toml::date_time& dt) {
  std::string out = format_date(dt.date);
  out.push_back('T');
  out += format_time(dt.time);
  if (dt.offset) {
    const int minutes = dt.offset->minutes;
    if (minutes == 0) {
      out.push_back('Z');
    } else {
      const unsigned magnitude = static_cast<unsigned>(minutes < 0 ? -minutes : minutes);
      out.push_back(minutes < 0 ? '-' : '+');
      append_2digits(out, magnitude / 60);
      out.push_back(':');
      append_2digits(out, magnitude % 60);
    }
  }
  return out;
}

// toml++ tree -> Value. Recursive: toml++ refuses nesting deeper than 256 levels
// while parsing, so the depth here is bounded before we start.
class TomlToValue {
 public:
  TomlToValue(const ParseOptions& options, ColumnMapper& columns)
      : options_(options), columns_(columns) {}

  bool convert(const toml::node& node, Value& out, std::size_t depth) {
    const Origin origin = origin_of(node.source().begin);
    if (++nodes_ > options_.max_nodes) {
      return fail(origin, "more nodes than the limit of " + std::to_string(options_.max_nodes));
    }
    if ((node.is_table() || node.is_array()) && depth >= options_.max_depth) {
      return fail(origin, "nesting deeper than the limit of " + std::to_string(options_.max_depth));
    }
    switch (node.type()) {
      case toml::node_type::table: {
        const toml::table& table = *node.as_table();
        std::vector<std::pair<const toml::key*, const toml::node*>> members;
        members.reserve(table.size());
        for (auto&& [key, child] : table) {
          members.emplace_back(&key, &child);
        }
        // toml++'s table is sorted by key; the author's order is the order of positions.
        std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
          const toml::source_position& pa = a.first->source().begin;
          const toml::source_position& pb = b.first->source().begin;
          return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
        });
        Object object;
        object.reserve(members.size());
        for (const auto& [key, child] : members) {
          Value v;
          if (!convert(*child, v, depth + 1)) {
            return false;
          }
          object.insert(std::string(key->str()), std::move(v));
        }
        out = Value(std::move(object));
        break;
      }
      case toml::node_type::array: {
        const toml::array& array = *node.as_array();
        Value::Array values;
        values.reserve(array.size());
        for (const toml::node& child : array) {
          if (!convert(child, values.emplace_back(), depth + 1)) {
            return false;
          }
        }
        out = Value(std::move(values));
        break;
      }
      case toml::node_type::string:
        out = Value(std::string(node.as_string()->get()));
        break;
      case toml::node_type::integer:
        out = Value(node.as_integer()->get());
        break;
      case toml::node_type::floating_point:
        out = Value(node.as_floating_point()->get());
        break;
      case toml::node_type::boolean:
        out = Value(node.as_boolean()->get());
        break;
      case toml::node_type::date:
        out = Value(format_date(node.as_date()->get()));
        break;
      case toml::node_type::time:
        out = Value(format_time(node.as_time()->get()));
        break;
      case toml::node_type::date_time:
        out = Value(format_date_time(node.as_date_time()->get()));
        break;
      case toml::node_type::none:
        break;
    }
    out.set_origin(origin);
    return true;
  }

  Origin origin_of(const toml::source_position& pos) {
    const detail::TextPosition at = columns_.map(pos.line, pos.column);
    return Origin(options_.origin, at.line, at.column);
  }

  Error take_error() { return std::move(*error_); }

 private:
  bool fail(Origin origin, std::string message) {
    error_.emplace(ErrorCode::kParse, std::move(message), std::move(origin));
    return false;
  }

  const ParseOptions& options_;
  ColumnMapper& columns_;
  std::size_t nodes_ = 0;
  std::optional<Error> error_;
};

// toml++ 3.3 decides a key may go out bare when every character other than
// "'", tab and line feed is a bare-key character: it never marks those three
// as needing quotes. Such keys would be written unquoted and read back wrong.
bool toml_misprints_key(std::string_view key) {
  bool has_trigger = false;
  for (const char c : key) {
    if (c == '\'' || c == '\t' || c == '\n') {
      has_trigger = true;
    } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-')) {
      return false;  // toml++ quotes the key anyway
    }
  }
  return has_trigger;
}

// Value -> toml++ tree, refusing what TOML (or toml++) cannot write.
class ValueToToml {
 public:
  bool build_table(const Object& object, toml::table& out, const detail::EmitPath* path) {
    for (const auto& [key, member] : object) {
      const detail::EmitPath link{path, key, 0, false};
      if (!check_utf8(key, member, &link)) {
        return false;
      }
      if (toml_misprints_key(key)) {
        return fail(member, &link,
                    "TOML key cannot be written: toml++ would leave a key holding a quote, tab "
                    "or line break unquoted");
      }
      const bool ok =
          // `k = key`: clang 14 cannot capture a structured binding.
          add(member, &link,
              [&out, &k = key](auto&& v) { out.insert(k, std::forward<decltype(v)>(v)); });
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  Error take_error() { return std::move(*error_); }

 private:
  bool build_array(std::span<const Value> array, toml::array& out, const detail::EmitPath* path) {
    out.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
      const detail::EmitPath link{path, {}, i, true};
      if (!add(array[i], &link, [&](auto&& v) { out.push_back(std::forward<decltype(v)>(v)); })) {
        return false;
      }
    }
    return true;
  }

  template <typename Add>
  bool add(const Value& v, const detail::EmitPath* path, Add&& add_to_parent) {
    switch (v.type()) {
      case Value::Type::kNull:
        return fail(v, path, "TOML cannot represent null");
      case Value::Type::kBool:
        add_to_parent(v.as_bool());
        return true;
      case Value::Type::kInt:
        add_to_parent(v.as_int());
        return true;
      case Value::Type::kDouble:
        add_to_parent(v.as_double());
        return true;
      case Value::Type::kString:
        if (!check_utf8(v.as_string(), v, path)) {
          return false;
        }
        add_to_parent(v.as_string());
        return true;
      case Value::Type::kArray: {
        toml::array array;
        if (!build_array(v.as_array(), array, path)) {
          return false;
        }
        add_to_parent(std::move(array));
        return true;
      }
      case Value::Type::kObject: {
        toml::table table;
        if (!build_table(v.as_object(), table, path)) {
          return false;
        }
        add_to_parent(std::move(table));
        return true;
      }
    }
    return true;
  }

  bool check_utf8(std::string_view text, const Value& v, const detail::EmitPath* path) {
    if (detail::find_invalid_utf8(text) != std::string_view::npos) {
      return fail(v, path, "TOML cannot represent text that is not valid UTF-8");
    }
    return true;
  }

  bool fail(const Value& v, const detail::EmitPath* path, std::string message) {
    error_.emplace(ErrorCode::kType, std::move(message), v.origin(), detail::key_path_of(path));
    return false;
  }

  std::optional<Error> error_;
};

}  // namespace

std::span<const std::string_view> TomlFormat::extensions() const noexcept {
  return kTomlExtensions;
}

Result<Value> TomlFormat::parse(std::string_view text, const ParseOptions& options) const {
  if (Status size = detail::check_input_size(text, options); !size.ok()) {
    return size;
  }
  const std::string_view body = detail::strip_utf8_bom(text);
  ColumnMapper columns(body);
  try {
    // No source path: toml++ would copy it into every node, and our Origins name the file.
    const toml::table table = toml::parse(body, std::string_view());
    if (table.empty()) {
      return detail::empty_document(options);
    }
    TomlToValue converter(options, columns);
    Value root;
    if (!converter.convert(table, root, 0)) {
      return converter.take_error();
    }
    // The root table's own position is the start of the file.
    root.set_origin(Origin(options.origin, 1, 1));
    return root;
  } catch (const toml::parse_error& e) {
    const detail::TextPosition at = columns.map(e.source().begin.line, e.source().begin.column);
    return Error(ErrorCode::kParse, std::string(e.description()),
                 Origin(options.origin, at.line, at.column));
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, std::string("toml++ failed: ") + e.what(),
                 Origin(options.origin));
  }
}

Result<std::string> TomlFormat::emit(const Value& value, const EmitOptions& options) const {
  if (!value.is_object()) {
    return Error(
        ErrorCode::kType,
        "TOML documents are tables; cannot write a top-level " + std::string(value.type_name()),
        value.origin());
  }
  try {
    toml::table table;
    ValueToToml builder;
    if (!builder.build_table(value.as_object(), table, nullptr)) {
      return builder.take_error();
    }
    // Only basic "..." strings, with escapes. toml++ 3.3 mishandles the others:
    // a string starting with a newline goes out as """\n...""" (TOML drops a
    // newline right after the opening delimiter), and without multi-line
    // strings it writes newlines raw inside '...' literals, which is invalid.
    toml::format_flags flags =
        toml::toml_formatter::default_flags &
        ~(toml::format_flags::allow_multi_line_strings | toml::format_flags::allow_literal_strings);
    if (options.indent <= 0) {
      flags = flags & ~toml::format_flags::indentation;
    }
    std::ostringstream stream;
    stream << toml::toml_formatter(table, flags);
    std::string out = std::move(stream).str();
    if (!out.empty() && out.back() != '\n') {
      out.push_back('\n');
    }
    return out;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, std::string("toml++ failed: ") + e.what(), value.origin());
  }
}

}  // namespace liveconf
