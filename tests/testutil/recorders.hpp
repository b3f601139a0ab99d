// Thread-safe logs of callback calls, for tests that wait on what a
// background thread delivered.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "liveconf/env.hpp"
#include "liveconf/store.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf::testing {

/// Every value passed to add(), in order.
template <typename T>
class CallLog {
 public:
  void add(T value) {
    std::lock_guard<std::mutex> lk(mu_);
    calls_.push_back(std::move(value));
  }
  [[nodiscard]] std::size_t count() const {
    std::lock_guard<std::mutex> lk(mu_);
    return calls_.size();
  }
  [[nodiscard]] T at(std::size_t i) const {
    std::lock_guard<std::mutex> lk(mu_);
    return calls_.at(i);
  }
  /// The first call matching `pred`, waiting up to `timeout` for one.
  template <typename Pred>
  [[nodiscard]] std::optional<T> wait_for(
      Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::optional<T> found;
    (void)wait_until(
        [&] {
          std::lock_guard<std::mutex> lk(mu_);
          for (const T& c : calls_) {
            if (pred(c)) {
              found = c;
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }

 private:
  mutable std::mutex mu_;
  std::vector<T> calls_;
};

/// Records EnvironmentWatcher calls.
struct EnvCallLog : CallLog<EnvChanges> {
  EnvCallback callback() {
    return [this](const EnvChanges& c) { add(c); };
  }
};

/// Records subscription calls (their change sets).
struct ChangeLog : CallLog<ChangeSet> {
  ChangeFn fn() {
    return [this](const SnapshotPtr&, const SnapshotPtr&, const ChangeSet& c) { add(c); };
  }
};

/// Records a manager's source events; options() silences its log.
struct SourceEventLog : CallLog<SourceEvent> {
  ManagerOptions options() {
    ManagerOptions mo;
    mo.log = [](LogLevel, std::string_view) {};
    mo.on_source_event = [this](const SourceEvent& e) { add(e); };
    return mo;
  }
};

}  // namespace liveconf::testing
