// The polling backend: one thread per watcher re-reads every watched path each
// interval and compares a fingerprint that includes a content hash, because
// mtime alone misses same-size rewrites within one timestamp tick and NFS
// caches attributes.
#pragma once

#include <chrono>
#include <memory>

#include "liveconf/watcher.hpp"

namespace liveconf::detail {

/// Sends a warning to options.warn, or to stderr when none is set.
void warn(const WatcherOptions& options, std::string_view message);

/// A watcher that reports both `a`'s and `b`'s signals (inotify + slow poll).
std::shared_ptr<Watcher> make_hybrid_watcher(std::shared_ptr<Watcher> a,
                                             std::shared_ptr<Watcher> b);

}  // namespace liveconf::detail
