#include "formats/ini/ini_format.hpp"

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "formats/text_helpers.hpp"

// Hand-written rather than libinih: Debian's libinih (r55) is built without
// INI_HANDLER_LINENO, so its handler never learns the line number we need on
// every node, and with INI_MAX_LINE 200 it silently truncates longer lines.
// The dialect here is small enough to own:
//
//   ; comment            # comment
//   top = value          keys before any section live at the top level
//   [server]             a section is an object
//   port = 8080          "key = value" or "key: value"; the first '=' or ':' ends the key
//   name = "a \"b\""     double quotes: \" \\ \n \t \r escapes
//   path = 'C:\dir'      single quotes: literal
//   url = http://x/#y    ';' and '#' start a comment only after whitespace
//   [server.tls]         dots nest: the object "tls" inside "server"
//
// Every value is a string; binding converts it. A section may be reopened
// (its keys merge); a repeated key in one section is an error, as is a key
// that has the same name as a section.

namespace liveconf {
namespace {

constexpr std::array<std::string_view, 2> kIniExtensions = {"ini", "cfg"};

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_blank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out.push_back('"');
  return out;
}

class IniParser {
 public:
  IniParser(std::string_view text, const ParseOptions& options)
      : text_(text), options_(options), root_(Value::object()) {}

  Result<Value> run() {
    if (const auto bad = detail::find_bad_text(text_)) {
      return fail_at_offset(bad->offset, std::string(bad->message));
    }
    root_.set_origin(Origin(options_.origin, 1, 1));
    nodes_ = 1;
    current_ = &root_;
    std::size_t pos = 0;
    while (pos < text_.size()) {
      std::size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) {
        nl = text_.size();
      }
      std::string_view line = text_.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (!parse_line(line)) {
        return std::move(*error_);
      }
      pos = nl + 1;
      ++line_;
    }
    if (!seen_content_) {
      return detail::empty_document(options_);
    }
    return std::move(root_);
  }

 private:
  Origin origin_at(std::size_t index) const {
    return Origin(options_.origin, line_, detail::to_position(index + 1));
  }
  bool fail(std::size_t index, std::string message) {
    error_.emplace(ErrorCode::kParse, std::move(message), origin_at(index));
    return false;
  }
  Error fail_at_offset(std::size_t offset, std::string message) const {
    const detail::TextPosition at = detail::position_of(text_, offset);
    return Error(ErrorCode::kParse, std::move(message),
                 Origin(options_.origin, at.line, at.column));
  }
  bool count_node(std::size_t index) {
    if (++nodes_ > options_.max_nodes) {
      return fail(index, "more nodes than the limit of " + std::to_string(options_.max_nodes));
    }
    return true;
  }

