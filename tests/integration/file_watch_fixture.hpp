// Shared fixture for the file-watching integration tests (BEHAVIOUR.md
// sections 1-4): a ConfigManager with one untyped config "app", file sources
// on real files in a fresh TempDir, the real kernel inotify, and helpers to
// wait on conditions with deadlines.
//
// Negative assertions ("no reload") use a sentinel: a second source whose
// change is published after the writes that must not trigger anything. The
// watcher delivers events in order, so once the sentinel's change is
// published, any reload the earlier writes caused has run too; then the
// first source's `loads` must not have moved.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/source.hpp"
#include "liveconf/store.hpp"
#include "liveconf/watcher.hpp"

#include "sources/file/file_source.hpp"
#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"
#include "watch/inotify/inotify_watcher.hpp"

namespace liveconf::testing {

/// The process's inotify watcher as the concrete backend (for watch counts).
inline std::shared_ptr<detail::InotifyWatcher> shared_inotify() {
  Result<std::shared_ptr<Watcher>> w = inotify_watcher();
  if (!w) {
    ADD_FAILURE() << "inotify_watcher(): " << w.error().to_string();
    return nullptr;
  }
  auto concrete = std::dynamic_pointer_cast<detail::InotifyWatcher>(*w);
  if (!concrete) {
    ADD_FAILURE() << "inotify_watcher() is not a detail::InotifyWatcher";
  }
  return concrete;
}

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Small debounce values keep the suite fast.
inline constexpr Debounce kFastDebounce{std::chrono::milliseconds(50),
                                        std::chrono::milliseconds(1000)};
inline constexpr std::string_view kConfig = "app";

/// A scalar as text ("v1" for a string, "3" for an int); nullopt when absent.
inline std::optional<std::string> scalar_text(const Value* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_string()) {
    return std::string(v->as_string());
  }
  return v->to_display_string();
}

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override { start_manager(); }

  void TearDown() override {
    subscription_ = Subscription();
    manager.reset();
  }

  /// (Re)creates the manager and registers the untyped config "app".
  void start_manager() {
    subscription_ = Subscription();
    manager.reset();
    ManagerOptions o;
    o.log = [this](LogLevel, std::string_view message) {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.emplace_back(message);
    };
    o.on_source_event = [this](const SourceEvent& event) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(event);
    };
    manager = std::make_unique<ConfigManager>(std::move(o));
    const Status st = manager->register_untyped(std::string(kConfig));
    ASSERT_TRUE(st.ok()) << st.to_string();
  }

  static FileSourceOptions options(const fs::path& path, Debounce debounce = kFastDebounce,
                                   WatchMode mode = WatchMode::kAuto, bool optional = false) {
    FileSourceOptions o;
    o.path = path;
    o.debounce = debounce;
    o.watch = mode;
    o.optional = optional;
    o.watcher.poll_interval = std::chrono::milliseconds(20);
    o.watcher.hybrid_poll_interval = std::chrono::milliseconds(100);
    return o;
  }

  Status add_file(FileSourceOptions o, detail::FileSourceHooks hooks = {}) {
    Result<std::unique_ptr<Source>> source =
        detail::make_file_source_with_hooks(std::move(o), std::move(hooks));
    if (!source) {
      return source.status();
    }
    return manager->add_source(kConfig, std::move(*source));
  }
  Status add_file(const fs::path& path, Debounce debounce = kFastDebounce,
                  WatchMode mode = WatchMode::kAuto, bool optional = false) {
    return add_file(options(path, debounce, mode, optional));
  }

  static std::string layer_name(const fs::path& path) { return "file:" + path.string(); }

  [[nodiscard]] std::optional<SourceStatus> source_status(const fs::path& path) const {
    Result<ConfigStatus> st = manager->status(kConfig);
    if (!st) {
      return std::nullopt;
    }
    const std::string name = layer_name(path);
    for (const SourceStatus& s : st->sources) {
      if (s.name == name) {
        return s;
      }
    }
    return std::nullopt;
  }
  [[nodiscard]] std::uint64_t loads(const fs::path& path) const {
    const auto s = source_status(path);
    return s ? s->loads : 0;
  }
  [[nodiscard]] std::optional<SourceState> state(const fs::path& path) const {
    const auto s = source_status(path);
    return s ? std::optional<SourceState>(s->state) : std::nullopt;
  }
  [[nodiscard]] std::string last_error(const fs::path& path) const {
    const auto s = source_status(path);
    return s && s->last_error ? s->last_error->to_string() : std::string();
  }
  [[nodiscard]] std::uint64_t publishes() const {
    Result<ConfigStatus> st = manager->status(kConfig);
    return st ? st->publishes : 0;
  }
  [[nodiscard]] std::uint64_t generation() const {
    Result<SnapshotPtr> s = manager->snapshot(kConfig);
    return s ? (*s)->generation() : 0;
  }

  /// The current value of a top-level (or dotted) key as text.
  [[nodiscard]] std::optional<std::string> value(std::string_view key) const {
    Result<SnapshotPtr> s = manager->snapshot(kConfig);
    if (!s) {
      return std::nullopt;
    }
    return scalar_text((*s)->find(KeyPath(key)));
  }

  bool wait_value(std::string_view key, const std::string& expected,
                  std::chrono::milliseconds timeout = 10s) const {
    return wait_until([&] { return value(key) == expected; }, timeout);
  }
  bool wait_loads(const fs::path& path, std::uint64_t at_least,
                  std::chrono::milliseconds timeout = 10s) const {
    return wait_until([&] { return loads(path) >= at_least; }, timeout);
  }
  bool wait_state(const fs::path& path, SourceState s,
                  std::chrono::milliseconds timeout = 10s) const {
    return wait_until([&] { return state(path) == s; }, timeout);
  }
  /// Waits for an on_source_event of `path` in state `s` (with an error if
  /// `with_error`). Events are announced just after status() is refreshed, so
  /// a state seen through wait_state() may not have been reported yet.
  bool wait_event(const fs::path& path, SourceState s, bool with_error = false,
                  std::chrono::milliseconds timeout = 10s) {
    return wait_until(
        [&] {
          for (const SourceEvent& e : events_for(path)) {
            if (e.state == s && (!with_error || e.error.has_value())) {
              return true;
            }
          }
          return false;
        },
        timeout);
  }

  // --- Sentinel -------------------------------------------------------------------------------

  /// Adds `<dir>/sentinel.yaml` ("sentinel: s0") as a second source of the config.
  void add_sentinel(const fs::path& in_dir, WatchMode mode = WatchMode::kAuto) {
    sentinel_ = in_dir / "sentinel.yaml";
    sentinel_n_ = 0;
    write_file(sentinel_, "sentinel: s0\n");
    const Status st = add_file(sentinel_, kFastDebounce, mode);
    ASSERT_TRUE(st.ok()) << st.to_string();
    ASSERT_EQ(value("sentinel"), "s0");
  }
  /// Changes the sentinel and waits until that change is published.
  [[nodiscard]] bool flush_sentinel() {
    ++sentinel_n_;
    const std::string v = "s" + std::to_string(sentinel_n_);
    atomic_save(sentinel_, "sentinel: " + v + "\n");
    return wait_value("sentinel", v);
  }
  [[nodiscard]] const fs::path& sentinel() const { return sentinel_; }

  struct Counts {
    std::uint64_t loads = 0;
    std::uint64_t publishes = 0;
  };
  /// status() is refreshed just after a publish, so right after a new value
  /// shows up the counters may lag by one. Settled: every publish counted
  /// and every source's live layer versions match the current snapshot.
  [[nodiscard]] bool settled() const {
    Result<ConfigStatus> st = manager->status(kConfig);
    if (!st || st->publishes != st->generation) {
      return false;
    }
    for (const SourceStatus& source : st->sources) {
      for (const LayerVersion& mine : source.layers) {
        const auto live = std::find_if(st->layers.begin(), st->layers.end(),
                                       [&](const LayerVersion& l) { return l.name == mine.name; });
        if (live == st->layers.end() || live->version != mine.version) {
          return false;
        }
      }
    }
    return true;
  }
  bool settle() const {
    return wait_until([&] { return settled(); }, 5s);
  }

  [[nodiscard]] Counts counts(const fs::path& path) const {
    (void)settle();
    return {loads(path), publishes()};
  }

  /// Flushes the sentinel, then checks that `path` was loaded exactly
  /// `reloads` times since `before` and that the config was published exactly
  /// `app_publishes` times besides the sentinel's own publish.
  ::testing::AssertionResult reloaded_exactly(const fs::path& path, Counts before,
                                              std::uint64_t reloads, std::uint64_t app_publishes) {
    return reloaded_within(path, before, reloads, reloads, app_publishes);
  }
  /// The same with a range of loads (refused loads publish nothing).
  ::testing::AssertionResult reloaded_within(const fs::path& path, Counts before,
                                             std::uint64_t min_loads, std::uint64_t max_loads,
                                             std::uint64_t app_publishes) {
    if (!flush_sentinel()) {
      return ::testing::AssertionFailure() << "the sentinel change was never published";
    }
    if (!settle()) {
      return ::testing::AssertionFailure() << "status() never caught up with the snapshot";
    }
    const Counts now = counts(path);
    const std::uint64_t got_loads = now.loads - before.loads;
    const std::uint64_t got_publishes = now.publishes - before.publishes - 1;
    if (got_loads < min_loads || got_loads > max_loads || got_publishes != app_publishes) {
      return ::testing::AssertionFailure()
             << path.filename() << ": " << got_loads << " load(s) and " << got_publishes
             << " publish(es) since the change; expected "
             << (min_loads == max_loads
                     ? std::to_string(min_loads)
                     : std::to_string(min_loads) + "-" + std::to_string(max_loads))
             << " and " << app_publishes;
    }
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult reloaded_exactly(const fs::path& path, Counts before,
                                              std::uint64_t reloads) {
    return reloaded_exactly(path, before, reloads, reloads);
  }

  // --- Events, logs, published trees ----------------------------------------------------------

  [[nodiscard]] std::vector<SourceEvent> events_for(const fs::path& path) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<SourceEvent> out;
    const std::string name = layer_name(path);
    for (const SourceEvent& e : events_) {
      if (e.source == name) {
        out.push_back(e);
      }
    }
    return out;
  }
  [[nodiscard]] std::string logs_text() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& l : logs_) {
      out += l + "\n";
    }
    return out;
  }

  /// Starts recording every snapshot the dispatcher delivers (merged calls may
  /// skip intermediate ones; the publish counter is the exact count).
  void record_publishes() {
    Result<Subscription> sub = manager->subscribe(
        kConfig, KeyPath(), [this](const SnapshotPtr&, const SnapshotPtr& now, const ChangeSet&) {
          std::lock_guard<std::mutex> lock(mu_);
          published_.push_back(now);
        });
    ASSERT_TRUE(sub) << sub.error().to_string();
    subscription_ = std::move(*sub);
  }
  [[nodiscard]] std::vector<SnapshotPtr> published() {
    std::lock_guard<std::mutex> lock(mu_);
    return published_;
  }

  TempDir dir;
  std::unique_ptr<ConfigManager> manager;

 private:
  std::mutex mu_;
  std::vector<std::string> logs_;
  std::vector<SourceEvent> events_;
  std::vector<SnapshotPtr> published_;
  Subscription subscription_;
  fs::path sentinel_;
  int sentinel_n_ = 0;
};

}  // namespace liveconf::testing
