#include "formats/dotenv/dotenv_format.hpp"

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "formats/text_helpers.hpp"

// The docker-compose / python-dotenv dialect:
//
//   # comment
//   export KEY=value        "export " is optional
//   NAME = plain value # c  unquoted: trimmed; " #" starts a comment
//   SINGLE='literal $X \n'  single quotes: literal, may span lines
//   DOUBLE="a\n${NAME}"     double quotes: \n \t \r \" \\ \$ escapes and expansion,
//                           may span lines
//   URL=${HOST:-localhost}  ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}
//
// Expansion sees only keys defined earlier in the same file, never the process
// environment: a parse must be a pure function of the file's bytes, so that a
// reload gives the same tree, and values from the environment arrive through
// their own (env) layer with their own origin and priority instead of hiding
// inside a file's values. A reference to an undefined key is an error rather
// than the empty string, because a silently empty password or URL is worse
// than a refused reload.
//
// A key defined twice keeps the later value (at the first key's position in
// the object): that is the rule of the dialect, where later lines override.

namespace liveconf {
namespace {

constexpr std::array<std::string_view, 2> kDotenvExtensions = {"env", ".env"};

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_name_start(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool valid_key(std::string_view key) noexcept {
  if (key.empty() || !is_name_start(key[0])) {
    return false;
  }
  for (const char c : key.substr(1)) {
    if (!is_name_char(c) && c != '.') {
      return false;
    }
  }
  return true;
}

class DotenvParser {
 public:
  DotenvParser(std::string_view text, const ParseOptions& options)
      : text_(text),
        p_(text.data()),
        end_(text.data() + text.size()),
        line_start_(text.data()),
        options_(options) {}

  Result<Value> run() {
    if (const auto bad = detail::find_bad_text(text_)) {
      return fail_at_offset(bad->offset, std::string(bad->message));
    }
    Value root = Value::object();
    root.set_origin(Origin(options_.origin, 1, 1));
    Object& vars = root.as_object();
    std::size_t nodes = 1;
    bool any = false;
    while (p_ != end_) {
      skip_blanks();
      if (p_ == end_) {
        break;
      }
      if (at_line_end()) {
        skip_line_end();
        continue;
      }
      if (*p_ == '#') {
        skip_to_line_end();
        continue;
      }
      // "export KEY=..." (but a key may itself be called "export": "export=1").
      if (std::string_view(p_, static_cast<std::size_t>(end_ - p_)).starts_with("export") &&
          end_ - p_ > 6 && is_blank(p_[6])) {
        p_ += 6;
        skip_blanks();
      }
      const char* const key_at = p_;
      while (p_ != end_ && *p_ != '=' && !is_blank(*p_) && *p_ != '\n' && *p_ != '\r') {
        ++p_;
      }
      const std::string_view key(key_at, static_cast<std::size_t>(p_ - key_at));
      if (key.empty()) {
        return fail(key_at, "expected KEY=value");
      }
      if (!valid_key(key)) {
        return fail(key_at, "invalid key \"" + std::string(key) +
                                "\": keys must match [A-Za-z_][A-Za-z0-9_.]*");
      }
      skip_blanks();
      if (p_ == end_ || *p_ != '=') {
        return fail(p_, "expected '=' after " + std::string(key));
      }
      ++p_;
      skip_blanks();
      const Origin value_origin = origin_at(p_);
      std::string value;
      if (!parse_value(vars, value)) {
        return std::move(*error_);
      }
      if (vars.find(key) == nullptr && ++nodes > options_.max_nodes) {
        return fail(key_at, "more nodes than the limit of " + std::to_string(options_.max_nodes));
      }
      vars.insert_or_assign(std::string(key), Value(std::move(value))).set_origin(value_origin);
      any = true;
    }
    if (!any) {
      return detail::empty_document(options_);
    }
    return root;
  }

 private:
  Origin origin_at(const char* at) const {
    return Origin(options_.origin, line_,
                  detail::to_position(static_cast<std::size_t>(at - line_start_) + 1));
  }
  Error fail(const char* at, std::string message) const {
    return Error(ErrorCode::kParse, std::move(message), origin_at(at));
  }
  Error fail_at_offset(std::size_t offset, std::string message) const {
    const detail::TextPosition at = detail::position_of(text_, offset);
    return Error(ErrorCode::kParse, std::move(message),
                 Origin(options_.origin, at.line, at.column));
  }
  bool set_error(Error error) {
    error_ = std::move(error);
    return false;
  }

  void skip_blanks() noexcept {
    while (p_ != end_ && is_blank(*p_)) {
      ++p_;
    }
  }
  [[nodiscard]] bool at_line_end() const noexcept {
    return p_ != end_ && (*p_ == '\n' || (*p_ == '\r' && end_ - p_ >= 2 && p_[1] == '\n'));
  }
  // At '\n' or "\r\n": steps over it and starts the next line.
  void skip_line_end() noexcept {
    if (*p_ == '\r') {
      ++p_;
    }
    ++p_;
    ++line_;
    line_start_ = p_;
  }
  void skip_to_line_end() noexcept {
    while (p_ != end_ && !at_line_end()) {
      ++p_;
    }
  }

  // At the first byte of a value (blanks skipped); consumes the rest of the line.
  bool parse_value(const Object& vars, std::string& out) {
    if (p_ != end_ && (*p_ == '\'' || *p_ == '"')) {
      if (!(*p_ == '\'' ? parse_single_quoted(out) : parse_double_quoted(vars, out))) {
        return false;
      }
      skip_blanks();
      if (p_ != end_ && *p_ == '#') {
        skip_to_line_end();
      }
      if (p_ != end_ && !at_line_end()) {
        return set_error(fail(p_, "unexpected text after the closing quote"));
      }
      return true;
    }
    // Unquoted: to the end of the line or a '#' after whitespace, trailing blanks trimmed.
    const char* const begin = p_;
    const char* end = p_;
    // end[-1] is always inside the line: at least "K=" precedes the value.
    while (end != end_ && *end != '\n' && !(*end == '\r' && end_ - end >= 2 && end[1] == '\n') &&
           !(*end == '#' && is_blank(end[-1]))) {
      ++end;
    }
    const char* value_end = end;
    while (value_end != begin && is_blank(value_end[-1])) {
      --value_end;
    }
    for (const char* q = begin; q != value_end;) {
      if (*q == '$') {
        if (!expand(vars, q, value_end, false, out)) {
          return false;
        }
      } else {
        out.push_back(*q++);
      }
    }
    p_ = end;
    skip_to_line_end();
    return true;
  }

  bool parse_single_quoted(std::string& out) {
    const char* const open = p_;
    const std::uint32_t open_line = line_;
    const char* const open_line_start = line_start_;
    for (++p_; p_ != end_; ++p_) {
      if (*p_ == '\'') {
        ++p_;
        return true;
      }
      append_text_char(out);
    }
    line_ = open_line;
    line_start_ = open_line_start;
    return set_error(fail(open, "unterminated single-quoted value"));
  }

  bool parse_double_quoted(const Object& vars, std::string& out) {
    const char* const open = p_;
    const std::uint32_t open_line = line_;
    const char* const open_line_start = line_start_;
    ++p_;
    while (p_ != end_) {
      const char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\' && end_ - p_ >= 2) {
        const char e = p_[1];
        const char* replacement = nullptr;
        switch (e) {
          case 'n':
            replacement = "\n";
            break;
          case 't':
            replacement = "\t";
            break;
          case 'r':
            replacement = "\r";
            break;
          case '"':
            replacement = "\"";
            break;
          case '\\':
            replacement = "\\";
            break;
          case '$':
            replacement = "$";
            break;
          default:
            break;
        }
        if (replacement != nullptr) {
          out += replacement;
          p_ += 2;
        } else {
          // Unknown escapes stay as written, as in docker compose.
          out.push_back('\\');
          ++p_;
        }
        continue;
      }
      if (c == '$') {
        if (!expand(vars, p_, end_, true, out)) {
          return false;
        }
        continue;
      }
      append_text_char(out);
      ++p_;
    }
    line_ = open_line;
    line_start_ = open_line_start;
    return set_error(fail(open, "unterminated double-quoted value"));
  }

  // Appends *p_ inside a quoted value, keeping line bookkeeping and turning
  // "\r\n" into "\n" (the '\r' is dropped, the '\n' then starts a line).
  void append_text_char(std::string& out) {
    const char c = *p_;
    if (c == '\r' && end_ - p_ >= 2 && p_[1] == '\n') {
      return;
    }
    out.push_back(c);
    if (c == '\n') {
      ++line_;
      line_start_ = p_ + 1;
    }
  }

  // Appends an expanded variable, counting every expanded byte of the document
  // against max_bytes: each line may repeat the previous variable, so a few
  // hundred bytes could otherwise expand to gigabytes (found by dotenv_fuzz).
  bool append_expansion(const char* at, std::string_view text, std::string& out) {
    expanded_ += text.size();
    if (expanded_ > options_.max_bytes) {
      return set_error(fail(at, "variable expansion exceeds the size limit of " +
                                    std::to_string(options_.max_bytes) + " bytes"));
    }
    out += text;
    return true;
  }

  // At '$' (q); expands ${NAME}, ${NAME:-default}, ${NAME-default} or $NAME from
  // `vars` and advances q past the reference. A '$' that starts none of these is literal.
  bool expand(const Object& vars, const char*& q, const char* limit, bool quoted,
              std::string& out) {
    const char* const at = q;
    if (limit - q >= 2 && q[1] == '{') {
      const char* name_end = q + 2;
      while (name_end != limit && (is_name_char(*name_end) || *name_end == '.')) {
        ++name_end;
      }
      const std::string_view name(q + 2, static_cast<std::size_t>(name_end - q - 2));
      if (!valid_key(name)) {
        return set_error(fail(at, "invalid variable reference: expected ${NAME}"));
      }
      bool has_default = false;
      bool default_if_empty = false;
      const char* default_begin = name_end;
      if (name_end != limit && *name_end == ':' && limit - name_end >= 2 && name_end[1] == '-') {
        has_default = true;
        default_if_empty = true;
        default_begin = name_end + 2;
      } else if (name_end != limit && *name_end == '-') {
        has_default = true;
        default_begin = name_end + 1;
      }
      const char* close = default_begin;
      while (close != limit && *close != '}' && *close != '\n' && !(quoted && *close == '"')) {
        ++close;
      }
      if (close == limit || *close != '}' || (!has_default && close != name_end)) {
        return set_error(fail(at, "unterminated or malformed ${...} reference"));
      }
      const Value* found = vars.find(name);
      if (has_default && (found == nullptr || (default_if_empty && found->as_string().empty()))) {
        out.append(default_begin, close);
      } else if (found == nullptr) {
        return set_error(undefined(at, name));
      } else if (!append_expansion(at, found->as_string(), out)) {
        return false;
      }
      q = close + 1;
      return true;
    }
    if (limit - q >= 2 && is_name_start(q[1])) {
      const char* name_end = q + 1;
      while (name_end != limit && is_name_char(*name_end)) {
        ++name_end;
      }
      const std::string_view name(q + 1, static_cast<std::size_t>(name_end - q - 1));
      const Value* found = vars.find(name);
      if (found == nullptr) {
        return set_error(undefined(at, name));
      }
      if (!append_expansion(at, found->as_string(), out)) {
        return false;
      }
      q = name_end;
      return true;
    }
    out.push_back('$');
    ++q;
    return true;
  }

  Error undefined(const char* at, std::string_view name) const {
    return fail(at, "undefined variable \"" + std::string(name) +
                        "\" (only keys defined earlier in this file can be referenced)");
  }

  std::string_view text_;
  const char* p_;
  const char* const end_;
  const char* line_start_;
  std::uint32_t line_ = 1;
  const ParseOptions& options_;
  std::size_t expanded_ = 0;  // bytes produced by variable expansion so far
  std::optional<Error> error_;
};

}  // namespace

std::span<const std::string_view> DotenvFormat::extensions() const noexcept {
  return kDotenvExtensions;
}

Result<Value> DotenvFormat::parse(std::string_view text, const ParseOptions& options) const {
  if (Status size = detail::check_input_size(text, options); !size.ok()) {
    return size;
  }
  return DotenvParser(detail::strip_utf8_bom(text), options).run();
}

}  // namespace liveconf
