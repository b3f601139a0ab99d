// The YAML emitter half of YamlFormat; the parser is in yaml_parser.cpp.
#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>
#include <yaml.h>

#include "formats/text_helpers.hpp"
#include "formats/yaml/yaml_format.hpp"
#include "formats/yaml/yaml_schema.hpp"
#include "value/text.hpp"

namespace liveconf {
namespace {

using detail::yaml::needs_quotes;

// ---- emitter -------------------------------------------------------------

class YamlEmitter {
 public:
  explicit YamlEmitter(int indent) {
    initialized_ = yaml_emitter_initialize(&emitter_) != 0;
    if (initialized_) {
      yaml_emitter_set_output(&emitter_, &YamlEmitter::write, &out_);
      yaml_emitter_set_encoding(&emitter_, YAML_UTF8_ENCODING);
      yaml_emitter_set_unicode(&emitter_, 1);
      // libyaml accepts indents 2..9.
      yaml_emitter_set_indent(&emitter_, std::clamp(indent, 2, 9));
      // Never fold long plain scalars onto several lines.
      yaml_emitter_set_width(&emitter_, -1);
      yaml_emitter_set_break(&emitter_, YAML_LN_BREAK);
    }
  }
  ~YamlEmitter() {
    if (initialized_) {
      yaml_emitter_delete(&emitter_);
    }
  }
  YamlEmitter(const YamlEmitter&) = delete;
  YamlEmitter& operator=(const YamlEmitter&) = delete;

  Result<std::string> run(const Value& value) {
    if (!initialized_) {
      return Error(ErrorCode::kInternal, "libyaml could not be initialised (out of memory)");
    }
    yaml_event_t event;
    if (yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING) == 0 || !emit(event) ||
        yaml_document_start_event_initialize(&event, nullptr, nullptr, nullptr, 1) == 0 ||
        !emit(event) || !node(value, nullptr) ||
        yaml_document_end_event_initialize(&event, 1) == 0 || !emit(event) ||
        yaml_stream_end_event_initialize(&event) == 0 || !emit(event) ||
        yaml_emitter_flush(&emitter_) == 0) {
      if (!error_) {
        error_.emplace(ErrorCode::kInternal,
                       std::string("libyaml emitter failed: ") +
                           (emitter_.problem != nullptr ? emitter_.problem : "out of memory"));
      }
      return std::move(*error_);
    }
    return std::move(out_);
  }

 private:
  static int write(void* data, unsigned char* buffer, std::size_t size) {
    static_cast<std::string*>(data)->append(reinterpret_cast<const char*>(buffer), size);
    return 1;
  }

  // Hands `event` to libyaml, which takes ownership either way.
  bool emit(yaml_event_t& event) { return yaml_emitter_emit(&emitter_, &event) != 0; }

  bool scalar(std::string_view text, bool plain_implicit, const Value& v,
              const detail::EmitPath* path, yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE) {
    if (detail::find_invalid_utf8(text) != std::string_view::npos) {
      error_.emplace(ErrorCode::kType, "YAML cannot represent text that is not valid UTF-8",
                     v.origin(), detail::key_path_of(path));
      return false;
    }
    if (text.size() > static_cast<std::size_t>(INT_MAX)) {
      error_.emplace(ErrorCode::kType, "string too long for libyaml", v.origin(),
                     detail::key_path_of(path));
      return false;
    }
    // plain_implicit = 0 with no tag makes libyaml quote the scalar; it picks
    // single or double quotes (double when escapes are needed).
    yaml_event_t event;
    if (yaml_scalar_event_initialize(
            &event, nullptr, nullptr, reinterpret_cast<const yaml_char_t*>(text.data()),
            static_cast<int>(text.size()), plain_implicit ? 1 : 0, 1, style) == 0) {
      return false;
    }
    return emit(event);
  }

  bool node(const Value& v, const detail::EmitPath* path) {
    switch (v.type()) {
      case Value::Type::kNull:
        return scalar("null", true, v, path);
      case Value::Type::kBool:
        return scalar(v.as_bool() ? "true" : "false", true, v, path);
      case Value::Type::kInt:
        return scalar(std::to_string(v.as_int()), true, v, path);
      case Value::Type::kDouble:
        return scalar(yaml_double(v.as_double()), true, v, path);
      case Value::Type::kString: {
        // Multi-line text reads best as a literal block (|); libyaml falls back
        // to double quotes where a block cannot hold it (keys, flow context,
        // control characters, trailing spaces).
        const std::string_view text = v.as_string();
        const yaml_scalar_style_t style = text.find('\n') != std::string::npos
                                              ? YAML_LITERAL_SCALAR_STYLE
                                              : YAML_ANY_SCALAR_STYLE;
        return scalar(text, !needs_quotes(text), v, path, style);
      }
      case Value::Type::kArray: {
        const std::span<const Value> array = v.as_array();
        yaml_event_t event;
        if (yaml_sequence_start_event_initialize(
                &event, nullptr, nullptr, 1,
                array.empty() ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) == 0 ||
            !emit(event)) {
          return false;
        }
        for (std::size_t i = 0; i < array.size(); ++i) {
          const detail::EmitPath link{path, {}, i, true};
          if (!node(array[i], &link)) {
            return false;
          }
        }
        return yaml_sequence_end_event_initialize(&event) != 0 && emit(event);
      }
      case Value::Type::kObject: {
        const Object& object = v.as_object();
        yaml_event_t event;
        if (yaml_mapping_start_event_initialize(
                &event, nullptr, nullptr, 1,
                object.empty() ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE) == 0 ||
            !emit(event)) {
          return false;
        }
        for (const auto& [key, member] : object) {
          const detail::EmitPath link{path, key, 0, false};
          if (!scalar(key, !needs_quotes(key), member, &link) || !node(member, &link)) {
            return false;
          }
        }
        return yaml_mapping_end_event_initialize(&event) != 0 && emit(event);
      }
    }
    return true;
  }

  // format_double in YAML spelling: .inf/-.inf/.nan, and a '.' in every
  // mantissa ("1.0e+300") so YAML 1.1 readers also see a float.
  static std::string yaml_double(double d) {
    if (std::isnan(d)) {
      return ".nan";
    }
    if (std::isinf(d)) {
      return d < 0 ? "-.inf" : ".inf";
    }
    std::string text = detail::format_double(d);
    const std::size_t e = text.find_first_of("eE");
    if (e != std::string::npos && text.find('.') == std::string::npos) {
      text.insert(e, ".0");
    }
    return text;
  }

  yaml_emitter_t emitter_{};
  bool initialized_ = false;
  std::string out_;
  std::optional<Error> error_;
};

}  // namespace

Result<std::string> YamlFormat::emit(const Value& value, const EmitOptions& options) const {
  return YamlEmitter(options.indent).run(value);
}

}  // namespace liveconf
