// File: liveconf/health.hpp
//
// Health-gated apply: every generation a config publishes is probed by
// health checks for a bake time; one that turns unhealthy within it is
// reverted to the last generation that passed its bake, and the content that
// caused it is quarantined (ConfigManager::revert). AWS AppConfig does this
// server-side with CloudWatch alarms; here it is in the process that runs
// the config.
//
//   liveconf::HealthGateOptions options;
//   options.bake = std::chrono::seconds(60);
//   options.interval = std::chrono::seconds(5);
//   options.checks.push_back({"error-rate", [&](const liveconf::Snapshot& s) -> liveconf::Status {
//     if (errors_per_second() > 5) {
//       return liveconf::Error(liveconf::ErrorCode::kUnavailable, "error rate above 5/s");
//     }
//     return liveconf::ok_status();
//   }});
//   options.on_event = [](const liveconf::HealthEvent& e) { log(e.to_string()); };
//   auto gate = liveconf::HealthGate::start(manager, "server", std::move(options)).value();
//
// Timing: a generation's bake starts when the gate sees it published; it is
// probed every `interval` and once more when `bake` has passed, and is healthy
// (ConfigManager::mark_healthy) when every probe passed. The first failing
// probe reverts at once, so a change that breaks the service is reverted
// within bake + interval (plus the probe's own run time). A newer generation
// published during a bake starts a new bake; a revert goes back to the last
// generation that passed one, past every unbaked generation in between.
// Generations published by a pin (an operator's choice) and by a revert
// (content that passed before) are not probed. The generation served when the
// gate starts is baked like any other, but if it fails there is nothing to go
// back to: the gate says so (kRevertFailed) and waits for the next one.
//
// Thread-safety: the gate runs its checks on its own thread, one at a time;
// checks must return within about `interval` (a check that hangs holds the
// gate: put a timeout inside it, as the CLI's --health-cmd does). Its public
// methods may be called from any thread. Destroy it before the manager.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "liveconf/export.hpp"
#include "liveconf/snapshot.hpp"
#include "liveconf/status.hpp"
#include "liveconf/store.hpp"

namespace liveconf {

/// One probe: ok_status() when healthy; an error (its message says why) or
/// an exception when not. Called with the snapshot being baked.
struct HealthCheck {
  std::string name;
  std::function<Status(const Snapshot&)> probe;
};

/// What the gate did.
struct HealthEvent {
  enum class Kind : std::uint8_t {
    kHealthy,       // `generation` passed its bake
    kReverted,      // `generation` failed; `reverted_to` serves the content of `healthy`
    kRevertFailed,  // `generation` failed and could not be reverted (`reason` says why)
  };
  Kind kind = Kind::kHealthy;
  std::string config;
  std::uint64_t generation = 0;
  std::uint64_t reverted_to = 0;         // kReverted: the generation the revert published
  std::uint64_t healthy = 0;             // kReverted: whose content it serves
  std::string reason;                    // the failed check (kReverted, kRevertFailed)
  std::vector<std::string> quarantined;  // kReverted: the sources set aside
  [[nodiscard]] LIVECONF_API std::string to_string() const;
};

struct HealthGateOptions {
  std::vector<HealthCheck> checks;
  /// How long a generation must stay healthy to pass. At least `interval`.
  std::chrono::milliseconds bake{std::chrono::seconds(30)};
  /// Time between probes. At least 1 ms.
  std::chrono::milliseconds interval{std::chrono::seconds(1)};
  /// Called on the gate's thread (or on the caller's, for fail()) after each
  /// event; must not block on the gate.
  std::function<void(const HealthEvent&)> on_event;
};

/// The gate's state for status pages.
struct HealthGateStatus {
  std::uint64_t baking = 0;  // the generation being baked; 0 if none
  std::optional<std::chrono::steady_clock::time_point> bake_ends;
  std::uint64_t healthy = 0;  // the newest generation that passed (or was reverted to)
  std::uint64_t probes = 0;
  std::uint64_t failed_probes = 0;
  std::uint64_t reverts = 0;
  std::optional<std::string> last_failure;
};

class LIVECONF_API HealthGate {
 public:
  /// Starts gating `config` of `manager`. Errors: kValidation (no checks,
  /// bad durations), kNotFound (no such config).
  [[nodiscard]] static Result<std::unique_ptr<HealthGate>> start(ConfigManager& manager,
                                                                 std::string config,
                                                                 HealthGateOptions options);
  /// Stops the thread (waits for a probe that is running).
  ~HealthGate();
  HealthGate(const HealthGate&) = delete;
  HealthGate& operator=(const HealthGate&) = delete;

  /// The generation being baked, or 0: what an outside observer's failure
  /// (an --exec child that died) would be held against.
  [[nodiscard]] std::uint64_t baking() const;
  /// An outside observer saw `generation` fail (0: whichever is baking, or
  /// published and about to be):
  /// reverts now, as a failed probe would, on the calling thread. Returns the
  /// generation the revert published. Errors: kFailedPrecondition if
  /// `generation` is not being baked (it passed, or was already reverted),
  /// or revert()'s.
  Result<std::uint64_t> fail(std::uint64_t generation, std::string reason);
  [[nodiscard]] HealthGateStatus status() const;

 private:
  struct Impl;
  explicit HealthGate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liveconf
