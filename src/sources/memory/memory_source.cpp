#include "liveconf/memory_source.hpp"

#include <functional>
#include <mutex>
#include <utility>

#include "base/mutex.hpp"
#include "base/stop_contract.hpp"

namespace liveconf {

struct MemorySource::Handle::State {
  detail::Mutex mu;
  std::optional<Value> value LIVECONF_GUARDED_BY(mu);
  std::optional<Error> failure LIVECONF_GUARDED_BY(mu);
  std::uint64_t generation LIVECONF_GUARDED_BY(mu) = 0;
  std::uint64_t loads LIVECONF_GUARDED_BY(mu) = 0;
  std::uint64_t watch_id LIVECONF_GUARDED_BY(mu) = 0;  // 0: nobody listens
  std::uint64_t next_watch LIVECONF_GUARDED_BY(mu) = 0;
  std::function<void()> changed LIVECONF_GUARDED_BY(mu);
  bool alive LIVECONF_GUARDED_BY(mu) = true;  // false once the source is destroyed
  detail::CallbackGate gate;                  // signals, so a cancel can wait for one

  // Applies `update` to the value under the lock, then signals the watcher.
  void change(const std::function<void(std::optional<Value>&)>& update) {
    gate.run([&] {
      std::function<void()> signal;
      {
        detail::MutexLock lk(mu);
        if (!alive) {
          return;
        }
        update(value);
        ++generation;
        signal = changed;
      }
      if (signal) {
        signal();
      }
    });
  }
};

void MemorySource::Handle::set(Value value) const {
  state_->change([&](std::optional<Value>& current) { current = std::move(value); });
}

void MemorySource::Handle::clear() const {
  state_->change([](std::optional<Value>& current) { current.reset(); });
}

void MemorySource::Handle::set_failure(std::optional<Error> error) const {
  detail::MutexLock lk(state_->mu);
  state_->failure = std::move(error);
}

void MemorySource::Handle::signal() const {
  state_->change([](std::optional<Value>&) {});
}

std::optional<Value> MemorySource::Handle::value() const {
  detail::MutexLock lk(state_->mu);
  return state_->value;
}

std::uint64_t MemorySource::Handle::loads() const {
  detail::MutexLock lk(state_->mu);
  return state_->loads;
}

bool MemorySource::Handle::watched() const {
  detail::MutexLock lk(state_->mu);
  return state_->watch_id != 0;
}

MemorySource::MemorySource(MemorySourceOptions options)
    : name_(std::move(options.name)),
      priority_(options.priority),
      debounce_(options.debounce),
      handle_(std::make_shared<Handle::State>()) {
  detail::MutexLock lk(handle_.state_->mu);
  handle_.state_->value = std::move(options.value);
}

MemorySource::~MemorySource() {
  detail::MutexLock lk(handle_.state_->mu);
  handle_.state_->alive = false;
  handle_.state_->changed = nullptr;
}

Result<SourceLoad> MemorySource::load() {
  Handle::State& s = *handle_.state_;
  detail::MutexLock lk(s.mu);
  ++s.loads;
  if (s.failure) {
    return *s.failure;
  }
  SourceLoad out;
  if (!s.value) {
    out.state = SourceState::kMissing;
    return out;
  }
  out.layers.push_back(Layer{name_, priority_, *s.value, "memory:" + std::to_string(s.generation)});
  return out;
}

Result<WatchHandle> MemorySource::watch(std::function<void()> changed) {
  std::shared_ptr<Handle::State> state = handle_.state_;
  std::uint64_t id = 0;
  {
    detail::MutexLock lk(state->mu);
    id = ++state->next_watch;
    state->watch_id = id;
    state->changed = std::move(changed);
  }
  return WatchHandle([state, id] {
    {
      detail::MutexLock lk(state->mu);
      if (state->watch_id == id) {
        state->watch_id = 0;
        state->changed = nullptr;
      }
    }
    state->gate.wait_unless_inside();
  });
}

}  // namespace liveconf
