// liveconf::HealthGate: one thread per gate bakes each new generation of its
// config (probes every interval until the bake time has passed) and reverts
// the first that fails (ConfigManager::revert does the work on the update
// thread). See liveconf/health.hpp for the timing rules.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "liveconf/health.hpp"

#include "base/exception_error.hpp"

namespace liveconf {

std::string HealthEvent::to_string() const {
  const std::string g = "config \"" + config + "\": generation " + std::to_string(generation);
  switch (kind) {
    case Kind::kHealthy:
      return g + " passed its health bake";
    case Kind::kReverted: {
      std::string out = g + " turned unhealthy (" + reason + "); reverted to the content of " +
                        "generation " + std::to_string(healthy) + " as generation " +
                        std::to_string(reverted_to);
      if (!quarantined.empty()) {
        out += "; quarantined until they change:";
        for (const std::string& q : quarantined) {
          out += " " + q;
        }
      }
      return out;
    }
    case Kind::kRevertFailed:
      return g + " turned unhealthy and was not reverted: " + reason;
  }
  return g;
}

struct HealthGate::Impl {
  using SteadyClock = std::chrono::steady_clock;

  Impl(ConfigManager& m, std::string c, HealthGateOptions o)
      : manager(m), config(std::move(c)), options(std::move(o)) {}

  void run();
  // The first failing check's message, or nullopt if every check passed.
  std::optional<std::string> probe(const Snapshot& s) const;
  Result<std::uint64_t> revert(std::uint64_t generation, const std::string& reason);
  void emit(const HealthEvent& e) const {
    if (options.on_event) {
      try {
        options.on_event(e);
      } catch (...) {
        // The gate keeps going; the event's owner threw, nothing to tell it.
      }
    }
  }

  ConfigManager& manager;
  const std::string config;
  const HealthGateOptions options;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool woken = false;           // a publish was seen since the thread last looked
  std::uint64_t baking = 0;     // the generation being baked
  std::uint64_t last_done = 0;  // the newest generation passed, failed or skipped
  SteadyClock::time_point bake_start;
  SteadyClock::time_point next_probe;
  HealthGateStatus stats;

