#include "cli/exit_codes.hpp"

#include <cstdio>

#include "liveconf/liveconf.hpp"

#include "cli/printer.hpp"

namespace liveconf::cli {

int exit_code_for(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kParse:
    case ErrorCode::kType:
    case ErrorCode::kValidation:
    case ErrorCode::kFailedPrecondition:
      return kExitConfig;
    case ErrorCode::kNotFound:
    case ErrorCode::kIo:
      return kExitIo;
    case ErrorCode::kUnavailable:
      return kExitUnavailable;
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

int fail(const Error& e) {
  std::fprintf(stderr, "liveconf: %s\n", format_error(e).c_str());
  return exit_code_for(e);
}

int usage(const Error& e) {
  std::fprintf(stderr, "liveconf: %s\n", format_error(e).c_str());
  return kExitUsage;
}

}  // namespace liveconf::cli
