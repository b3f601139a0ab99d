// `liveconf watch`: signals through a signalfd, reloads, --render and --exec.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "liveconf/liveconf.hpp"
#ifdef LIVECONF_CLI_WITH_ADMIN
#include "liveconf/admin.hpp"
#include "liveconf/systemd.hpp"
#endif

#include "base/file_io.hpp"
#include "cli/commands.hpp"
#include "cli/exec.hpp"
#include "cli/exit_codes.hpp"
#include "cli/printer.hpp"
#include "cli/render.hpp"
#include "cli/session.hpp"
#ifdef LIVECONF_CLI_WITH_ETCD
#include "liveconf/env.hpp"
#include "liveconf/etcd.hpp"
#endif

namespace liveconf::cli {
namespace {

// A --health-* duration, or a usage error naming the flag.
Result<std::chrono::milliseconds> health_duration(const char* flag, const std::string& text,
                                                  std::chrono::milliseconds fallback) {
  if (text.empty()) {
    return fallback;
  }
  std::optional<long double> ns = detail::parse_duration_ns(text);
  if (!ns || *ns < 1e6L) {
    return Error(ErrorCode::kValidation, std::string(flag) +
                                             ": expected a duration of at least 1ms such as "
                                             "30s, got \"" +
                                             text + "\"");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(*ns / 1e6L));
}

}  // namespace

int run_watch(const Common& common, const CLI::App* app, const WatchOptions& w) {
  Result<SessionOptions> so = common.session_options(app, !w.once);
  if (!so) {
    return usage(so.error());
  }
  // --on-change is checked even without --exec: a typo should not pass silently.
  ExecOptions exec_base;
  exec_base.command = w.exec;
  Result<ExecOptions> parsed = parse_on_change(w.on_change, exec_base);
  if (!parsed) {
    return usage(parsed.error());
  }
  std::optional<ExecOptions> exec;
  if (!w.exec.empty()) {
    exec = std::move(*parsed);
  }
  // Health-gated apply: parsed up front, so a typo is a usage error.
  const bool health_flags =
      !w.health_bake.empty() || !w.health_interval.empty() || !w.health_timeout.empty();
  if (health_flags && w.health_cmd.empty()) {
    return usage(Error(ErrorCode::kValidation,
                       "--health-bake, --health-interval and --health-timeout need --health-cmd"));
  }
  Result<std::chrono::milliseconds> health_bake =
      health_duration("--health-bake", w.health_bake, std::chrono::seconds(30));
  Result<std::chrono::milliseconds> health_interval =
      health_duration("--health-interval", w.health_interval, std::chrono::seconds(5));
  for (const auto* r : {&health_bake, &health_interval}) {
    if (!*r) {
      return usage(r->error());
    }
  }
  Result<std::chrono::milliseconds> health_timeout =
      health_duration("--health-timeout", w.health_timeout, std::chrono::seconds(10));
  if (!health_timeout) {
    return usage(health_timeout.error());
  }
  if (*health_bake < *health_interval) {
    return usage(
        Error(ErrorCode::kValidation, "--health-bake must be at least --health-interval (bake " +
                                          w.health_bake + ", interval " + w.health_interval + ")"));
  }
#ifdef LIVECONF_CLI_WITH_ETCD
  // The fleet report: checked up front, started once the config is loaded.
  std::chrono::seconds report_ttl(10);
  if (!w.report && !w.report_ttl.empty()) {
    return usage(Error(ErrorCode::kValidation, "--report-ttl needs --report-as"));
  }
  if (w.report) {
    if (common.etcds.size() != 1) {
      return usage(Error(ErrorCode::kValidation,
                         "--report-as reports what one --etcd source serves; give one --etcd"));
    }
    Result<std::chrono::milliseconds> ttl =
        health_duration("--report-ttl", w.report_ttl, std::chrono::seconds(10));
    if (!ttl) {
      return usage(ttl.error());
    }
    report_ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
    if (report_ttl < std::chrono::seconds(2)) {
      return usage(
          Error(ErrorCode::kValidation, "--report-ttl: at least 2s (etcd's lease minimum)"));
    }
    if (w.report_as.find('/') != std::string::npos) {
      return usage(Error(ErrorCode::kValidation, "--report-as: an ID may not contain \"/\""));
    }
  }
#endif
  std::string render_format;
  if (!w.render.empty()) {
    Result<std::string> f = render_format_for(w.render, w.render_format);
    if (!f) {
      std::fprintf(stderr, "liveconf: %s\n", format_error(f.error()).c_str());
      return kExitUsage;
    }
    render_format = *f;
  }

  // Signals are read from a signalfd by this thread alone: block them before
  // any thread exists, so every thread inherits the mask. (The child started
  // by --exec gets an empty mask back: exec.cpp.)
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) {
    sigaddset(&mask, sig);
  }
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (sfd < 0 || efd < 0) {
    return fail(Error(ErrorCode::kInternal, "cannot create signalfd/eventfd"));
  }

