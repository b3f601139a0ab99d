// The JSON emitter half of JsonFormat; the parser is in json_parser.cpp.
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "formats/json/json_format.hpp"
#include "formats/text_helpers.hpp"
#include "value/text.hpp"

namespace liveconf {
namespace {

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
        const std::span<const Value> array = v.as_array();
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

}  // namespace

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
