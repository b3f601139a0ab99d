// The watchdog-shaped Observer's engine: watches a directory (or one file)
// with liveconf's watch backends and reports settled changes of the entries
// in it (created, deleted, modified by content, moved by inode), never the
// syscalls of a save: an editor's temp file renamed over the target is one
// "moved" (or "modified") event for the target, after the writer closed it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pybind11/pybind11.h>

#include "liveconf/watcher.hpp"

#include "python/convert.hpp"

namespace liveconf::python {

class DirectoryWatch {
 public:
  /// `callback(events)` receives a list of (kind, src_path, dest_path,
  /// is_directory) tuples, kind one of "created", "deleted", "modified",
  /// "moved"; on the watch's own thread, with the GIL taken for the call.
  DirectoryWatch(std::filesystem::path path, bool recursive, std::chrono::milliseconds settle,
                 py::object callback);
  ~DirectoryWatch();
  DirectoryWatch(const DirectoryWatch&) = delete;
  DirectoryWatch& operator=(const DirectoryWatch&) = delete;

  /// Starts watching (the first scan is the baseline: no events for what exists).
  void start();
  /// Stops and joins the thread; idempotent. From the callback itself it only
  /// asks the thread to stop.
  void stop();
  [[nodiscard]] bool running() const;
  [[nodiscard]] std::uint64_t scans() const;

 private:
  struct Entry {
    bool directory = false;
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t hash = 0;
  };
  using Listing = std::map<std::string, Entry>;

  void run(Listing listing);
  Listing scan() const;
  void rewatch(const Listing& listing);
  void signal();
  py::list events(const Listing& before, const Listing& after) const;

  std::filesystem::path path_;
  bool recursive_;
  std::chrono::milliseconds settle_;
  PyRef callback_;
  std::shared_ptr<Watcher> watcher_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool signalled_ = false;
  bool started_ = false;
  std::uint64_t scans_ = 0;
  std::map<std::string, WatchHandle> handles_;  // directory -> its watch
  std::thread thread_;
};

}  // namespace liveconf::python
