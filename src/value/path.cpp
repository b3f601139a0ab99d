#include "liveconf/path.hpp"

#include "liveconf/status.hpp"

namespace liveconf {
namespace {

// Splits dotted text. Strict mode reports empty segments and dangling escapes.
Status split(std::string_view text, bool strict, std::vector<std::string>& out) {
  out.clear();
  if (text.empty()) {
    return ok_status();
  }
  std::string current;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      if (i + 1 < text.size()) {
        current.push_back(text[++i]);
      } else if (strict) {
        return Error(ErrorCode::kValidation, "key path ends with a lone backslash", {}, {},
                     "path \"" + std::string(text) + "\"");
      } else {
        current.push_back('\\');
      }
    } else if (c == '.') {
      if (strict && current.empty()) {
        return Error(ErrorCode::kValidation, "key path has an empty segment", {}, {},
                     "path \"" + std::string(text) + "\"");
      }
      out.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (strict && current.empty()) {
    return Error(ErrorCode::kValidation, "key path has an empty segment", {}, {},
                 "path \"" + std::string(text) + "\"");
  }
  out.push_back(std::move(current));
  return ok_status();
}

}  // namespace

KeyPath::KeyPath(std::string_view dotted) { (void)split(dotted, false, segments_); }

Result<KeyPath> KeyPath::parse(std::string_view dotted) {
  std::vector<std::string> segments;
  Status st = split(dotted, true, segments);
  if (!st.ok()) {
    return st;
  }
  return KeyPath::from_segments(std::move(segments));
}

std::string escape_key_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    if (c == '.' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

std::string KeyPath::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (i > 0) {
      out.push_back('.');
    }
    out += escape_key_segment(segments_[i]);
  }
  return out;
}

KeyPath KeyPath::child(std::string_view segment) const {
  KeyPath out = *this;
  out.segments_.emplace_back(segment);
  return out;
}

KeyPath KeyPath::parent() const {
  KeyPath out = *this;
  if (!out.segments_.empty()) {
    out.segments_.pop_back();
  }
  return out;
}

void KeyPath::push_front(std::string segment) {
  segments_.insert(segments_.begin(), std::move(segment));
}

bool KeyPath::starts_with(const KeyPath& prefix) const noexcept {
  if (prefix.size() > size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (segments_[i] != prefix.segments_[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace liveconf
