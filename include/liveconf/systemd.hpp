// File: liveconf/systemd.hpp — systemd's notify protocol (target liveconf::admin)
//
// A service run by systemd with Type=notify tells it when it is ready, what
// it is doing and that it is alive. SystemdNotifier does that for a manager:
//
//   std::shared_ptr<liveconf::SystemdNotifier> notifier =
//       liveconf::SystemdNotifier::from_environment();  // null outside systemd
//   liveconf::ManagerOptions options;
//   if (notifier) {
//     options.on_reload = notifier->reload_hook();      // RELOADING=1 ... READY=1
//   }
//   liveconf::ConfigManager manager(options);
//   // ... register configs, add sources ...
//   if (notifier) {
//     notifier->ready(manager);  // READY=1, STATUS= after every publish, WATCHDOG=1
//   }
//
// What is sent (sd_notify(3), libsystemd): READY=1 once ready() is called
// (every config has published by then: registration publishes); STATUS=
// "app: generation 7, 2 sources ok" after each publish; RELOADING=1 before a
// reload of sources and READY=1 after it; WATCHDOG=1 every half of
// WATCHDOG_USEC, but only while the manager's update thread answers
// (ConfigManager::responsive), so a stuck parser or validator gets the
// service restarted; STOPPING=1 when the notifier is destroyed.
//
// Thread-safety: reload_hook()'s function may be called from any thread and
// stays valid after the notifier is gone. ready() once; destroy the notifier
// before the manager.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "liveconf/export.hpp"
#include "liveconf/store.hpp"

namespace liveconf {

class LIVECONF_API SystemdNotifier {
 public:
  /// A notifier when NOTIFY_SOCKET is set (the process runs under systemd
  /// with Type=notify, or a test plays systemd), else null.
  [[nodiscard]] static std::shared_ptr<SystemdNotifier> from_environment();
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  /// For ManagerOptions::on_reload.
  [[nodiscard]] std::function<void(std::string_view config, bool begin)> reload_hook() const;

  /// Sends READY=1 and the first STATUS=, then follows every config of
  /// `manager` registered now, and starts the watchdog if systemd asked for
  /// one (WATCHDOG_USEC).
  void ready(ConfigManager& manager);

  /// The STATUS= text for `manager` now: "app: generation 7, 2 sources ok".
  [[nodiscard]] static std::string status_line(const ConfigManager& manager);

  struct State;

 private:
  SystemdNotifier();
  std::shared_ptr<State> state_;
};

}  // namespace liveconf