  bool parse_line(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && is_blank(line[i])) {
      ++i;
    }
    if (i == line.size() || line[i] == ';' || line[i] == '#') {
      return true;
    }
    seen_content_ = true;
    if (line[i] == '[') {
      return parse_section(line, i);
    }
    return parse_key_value(line, i);
  }

  // Whether line[from..] is empty or blanks followed by a comment.
  static bool only_comment_after(std::string_view line, std::size_t& from) {
    while (from < line.size() && is_blank(line[from])) {
      ++from;
    }
    return from == line.size() || line[from] == ';' || line[from] == '#';
  }

  bool parse_section(std::string_view line, std::size_t open) {
    const std::size_t close = line.find(']', open + 1);
    if (close == std::string_view::npos) {
      return fail(open, "missing ']' in section header");
    }
    std::size_t after = close + 1;
    if (!only_comment_after(line, after)) {
      return fail(after, "unexpected text after section header");
    }
    const std::string_view name = trim(line.substr(open + 1, close - open - 1));
    if (name.empty()) {
      return fail(open, "empty section name");
    }
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
      const std::size_t dot = name.find('.', start);
      const std::string_view part = trim(
          name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (part.empty()) {
        return fail(open, "empty part in section name " + quote(name));
      }
      parts.push_back(part);
      if (dot == std::string_view::npos) {
        break;
      }
      start = dot + 1;
    }
    // The top level is one level of nesting, each part of the name one more.
    if (parts.size() + 1 > options_.max_depth) {
      return fail(open, "nesting deeper than the limit of " + std::to_string(options_.max_depth));
    }
    Value* node = &root_;
    for (const std::string_view part : parts) {
      Object& object = node->as_object();
      Value* child = object.find(part);
      if (child == nullptr) {
        if (!count_node(open)) {
          return false;
        }
        child = object.insert(std::string(part), Value::object()).first;
        child->set_origin(origin_at(open));
      } else if (!child->is_object()) {
        return fail(open,
                    "section [" + std::string(name) + "] clashes with the key " + quote(part));
      }
      node = child;
    }
    current_ = node;
    section_.assign(name);
    return true;
  }

  bool parse_key_value(std::string_view line, std::size_t start) {
    const std::size_t sep = line.find_first_of("=:", start);
    if (sep == std::string_view::npos) {
      return fail(start, "expected 'key = value', '[section]' or a comment");
    }
    const std::string_view key = trim(line.substr(start, sep - start));
    if (key.empty()) {
      return fail(sep, "empty key");
    }
    std::size_t i = sep + 1;
    while (i < line.size() && is_blank(line[i])) {
      ++i;
    }
    const std::size_t value_at = i;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      if (!parse_double_quoted(line, i, value)) {
        return false;
      }
    } else if (i < line.size() && line[i] == '\'') {
      const std::size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) {
        return fail(i, "unterminated quoted value");
      }
      value.assign(line.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      // Unquoted: up to a ';' or '#' that follows whitespace, trailing blanks trimmed.
      std::size_t end = i;
      while (end < line.size() &&
             !((line[end] == ';' || line[end] == '#') && is_blank(line[end - 1]))) {
        ++end;
      }
      value.assign(trim(line.substr(i, end - i)));
      i = line.size();
    }
    if (!only_comment_after(line, i)) {
      return fail(i, "unexpected text after quoted value");
    }
    Object& object = current_->as_object();
    if (const Value* existing = object.find(key); existing != nullptr) {
      if (existing->is_object()) {
        std::string section =
            section_.empty() ? std::string(key) : section_ + "." + std::string(key);
        return fail(start, "key " + quote(key) + " clashes with the section [" + section + "]");
      }
      return fail(start, "duplicate key " + quote(key));
    }
    if (!count_node(start)) {
      return false;
    }
    Value* slot = object.insert(std::string(key), Value(std::move(value))).first;
    slot->set_origin(origin_at(value_at));
    return true;
  }

  // At the opening '"'; on success `i` is just past the closing quote.
  bool parse_double_quoted(std::string_view line, std::size_t& i, std::string& out) {
    const std::size_t open = i;
    for (++i; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '"') {
        ++i;
        return true;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i + 1 == line.size()) {
        break;
      }
      switch (line[++i]) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        default:
          return fail(i - 1, std::string("invalid escape \\") + line[i] + " in quoted value");
      }
    }
    return fail(open, "unterminated quoted value");
  }

  std::string_view text_;
  const ParseOptions& options_;
  Value root_;
  Value* current_ = nullptr;  // the current section; valid until the next header
  std::string section_;       // its dotted name, "" at the top level
  std::uint32_t line_ = 1;
  std::size_t nodes_ = 0;
  bool seen_content_ = false;
  std::optional<Error> error_;
};

}  // namespace

std::span<const std::string_view> IniFormat::extensions() const noexcept { return kIniExtensions; }

Result<Value> IniFormat::parse(std::string_view text, const ParseOptions& options) const {
  if (Status size = detail::check_input_size(text, options); !size.ok()) {
    return size;
  }
  return IniParser(detail::strip_utf8_bom(text), options).run();
}

}  // namespace liveconf
