// The JSON parser half of JsonFormat (json_format.hpp says why it is written
// by hand); the emitter is in json_emitter.cpp. A little over 600 lines on
// purpose: it is one class, JsonParser, whose methods all move one cursor
// (p_, line_, line_start_), so splitting it would only spread that state.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "formats/json/json_format.hpp"
#include "formats/text_helpers.hpp"
#include "value/text.hpp"
#include "value/tree_building.hpp"

namespace liveconf {

namespace {

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// True when one of the 8 bytes in `w` is '"', '\\', a control character or
// non-ASCII, so the string scanner must look at them one at a time. Each term
// is the classic "has a zero byte" / "has a byte below n" bit trick, exact as a
// yes/no answer.
constexpr bool needs_attention(std::uint64_t w) noexcept {
  const std::uint64_t quote = w ^ (kOnes * '"');
  const std::uint64_t backslash = w ^ (kOnes * '\\');
  const std::uint64_t any = ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
                            ((w - kOnes * 0x20) & ~w) | w;
  return (any & kHighs) != 0;
}

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// "character 'x'" for printable ASCII, "byte 0xNN" for anything else.
std::string describe_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7F) {
    return std::string("character '") + c + "'";
  }
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out = "byte 0x";
  out.push_back(kHex[u >> 4]);
  out.push_back(kHex[u & 0xF]);
  return out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

struct Frame {
  Value* node;  // the array or object being filled; stable while it is open
  bool is_object;
};

// An iterative parser: nesting lives in `stack`, never on the C stack. Lines
// and columns are tracked as it goes: a newline can only appear in whitespace
// (strings refuse raw control characters), so only skip_whitespace() counts them.
class JsonParser {
 public:
  JsonParser(std::string_view text, const ParseOptions& options)
      : p_(text.data()),
        end_(text.data() + text.size()),
        line_start_(text.data()),
        options_(options),
        arena_(text.size()) {}

  Result<Value> run();

 private:
  [[nodiscard]] std::uint32_t column_of(const char* at) const noexcept {
    return detail::to_position(static_cast<std::size_t>(at - line_start_) + 1);
  }
  [[nodiscard]] Origin origin_at(const char* at) const {
    return Origin(options_.origin, line_, column_of(at));
  }
  Error fail(const char* at, std::string message) const {
    return Error(ErrorCode::kParse, std::move(message), origin_at(at));
  }
  Error fail_expected(const char* at, std::string_view expected) const {
    if (at == end_) {
      return fail(at, "unexpected end of input, " + std::string(expected));
    }
    return fail(at, std::string(expected));
  }

  void skip_whitespace() noexcept {
    while (p_ != end_) {
      const char c = *p_;
      if (c == ' ' || c == '\t' || c == '\r') {
        ++p_;
      } else if (c == '\n') {
        ++p_;
        ++line_;
        line_start_ = p_;
        // Indentation of pretty-printed files: 8 spaces at a time.
        while (end_ - p_ >= 8) {
          std::uint64_t w = 0;
          std::memcpy(&w, p_, sizeof w);
          if (w != kOnes * ' ') {
            break;
          }
          p_ += 8;
        }
      } else {
        break;
      }
    }
  }

  void remember_size(std::size_t depth, std::size_t size) {
    if (depth >= size_hints_.size()) {
      size_hints_.resize(depth + 1);
    }
    SizeHint& h = size_hints_[depth];
    h.previous = h.last;
    h.last = std::min<std::size_t>(size, kMaxSizeHint);
  }
  // The smaller of the last two sizes: alternating big and small siblings
  // (hostile input) then reserve little, while records of one shape still do.
  [[nodiscard]] std::size_t size_hint(std::size_t depth) const noexcept {
    return depth < size_hints_.size()
               ? std::min(size_hints_[depth].last, size_hints_[depth].previous)
               : 0;
  }

  // Sets `out` to the string's text: a view of the input when it has no
  // escapes, else of scratch_ (valid until the next call).
  bool parse_string(std::string_view& out);
  bool parse_escape(std::string& out, const char* quote);
  bool parse_number(Value& out);
  bool begin_member(Frame& frame, Value*& target);
  Error unexpected_value(const std::vector<Frame>& stack) const;

