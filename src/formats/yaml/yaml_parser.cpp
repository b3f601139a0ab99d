// The YAML parser half of YamlFormat (yaml_format.cpp says why libyaml's
// event API); the emitter is in yaml_emitter.cpp.
//
// Positions: libyaml's marks count code points from 0; we map them to 1-based
// lines and byte columns. Input must be UTF-8 (a BOM is skipped).
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

using detail::yaml::bool_word;
using detail::yaml::FloatMatch;
using detail::yaml::IntMatch;
using detail::yaml::is_null_word;
using detail::yaml::match_float;
using detail::yaml::match_int;
using detail::yaml::resolve_plain;

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

// Alias expansion may add at most this many nodes, or 10 per input byte if
// more, and at most max(kMinAliasBytes, 10 per input byte) bytes of text.
// Real files alias a few defaults blocks; a "billion laughs" bomb needs
// exponential growth, which hits these caps within a few levels.
constexpr std::size_t kMinAliasNodes = 100'000;
constexpr std::size_t kMinAliasBytes = std::size_t{1} << 20;
constexpr std::size_t kAliasFactor = 10;

std::string_view as_view(const yaml_char_t* s, std::size_t length) {
  return {reinterpret_cast<const char*>(s), length};
}
std::string_view as_view(const yaml_char_t* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

// "!!int" for "tag:yaml.org,2002:int", other tags as written.
std::string short_tag(std::string_view tag) {
  if (tag.starts_with(kCoreTagPrefix)) {
    return "!!" + std::string(tag.substr(kCoreTagPrefix.size()));
  }
  return std::string(tag);
}

// ---- positions -----------------------------------------------------------

// Maps libyaml marks (code-point index from 0) to our 1-based line and byte
// column. Event marks only move forward, so one cursor makes this linear; a
// mark behind the cursor (an error's context mark) restarts it from the top.
class MarkMapper {
 public:
  explicit MarkMapper(std::string_view text) : text_(text) {}

  detail::TextPosition map(std::size_t char_index) {
    if (char_index < chars_) {
      chars_ = 0;
      offset_ = 0;
      line_ = 1;
      line_start_ = 0;
    }
    while (chars_ < char_index && offset_ < text_.size()) {
      if (text_[offset_] == '\n') {
        ++line_;
        line_start_ = offset_ + 1;
      }
      const std::size_t len =
          detail::utf8_sequence_length(text_.data() + offset_, text_.data() + text_.size());
      offset_ += len == 0 ? 1 : len;
      ++chars_;
    }
    return {line_, detail::to_position(offset_ - line_start_ + 1)};
  }

 private:
  std::string_view text_;
  std::size_t chars_ = 0;
  std::size_t offset_ = 0;
  std::uint32_t line_ = 1;
  std::size_t line_start_ = 0;
};

// ---- parser --------------------------------------------------------------

// Size of a subtree, tracked while it is built so anchors know what an alias costs.
struct Weight {
  std::size_t nodes = 0;
  std::size_t bytes = 0;   // text in keys and string scalars
  std::size_t height = 0;  // nesting levels of collections (a scalar is 0)
};

struct Anchor {
  Value value;
  Weight weight;
  std::string scalar_text;  // for scalar anchors: the text, used when aliased as a key
  bool is_scalar = false;
  bool open = false;  // the anchored collection is still being built
};

struct Frame {
  Value value;  // the mapping or sequence being built
  bool is_mapping = false;
  std::string anchor;
  Weight weight;  // of the children so far
  // Mappings alternate key and value events; these hold the pending key.
  bool has_key = false;
  bool key_is_merge = false;
  std::string key;
  Origin key_origin;
  // Keys that came from '<<': an explicit key later in the mapping overrides them.
  std::unordered_set<std::string> merged_keys;
};

class EventGuard {
 public:
  explicit EventGuard(yaml_event_t& event) : event_(event) {}
  ~EventGuard() { yaml_event_delete(&event_); }
  EventGuard(const EventGuard&) = delete;
  EventGuard& operator=(const EventGuard&) = delete;

 private:
  yaml_event_t& event_;
};

class YamlParser {
 public:
  YamlParser(std::string_view text, const ParseOptions& options)
      : text_(text),
        options_(options),
        marks_(text),
        alias_node_budget_(
            std::min(options.max_nodes, std::max(kMinAliasNodes, kAliasFactor * text.size()))),
        alias_byte_budget_(std::max(kMinAliasBytes, kAliasFactor * text.size())) {
    initialized_ = yaml_parser_initialize(&parser_) != 0;
  }
  ~YamlParser() {
    if (initialized_) {
      yaml_parser_delete(&parser_);
    }
  }
  YamlParser(const YamlParser&) = delete;
  YamlParser& operator=(const YamlParser&) = delete;

  Result<Value> run() {
    if (!initialized_) {
      return Error(ErrorCode::kInternal, "libyaml could not be initialised (out of memory)",
                   Origin(options_.origin));
    }
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text_.data()),
                                 text_.size());
    // Forced rather than detected: marks map to bytes only for UTF-8 input.
    yaml_parser_set_encoding(&parser_, YAML_UTF8_ENCODING);
    frames_.reserve(std::min<std::size_t>(options_.max_depth, 64) + 1);
    std::size_t documents = 0;
    for (;;) {
      yaml_event_t event;
      if (yaml_parser_parse(&parser_, &event) == 0) {
        return libyaml_error();
      }
      const EventGuard guard(event);
      bool ok = true;
      switch (event.type) {
        case YAML_STREAM_END_EVENT:
          if (!have_root_ || root_.is_null()) {
            return detail::empty_document(options_);
          }
          return std::move(root_);
        case YAML_DOCUMENT_START_EVENT:
          if (++documents > 1) {
            return Error(ErrorCode::kParse, "multiple documents are not supported",
                         origin_at(event.start_mark));
          }
          break;
        case YAML_SCALAR_EVENT:
          ok = on_scalar(event);
          break;
        case YAML_ALIAS_EVENT:
          ok = on_alias(event);
          break;
        case YAML_SEQUENCE_START_EVENT:
          ok = on_start(event, false);
          break;
        case YAML_MAPPING_START_EVENT:
          ok = on_start(event, true);
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
          ok = on_end();
          break;
        case YAML_NO_EVENT:
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
          break;
      }
      if (!ok) {
        return std::move(*error_);
      }
    }
  }

 private:
  Origin origin_at(const yaml_mark_t& mark) {
    const detail::TextPosition at = marks_.map(mark.index);
    return Origin(options_.origin, at.line, at.column);
  }
  bool fail(Origin origin, std::string message) {
    error_.emplace(ErrorCode::kParse, std::move(message), std::move(origin));
    return false;
  }
  bool count_node(const Origin& at) {
    if (++nodes_ > options_.max_nodes) {
      return fail(at, "more nodes than the limit of " + std::to_string(options_.max_nodes));
    }
    return true;
  }
  [[nodiscard]] bool expecting_key() const {
    return !frames_.empty() && frames_.back().is_mapping && !frames_.back().has_key;
  }

  Error libyaml_error() {
    std::string message = parser_.problem != nullptr ? parser_.problem : "invalid YAML";
    switch (parser_.error) {
      case YAML_MEMORY_ERROR:
        return Error(ErrorCode::kInternal, "libyaml ran out of memory", Origin(options_.origin));
      case YAML_READER_ERROR: {
        // Reader errors (bad UTF-8, control characters) carry a byte offset, not a mark.
        if (parser_.problem_value != -1) {
          static constexpr std::string_view kHex = "0123456789ABCDEF";
          const auto v = static_cast<unsigned>(parser_.problem_value);
          message += " (byte 0x";
          message.push_back(kHex[(v >> 4) & 0xF]);
          message.push_back(kHex[v & 0xF]);
          message += ")";
        }
        const detail::TextPosition at = detail::position_of(text_, parser_.problem_offset);
        return Error(ErrorCode::kParse, std::move(message),
                     Origin(options_.origin, at.line, at.column));
      }
      default: {
        Origin context;
        if (parser_.context != nullptr) {
          // The context mark is before the problem mark; map it first (the cursor moves forward).
          context = origin_at(parser_.context_mark);
          message += ", ";
          message += parser_.context;
          message += " started at " + std::to_string(context.line()) + ":" +
                     std::to_string(context.column());
        }
        return Error(ErrorCode::kParse, std::move(message), origin_at(parser_.problem_mark));
      }
    }
  }

  // The typed Value of a scalar event, per its style and tag.
  bool resolve_scalar(const yaml_event_t& event, const Origin& at, Value& out) {
    const std::string_view text = as_view(event.data.scalar.value, event.data.scalar.length);
    const std::string_view tag = as_view(event.data.scalar.tag);
    const bool plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    std::string message;
    if (tag.empty()) {
      if (!plain) {
        out = Value(std::string(text));
        return true;
      }
      if (!resolve_plain(text, out, message)) {
        return fail(at, std::move(message));
      }
      return true;
    }
    const std::string_view core =
        tag.starts_with(kCoreTagPrefix) ? tag.substr(kCoreTagPrefix.size()) : std::string_view();
    const auto mismatch = [&] {
      return fail(at, "value \"" + std::string(text.substr(0, 64)) + "\" does not match its tag " +
                          short_tag(tag));
    };
    if (core == "int") {
      std::int64_t i = 0;
      const IntMatch m = match_int(text, i);
      if (m == IntMatch::kYes) {
        out = Value(i);
        return true;
      }
      if (m == IntMatch::kNo) {
        return mismatch();
      }
      return fail(at, "integer " + std::string(text) + " is out of the 64-bit range");
    }
    if (core == "float") {
      double d = 0;
      const FloatMatch m = match_float(text, d, true);
      if (m == FloatMatch::kYes) {
        out = Value(d);
        return true;
      }
      if (m == FloatMatch::kNo) {
        return mismatch();
      }
      return fail(at, "number " + std::string(text) + " is out of the range of a double");
    }
    if (core == "bool") {
      if (const std::optional<bool> b = bool_word(text)) {
        out = Value(*b);
        return true;
      }
      return mismatch();
    }
    if (core == "null") {
      if (is_null_word(text)) {
        out = Value();
        return true;
      }
      return mismatch();
    }
    if (core == "map" || core == "seq") {
      return fail(at, "tag " + short_tag(tag) + " cannot apply to a scalar");
    }
    // !!str, the non-specific "!", and tags we do not know: the text as written.
    out = Value(std::string(text));
    return true;
  }

  bool on_scalar(const yaml_event_t& event) {
    const Origin at = origin_at(event.start_mark);
    const std::string_view text = as_view(event.data.scalar.value, event.data.scalar.length);
    const std::string_view anchor = as_view(event.data.scalar.anchor);
    if (expecting_key()) {
      Frame& top = frames_.back();
      const std::string_view tag = as_view(event.data.scalar.tag);
      top.has_key = true;
      top.key.assign(text);
      top.key_origin = at;
      top.key_is_merge =
          (text == "<<" && tag.empty() && event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) ||
          tag == "tag:yaml.org,2002:merge";
      if (!anchor.empty()) {
        Value key_value;
        if (!resolve_scalar(event, at, key_value)) {
          return false;
        }
        key_value.set_origin(at);
        define_scalar_anchor(anchor, std::move(key_value), text);
      }
      return true;
    }
    if (!count_node(at)) {
      return false;
    }
    Value value;
    if (!resolve_scalar(event, at, value)) {
      return false;
    }
    value.set_origin(at);
    const Weight weight{1, value.is_string() ? text.size() : 0, 0};
    if (!anchor.empty()) {
      define_scalar_anchor(anchor, value, text);
    }
    return attach(std::move(value), weight, at);
  }

  void define_scalar_anchor(std::string_view name, Value value, std::string_view text) {
    Anchor& anchor = anchors_[std::string(name)];
    anchor.value = std::move(value);
    anchor.weight = Weight{1, text.size(), 0};
    anchor.scalar_text.assign(text);
    anchor.is_scalar = true;
    anchor.open = false;
  }

  bool on_alias(const yaml_event_t& event) {
    const Origin at = origin_at(event.start_mark);
    const std::string name(as_view(event.data.alias.anchor));
    const auto it = anchors_.find(name);
    if (it == anchors_.end()) {
      return fail(at, "undefined alias *" + name);
    }
    const Anchor& anchor = it->second;
    if (anchor.open) {
      return fail(at, "alias *" + name + " refers to a node that contains it (recursive alias)");
    }
    if (expecting_key()) {
      if (!anchor.is_scalar) {
        return fail(at, "mapping keys must be scalars (complex keys are not supported)");
      }
      Frame& top = frames_.back();
      top.has_key = true;
      top.key = anchor.scalar_text;
      top.key_origin = at;
      top.key_is_merge = false;
      return true;
    }
    const Weight weight = anchor.weight;
    if (frames_.size() + weight.height > options_.max_depth) {
      return fail(at, "alias *" + name + " nests deeper than the limit of " +
                          std::to_string(options_.max_depth));
    }
    // Checked before copying, so a bomb is refused without being materialised.
    alias_nodes_ += weight.nodes;
    nodes_ += weight.nodes;
    if (alias_nodes_ > alias_node_budget_ || nodes_ > options_.max_nodes) {
      return fail(at, "alias expansion exceeds the node limit (YAML alias bomb?)");
    }
    alias_bytes_ += weight.bytes;
    if (alias_bytes_ > alias_byte_budget_) {
      return fail(at, "alias expansion exceeds the size limit (YAML alias bomb?)");
    }
    return attach(Value(anchor.value), weight, at);
  }

  bool on_start(const yaml_event_t& event, bool is_mapping) {
    const Origin at = origin_at(event.start_mark);
    if (expecting_key()) {
      return fail(at, "mapping keys must be scalars (complex keys are not supported)");
    }
    if (frames_.size() >= options_.max_depth) {
      return fail(at, "nesting deeper than the limit of " + std::to_string(options_.max_depth));
    }
    if (!count_node(at)) {
      return false;
    }
    const std::string_view tag =
        as_view(is_mapping ? event.data.mapping_start.tag : event.data.sequence_start.tag);
    if (tag.starts_with(kCoreTagPrefix)) {
      const std::string_view core = tag.substr(kCoreTagPrefix.size());
      const bool fits = is_mapping ? (core == "map" || core == "set" || core == "merge")
                                   : (core == "seq" || core == "omap" || core == "pairs");
      if (!fits) {
        return fail(at, "tag " + short_tag(tag) + " cannot apply to a " +
                            (is_mapping ? "mapping" : "sequence"));
      }
    }
    Frame frame;
    frame.is_mapping = is_mapping;
    frame.value = is_mapping ? Value(Object()) : Value(Value::Array());
    frame.value.set_origin(at);
    frame.anchor = std::string(
        as_view(is_mapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor));
    if (!frame.anchor.empty()) {
      // Shadows an earlier anchor of the same name; an alias to it from inside is recursive.
      Anchor& anchor = anchors_[frame.anchor];
      anchor = Anchor();
      anchor.open = true;
    }
    frames_.push_back(std::move(frame));
    return true;
  }

  bool on_end() {
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
    Weight weight = frame.weight;
    weight.nodes += 1;
    weight.height += 1;
    const Origin at = frame.value.origin();
    if (!frame.anchor.empty()) {
      // Anchors keep a copy; nested anchors copy again, so copies are capped too.
      anchor_copy_nodes_ += weight.nodes;
      if (anchor_copy_nodes_ > options_.max_nodes) {
        return fail(at, "anchored nodes hold more than the limit of " +
                            std::to_string(options_.max_nodes) + " nodes");
      }
      Anchor& anchor = anchors_[frame.anchor];
      anchor.value = frame.value;
      anchor.weight = weight;
      anchor.open = false;
    }
    return attach(std::move(frame.value), weight, at);
  }

  // Adds a finished node to the open collection, or makes it the root.
  bool attach(Value value, const Weight& weight, const Origin& at) {
    if (frames_.empty()) {
      root_ = std::move(value);
      have_root_ = true;
      return true;
    }
    Frame& top = frames_.back();
    top.weight.nodes += weight.nodes;
    top.weight.bytes += weight.bytes;
    top.weight.height = std::max(top.weight.height, weight.height);
    if (!top.is_mapping) {
      top.value.as_array().push_back(std::move(value));
      return true;
    }
    top.has_key = false;
    top.weight.bytes += top.key.size();
    if (top.key_is_merge) {
      return merge(top, std::move(value), at);
    }
    Object& object = top.value.as_object();
    if (Value* existing = object.find(top.key); existing != nullptr) {
      if (top.merged_keys.erase(top.key) > 0) {
        *existing = std::move(value);
        return true;
      }
      std::string message = "duplicate key ";
      detail::append_json_string(message, top.key);
      return fail(top.key_origin, std::move(message));
    }
    object.insert(std::move(top.key), std::move(value));
    return true;
  }

  // `<<: *a` or `<<: [*a, *b]`: adds the keys the mapping does not have yet.
  // Keys already present (explicit, or from an earlier merge source) win.
  bool merge(Frame& top, Value source, const Origin& at) {
    Object& target = top.value.as_object();
    const auto merge_one = [&](Value& from) {
      Object& members = from.as_object();
      for (std::size_t i = 0; i < members.size(); ++i) {
        const std::string& key = members.entry(i).first;
        if (target.find(key) == nullptr) {
          top.merged_keys.insert(key);
          target.insert(key, std::move(members.value_at(i)));
        }
      }
    };
    if (source.is_object()) {
      merge_one(source);
      return true;
    }
    if (source.is_array() && std::all_of(source.as_array().begin(), source.as_array().end(),
                                         [](const Value& v) { return v.is_object(); })) {
      for (Value& element : source.as_array()) {
        merge_one(element);
      }
      return true;
    }
    return fail(at, "the merge key '<<' needs a mapping or a sequence of mappings");
  }

  std::string_view text_;
  const ParseOptions& options_;
  MarkMapper marks_;
  yaml_parser_t parser_{};
  bool initialized_ = false;
  std::vector<Frame> frames_;
  std::unordered_map<std::string, Anchor> anchors_;
  Value root_;
  bool have_root_ = false;
  std::size_t nodes_ = 0;
  std::size_t alias_nodes_ = 0;
  std::size_t alias_bytes_ = 0;
  std::size_t anchor_copy_nodes_ = 0;
  const std::size_t alias_node_budget_;
  const std::size_t alias_byte_budget_;
  std::optional<Error> error_;
};

}  // namespace

Result<Value> YamlFormat::parse(std::string_view text, const ParseOptions& options) const {
  if (Status size = detail::check_input_size(text, options); !size.ok()) {
    return size;
  }
  return YamlParser(detail::strip_utf8_bom(text), options).run();
}

}  // namespace liveconf
