// The file source's test seams, kept out of the public FileSourceOptions:
// fault-injected reads, a fault-injected inotify instance, and when a file
// counts as settled.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "liveconf/source.hpp"

namespace liveconf::detail {

struct FileSyscalls;     // sources/file/read_file.hpp
struct InotifySyscalls;  // watch/inotify/inotify_watcher.hpp

struct FileSourceHooks {
  // Replaces the open/read calls (EACCES, EIO); null: the real calls.
  std::shared_ptr<const FileSyscalls> file_syscalls{};
  // A private inotify instance making these calls (EMFILE, ENOSPC); null:
  // the process's instance.
  std::shared_ptr<const InotifySyscalls> inotify_syscalls{};
  // How old a file's last change must be for its stat stamp to stand for its
  // bytes (FileRead::settled); tests make every file settled with a negative
  // value. Null: what the file's filesystem needs.
  std::optional<std::chrono::nanoseconds> settled_after{};
};

// make_file_source() with `hooks`. Errors: as make_file_source().
Result<std::unique_ptr<Source>> make_file_source_with_hooks(FileSourceOptions options,
                                                            FileSourceHooks hooks);

}  // namespace liveconf::detail
