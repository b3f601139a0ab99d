// File: liveconf/path.hpp
//
// KeyPath names one node of a configuration tree: a list of segments such as
// {"server", "port"}, written in dotted form as "server.port". A segment that
// itself contains a dot or a backslash is escaped with a backslash, so the key
// "example.com" under "hosts" is written "hosts.example\.com".
//
//   liveconf::KeyPath p("hosts.example\\.com.port");
//   p.size();        // 3
//   p.to_string();   // "hosts.example\\.com.port"
//
// Text always means the dotted form: KeyPath("db.port"), KeyPath{"db.port"} and
// subscribe(name, "db.port", ...) all name the two segments {"db", "port"}. A
// key that is itself dotted is either escaped ("hosts.example\\.com") or built
// from literal segments, which has its own name so it cannot happen by accident:
//
//   liveconf::KeyPath::from_segments({"hosts", "example.com"}).size();  // 2
//
// Numeric segments address array elements when a path is looked up in a Value
// ("endpoints.0"). Paths are plain values: cheap to copy for short paths, safe
// to share between threads when not mutated.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/export.hpp"

namespace liveconf {

template <typename T>
class Result;

/// A dotted key path. Thread-safety: like std::vector (const use is safe).
class LIVECONF_API KeyPath {
 public:
  KeyPath() = default;

  /// Builds a path from already split segments, taken literally: no dot splits and
  /// no escape is interpreted, so from_segments({"db.port"}) has one segment
  /// "db.port" where KeyPath("db.port") has two.
  [[nodiscard]] static KeyPath from_segments(std::vector<std::string> segments) {
    KeyPath path;
    path.segments_ = std::move(segments);
    return path;
  }

  /// Parses dotted text leniently, for literals in code: "a.b\.c" is {"a", "b.c"}.
  /// A trailing lone backslash is kept literally and empty text is the root path.
  /// Use parse() where the text comes from a user and a bad path must be an error.
  KeyPath(std::string_view dotted);  // NOLINT(google-explicit-constructor): paths read as text
  KeyPath(const char* dotted) : KeyPath(std::string_view(dotted)) {}         // NOLINT
  KeyPath(const std::string& dotted) : KeyPath(std::string_view(dotted)) {}  // NOLINT

  /// Parses dotted text strictly. Errors (kValidation): an empty segment ("a..b",
  /// ".a", "a."), or a dangling escape ("a\").
  [[nodiscard]] static Result<KeyPath> parse(std::string_view dotted);

  /// The dotted form, escaping '.' and '\' inside segments. The root is "".
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] const std::vector<std::string>& segments() const noexcept { return segments_; }
  [[nodiscard]] std::size_t size() const noexcept { return segments_.size(); }
  [[nodiscard]] bool empty() const noexcept { return segments_.empty(); }
  [[nodiscard]] const std::string& operator[](std::size_t i) const { return segments_[i]; }
  [[nodiscard]] const std::string& back() const { return segments_.back(); }

  /// Returns a new path with `segment` appended.
  [[nodiscard]] KeyPath child(std::string_view segment) const;
  /// Returns the path without its last segment (the root stays the root).
  [[nodiscard]] KeyPath parent() const;
  void push_back(std::string segment) { segments_.push_back(std::move(segment)); }
  void pop_back() { segments_.pop_back(); }
  /// Prepends `segment`; used when errors travel up from nested values.
  void push_front(std::string segment);

  /// True when `prefix` is this path or one of its ancestors. The root is a prefix of all.
  [[nodiscard]] bool starts_with(const KeyPath& prefix) const noexcept;

  friend bool operator==(const KeyPath&, const KeyPath&) = default;
  /// Segment by segment (as std::string compares), a prefix before its extensions.
  // Written out rather than defaulted: libc++ 14 has no operator<=> for std::vector
  // (nor for std::string), and the libcxx build must compile this header.
  friend std::strong_ordering operator<=>(const KeyPath& a, const KeyPath& b) noexcept {
    const std::size_t common = std::min(a.segments_.size(), b.segments_.size());
    for (std::size_t i = 0; i < common; ++i) {
      if (const int c = a.segments_[i].compare(b.segments_[i]); c != 0) {
        return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
      }
    }
    return a.segments_.size() <=> b.segments_.size();
  }

 private:
  std::vector<std::string> segments_;
};

/// Escapes one segment for the dotted form ("a.b" -> "a\.b").
[[nodiscard]] LIVECONF_API std::string escape_key_segment(std::string_view segment);

}  // namespace liveconf