  Printer printer(common.format == "json", stdout_wants_color());
  std::mutex state_mu;  // orders "loaded" before any change, and guards the below
  bool loaded = false;
  // The printed generation counts the configurations printed (1 = loaded), not
  // the library's snapshots: a save that changes only positions publishes a
  // snapshot but prints nothing.
  std::uint64_t shown = 0;
  SnapshotPtr last_printed;
  std::map<std::string, SourceState> states;

  so->manager.log = [&](LogLevel level, std::string_view message) {
    // Source failures and state changes arrive as source events, with the
    // generation as printed here; the library's own wording of them (its
    // generation numbers) would contradict that, so only the rest is shown:
    // unknown keys and other binding warnings.
    const std::string source_prefix = "config \"" + std::string(kConfigName) + "\": source ";
    if (level == LogLevel::kWarning && !message.starts_with(source_prefix)) {
      printer.warning(message);
    }
  };
#ifdef LIVECONF_CLI_WITH_ETCD
  // --report-as: this instance's entry (under state_mu). Declared before the
  // session, so it outlives the manager whose callbacks report through it.
  std::unique_ptr<FleetReporter> reporter;
  FleetInstance fleet_state;
  const Source* etcd_source = nullptr;
  auto report_fleet = [&] {
    if (!reporter || etcd_source == nullptr) {
      return;
    }
    if (std::optional<EtcdSourceStats> es = etcd_source_stats(*etcd_source)) {
      fleet_state.revision = es->applied_revision;
      fleet_state.relists = es->relists;
      fleet_state.reconnects = es->reconnects;
      fleet_state.connected = es->connected_at;
      if (fleet_state.refused_revision != 0 &&
          es->applied_revision > fleet_state.refused_revision) {
        fleet_state.refused_revision = 0;  // a newer revision went live since
        fleet_state.refused_reason.clear();
      }
    }
    reporter->report(fleet_state);
  };
#endif
  so->manager.on_source_event = [&](const SourceEvent& e) {
    std::lock_guard<std::mutex> lk(state_mu);
    if (!loaded) {
      return;
    }
#ifdef LIVECONF_CLI_WITH_ETCD
    if (etcd_source != nullptr && e.source == etcd_source->name()) {
      fleet_state.state = std::string(source_state_name(e.state));
      if (e.state == SourceState::kError && e.error) {
        const std::optional<EtcdSourceStats> es = etcd_source_stats(*etcd_source);
        fleet_state.refused_revision = es ? es->revision : 0;
        fleet_state.refused_reason = e.error->to_string();
      }
      report_fleet();
    }
#endif
    // A deleted file is a state ("missing"), not a refused change.
    if (e.error && e.state != SourceState::kMissing) {
      printer.error(e.source, *e.error, shown, e.generation);
    }
    auto [it, inserted] = states.try_emplace(e.source, SourceState::kOk);
    if (it->second != e.state) {
      it->second = e.state;
      printer.source_state(e.source, e.state);
    }
  };

#ifdef LIVECONF_CLI_WITH_ADMIN
  // Under systemd (Type=notify): READY=1 once loaded, RELOADING=1/READY=1
  // around reloads, STATUS= and the watchdog (liveconf/systemd.hpp).
  std::shared_ptr<SystemdNotifier> systemd;
  if (!w.once) {
    systemd = SystemdNotifier::from_environment();
  }
  if (systemd) {
    so->manager.on_reload = systemd->reload_hook();
  }
#endif
#ifdef LIVECONF_CLI_WITH_JOURNAL
  // The journal outlives the session (the manager's last publish records
  // into it), so it is opened first and destroyed last.
  std::unique_ptr<Journal> journal;
  std::optional<RestoredGeneration> recorded_pin;
  if (!w.journal.empty()) {
    Result<JournalOptions> jo = watch_journal_options(w);
    if (!jo) {
      return usage(jo.error());
    }
    jo->log = [&](LogLevel, std::string_view message) {
      printer.warning("journal: " + std::string(message));
    };
    Result<std::unique_ptr<Journal>> opened = Journal::open(std::move(*jo));
    if (!opened) {
      return fail(opened.error());
    }
    journal = std::move(*opened);
    so->manager.on_publish = journal->publish_hook();
    so->first_generation = journal->next_generation(kConfigName);
    // A pin recorded before a restart, read before this run journals its
    // own (unpinned) first generations, and applied once the sources load.
    Result<std::optional<RestoredGeneration>> pin = journal->recorded_pin(kConfigName);
    if (!pin) {
      printer.warning("journal: the recorded pin cannot be restored: " + pin.error().to_string());
    } else {
      recorded_pin = std::move(*pin);
    }
  }
#endif
#ifdef LIVECONF_CLI_WITH_ETCD
  // The fleet entry follows each reload once it is over (its revision is set
  // when the source hears the config took the load in: Source::applied, after
  // the publish the subscribers see), whether or not it printed anything.
  ConfigManager* reporting_manager = nullptr;
  if (w.report) {
    so->manager.on_reload = [&, inner = so->manager.on_reload](std::string_view config,
                                                               bool begin) {
      if (inner) {
        inner(config, begin);
      }
      if (begin) {
        return;
      }
      std::lock_guard<std::mutex> lk(state_mu);
      if (loaded && reporting_manager != nullptr) {
        if (Result<SnapshotPtr> served = reporting_manager->snapshot(kConfigName)) {
          fleet_state.generation = (*served)->generation();
        }
        report_fleet();
      }
    };
  }
#endif
  Result<std::unique_ptr<Session>> session = Session::open(std::move(*so));
  if (!session) {
    return fail(session.error());
  }
#ifdef LIVECONF_CLI_WITH_ADMIN
  // The notifier follows the manager: it must go first.
  struct StopFirst {
    std::shared_ptr<SystemdNotifier>& notifier;
    ~StopFirst() { notifier.reset(); }
  } stop_systemd_first{systemd};
#endif
  ConfigManager& manager = (*session)->manager();
#ifdef LIVECONF_CLI_WITH_JOURNAL
  if (recorded_pin && recorded_pin->record.pin) {
    const PinInfo& was = *recorded_pin->record.pin;
    if (Status st = Journal::repin(manager, kConfigName, *recorded_pin); !st.ok()) {
      printer.warning("journal: the recorded pin cannot be restored: " + st.error().to_string());
    } else {
      printer.warning(
          "journal: pinned again, as before the restart, to the content of generation " +
          std::to_string(was.pinned_generation) +
          (was.reason.empty() ? std::string() : " (" + was.reason + ")"));
    }
  }
#endif
  // Subscribe before printing "loaded": a change made right after the
  // watches were armed is then delivered, never lost between the two.
  auto sub = manager.subscribe(
      kConfigName, "", [&](const SnapshotPtr&, const SnapshotPtr& current, const ChangeSet&) {
        std::lock_guard<std::mutex> lk(state_mu);
        if (!loaded || current->generation() <= last_printed->generation()) {
          return;
        }
#ifdef LIVECONF_CLI_WITH_ETCD
        fleet_state.generation = current->generation();
#endif
        const ChangeSet changes =
            diff(Session::config_of(last_printed, true), Session::config_of(current, true),
                 DiffOptions{&current->sensitive(), nullptr});
        const bool was_pinned = last_printed->pin().has_value();
        last_printed = current;
        if (current->revert()) {
          printer.reverted(++shown, current->generation(), *current->revert(), changes,
                           Session::config_of(current));
        } else if (current->pin()) {
          // Every pin is said, even one to the content already served.
          printer.pinned(++shown, current->generation(), *current->pin(), changes,
                         Session::config_of(current));
        } else if (was_pinned) {
          printer.unpinned(++shown, current->generation(), changes, Session::config_of(current));
        } else if (changes.empty()) {
          return;  // the merged config is as it was: nothing to say
        } else {
          printer.changed(++shown, current->generation(), changes, Session::config_of(current));
        }
        const std::uint64_t one = 1;
        (void)!::write(efd, &one, sizeof one);
      });
  if (!sub) {
    return fail(sub.error());
  }
  {
    std::lock_guard<std::mutex> lk(state_mu);
    last_printed = (*session)->snapshot();
    shown = 1;
    loaded = true;
    printer.loaded(shown, last_printed->generation(), Session::config_of(last_printed),
                   (*session)->source_names());
    // Sources that start out not ok (an etcd source serving its offline
    // cache, an optional file not there yet) are said now, with the reason;
    // their later changes come as source events.
    if (Result<ConfigStatus> cs = manager.status(kConfigName)) {
      for (const SourceStatus& s : cs->sources) {
        if (s.state != SourceState::kOk) {
          states[s.name] = s.state;
          printer.source_state(s.name, s.state, s.last_error);
        }
#ifdef LIVECONF_CLI_WITH_ETCD
        if (s.name == "etcd:" + common.etcd_prefix) {
          fleet_state.state = std::string(source_state_name(s.state));
        }
#endif
      }
    }
#ifdef LIVECONF_CLI_WITH_ETCD
    if (w.report) {
      FleetReporterOptions ro;
      ro.connection = etcd_connection(
          common.etcds.front(), common.etcd_user,
          common.etcd_user.empty() ? std::string() : get_env("LIVECONF_ETCD_PASSWORD").value_or(""),
          common.etcd_ca);
      ro.prefix = common.etcd_prefix;
      ro.ttl = report_ttl;
      FleetInstance self;
      self.id = w.report_as;
      Result<std::unique_ptr<FleetReporter>> started = FleetReporter::start(std::move(ro), self);
      if (!started) {
        return fail(started.error());
      }
      reporter = std::move(*started);
      etcd_source = (*session)->etcd_source();
      reporting_manager = &manager;
      fleet_state.generation = last_printed->generation();
      report_fleet();
      std::fprintf(stderr, "liveconf: reporting to the fleet as %s\n", reporter->key().c_str());
    }
#endif
  }
  // The newest generation --render has written: a --health-cmd probe of
  // generation G waits for it to reach G, so the command sees what it checks.
  std::mutex rendered_mu;
  std::condition_variable rendered_cv;
  std::uint64_t rendered = 0;
  auto render_now = [&]() -> Status {
    if (w.render.empty()) {
      return ok_status();
    }
    SnapshotPtr snap = (*session)->snapshot();
    Result<std::string> text = render_text(Session::config_of(snap, true), render_format);
    if (!text) {
      return text.error();
    }
    if (Status st = detail::write_file_atomically(w.render, *text); !st.ok()) {
      return st;
    }
    std::lock_guard<std::mutex> lk(rendered_mu);
    rendered = std::max(rendered, snap->generation());
    rendered_cv.notify_all();
    return ok_status();
  };
  if (Status st = render_now(); !st.ok()) {
    return fail(st.error());
  }
  if (w.once) {
    return kExitOk;
  }
#ifdef LIVECONF_CLI_WITH_ADMIN
  std::unique_ptr<AdminServer> admin;
  if (!w.admin.empty()) {
    AdminOptions options;
    options.listen = w.admin;
    options.token_file = w.admin_token;
    options.allow_remote = w.admin_allow_remote;
    if (!w.admin_ready_grace.empty()) {
      std::optional<long double> ns = detail::parse_duration_ns(w.admin_ready_grace);
      if (!ns || *ns < 0) {
        return usage(Error(ErrorCode::kValidation,
                           "--admin-ready-grace: expected a duration such as 30s, got \"" +
                               w.admin_ready_grace + "\""));
      }
      options.ready_grace = std::chrono::milliseconds(static_cast<std::int64_t>(*ns / 1e6L));
    }
    options.log = [&](LogLevel, std::string_view message) { printer.warning(message); };
#ifdef LIVECONF_CLI_WITH_JOURNAL
    if (journal) {
      // Pins and rollbacks need the generations the journal keeps.
      options.pin = [&](std::string_view config, std::uint64_t generation, PinOptions po) {
        return journal->pin(manager, config, generation, std::move(po));
      };
      options.rollback = [&](std::string_view config, std::uint64_t generation, PinOptions po) {
        return journal->rollback(manager, config, generation, std::move(po));
      };
    }
#endif
    Result<std::unique_ptr<AdminServer>> started = AdminServer::start(manager, std::move(options));
    if (!started) {
      return fail(started.error());
    }
    admin = std::move(*started);
    std::fprintf(stderr, "liveconf: admin endpoint on %s\n", admin->address().c_str());
  }
#endif
  std::optional<ChildSupervisor> child;
  if (exec) {
    child.emplace(*exec);
    if (Status st = child->start(); !st.ok()) {
      return fail(st.error());
    }
  }
  std::unique_ptr<HealthGate> gate;
  if (!w.health_cmd.empty()) {
    HealthGateOptions options;
    options.bake = *health_bake;
    options.interval = *health_interval;
    const std::chrono::milliseconds timeout = *health_timeout;
    options.checks.push_back(
        {"--health-cmd", [&, timeout](const Snapshot& s) -> Status {
           const auto deadline = std::chrono::steady_clock::now() + timeout;
           if (!w.render.empty()) {
             std::unique_lock<std::mutex> lk(rendered_mu);
             if (!rendered_cv.wait_until(lk, deadline,
                                         [&] { return rendered >= s.generation(); })) {
               return Error(ErrorCode::kUnavailable, "--render has not written snapshot " +
                                                         std::to_string(s.generation()) +
                                                         " within the probe's timeout");
             }
           }
           const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
               deadline - std::chrono::steady_clock::now());
           return run_health_command(w.health_cmd, s.generation(),
                                     std::max(left, std::chrono::milliseconds(1)));
         }});
    options.on_event = [&](const HealthEvent& e) {
      if (e.kind == HealthEvent::Kind::kHealthy) {
        printer.healthy(e.generation);
      } else if (e.kind == HealthEvent::Kind::kRevertFailed) {
        printer.warning(e.to_string());
      }
      // kReverted: the revert's publish prints the "reverted" event.
    };
    Result<std::unique_ptr<HealthGate>> started =
        HealthGate::start(manager, std::string(kConfigName), std::move(options));
    if (!started) {
      return fail(started.error());
    }
    gate = std::move(*started);
  }
