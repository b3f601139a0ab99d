#include "liveconf/fake_watcher.hpp"

#include <set>
#include <utility>
#include <vector>

#include "base/mutex.hpp"
#include "base/stop_contract.hpp"

namespace liveconf {
namespace fs = std::filesystem;

struct FakeWatcher::State {
  struct Watch {
    fs::path path;
    std::function<void()> callback;
  };

  detail::Mutex mu;
  std::map<std::uint64_t, std::shared_ptr<Watch>> watches LIVECONF_GUARDED_BY(mu);
  std::set<fs::path> busy LIVECONF_GUARDED_BY(mu);
  std::optional<Error> failure LIVECONF_GUARDED_BY(mu);
  std::uint64_t next_id LIVECONF_GUARDED_BY(mu) = 1;
  detail::CallbackGate gate;

  std::size_t fire(const std::function<bool(const Watch&)>& which) {
    return gate.run([&] {
      std::vector<std::pair<std::uint64_t, std::shared_ptr<Watch>>> targets;
      {
        detail::MutexLock lk(mu);
        for (const auto& [id, w] : watches) {
          if (which(*w)) {
            targets.emplace_back(id, w);
          }
        }
      }
      std::size_t ran = 0;
      for (const auto& [id, w] : targets) {
        {
          detail::MutexLock lk(mu);
          if (watches.count(id) == 0) {
            continue;  // cancelled by an earlier callback
          }
        }
        w->callback();
        ++ran;
      }
      return ran;
    });
  }
};

FakeWatcher::FakeWatcher() : state_(std::make_shared<State>()) {}
FakeWatcher::~FakeWatcher() = default;

Result<WatchHandle> FakeWatcher::watch(const fs::path& path, std::function<void()> on_change) {
  std::uint64_t id = 0;
  {
    detail::MutexLock lk(state_->mu);
    if (state_->failure) {
      return *state_->failure;
    }
    id = state_->next_id++;
    state_->watches.emplace(
        id, std::make_shared<State::Watch>(State::Watch{path, std::move(on_change)}));
  }
  return WatchHandle([state = state_, id] {
    {
      detail::MutexLock lk(state->mu);
      state->watches.erase(id);
    }
    state->gate.wait_unless_inside();
  });
}

bool FakeWatcher::busy(const fs::path& path) const {
  detail::MutexLock lk(state_->mu);
  return state_->busy.count(path) != 0;
}

std::size_t FakeWatcher::fire(const fs::path& path) {
  return state_->fire([&](const State::Watch& w) { return w.path == path; });
}

std::size_t FakeWatcher::fire_all() {
  return state_->fire([](const State::Watch&) { return true; });
}

void FakeWatcher::set_busy(const fs::path& path, bool busy) {
  detail::MutexLock lk(state_->mu);
  if (busy) {
    state_->busy.insert(path);
  } else {
    state_->busy.erase(path);
  }
}

void FakeWatcher::fail_watches(std::optional<Error> error) {
  detail::MutexLock lk(state_->mu);
  state_->failure = std::move(error);
}

std::size_t FakeWatcher::watch_count(const fs::path& path) const {
  detail::MutexLock lk(state_->mu);
  std::size_t n = 0;
  for (const auto& [id, w] : state_->watches) {
    n += w->path == path ? 1 : 0;
  }
  return n;
}

}  // namespace liveconf
