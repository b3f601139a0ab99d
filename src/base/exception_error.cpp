#include "base/exception_error.hpp"

#include <exception>
#include <new>
#include <string>

namespace liveconf::detail {

Error current_exception_error(std::string_view during) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Error(ErrorCode::kUnavailable, "out of memory " + std::string(during));
  } catch (const std::exception& ex) {
    return Error(ErrorCode::kInternal,
                 "an exception " + std::string(during) + ": " + std::string(ex.what()));
  } catch (...) {
    return Error(ErrorCode::kInternal, "an unknown exception " + std::string(during));
  }
}

}  // namespace liveconf::detail