#ifdef LIVECONF_CLI_WITH_ADMIN
  if (systemd) {
    systemd->ready(manager);  // loaded, rendered, the command started
  }
#endif

  while (true) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {efd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(Error(ErrorCode::kInternal, "poll failed"));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      std::uint64_t n = 0;
      (void)!::read(efd, &n, sizeof n);
      if (Status st = render_now(); !st.ok()) {
        std::lock_guard<std::mutex> lk(state_mu);
        printer.error("render", st.error(), shown, last_printed->generation());
      } else if (child) {
        if (Status cs = child->config_changed(); !cs.ok()) {
          std::lock_guard<std::mutex> lk(state_mu);
          printer.error("exec", cs.error(), shown, last_printed->generation());
        }
      }
    }
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      if (::read(sfd, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) {
        continue;
      }
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGINT || sig == SIGTERM) {
        if (child) {
          child->forward(sig);
          (void)child->stop();
        }
        return kExitOk;
      }
      if (sig == SIGHUP) {
        (void)manager.reload(kConfigName);  // re-read every source now
      }
      if (sig == SIGCHLD && child) {
        if (std::optional<int> code = child->reap()) {
          std::fprintf(stderr, "liveconf: the command exited with status %d\n", *code);
          // During a bake, the command's death is the new generation's fault:
          // revert it, and the revert's render starts the command again.
          if (gate) {
            Result<std::uint64_t> reverted =
                gate->fail(0, "the command exited with status " + std::to_string(*code) +
                                  " during the health bake");
            if (reverted) {
              continue;
            }
            printer.warning("health gate: " + reverted.error().to_string());
          }
          return *code;
        }
      }
    }
  }
}

}  // namespace liveconf::cli
