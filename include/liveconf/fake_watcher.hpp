// File: liveconf/fake_watcher.hpp
//
// FakeWatcher: a Watcher whose events the test fires by hand, for testing a
// Source or anything else built on the Watcher interface without a real
// filesystem, kernel events or poll intervals:
//
//   auto watcher = std::make_shared<liveconf::FakeWatcher>();
//   liveconf::WatchHandle h = watcher->watch("/etc/app.yaml", on_change).value();
//   watcher->fire("/etc/app.yaml");  // on_change runs now, on this thread
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "liveconf/export.hpp"
#include "liveconf/status.hpp"
#include "liveconf/watcher.hpp"

namespace liveconf {

/// A Watcher driven by hand.
///
/// Thread-safety: every member may be called from any thread; fire() runs
/// the callbacks on the calling thread, one at a time (fires from several
/// threads are serialised). The handles keep the Watcher contract: once
/// cancel() returns the callback is not running (unless cancelled from inside
/// it) and will not run again.
class LIVECONF_API FakeWatcher final : public Watcher {
 public:
  FakeWatcher();
  ~FakeWatcher() override;
  FakeWatcher(const FakeWatcher&) = delete;
  FakeWatcher& operator=(const FakeWatcher&) = delete;

  /// "fake".
  [[nodiscard]] std::string_view name() const noexcept override { return "fake"; }
  /// Records the watch. Errors: the one given to fail_watches(), if any.
  [[nodiscard]] Result<WatchHandle> watch(const std::filesystem::path& path,
                                          std::function<void()> on_change) override;
  /// What set_busy() said for `path` (false by default).
  [[nodiscard]] bool busy(const std::filesystem::path& path) const override;

  /// Calls every live watch of `path` (compared as given to watch()), on
  /// this thread. Returns how many callbacks ran.
  std::size_t fire(const std::filesystem::path& path);
  /// Calls every live watch: what a backend does after losing events.
  std::size_t fire_all();
  /// What busy(path) answers from now on.
  void set_busy(const std::filesystem::path& path, bool busy);
  /// Makes later watch() calls fail with `error` (nullopt: succeed again),
  /// to test a caller's fallback.
  void fail_watches(std::optional<Error> error);
  /// Live watches of `path`.
  [[nodiscard]] std::size_t watch_count(const std::filesystem::path& path) const;

  // Implementation details below.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace liveconf