  // A hint is only a guess; past this, let the vector grow on its own.
  static constexpr std::size_t kMaxSizeHint = 64;
  struct SizeHint {
    std::size_t last = 0;
    std::size_t previous = 0;
  };

  const char* p_;
  const char* const end_;
  const char* line_start_;
  std::uint32_t line_ = 1;
  const ParseOptions& options_;
  std::size_t nodes_ = 0;
  std::vector<SizeHint> size_hints_;  // per depth: sizes of the last containers closed there
  std::optional<Error> error_;
  std::string scratch_;      // a string with escapes, decoded
  detail::ArenaHold arena_;  // the tree's containers and long strings
};

Result<Value> JsonParser::run() {
  skip_whitespace();
  if (p_ == end_) {
    return detail::empty_document(options_);
  }
  Value root;
  std::vector<Frame> stack;
  stack.reserve(std::min<std::size_t>(options_.max_depth, 64) + 1);
  Value* target = &root;
  for (;;) {
    // p_ is at the first byte of the value that goes into *target.
    if (p_ == end_) {
      return unexpected_value(stack);
    }
    const char* const at = p_;
    if (++nodes_ > options_.max_nodes) {
      return fail(at, "more nodes than the limit of " + std::to_string(options_.max_nodes));
    }
    const std::uint32_t column = column_of(at);
    bool opened = false;  // a non-empty container was opened; target is its first slot
    switch (*p_) {
      case '{':
      case '[': {
        if (stack.size() >= options_.max_depth) {
          return fail(at, "nesting deeper than the limit of " + std::to_string(options_.max_depth));
        }
        const bool is_object = *p_ == '{';
        if (is_object) {
          detail::TreeBuilding::make_object(*target, arena_.get());
        } else {
          detail::TreeBuilding::make_array(*target, arena_.get());
        }
        target->set_origin(options_.origin, line_, column);
        ++p_;
        skip_whitespace();
        if (p_ != end_ && *p_ == (is_object ? '}' : ']')) {
          ++p_;
          break;
        }
        // Reserve what recent containers at this depth held: siblings in
        // arrays of records usually have the same shape, and this saves the
        // vector's repeated growth (most of the cost of building objects).
        if (const std::size_t hint = size_hint(stack.size()); hint > 0) {
          if (is_object) {
            detail::TreeBuilding::object(*target).reserve(hint);
          } else {
            detail::TreeBuilding::array(*target).reserve(hint);
          }
        }
        stack.push_back({target, is_object});
        if (is_object) {
          if (!begin_member(stack.back(), target)) {
            return std::move(*error_);
          }
        } else {
          target = &detail::TreeBuilding::array(*target).emplace_back();
        }
        opened = true;
        break;
      }
      case '"': {
        std::string_view s;
        if (!parse_string(s)) {
          return std::move(*error_);
        }
        detail::TreeBuilding::set_string(*target, arena_.get(), s);
        target->set_origin(options_.origin, line_, column);
        break;
      }
      case 't':
      case 'f':
      case 'n': {
        const std::string_view rest(p_, static_cast<std::size_t>(end_ - p_));
        if (rest.starts_with("true")) {
          *target = Value(true);
          p_ += 4;
        } else if (rest.starts_with("false")) {
          *target = Value(false);
          p_ += 5;
        } else if (rest.starts_with("null")) {
          *target = Value();
          p_ += 4;
        } else {
          return fail(at, "invalid literal, expected true, false or null");
        }
        target->set_origin(options_.origin, line_, column);
        break;
      }
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        if (!parse_number(*target)) {
          return std::move(*error_);
        }
        target->set_origin(options_.origin, line_, column);
        break;
      default:
        return unexpected_value(stack);
    }
    if (opened) {
      continue;
    }
    // The value is complete: close finished containers until a ',' names the next slot.
    for (;;) {
      skip_whitespace();
      if (stack.empty()) {
        if (p_ != end_) {
          return fail(p_, "unexpected " + describe_byte(*p_) + " after the top-level value");
        }
        return root;
      }
      Frame& top = stack.back();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        skip_whitespace();
        if (top.is_object) {
          if (!begin_member(top, target)) {
            return std::move(*error_);
          }
        } else {
          target = &detail::TreeBuilding::array(*top.node).emplace_back();
        }
        break;
      }
      if (p_ != end_ && *p_ == (top.is_object ? '}' : ']')) {
        ++p_;
        remember_size(stack.size() - 1, top.node->size());
        stack.pop_back();
        continue;
      }
      return fail_expected(p_, top.is_object ? "expected ',' or '}' after object member"
                                             : "expected ',' or ']' after array element");
    }
  }
}

