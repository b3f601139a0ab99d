#include "liveconf/status.hpp"

#include <cstdlib>
#include <iostream>

namespace liveconf {
namespace {
const std::string kEmpty;
}  // namespace

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kParse:
      return "parse";
    case ErrorCode::kType:
      return "type";
    case ErrorCode::kValidation:
      return "validation";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
  }
  return "unknown";
}

Origin Origin::named(std::string source) {
  auto info = std::make_shared<OriginInfo>();
  info->source = std::move(source);
  return Origin(std::move(info));
}

const std::string& Origin::source() const noexcept { return info_ ? info_->source : kEmpty; }
const std::string& Origin::file() const noexcept { return info_ ? info_->file : kEmpty; }
const std::string& Origin::env_var() const noexcept { return info_ ? info_->env_var : kEmpty; }
const std::string& Origin::remote_key() const noexcept {
  return info_ ? info_->remote_key : kEmpty;
}

std::string Origin::location() const {
  std::string out;
  if (!file().empty()) {
    out = file();
    if (line_ > 0) {
      out += ":" + std::to_string(line_);
      if (column_ > 0) {
        out += ":" + std::to_string(column_);
      }
    }
  } else if (!env_var().empty()) {
    out = "$" + env_var();
  } else if (!remote_key().empty()) {
    out = remote_key();
    if (revision() > 0) {
      out += "@" + std::to_string(revision());
    }
    if (line_ > 0) {  // inside a document held by one key
      out += ":" + std::to_string(line_);
      if (column_ > 0) {
        out += ":" + std::to_string(column_);
      }
    }
  } else if (line_ > 0) {
    out = "line " + std::to_string(line_);
    if (column_ > 0) {
      out += ", column " + std::to_string(column_);
    }
  }
  return out;
}

std::string Origin::to_string() const {
  std::string out = location();
  const std::string& src = source();
  if (!src.empty()) {
    if (!out.empty()) {
      out += ", ";
    }
    out += "layer \"" + src + "\"";
  }
  return out;
}

bool operator==(const Origin& a, const Origin& b) noexcept {
  if (a.line_ != b.line_ || a.column_ != b.column_) {
    return false;
  }
  if (a.info_ == b.info_) {
    return true;
  }
  if (!a.info_ || !b.info_) {
    return false;
  }
  return a.info_->source == b.info_->source && a.info_->file == b.info_->file &&
         a.info_->env_var == b.info_->env_var && a.info_->remote_key == b.info_->remote_key &&
         a.info_->revision == b.info_->revision;
}

Error& Error::prefix_path(std::string_view segment) & {
  path_.push_front(std::string(segment));
  return *this;
}

std::string Error::to_string() const {
  std::string out = message_;
  if (!path_.empty()) {
    out += " at " + path_.to_string();
  }
  std::string where = origin_.to_string();
  if (!where.empty()) {
    out += " (" + where + ")";
  }
  if (!detail_.empty()) {
    out += ", " + detail_;
  }
  return out;
}

const Error& Status::error() const {
  if (!error_) {
    // Reading the error of an ok Status is a programming error; going on would
    // dereference null.
    std::cerr << "liveconf: Status::error() called on an ok Status\n";
    std::abort();
  }
  return *error_;
}

Error& Status::error() {
  return const_cast<Error&>(static_cast<const Status&>(*this).error());  // NOLINT
}

std::string Status::to_string() const { return ok() ? "ok" : error_->to_string(); }

struct BadResultAccess::State {
  Error error;
  std::string what;
};

BadResultAccess::BadResultAccess(Error error) {
  std::string what = error.to_string();
  state_ = std::make_shared<const State>(State{std::move(error), std::move(what)});
}

const Error& BadResultAccess::error() const noexcept { return state_->error; }

const char* BadResultAccess::what() const noexcept { return state_->what.c_str(); }

namespace detail {

void throw_bad_result_access(const Error& error) { throw BadResultAccess(error); }

void abort_error_on_value() {
  // Same policy as Status::error() on an ok Status: there is no Error to hand
  // out, and inventing one would hide the bug.
  std::cerr << "liveconf: Result::error() called on a Result that holds a value\n";
  std::abort();
}

}  // namespace detail

}  // namespace liveconf
