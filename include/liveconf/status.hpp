// File: liveconf/status.hpp
//
// Errors as values. Every liveconf operation that can fail for a reason the
// environment controls (a file, a variable, a remote server) returns a Status
// ("ok or Error") or a Result<T> ("T or Error") instead of throwing.
//
//   liveconf::Result<liveconf::Value> v = format->parse(text, opts);
//   if (!v) {
//     std::cerr << v.error().to_string() << "\n";
//     // expected integer at server.port (config.yaml:12:9, layer "file:config.yaml"),
//     // got string "80a"
//   }
//
// An Error carries a short code, a message, the Origin of the offending value
// (source, file, line, column, env var, remote key) and the key path.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "liveconf/export.hpp"
#include "liveconf/path.hpp"

namespace liveconf {

/// The closed set of error kinds; the CLI maps each to one exit code.
enum class ErrorCode : std::uint8_t {
  kNotFound,     // a config, key, file or variable that is not there
  kParse,        // text that is not valid in its format, or over a size/depth limit
  kType,         // a value of the wrong type for its field
  kValidation,   // a value of the right type that a validator refused, or a bad argument
  kIo,           // reading or writing failed (permission, EIO, ...)
  kUnavailable,  // transient: a remote source unreachable, EIO, out of memory (may pass if retried)
  kCancelled,    // the operation was stopped (shutdown)
  kInternal,     // a broken invariant or misuse; a bug report is in order
  // The config's state does not allow it now: pinned, nothing healthy to go
  // back to, or a newer generation is served than the one named.
  kFailedPrecondition,
};

/// "not_found", "parse", ... for messages and JSON output.
[[nodiscard]] LIVECONF_API std::string_view error_code_name(ErrorCode code) noexcept;

/// Where a set of values came from; shared by every node read from the same
/// place (one file, one variable, one remote key), so a tree stores it once.
struct OriginInfo {
  std::string source;         // layer name: "file:/etc/app.yaml", "env:APP", "override", ...
  std::string file;           // file path when the values came from a file
  std::string env_var;        // environment variable name
  std::string remote_key;     // remote (etcd) key
  std::int64_t revision = 0;  // remote modification revision
};

/// The origin of one value: shared OriginInfo plus a 1-based line and column
/// (0 when unknown). Columns count bytes, not characters: a decision shared with
/// toml++, since byte columns are what editors' "go to byte" and our parsers agree on.
/// Thread-safety: immutable once built.
class LIVECONF_API Origin {
 public:
  Origin() = default;
  explicit Origin(std::shared_ptr<const OriginInfo> info, std::uint32_t line = 0,
                  std::uint32_t column = 0) noexcept
      : info_(std::move(info)), line_(line), column_(column) {}

  /// Convenience: an origin that only names its layer/source.
  [[nodiscard]] static Origin named(std::string source);

  [[nodiscard]] bool empty() const noexcept { return info_ == nullptr && line_ == 0; }
  [[nodiscard]] const std::string& source() const noexcept;
  [[nodiscard]] const std::string& file() const noexcept;
  [[nodiscard]] const std::string& env_var() const noexcept;
  [[nodiscard]] const std::string& remote_key() const noexcept;
  [[nodiscard]] std::int64_t revision() const noexcept { return info_ ? info_->revision : 0; }
  [[nodiscard]] std::uint32_t line() const noexcept { return line_; }
  [[nodiscard]] std::uint32_t column() const noexcept { return column_; }
  [[nodiscard]] const std::shared_ptr<const OriginInfo>& info() const noexcept { return info_; }

  /// Same info, another position.
  [[nodiscard]] Origin at(std::uint32_t line, std::uint32_t column) const {
    return Origin(info_, line, column);
  }

  /// "config.yaml:12:9" for files, "$APP__PORT" for variables, "/app/port@42" for
  /// remote keys, then `, layer "<source>"` when the source adds something. Empty
  /// string when nothing is known.
  [[nodiscard]] std::string to_string() const;
  /// Just the location part: "config.yaml:12:9", "$APP__PORT", "/app/port@42" or "".
  [[nodiscard]] std::string location() const;

  friend bool operator==(const Origin& a, const Origin& b) noexcept;

 private:
  friend class Value;  // keeps the parts apart, and moves info_ out of an rvalue Origin

  std::shared_ptr<const OriginInfo> info_;
  std::uint32_t line_ = 0;
  std::uint32_t column_ = 0;
};

/// A failure: code, message, where, and at which key.
/// Thread-safety: a value type; const use is safe from many threads.
class LIVECONF_API Error {
 public:
  Error(ErrorCode code, std::string message, Origin origin = {}, KeyPath path = {},
        std::string detail = {})
      : code_(code),
        message_(std::move(message)),
        origin_(std::move(origin)),
        path_(std::move(path)),
        detail_(std::move(detail)) {}

  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  /// What went wrong, without location: "expected integer".
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  [[nodiscard]] const Origin& origin() const noexcept { return origin_; }
  [[nodiscard]] const KeyPath& path() const noexcept { return path_; }
  /// What was found instead, already masked for secrets: `got string "80a"`.
  [[nodiscard]] const std::string& detail() const noexcept { return detail_; }

  Error& set_origin(Origin origin) & {
    origin_ = std::move(origin);
    return *this;
  }
  Error& set_path(KeyPath path) & {
    path_ = std::move(path);
    return *this;
  }
  /// Adds a parent key in front of the path, as errors travel up a nested bind.
  Error& prefix_path(std::string_view segment) &;