Error JsonParser::unexpected_value(const std::vector<Frame>& stack) const {
  if (p_ == end_) {
    return fail(p_, "unexpected end of input, expected a value");
  }
  const char c = *p_;
  // Inside an array a value is only expected right after '[' (where ']' closes
  // an empty array) or after ',', so ']' here is a trailing comma.
  if (c == ']' && !stack.empty() && !stack.back().is_object) {
    return fail(p_, "trailing comma before ']'");
  }
  if (c == '/') {
    return fail(p_, "comments are not allowed in JSON");
  }
  if (c == '\'') {
    return fail(p_, "strings must use double quotes");
  }
  return fail(p_, "unexpected " + describe_byte(c) + ", expected a value");
}

// At a member's key (whitespace skipped): parses `"key" :` and inserts a null
// member that `target` then points at.
bool JsonParser::begin_member(Frame& frame, Value*& target) {
  if (p_ == end_ || *p_ != '"') {
    // '{' followed by '}' is handled by the caller, so '}' here follows a ','.
    if (p_ != end_ && *p_ == '}') {
      error_ = fail(p_, "trailing comma before '}'");
    } else {
      error_ = fail_expected(p_, "expected a double-quoted object key");
    }
    return false;
  }
  const char* const key_at = p_;
  const std::uint32_t key_line = line_;
  const std::uint32_t key_column = column_of(key_at);
  std::string_view key;
  if (!parse_string(key)) {
    return false;
  }
  skip_whitespace();
  if (p_ == end_ || *p_ != ':') {
    error_ = fail_expected(p_, "expected ':' after object key");
    return false;
  }
  ++p_;
  skip_whitespace();
  Object& object = detail::TreeBuilding::object(*frame.node);
  std::string message;
  auto [slot, inserted] = object.try_emplace(key);
  if (!inserted) {
    message = "duplicate key ";
    detail::append_json_string(message, key);
    error_ =
        Error(ErrorCode::kParse, std::move(message), Origin(options_.origin, key_line, key_column));
    return false;
  }
  target = slot;
  return true;
}

// At the opening quote. Runs of plain bytes are copied in one piece; a string
// without escapes is constructed once from its bytes.
bool JsonParser::parse_string(std::string_view& text) {
  const char* const quote = p_;
  ++p_;
  const char* run = p_;
  bool built = false;  // whether scratch_ already holds a prefix (an escape was seen)
  std::string& out = scratch_;
  for (;;) {
    while (end_ - p_ >= 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p_, sizeof w);
      if (needs_attention(w)) {
        break;
      }
      p_ += 8;
    }
    if (p_ == end_) {
      error_ = fail(quote, "unterminated string");
      return false;
    }
    const auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      if (built) {
        out.append(run, p_);
        text = out;
      } else {
        text = std::string_view(run, static_cast<std::size_t>(p_ - run));
      }
      ++p_;
      return true;
    }
    if (c == '\\') {
      if (!built) {
        out.clear();
        built = true;
      }
      out.append(run, p_);
      if (!parse_escape(out, quote)) {
        return false;
      }
      run = p_;
      continue;
    }
    if (c < 0x20) {
      error_ = fail(p_, c == '\n'
                            ? std::string("unescaped line break in string")
                            : "unescaped control character (" + describe_byte(*p_) + ") in string");
      return false;
    }
    if (c >= 0x80) {
      const std::size_t len = detail::utf8_sequence_length(p_, end_);
      if (len == 0) {
        error_ = fail(p_, "invalid UTF-8 in string");
        return false;
      }
      p_ += len;
      continue;
    }
    ++p_;
  }
}

