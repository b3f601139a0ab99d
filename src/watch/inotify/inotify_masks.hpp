// The inotify masks and limits of the inotify backend, shared by its path
// resolution (inotify_dependencies.cpp) and its event loop.
#pragma once

#include <cstdint>
#include <sys/inotify.h>

namespace liveconf::detail {

// Directories holding a watched file (or a symlink on its way) need every
// event that can change that entry: IN_CLOSE_WRITE and IN_MOVED_TO say a write
// is complete; IN_MODIFY is left out on purpose (it fires before the data).
constexpr std::uint32_t kLeafMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                    IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
// Ancestors only need to say that the next directory on the way was renamed,
// replaced or deleted; so busy ancestors (/tmp) cost few events.
constexpr std::uint32_t kAncestorMask =
    IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF;
// Events on an entry that can change what a watched path resolves to (the
// entry appears, goes, is replaced, or becomes searchable); the others
// (IN_CLOSE_WRITE) change only contents, and need no re-resolution.
constexpr std::uint32_t kMovesPathMask =
    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr std::uint32_t kWatchFlags = IN_ONLYDIR | IN_EXCL_UNLINK;
// Symlink hops before giving up with ELOOP, as the kernel's limit.
constexpr int kMaxSymlinkHops = 40;
// Re-resolutions per event before we accept that the tree keeps moving (the
// next event resolves again).
constexpr int kMaxArmRounds = 8;

}  // namespace liveconf::detail
