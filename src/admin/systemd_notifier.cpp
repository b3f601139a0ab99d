// systemd's notify protocol through libsystemd's sd_notify (the datagram
// protocol, abstract sockets and credentials handled there), driven by the
// manager: reload hooks, subscriptions and a watchdog thread that pings the
// update thread before it tells systemd the service is alive.
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <systemd/sd-daemon.h>

#include "liveconf/systemd.hpp"

namespace liveconf {

struct SystemdNotifier::State {
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;     // READY=1 sent: reloads may now say RELOADING=1
  bool stopping = false;  // the watchdog thread ends
  ConfigManager* manager = nullptr;
  std::vector<Subscription> subscriptions;
  std::thread watchdog;

  static void send(const std::string& message) { (void)::sd_notify(0, message.c_str()); }
};

SystemdNotifier::SystemdNotifier() : state_(std::make_shared<State>()) {}

std::shared_ptr<SystemdNotifier> SystemdNotifier::from_environment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe): at start-up
  if (socket == nullptr || socket[0] == '\0') {
    return nullptr;
  }
  return std::shared_ptr<SystemdNotifier>(new SystemdNotifier());
}

SystemdNotifier::~SystemdNotifier() {
  std::thread watchdog;
  std::vector<Subscription> subscriptions;
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    state_->stopping = true;
    state_->ready = false;  // a reload after this says nothing
    state_->manager = nullptr;
    watchdog = std::move(state_->watchdog);
    subscriptions = std::move(state_->subscriptions);
  }
  state_->cv.notify_all();
  subscriptions.clear();  // callbacks stop (and finish) before the state goes quiet
  if (watchdog.joinable()) {
    watchdog.join();
  }
  State::send("STOPPING=1");
}

std::function<void(std::string_view, bool)> SystemdNotifier::reload_hook() const {
  return [state = state_](std::string_view, bool begin) {
    std::lock_guard<std::mutex> lk(state->mu);
    if (state->ready) {
      State::send(begin ? "RELOADING=1" : "READY=1");
    }
  };
}

std::string SystemdNotifier::status_line(const ConfigManager& manager) {
  std::string line;
  for (const ConfigStatus& c : manager.list()) {
    std::size_t ok = 0;
    std::string trouble;
    for (const SourceStatus& s : c.sources) {
      if (s.state == SourceState::kOk) {
        ++ok;
      } else if (trouble.empty()) {
        trouble = "; " + s.name + " " + std::string(source_state_name(s.state));
      }
    }
    line += (line.empty() ? "" : "; ") + c.name + ": generation " + std::to_string(c.generation) +
            ", " + std::to_string(ok) + " of " + std::to_string(c.sources.size()) + " sources ok" +
            trouble;
  }
  return line;
}

void SystemdNotifier::ready(ConfigManager& manager) {
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    if (state_->manager != nullptr || state_->stopping) {
      return;
    }
    state_->manager = &manager;
  }
  // Subscribed without the lock: subscribe() waits for the update thread,
  // which may be in a reload hook that takes it.
  std::vector<Subscription> subscriptions;
  for (const ConfigStatus& c : manager.list()) {
    // A raw State*: the subscriptions are destroyed (and their callbacks
    // finished) in ~SystemdNotifier, while state_ still lives.
    Result<Subscription> sub = manager.subscribe(
        c.name, "",
        [state = state_.get()](const SnapshotPtr&, const SnapshotPtr&, const ChangeSet&) {
          std::lock_guard<std::mutex> lk(state->mu);
          if (state->manager != nullptr) {
            State::send("STATUS=" + status_line(*state->manager));
          }
        });
    if (sub) {
      subscriptions.push_back(std::move(*sub));
    }
  }
  std::lock_guard<std::mutex> lk(state_->mu);
  state_->subscriptions = std::move(subscriptions);
  State::send("READY=1\nSTATUS=" + status_line(manager));
  state_->ready = true;
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    const auto interval = std::chrono::microseconds(usec / 2);
    state_->watchdog = std::thread([state = state_, interval] {
      std::unique_lock<std::mutex> held(state->mu);
      while (!state->cv.wait_for(held, interval, [&] { return state->stopping; })) {
        ConfigManager* m = state->manager;
        held.unlock();
        // Alive means the update thread runs tasks, not merely that this
        // thread does: a stuck reload withholds the ping.
        const bool alive =
            m != nullptr &&
            m->responsive(std::chrono::duration_cast<std::chrono::milliseconds>(interval) / 2);
        if (alive) {
          State::send("WATCHDOG=1");
        }
        held.lock();
      }
    });
  }
}

}  // namespace liveconf
