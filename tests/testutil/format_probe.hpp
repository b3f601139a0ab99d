// Parsing helpers shared by the format tests (tests/unit/formats/*_test.cpp):
// parse a text as a named format with file origins, expect success, or expect
// a kParse error with a given message at a given line:column.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

namespace liveconf {

// Readable Values in gtest failure messages (found by ADL).
inline void PrintTo(const Value& v, std::ostream* os) { *os << v.to_display_string(); }

namespace testing {

/// One format under test, and the file its texts pretend to come from.
class FormatProbe {
 public:
  FormatProbe(std::string_view format, std::string file)
      : format_(find_format(format)), file_(std::move(file)) {}

  [[nodiscard]] const Format& format() const { return *format_; }

  /// Origins name "file:<file>".
  [[nodiscard]] ParseOptions options() const {
    ParseOptions o;
    o.origin = make_file_origin("file:" + file_, file_);
    return o;
  }

  [[nodiscard]] Value parse_ok(std::string_view text) const { return parse_ok(text, options()); }
  [[nodiscard]] Value parse_ok(std::string_view text, const ParseOptions& o) const {
    Result<Value> r = format_->parse(text, o);
    EXPECT_TRUE(r.has_value()) << (r ? std::string() : r.error().to_string());
    return r ? std::move(r).value() : Value();
  }

  /// Succeeds when parsing `text` fails with kParse, `message`, at line:column.
  [[nodiscard]] ::testing::AssertionResult parse_fails(std::string_view text, std::uint32_t line,
                                                       std::uint32_t column,
                                                       std::string_view message) const {
    return parse_fails(text, line, column, message, options());
  }
  [[nodiscard]] ::testing::AssertionResult parse_fails(std::string_view text, std::uint32_t line,
                                                       std::uint32_t column,
                                                       std::string_view message,
                                                       const ParseOptions& o) const {
    Result<Value> r = format_->parse(text, o);
    if (r) {
      return ::testing::AssertionFailure() << "parsed: " << r->to_display_string();
    }
    const Error& e = r.error();
    if (e.code() != ErrorCode::kParse || e.message() != message || e.origin().line() != line ||
        e.origin().column() != column) {
      return ::testing::AssertionFailure()
             << "got [" << error_code_name(e.code()) << "] \"" << e.message() << "\" at "
             << e.origin().line() << ":" << e.origin().column() << ", wanted \"" << message
             << "\" at " << line << ":" << column;
    }
    return ::testing::AssertionSuccess();
  }

 private:
  const Format* format_;
  std::string file_;
};

/// "line:column" of a node's origin, or "missing".
inline std::string position(const Value* v) {
  return v == nullptr
             ? "missing"
             : std::to_string(v->origin().line()) + ":" + std::to_string(v->origin().column());
}

}  // namespace testing
}  // namespace liveconf
