#include "formats/json/json_format.hpp"

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

#include "value/text.hpp"

namespace liveconf {

// ---- shared helpers ---------------------------------------------------------

namespace detail {
namespace {
bool is_dec(char c) noexcept { return c >= '0' && c <= '9'; }
}  // namespace

std::size_t utf8_sequence_length(const char* p, const char* end) noexcept {
  const auto c0 = static_cast<unsigned char>(p[0]);
  if (c0 < 0x80) {
    return 1;
  }
  const auto avail = static_cast<std::size_t>(end - p);
  const auto cont = [&](std::size_t i) {
    return (static_cast<unsigned char>(p[i]) & 0xC0) == 0x80;
  };
  // Leads C0/C1 only start overlong forms and F5..FF code points above U+10FFFF.
  if (c0 < 0xC2) {
    return 0;
  }
  if (c0 < 0xE0) {
    return avail >= 2 && cont(1) ? 2 : 0;
  }
  if (c0 < 0xF0) {
    if (avail < 3 || !cont(1) || !cont(2)) {
      return 0;
    }
    const auto c1 = static_cast<unsigned char>(p[1]);
    // E0 80..9F would be overlong; ED A0..BF would be a UTF-16 surrogate.
    if ((c0 == 0xE0 && c1 < 0xA0) || (c0 == 0xED && c1 > 0x9F)) {
      return 0;
    }
    return 3;
  }
  if (c0 < 0xF5) {
    if (avail < 4 || !cont(1) || !cont(2) || !cont(3)) {
      return 0;
    }
    const auto c1 = static_cast<unsigned char>(p[1]);
    if ((c0 == 0xF0 && c1 < 0x90) || (c0 == 0xF4 && c1 > 0x8F)) {
      return 0;
    }
    return 4;
  }
  return 0;
}

std::size_t find_invalid_utf8(std::string_view text) noexcept {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* p = begin;
  while (p != end) {
    // ASCII fast path, 8 bytes at a time.
    while (end - p >= 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, sizeof w);
      if ((w & 0x8080808080808080ULL) != 0) {
        break;
      }
      p += 8;
    }
    if (p == end) {
      break;
    }
    const std::size_t len = utf8_sequence_length(p, end);
    if (len == 0) {
      return static_cast<std::size_t>(p - begin);
    }
    p += len;
  }
  return std::string_view::npos;
}

std::optional<BadText> find_bad_text(std::string_view text) noexcept {
  if (const std::size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    return BadText{bad, "invalid UTF-8"};
  }
  if (const void* nul = std::memchr(text.data(), '\0', text.size()); nul != nullptr) {
    return BadText{static_cast<std::size_t>(static_cast<const char*>(nul) - text.data()),
                   "unexpected NUL byte"};
  }
  return std::nullopt;
}

std::string_view strip_utf8_bom(std::string_view text) noexcept {
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
  }
  return text;
}

TextPosition position_of(std::string_view text, std::size_t offset) noexcept {
  offset = std::min(offset, text.size());
  TextPosition pos;
  std::size_t line_start = 0;
  const char* const begin = text.data();
  const char* p = begin;
  const char* const stop = begin + offset;
  while (p != stop) {
    const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(stop - p));
    if (nl == nullptr) {
      break;
    }
    p = static_cast<const char*>(nl) + 1;
    ++pos.line;
    line_start = static_cast<std::size_t>(p - begin);
  }
  pos.column = to_position(offset - line_start + 1);
  return pos;
}

// Compares the position of the first significant digit with the decimal
// point, exponent included. Called only on error paths.
bool decimal_overflows(std::string_view number) noexcept {
  const char* p = number.data();
  const char* const end = p + number.size();
  if (p != end && *p == '-') {
    ++p;
  }
  long long int_digits = 0;     // significant digits before the point
  long long leading_zeros = 0;  // zeros after the point before the first significant digit
  bool seen_significant = false;
  for (; p != end && is_dec(*p); ++p) {
    if (*p != '0' || seen_significant) {
      seen_significant = true;
      ++int_digits;
    }
  }
  if (p != end && *p == '.') {
    for (++p; p != end && is_dec(*p); ++p) {
      if (*p != '0' && !seen_significant) {
        seen_significant = true;
      } else if (!seen_significant) {
        ++leading_zeros;
      }
    }
  }
  long long exponent = 0;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative = false;
    if (p != end && (*p == '+' || *p == '-')) {
      negative = *p == '-';
      ++p;
    }
    for (; p != end && is_dec(*p); ++p) {
      exponent = std::min(exponent * 10 + (*p - '0'), 1'000'000'000LL);
    }
    if (negative) {
      exponent = -exponent;
    }
  }
  const long long magnitude = int_digits > 0 ? int_digits + exponent : exponent - leading_zeros;
  return magnitude > 0;
}

Status check_input_size(std::string_view text, const ParseOptions& options) {
  if (text.size() > options.max_bytes) {
    return Error(ErrorCode::kParse,
                 "input is " + std::to_string(text.size()) + " bytes, over the limit of " +
                     std::to_string(options.max_bytes),
                 Origin(options.origin));
  }
  return ok_status();
}

Result<Value> empty_document(const ParseOptions& options) {
  if (!options.allow_empty) {
    return Error(ErrorCode::kParse, "empty document", Origin(options.origin));
  }
  Value v = Value::object();
  v.set_origin(Origin(options.origin));
  return v;
}

KeyPath key_path_of(const EmitPath* path) {
  std::vector<std::string> segments;
  for (; path != nullptr; path = path->parent) {
    segments.push_back(path->is_index ? std::to_string(path->index) : std::string(path->key));
  }
  std::reverse(segments.begin(), segments.end());
  return KeyPath::from_segments(std::move(segments));
}

}  // namespace detail

