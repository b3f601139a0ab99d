// make_watcher behind the public one, with the inotify instance's syscalls
// replaceable: the seam fault-injection tests and the file source's hooks use.
#pragma once

#include <filesystem>
#include <memory>

#include "liveconf/watcher.hpp"

namespace liveconf::detail {

struct InotifySyscalls;

// As make_watcher(); with `syscalls` non-null, inotify is a private instance
// making those calls instead of the process's shared one.
std::shared_ptr<Watcher> make_watcher_with_syscalls(const std::filesystem::path& path,
                                                    WatchMode mode, const WatcherOptions& options,
                                                    const InotifySyscalls* syscalls);

}  // namespace liveconf::detail