// At a backslash inside a string.
bool JsonParser::parse_escape(std::string& out, const char* quote) {
  const char* const at = p_;
  if (end_ - p_ < 2) {
    error_ = fail(quote, "unterminated string");
    return false;
  }
  const char e = p_[1];
  p_ += 2;
  switch (e) {
    case '"':
      out.push_back('"');
      return true;
    case '\\':
      out.push_back('\\');
      return true;
    case '/':
      out.push_back('/');
      return true;
    case 'b':
      out.push_back('\b');
      return true;
    case 'f':
      out.push_back('\f');
      return true;
    case 'n':
      out.push_back('\n');
      return true;
    case 'r':
      out.push_back('\r');
      return true;
    case 't':
      out.push_back('\t');
      return true;
    case 'u':
      break;
    default:
      error_ = fail(at, "invalid escape \\" + (static_cast<unsigned char>(e) > 0x20 &&
                                                       static_cast<unsigned char>(e) < 0x7F
                                                   ? std::string(1, e)
                                                   : " (" + describe_byte(e) + ")"));
      return false;
  }
  const auto read_hex4 = [this](const char* p, std::uint32_t& cp) {
    if (end_ - p < 4) {
      return false;
    }
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = detail::hex_value(p[i]);
      if (h < 0) {
        return false;
      }
      cp = (cp << 4) | static_cast<std::uint32_t>(h);
    }
    return true;
  };
  std::uint32_t cp = 0;
  if (!read_hex4(p_, cp)) {
    error_ = fail(at, "expected 4 hex digits after \\u");
    return false;
  }
  p_ += 4;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    std::uint32_t low = 0;
    if (end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u' && read_hex4(p_ + 2, low) &&
        low >= 0xDC00 && low <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      p_ += 6;
    } else {
      error_ = fail(at, "lone surrogate " + std::string(at, 6) + " in string");
      return false;
    }
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    error_ = fail(at, "lone surrogate " + std::string(at, 6) + " in string");
    return false;
  }
  append_utf8(out, cp);
  return true;
}

// At '-' or a digit. Validates the RFC 8259 grammar, then converts with from_chars.
bool JsonParser::parse_number(Value& out) {
  const char* const start = p_;
  const char* q = p_;
  if (*q == '-') {
    ++q;
  }
  if (q == end_ || !is_digit(*q)) {
    error_ = fail(q, "expected a digit after '-'");
    return false;
  }
  if (*q == '0') {
    ++q;
    if (q != end_ && is_digit(*q)) {
      error_ = fail(start, "leading zeros are not allowed in numbers");
      return false;
    }
  } else {
    while (q != end_ && is_digit(*q)) {
      ++q;
    }
  }
  bool integral = true;
  if (q != end_ && *q == '.') {
    ++q;
    if (q == end_ || !is_digit(*q)) {
      error_ = fail(q, "expected a digit after '.'");
      return false;
    }
    while (q != end_ && is_digit(*q)) {
      ++q;
    }
    integral = false;
  }
  if (q != end_ && (*q == 'e' || *q == 'E')) {
    ++q;
    if (q != end_ && (*q == '+' || *q == '-')) {
      ++q;
    }
    if (q == end_ || !is_digit(*q)) {
      error_ = fail(q, "expected a digit in the exponent");
      return false;
    }
    while (q != end_ && is_digit(*q)) {
      ++q;
    }
    integral = false;
  }
  p_ = q;
  if (integral) {
    std::int64_t i = 0;
    const auto [ptr, ec] = std::from_chars(start, q, i);
    if (ec == std::errc() && ptr == q) {
      out = Value(i);
      return true;
    }
    // Out of int64 range: falls through to double, like every non-integer.
  }
  double d = 0;
  const auto [ptr, ec] = detail::from_chars_double(start, q, d);
  if (ec == std::errc::result_out_of_range) {
    if (detail::decimal_overflows(std::string_view(start, static_cast<std::size_t>(q - start)))) {
      error_ = fail(start, "number " +
                               std::string(start, std::min<std::size_t>(
                                                      static_cast<std::size_t>(q - start), 40)) +
                               " is out of the range of a double");
      return false;
    }
    d = *start == '-' ? -0.0 : 0.0;  // underflow: the nearest double is zero
  } else if (ec != std::errc() || ptr != q) {
    error_ = fail(start, "invalid number");
    return false;
  }
  out = Value(d);
  return true;
}

}  // namespace

Result<Value> JsonFormat::parse(std::string_view text, const ParseOptions& options) const {
  if (Status size = detail::check_input_size(text, options); !size.ok()) {
    return size;
  }
  // RFC 8259 lets a parser ignore a byte order mark; columns then start after it.
  return JsonParser(detail::strip_utf8_bom(text), options).run();
}

}  // namespace liveconf
