// Warnings from places that belong to no manager's log (watch backends
// falling back to polling, inotify limits): to the sink the user gave, or to
// stderr, so a degraded path is never silent.
#pragma once

#include <functional>
#include <iostream>
#include <string_view>

namespace liveconf::detail {

inline void warn_to_sink_or_stderr(const std::function<void(std::string_view)>& sink,
                                   std::string_view message) {
  if (sink) {
    sink(message);
  } else {
    std::cerr << "liveconf: warning: " << message << '\n';
  }
}

}  // namespace liveconf::detail
