// Exponential backoff for retries of transient failures.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace liveconf::detail {

/// Retries of transient failures (EIO, out of memory) back off from `base`
/// (at least 10 ms), doubling per attempt, up to `cap`.
[[nodiscard]] inline std::chrono::milliseconds backoff(
    std::chrono::milliseconds base, unsigned attempt,
    std::chrono::milliseconds cap = std::chrono::milliseconds(30'000)) noexcept {
  base = std::max(base, std::chrono::milliseconds(10));
  const unsigned shift = std::min(attempt, 12U);
  return std::min(base * (std::int64_t{1} << shift), cap);
}

}  // namespace liveconf::detail
