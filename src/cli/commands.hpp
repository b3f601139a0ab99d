// The liveconf subcommands, one function each; main.cpp parses the command
// line and calls one. Each returns the process exit code (exit_codes.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/common_options.hpp"
#ifdef LIVECONF_CLI_WITH_JOURNAL
#include "liveconf/journal.hpp"
#endif

namespace liveconf::cli {

// watch (watch_command.cpp): prints the config, then every change, until
// SIGINT/SIGTERM; optionally renders a file and supervises a command.
struct WatchOptions {
  std::string render;
  std::string render_format;
  std::string exec;
  std::string on_change = "restart";
  bool once = false;
  // The admin endpoint (liveconf::admin), when built.
  std::string admin;        // --admin ADDR: HOST:PORT or unix:/path
  std::string admin_token;  // --admin-token FILE
  bool admin_allow_remote = false;
  std::string admin_ready_grace;  // --admin-ready-grace DURATION
  // The journal (liveconf::journal), when built.
  std::string journal;           // --journal DIR
  std::string journal_key;       // --journal-key FILE
  std::string journal_max_size;  // --journal-max-size SIZE
  std::string journal_sync = "every";
  // Health-gated apply (liveconf::HealthGate).
  std::string health_cmd;       // --health-cmd CMD
  std::string health_bake;      // --health-bake DURATION (default 30s)
  std::string health_interval;  // --health-interval DURATION (default 5s)
  std::string health_timeout;   // --health-timeout DURATION (default 10s)
  bool report = false;          // --report-as given
  std::string report_as;        // --report-as ID (empty: host:pid)
  std::string report_ttl;       // --report-ttl DURATION (default 10s)
};

int run_watch(const Common& common, const CLI::App* app, const WatchOptions& w);

// One-shot commands (oneshot_commands.cpp): load the sources once, no watching.
int run_get(const Common& common, const CLI::App* app, const std::string& key);
int run_explain(const Common& common, const CLI::App* app, const std::string& key);
int run_render(const Common& common, const CLI::App* app, const std::string& output,
               const std::string& render_format);
int run_check(const Common& common, const CLI::App* app);

/// What `liveconf check` finds: every problem, the merged config, and each
/// source layer's own tree (in order). Shared with `liveconf publish`.
struct Checked {
  std::vector<Error> problems;
  Value merged;
  std::vector<Value> loaded;
};
[[nodiscard]] Checked check_sources(const SessionOptions& so, const SchemaFile* schema);
/// Prints every problem as `check` does; the exit code they call for.
int report_problems(const std::vector<Error>& problems);

// `liveconf publish --etcd URL --prefix P --file F`: check F as `check`
// would, then write its keys in one etcd transaction guarded by the prefix's
// revision (docs/fleet.md).
struct PublishOptions {
  std::string etcd;                  // --etcd endpoints
  std::string prefix;                // --prefix
  std::string file;                  // --file
  std::string schema;                // --schema
  std::vector<std::string> secrets;  // --secret KEY: masked in the printed plan
  bool document = false;             // --etcd-document: the prefix is one key
  bool dry_run = false;
  std::string etcd_user, etcd_ca;
  std::string format = "text";
};
int run_publish(const PublishOptions& options);

// `liveconf fleet --etcd URL --prefix P`: the instances reporting for P.
struct FleetOptions {
  std::string etcd;
  std::string prefix;
  bool document = false;
  std::string etcd_user, etcd_ca;
  std::string format = "text";
};
int run_fleet(const FleetOptions& options);
int run_env_report(const Common& common, const std::string& prefix);

// status (status_command.cpp): what a running `liveconf watch --admin ADDR`
// (or any program serving liveconf::admin) reports.
struct StatusOptions {
  std::string admin;            // --admin ADDR
  std::string format = "text";  // --format text|json
};
int run_status(const StatusOptions& options);

// pin, unpin, rollback (pin_commands.cpp): POST to a running admin endpoint.
struct PinCommandOptions {
  std::string admin;        // --admin ADDR
  std::string admin_token;  // --admin-token FILE (required: these change what is served)
  std::string config = "cli";
  std::uint64_t generation = 0;  // pin: required; rollback: 0 = the one before the served one
  std::string ttl;               // --ttl DURATION
  std::string reason;            // --reason TEXT
  std::string format = "text";
};
int run_pin_command(std::string_view action, const PinCommandOptions& options);

// history (history_command.cpp): what a journal (`liveconf watch --journal
// DIR`, or any program keeping a liveconf::Journal) remembers.
struct HistoryOptions {
  std::string journal;      // --journal DIR
  std::string journal_key;  // --journal-key FILE (not needed: everything shown is masked)
  std::string format = "text";
  std::size_t limit = 0;   // --limit N (0: all)
  std::string config;      // --config NAME (default: every config)
  std::uint64_t show = 0;  // --show GEN
};
int run_history(const HistoryOptions& options);

#ifdef LIVECONF_CLI_WITH_JOURNAL
/// The journal options `liveconf watch --journal` asks for.
[[nodiscard]] Result<JournalOptions> watch_journal_options(const WatchOptions& w);
/// "64MiB", "512KiB", "1G", "4096" -> bytes; nullopt if not a size.
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);
#endif

}  // namespace liveconf::cli