// ---- parser -----------------------------------------------------------------

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

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

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
        options_(options) {}

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

  bool parse_string(std::string& out);
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
          *target = Value(Object());
        } else {
          *target = Value(Value::Array());
        }
        target->set_origin(Origin(options_.origin, line_, column));
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
            target->as_object().reserve(hint);
          } else {
            target->as_array().reserve(hint);
          }
        }
        stack.push_back({target, is_object});
        if (is_object) {
          if (!begin_member(stack.back(), target)) {
            return std::move(*error_);
          }
        } else {
          target = &target->as_array().emplace_back();
        }
        opened = true;
        break;
      }
      case '"': {
        std::string s;
        if (!parse_string(s)) {
          return std::move(*error_);
        }
        *target = Value(std::move(s));
        target->set_origin(Origin(options_.origin, line_, column));
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
        target->set_origin(Origin(options_.origin, line_, column));
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
        target->set_origin(Origin(options_.origin, line_, column));
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
          target = &top.node->as_array().emplace_back();
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
  std::string key;
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
  Object& object = frame.node->as_object();
  std::string message;
  auto [slot, inserted] = object.insert(std::move(key), Value());
  if (!inserted) {
    // The key was moved into insert(); parse it again for the message (error path only,
    // and a key holds no newline, so the line bookkeeping is untouched).
    const char* const resume = p_;
    p_ = key_at;
    std::string again;
    (void)parse_string(again);
    p_ = resume;
    message = "duplicate key ";
    detail::append_json_string(message, again);
    error_ =
        Error(ErrorCode::kParse, std::move(message), Origin(options_.origin, key_line, key_column));
    return false;
  }
  target = slot;
  return true;
}

// At the opening quote. Runs of plain bytes are copied in one piece; a string
// without escapes is constructed once from its bytes.
bool JsonParser::parse_string(std::string& out) {
  const char* const quote = p_;
  ++p_;
  const char* run = p_;
  bool built = false;  // whether `out` already holds a prefix (an escape was seen)
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
      } else {
        out.assign(run, p_);
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
      const int h = hex_value(p[i]);
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
  const auto [ptr, ec] = std::from_chars(start, q, d);
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

// ---- emitter ----------------------------------------------------------------

class JsonEmitter {
 public:
  JsonEmitter(std::string& out, int indent) : out_(out), indent_(indent > 0 ? indent : 0) {}

  bool emit(const Value& v, std::size_t depth, const detail::EmitPath* path) {
    switch (v.type()) {
      case Value::Type::kNull:
        out_ += "null";
        return true;
      case Value::Type::kBool:
        out_ += v.as_bool() ? "true" : "false";
        return true;
      case Value::Type::kInt: {
        std::array<char, 24> buf{};
        const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v.as_int());
        out_.append(buf.data(), end);
        return true;
      }
      case Value::Type::kDouble: {
        const double d = v.as_double();
        if (!std::isfinite(d)) {
          error_.emplace(ErrorCode::kType, "JSON cannot represent " + detail::format_double(d),
                         v.origin(), detail::key_path_of(path));
          return false;
        }
        out_ += detail::format_double(d);
        return true;
      }
      case Value::Type::kString:
        detail::append_json_string(out_, v.as_string());
        return true;
      case Value::Type::kArray: {
        const Value::Array& array = v.as_array();
        if (array.empty()) {
          out_ += "[]";
          return true;
        }
        out_.push_back('[');
        for (std::size_t i = 0; i < array.size(); ++i) {
          if (i > 0) {
            out_.push_back(',');
          }
          newline(depth + 1);
          const detail::EmitPath link{path, {}, i, true};
          if (!emit(array[i], depth + 1, &link)) {
            return false;
          }
        }
        newline(depth);
        out_.push_back(']');
        return true;
      }
      case Value::Type::kObject: {
        const Object& object = v.as_object();
        if (object.empty()) {
          out_ += "{}";
          return true;
        }
        out_.push_back('{');
        bool first = true;
        for (const auto& [key, member] : object) {
          if (!first) {
            out_.push_back(',');
          }
          first = false;
          newline(depth + 1);
          detail::append_json_string(out_, key);
          out_ += indent_ > 0 ? ": " : ":";
          const detail::EmitPath link{path, key, 0, false};
          if (!emit(member, depth + 1, &link)) {
            return false;
          }
        }
        newline(depth);
        out_.push_back('}');
        return true;
      }
    }
    return true;
  }

  [[nodiscard]] bool pretty() const noexcept { return indent_ > 0; }
  Error take_error() { return std::move(*error_); }

 private:
  void newline(std::size_t depth) {
    if (indent_ > 0) {
      out_.push_back('\n');
      out_.append(depth * static_cast<std::size_t>(indent_), ' ');
    }
  }

  std::string& out_;
  int indent_;
  std::optional<Error> error_;
};

constexpr std::array<std::string_view, 1> kJsonExtensions = {"json"};

}  // namespace

std::span<const std::string_view> JsonFormat::extensions() const noexcept {
  return kJsonExtensions;
}

Result<Value> JsonFormat::parse(std::string_view text, const ParseOptions& options) const {
  if (Status size = detail::check_input_size(text, options); !size.ok()) {
    return size;
  }
  // RFC 8259 lets a parser ignore a byte order mark; columns then start after it.
  return JsonParser(detail::strip_utf8_bom(text), options).run();
}

Result<std::string> JsonFormat::emit(const Value& value, const EmitOptions& options) const {
  std::string out;
  JsonEmitter emitter(out, options.indent);
  if (!emitter.emit(value, 0, nullptr)) {
    return emitter.take_error();
  }
  if (emitter.pretty()) {
    out.push_back('\n');
  }
  return out;
}

}  // namespace liveconf