  /// The full sentence:
  /// `expected integer at server.port (config.yaml:12:9, layer "file:x"), got string "80a"`.
  [[nodiscard]] std::string to_string() const;

 private:
  ErrorCode code_;
  std::string message_;
  Origin origin_;
  KeyPath path_;
  std::string detail_;
};

/// Ok, or an Error. Cheap when ok (one null pointer).
class LIVECONF_NODISCARD_API Status {
 public:
  Status() noexcept = default;
  Status(Error error)  // NOLINT(google-explicit-constructor): `return Error(...)` reads well
      : error_(std::make_unique<Error>(std::move(error))) {}
  Status(const Status& other)
      : error_(other.error_ ? std::make_unique<Error>(*other.error_) : nullptr) {}
  Status(Status&&) noexcept = default;
  Status& operator=(const Status& other) {
    if (this != &other) {
      error_ = other.error_ ? std::make_unique<Error>(*other.error_) : nullptr;
    }
    return *this;
  }
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  [[nodiscard]] bool ok() const noexcept { return error_ == nullptr; }
  explicit operator bool() const noexcept { return ok(); }
  /// The error; calling this on an ok Status is a programming error.
  [[nodiscard]] const Error& error() const;
  [[nodiscard]] Error& error();
  /// "ok" or error().to_string().
  [[nodiscard]] std::string to_string() const;

 private:
  std::unique_ptr<Error> error_;
};

[[nodiscard]] inline Status ok_status() noexcept { return Status(); }

/// Thrown by Result<T>::value() (and `*`, `->`) on a Result that holds an Error,
/// the way std::expected throws std::bad_expected_access<E>: reaching for the
/// value without checking is a programming error, and the exception carries the
/// Error so the caller that catches it still learns what went wrong.
///
///   try {
///     int port = liveconf::Result<int>(liveconf::Error(liveconf::ErrorCode::kNotFound,
///                                                      "no port")).value();
///   } catch (const liveconf::BadResultAccess& e) {
///     e.error().code();  // ErrorCode::kNotFound
///     e.what();          // "no port" (Error::to_string())
///   }
///
/// Thread-safety: immutable; copies share the Error and never throw.
class LIVECONF_API BadResultAccess : public std::exception {
 public:
  explicit BadResultAccess(Error error);

  /// The Error the Result held.
  [[nodiscard]] const Error& error() const noexcept;
  /// error().to_string(): the message, with path, origin and detail when known.
  [[nodiscard]] const char* what() const noexcept override;

 private:
  struct State;
  std::shared_ptr<const State> state_;  // shared so copying an exception cannot throw
};

// Implementation details below
namespace detail {
/// Throws BadResultAccess carrying a copy of `error`; out of line so every
/// Result<T> instantiation shares one cold path.
[[noreturn]] LIVECONF_API void throw_bad_result_access(const Error& error);
/// Reports Result<T>::error() called on a Result holding a value and aborts.
[[noreturn]] LIVECONF_API void abort_error_on_value();
}  // namespace detail

/// A T or an Error; a subset of std::expected's interface so it can become an
/// alias once the toolchain has <expected>.
///
/// Misuse is caught, never undefined: value(), `*` and `->` on an error throw
/// BadResultAccess (carrying the Error); error() on a value is a programming
/// error that aborts with a message, like Status::error() on an ok Status.
/// Check has_value() / ok() / `if (result)` first.
///
/// Thread-safety: a value type; const use is safe from many threads.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");

 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}      // NOLINT
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  /// From a failed Status; passing an ok Status is a programming error.
  Result(Status status) : storage_(std::in_place_index<1>, std::move(status.error())) {}  // NOLINT

  [[nodiscard]] bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  /// has_value(), spelled as Status spells it (Abseil's StatusOr::ok()).
  [[nodiscard]] bool ok() const noexcept { return has_value(); }

  /// The value. Throws BadResultAccess carrying the Error when there is none.
  [[nodiscard]] T& value() & {
    check_value();
    return *std::get_if<0>(&storage_);
  }
  [[nodiscard]] const T& value() const& {
    check_value();
    return *std::get_if<0>(&storage_);
  }
  [[nodiscard]] T&& value() && {
    check_value();
    return std::move(*std::get_if<0>(&storage_));
  }
  /// The error. Calling this on a Result that holds a value aborts (programming error).
  [[nodiscard]] const Error& error() const& {
    check_error();
    return *std::get_if<1>(&storage_);
  }
  [[nodiscard]] Error& error() & {
    check_error();
    return *std::get_if<1>(&storage_);
  }
  [[nodiscard]] Error&& error() && {
    check_error();
    return std::move(*std::get_if<1>(&storage_));
  }

  [[nodiscard]] T& operator*() & { return value(); }
  [[nodiscard]] const T& operator*() const& { return value(); }
  [[nodiscard]] T&& operator*() && { return std::move(*this).value(); }
  [[nodiscard]] T* operator->() { return &value(); }
  [[nodiscard]] const T* operator->() const { return &value(); }

  /// The Status of this result: ok, or a copy of the error.
  [[nodiscard]] Status status() const { return has_value() ? Status() : Status(error()); }

 private:
  void check_value() const {
    if (!has_value()) {
      detail::throw_bad_result_access(*std::get_if<1>(&storage_));
    }
  }
  void check_error() const {
    if (has_value()) {
      detail::abort_error_on_value();
    }
  }

  std::variant<T, Error> storage_;
};

}  // namespace liveconf