  std::optional<Subscription> subscription;
  std::thread thread;
};

std::optional<std::string> HealthGate::Impl::probe(const Snapshot& s) const {
  for (const HealthCheck& check : options.checks) {
    try {
      Status st = check.probe(s);
      if (!st.ok()) {
        return "health check " + check.name + ": " + st.error().message();
      }
    } catch (...) {
      return "health check " + check.name + ": " +
             detail::current_exception_error("threw").message();
    }
  }
  return std::nullopt;
}

Result<std::uint64_t> HealthGate::Impl::revert(std::uint64_t generation,
                                               const std::string& reason) {
  Result<std::uint64_t> r = manager.revert(config, RevertOptions{generation, reason});
  HealthEvent e;
  e.config = config;
  e.generation = generation;
  if (r) {
    e.kind = HealthEvent::Kind::kReverted;
    e.reverted_to = *r;
    e.reason = reason;
    if (Result<SnapshotPtr> s = manager.snapshot(config); s && (*s)->revert()) {
      e.healthy = (*s)->revert()->to;
      e.quarantined = (*s)->revert()->quarantined;
    }
    {
      std::lock_guard<std::mutex> lk(mu);
      ++stats.reverts;
      stats.healthy = *r;
      last_done = std::max(last_done, *r);
    }
  } else if (Result<SnapshotPtr> now = manager.snapshot(config);
             now && (*now)->generation() != generation) {
    return r;  // a newer generation is served: it gets its own bake
  } else {
    e.kind = HealthEvent::Kind::kRevertFailed;
    e.reason = reason + "; " + r.error().message();
  }
  emit(e);
  return r;
}

void HealthGate::Impl::run() {
  std::unique_lock<std::mutex> lk(mu);
  while (!stopping) {
    lk.unlock();
    Result<SnapshotPtr> served = manager.snapshot(config);
    lk.lock();
    if (!served) {  // unregistered: nothing to gate until the gate goes
      cv.wait(lk, [&] { return stopping; });
      break;
    }
    const SnapshotPtr& s = *served;
    const SteadyClock::time_point now = SteadyClock::now();
    if (s->generation() > last_done && s->generation() != baking) {
      if (s->pin() || s->revert()) {
        // An operator's pin, or content that passed before: not probed.
        baking = 0;
        last_done = s->generation();
        if (s->revert()) {
          stats.healthy = s->generation();
        }
      } else {
        baking = s->generation();
        bake_start = now;
        next_probe = now + options.interval;
      }
      stats.baking = baking;
      stats.bake_ends = baking != 0 ? std::optional(bake_start + options.bake) : std::nullopt;
    }
    if (baking == 0 || s->generation() != baking) {
      cv.wait(lk, [&] { return stopping || woken; });
      woken = false;
      continue;
    }
    if (now < next_probe) {
      cv.wait_until(lk, next_probe, [&] { return stopping || woken; });
      woken = false;
      continue;
    }
    const std::uint64_t generation = baking;
    const bool last = now >= bake_start + options.bake;
    lk.unlock();
    std::optional<std::string> failure = probe(*s);
    lk.lock();
    ++stats.probes;
    if (baking != generation) {
      continue;  // fail() took it meanwhile
    }
    if (failure || last) {
      baking = 0;
      last_done = generation;
      stats.baking = 0;
      stats.bake_ends.reset();
    }
    if (failure) {
      ++stats.failed_probes;
      stats.last_failure = *failure;
      lk.unlock();
      (void)revert(generation, *failure);
      lk.lock();
    } else if (last) {
      lk.unlock();
      const Status marked = manager.mark_healthy(config, generation);
      if (marked.ok()) {
        emit(HealthEvent{HealthEvent::Kind::kHealthy, config, generation, 0, 0, {}, {}});
      }
      lk.lock();
      if (marked.ok()) {
        stats.healthy = std::max(stats.healthy, generation);
      }
      // Else a newer generation is served: the next look bakes it.
    } else {
      next_probe = std::min(SteadyClock::now() + options.interval, bake_start + options.bake);
    }
  }
}

HealthGate::HealthGate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HealthGate>> HealthGate::start(ConfigManager& manager, std::string config,
                                                      HealthGateOptions options) {
  if (options.checks.empty()) {
    return Error(ErrorCode::kValidation, "health gate for \"" + config + "\": no health checks");
  }
  for (const HealthCheck& c : options.checks) {
    if (!c.probe) {
      return Error(ErrorCode::kValidation,
                   "health gate for \"" + config + "\": check \"" + c.name + "\" has no probe");
    }
  }
  if (options.interval < std::chrono::milliseconds(1) || options.bake < options.interval) {
    return Error(ErrorCode::kValidation,
                 "health gate for \"" + config +
                     "\": the probe interval must be at least 1 ms and the bake time at least "
                     "one interval (interval " +
                     std::to_string(options.interval.count()) + " ms, bake " +
                     std::to_string(options.bake.count()) + " ms)");
  }
  auto impl = std::make_unique<Impl>(manager, std::move(config), std::move(options));
  Impl* raw = impl.get();
  Result<Subscription> sub = manager.subscribe(
      raw->config, "", [raw](const SnapshotPtr&, const SnapshotPtr&, const ChangeSet&) {
        std::lock_guard<std::mutex> lk(raw->mu);
        raw->woken = true;
        raw->cv.notify_all();
      });
  if (!sub) {
    return std::move(sub).error();
  }
  raw->subscription = std::move(*sub);
  if (Result<ConfigStatus> st = manager.status(raw->config)) {
    raw->stats.healthy = st->healthy_generation;
    if (st->healthy_generation == st->generation) {
      raw->last_done = st->generation;  // already healthy (a gate started again)
    }
  }
  raw->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<HealthGate>(new HealthGate(std::move(impl)));
}

HealthGate::~HealthGate() {
  impl_->subscription.reset();  // no callback touches the gate from here on
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  impl_->thread.join();
}

std::uint64_t HealthGate::baking() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->baking;
}

Result<std::uint64_t> HealthGate::fail(std::uint64_t generation, std::string reason) {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    std::uint64_t candidate = impl_->baking;
    if (candidate == 0) {
      // Published, and about to be baked (the gate's thread has not looked yet).
      Result<SnapshotPtr> served = impl_->manager.snapshot(impl_->config);
      if (served && (*served)->generation() > impl_->last_done && !(*served)->pin() &&
          !(*served)->revert()) {
        candidate = (*served)->generation();
      }
    }
    if (candidate == 0 || (generation != 0 && generation != candidate)) {
      return Error(ErrorCode::kFailedPrecondition,
                   "config \"" + impl_->config + "\": generation " +
                       std::to_string(generation != 0 ? generation : candidate) +
                       " is not being baked, so it is not reverted");
    }
    generation = candidate;
    impl_->baking = 0;
    impl_->last_done = std::max(impl_->last_done, generation);
    impl_->stats.baking = 0;
    impl_->stats.bake_ends.reset();
    ++impl_->stats.failed_probes;
    impl_->stats.last_failure = reason;
  }
  return impl_->revert(generation, reason);
}

HealthGateStatus HealthGate::status() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->stats;
}

}  // namespace liveconf
