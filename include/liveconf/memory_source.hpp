// File: liveconf/memory_source.hpp
//
// MemorySource: a Source whose content the program sets by hand. For tests
// (every ordering of changes and failures scripted, no files, no sleeps) and
// for programs whose configuration arrives some other way (a command channel,
// a UI). set() replaces the value and signals a change at once:
//
//   auto source = std::make_unique<liveconf::MemorySource>(
//       liveconf::MemorySourceOptions{.name = "runtime", .priority = 50});
//   liveconf::MemorySource::Handle runtime = source->share();
//   manager.add_source("app", std::move(source)).ok();  // the manager owns it now
//   runtime.set(value);                                  // ...and it can still be fed
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "liveconf/export.hpp"
#include "liveconf/source.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// What a MemorySource starts with. Every field has a default.
struct MemorySourceOptions {
  /// The source's and its layer's name.
  std::string name = "memory";
  /// The layer's priority; higher wins.
  int priority = 0;
  /// The first value; nullopt: the source is missing (kMissing) until set().
  std::optional<Value> value = Value::object();
  /// How the manager coalesces set() calls. Zero by default: every set()
  /// reloads as soon as the update thread gets to it.
  Debounce debounce{std::chrono::milliseconds(0), std::chrono::milliseconds(0)};
};

/// A Source holding one layer in memory.
///
/// Thread-safety: set(), clear(), set_failure() and the Handle's members may
/// be called from any thread at once, and from inside subscription
/// callbacks. Every set()/clear() gets its own layer version, so a value set
/// twice still reloads (the manager then publishes nothing new).
class LIVECONF_API MemorySource final : public Source {
 public:
  /// The source's state, shared: keeps working after the source itself was
  /// handed to a manager (add_source takes the unique_ptr). After the source
  /// is destroyed its calls change nothing. Copyable; cheap.
  class LIVECONF_API Handle {
   public:
    /// Replaces the value (an object, normally) and signals a change.
    void set(Value value) const;
    /// Makes the source missing (no layer) and signals a change.
    void clear() const;
    /// Makes every load() fail with `error` (nullopt: succeed again). Does
    /// not signal: the manager meets it at its next load (a retry, or the
    /// next set()), as it would meet a disk error. It keeps the last good
    /// layer meanwhile.
    void set_failure(std::optional<Error> error) const;
    /// Signals a change without changing anything (a spurious signal).
    void signal() const;
    /// The current value; nullopt while missing.
    [[nodiscard]] std::optional<Value> value() const;
    /// How many times the manager has called load().
    [[nodiscard]] std::uint64_t loads() const;
    /// True while a watch() handle is alive (the manager is listening).
    [[nodiscard]] bool watched() const;

    // Implementation details below.
    struct State;
    explicit Handle(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}

   private:
    friend class MemorySource;
    std::shared_ptr<State> state_;
  };

  explicit MemorySource(MemorySourceOptions options = {});
  ~MemorySource() override;
  MemorySource(const MemorySource&) = delete;
  MemorySource& operator=(const MemorySource&) = delete;

  /// A handle on this source's state (see Handle).
  [[nodiscard]] Handle share() const { return handle_; }
  /// As Handle::set() / clear() / set_failure().
  void set(Value value) { handle_.set(std::move(value)); }
  void clear() { handle_.clear(); }
  void set_failure(std::optional<Error> error) { handle_.set_failure(std::move(error)); }

  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] Debounce debounce() const noexcept override { return debounce_; }
  /// One layer {name, priority, value, version}; kMissing without a value;
  /// the error given to set_failure().
  [[nodiscard]] Result<SourceLoad> load() override;
  /// Calls `changed` on the thread that calls set()/clear()/signal(). One
  /// watch at a time: a second watch() replaces the first. The handle must
  /// die before the source; once its cancel() returns, `changed` is not
  /// running (unless cancelled from inside it) and will not run again.
  [[nodiscard]] Result<WatchHandle> watch(std::function<void()> changed) override;

 private:
  std::string name_;
  int priority_;
  Debounce debounce_;
  Handle handle_;
};

}  // namespace liveconf
