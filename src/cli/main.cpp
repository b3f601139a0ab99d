// `liveconf`: the operator's tool. Subcommands: watch, get, explain, check,
// render, env-report; every one takes the same source options
// (common_options.hpp). docs/cli.md is the manual, with the exit code table
// (kept in one place: exit_codes.hpp). The commands are in watch_command.cpp
// and oneshot_commands.cpp.
#include <cstdio>
#include <exception>
#include <iterator>
#include <string>

#include <CLI/CLI.hpp>

#include "liveconf/liveconf.hpp"

#include "cli/command_docs.hpp"
#include "cli/commands.hpp"
#include "cli/common_options.hpp"
#include "cli/exit_codes.hpp"
#include "cli/version_info.hpp"

namespace liveconf::cli {
namespace {

int run(int argc, char** argv) {
  CLI::App app(
      "liveconf: keep an application's configuration live, and see where every value "
      "came from.",
      "liveconf");
  std::string version = version_text();
  version.pop_back();  // CLI11 adds the last newline
  app.set_version_flag("--version", version);
  app.require_subcommand(1);
  app.footer(std::string(kExitCodeTable) + "\n\nSee docs/cli.md.");

  Common common;
  WatchOptions watch;
  std::string key;
  std::string prefix;
  std::string output;
  std::string render_format;

  CLI::App* w = app.add_subcommand(
      "watch", "Print the config, then every change with its source, until SIGINT/SIGTERM");
  common.add_to(w);
  w->add_option("--render", watch.render, "Write the merged config to PATH atomically")
      ->type_name("PATH");
  w->add_option("--render-format", watch.render_format,
                "json, yaml or toml (default: by extension)");
  w->add_option("--exec", watch.exec, "Run CMD (via /bin/sh -c) and keep it running")
      ->type_name("CMD");
  w->add_option("--on-change", watch.on_change, "restart, or signal:NAME (e.g. signal:HUP)");
  w->add_flag("--once", watch.once, "Load, print, exit");
#ifdef LIVECONF_CLI_WITH_ADMIN
  w->add_option("--admin", watch.admin,
                "Serve /status, /metrics, /readyz, ... on HOST:PORT or unix:/PATH "
                "(docs/operations.md)")
      ->type_name("ADDR");
  w->add_option("--admin-token", watch.admin_token,
                "File with the bearer token endpoints that change anything require")
      ->type_name("FILE");
  w->add_flag("--admin-allow-remote", watch.admin_allow_remote,
              "Allow --admin on an address other than loopback");
  w->add_option("--admin-ready-grace", watch.admin_ready_grace,
                "How long /readyz tolerates a missing or failing source (e.g. 30s)")
      ->type_name("DURATION");
#endif
  w->add_option("--health-cmd", watch.health_cmd,
                "Probe each new generation with /bin/sh -c CMD (LIVECONF_GENERATION set, after "
                "--render); non-zero or a timeout reverts it")
      ->type_name("CMD");
  w->add_option("--health-bake", watch.health_bake,
                "How long a new generation must stay healthy (default 30s)")
      ->type_name("DURATION");
  w->add_option("--health-interval", watch.health_interval,
                "Time between probes during the bake (default 5s)")
      ->type_name("DURATION");
  w->add_option("--health-timeout", watch.health_timeout,
                "A probe running longer fails (default 10s)")
      ->type_name("DURATION");
#ifdef LIVECONF_CLI_WITH_ETCD
  w->add_option("--report-as", watch.report_as,
                "Keep ID's entry in the fleet report under the --etcd prefix (liveconf fleet); "
                "without ID: host:pid")
      ->type_name("ID")
      ->expected(0, 1)
      ->default_str("");
  w->add_option("--report-ttl", watch.report_ttl,
                "The fleet entry goes this long after the process dies (default 10s)")
      ->type_name("DURATION");
#endif
#ifdef LIVECONF_CLI_WITH_JOURNAL
  w->add_option("--journal", watch.journal,
                "Record every published generation in DIR (liveconf history reads it)")
      ->type_name("DIR");
  w->add_option("--journal-key", watch.journal_key,
                "File with the 32-byte key that seals secrets in the journal (else left out)")
      ->type_name("FILE");
  w->add_option("--journal-max-size", watch.journal_max_size,
                "Cap on the journal's size; oldest records go first (default 64MiB)")
      ->type_name("SIZE");
  w->add_option("--journal-sync", watch.journal_sync,
                "every: fdatasync each record (default); none: survive a crash, not a power loss")
      ->check(CLI::IsMember({"every", "none"}));
#endif

  CLI::App* g = app.add_subcommand("get", "Print one value (exit 1 if absent)");
  common.add_to(g);
  g->add_option("KEY", key, "Dotted key path")->required();

  CLI::App* e = app.add_subcommand("explain", "Every layer's value for KEY, and which one won");
  common.add_to(e);
  e->add_option("KEY", key, "Dotted key path")->required();

  CLI::App* c = app.add_subcommand("check", "Load and validate everything; list every problem");
  common.add_to(c);

  CLI::App* r = app.add_subcommand("render", "Write the merged config (stdout: secrets masked)");
  common.add_to(r);
  r->add_option("-o,--output", output, "Write to PATH atomically (secrets included, mode 0600)")
      ->type_name("PATH");
  r->add_option("--render-format", render_format, "json, yaml or toml (default: by extension)");

  CLI::App* env = app.add_subcommand(
      "env-report", "For each PREFIX_* variable: the key it sets, or why it is ignored");
  common.add_to(env);
  env->add_option("PREFIX", prefix, "Variable prefix")->required();

  StatusOptions status;
  CLI::App* st = app.add_subcommand("status", "What a running liveconf admin endpoint reports");
  st->add_option("--admin", status.admin, "HOST:PORT or unix:/PATH of the admin endpoint")
      ->type_name("ADDR")
      ->required();
  st->add_option("--format", status.format, "Output: text (a table) or json")
      ->check(CLI::IsMember({"text", "json"}));

  // pin / unpin / rollback: through a running admin endpoint.
  PinCommandOptions pin_options;
  auto add_pin_options = [&](CLI::App* cmd) {
    cmd->add_option("--admin", pin_options.admin, "HOST:PORT or unix:/PATH of the admin endpoint")
        ->type_name("ADDR")
        ->required();
    cmd->add_option("--admin-token", pin_options.admin_token,
                    "File with the endpoint's bearer token")
        ->type_name("FILE")
        ->required();
    cmd->add_option("--config", pin_options.config, "The config (default: cli)");
    cmd->add_option("--format", pin_options.format, "Output: text or json")
        ->check(CLI::IsMember({"text", "json"}));
  };
  CLI::App* pin_cmd = app.add_subcommand(
      "pin", "Serve the content of generation GEN (from the process's journal) until unpin");
  add_pin_options(pin_cmd);
  pin_cmd->add_option("GEN", pin_options.generation, "The generation to serve")
      ->required()
      ->check(CLI::PositiveNumber);
  pin_cmd->add_option("--ttl", pin_options.ttl, "End the pin by itself after DURATION (e.g. 30m)")
      ->type_name("DURATION");
  pin_cmd->add_option("--reason", pin_options.reason, "Why (shown in status and history)");
  CLI::App* unpin_cmd = app.add_subcommand("unpin", "End a pin: serve what the sources say now");
  add_pin_options(unpin_cmd);
  CLI::App* rollback_cmd =
      app.add_subcommand("rollback", "Pin the generation before the served one (or GEN)");
  add_pin_options(rollback_cmd);
  rollback_cmd->add_option("GEN", pin_options.generation, "The generation to go back to")
      ->check(CLI::PositiveNumber);
  rollback_cmd->add_option("--ttl", pin_options.ttl, "End the pin by itself after DURATION")
      ->type_name("DURATION");
  rollback_cmd->add_option("--reason", pin_options.reason, "Why (shown in status and history)");

#ifdef LIVECONF_CLI_WITH_JOURNAL
  HistoryOptions history;
  CLI::App* hi = app.add_subcommand(
      "history", "The generations a journal recorded, newest first, with their changes");
  hi->add_option("--journal", history.journal, "The journal's directory (watch --journal DIR)")
      ->type_name("DIR")
      ->required();
  hi->add_option("--journal-key", history.journal_key, "The journal's key file (not needed)")
      ->type_name("FILE");
  hi->add_option("--format", history.format, "Output: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  hi->add_option("--limit", history.limit, "At most N records (default: all)")->type_name("N");
  hi->add_option("--config", history.config, "Only this config (default: every one)");
  hi->add_option("--show", history.show, "The whole config of generation GEN (secrets masked)")
      ->type_name("GEN")
      ->check(CLI::PositiveNumber);
#endif

#ifdef LIVECONF_CLI_WITH_ETCD
  PublishOptions publish;
  CLI::App* pub = app.add_subcommand(
      "publish",
      "Check a config file as check does, then write it under an etcd prefix in one "
      "guarded transaction");
  pub->add_option("--etcd", publish.etcd, "etcd endpoints (comma-separated)")
      ->type_name("ENDPOINTS")
      ->required();
  pub->add_option("--prefix", publish.prefix, "The key prefix the fleet reads")
      ->type_name("PREFIX")
      ->required();
  pub->add_option("--file", publish.file, "The config file to publish")
      ->type_name("PATH")
      ->required();
  pub->add_option("--schema", publish.schema, "Validate against this schema first")
      ->type_name("FILE");
  pub->add_option("--secret", publish.secrets, "KEY is secret: masked in the printed changes")
      ->type_name("KEY");
  pub->add_flag("--etcd-document", publish.document,
                "Write the file as it is to the one key --prefix names");
  pub->add_flag("--dry-run", publish.dry_run, "Print the key changes; write nothing");
  pub->add_option("--etcd-user", publish.etcd_user,
                  "etcd username; the password is read from $LIVECONF_ETCD_PASSWORD")
      ->type_name("USER");
  pub->add_option("--etcd-ca", publish.etcd_ca, "PEM file of etcd's CA (TLS)")->type_name("FILE");
  pub->add_option("--format", publish.format, "Output: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  FleetOptions fleet;
  CLI::App* fl = app.add_subcommand(
      "fleet", "The instances reporting for an etcd prefix (watch --report-as): what each serves");
  fl->add_option("--etcd", fleet.etcd, "etcd endpoints (comma-separated)")
      ->type_name("ENDPOINTS")
      ->required();
  fl->add_option("--prefix", fleet.prefix, "The key prefix the fleet reads")
      ->type_name("PREFIX")
      ->required();
  fl->add_flag("--etcd-document", fleet.document, "--prefix is one key holding a document");
  fl->add_option("--etcd-user", fleet.etcd_user,
                 "etcd username; the password is read from $LIVECONF_ETCD_PASSWORD")
      ->type_name("USER");
  fl->add_option("--etcd-ca", fleet.etcd_ca, "PEM file of etcd's CA (TLS)")->type_name("FILE");
  fl->add_option("--format", fleet.format, "Output: text (a table) or json")
      ->check(CLI::IsMember({"text", "json"}));
#endif

  std::string shell;
  CLI::App* comp = app.add_subcommand(
      "completion", "Print the shell completion script: source <(liveconf completion bash)");
  comp->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember(
          std::vector<std::string>(std::begin(kCompletionShells), std::end(kCompletionShells))));

  CLI::App* man = app.add_subcommand(
      "man-page", "Print this manual page, liveconf(1), in roff: liveconf man-page | man -l -");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& ex) {
    return app.exit(ex);
  } catch (const CLI::CallForAllHelp& ex) {
    return app.exit(ex);
  } catch (const CLI::CallForVersion& ex) {
    return app.exit(ex);
  } catch (const CLI::ParseError& ex) {
    // Our error format rather than CLI11's, so every error reads the same.
    std::fprintf(stderr, "liveconf: %s\nRun with --help for more information.\n", ex.what());
    return kExitUsage;
  }
#ifdef LIVECONF_CLI_WITH_ETCD
  watch.report = w->get_option("--report-as")->count() > 0;
#endif
  try {
    if (comp->parsed()) {
      std::fputs(completion_script(app, shell).c_str(), stdout);
      return kExitOk;
    }
    if (man->parsed()) {
      std::fputs(man_page(app, kExitCodeTable).c_str(), stdout);
      return kExitOk;
    }
    if (w->parsed()) {
      return run_watch(common, w, watch);
    }
    if (g->parsed()) {
      return run_get(common, g, key);
    }
    if (e->parsed()) {
      return run_explain(common, e, key);
    }
    if (c->parsed()) {
      return run_check(common, c);
    }
    if (r->parsed()) {
      return run_render(common, r, output, render_format);
    }
    if (env->parsed()) {
      return run_env_report(common, prefix);
    }
    if (st->parsed()) {
      return run_status(status);
    }
    if (pin_cmd->parsed()) {
      return run_pin_command("pin", pin_options);
    }
    if (unpin_cmd->parsed()) {
      return run_pin_command("unpin", pin_options);
    }
    if (rollback_cmd->parsed()) {
      return run_pin_command("rollback", pin_options);
    }
#ifdef LIVECONF_CLI_WITH_JOURNAL
    if (hi->parsed()) {
      return run_history(history);
    }
#endif
#ifdef LIVECONF_CLI_WITH_ETCD
    if (pub->parsed()) {
      return run_publish(publish);
    }
    if (fl->parsed()) {
      return run_fleet(fleet);
    }
#endif
  } catch (const std::exception& ex) {
    // The library throws nothing for anticipated failures; this is a bug or out of memory.
    std::fprintf(stderr, "liveconf: internal error: %s\n", ex.what());
    return kExitInternal;
  }
  return kExitUsage;
}

}  // namespace
}  // namespace liveconf::cli

int main(int argc, char** argv) { return liveconf::cli::run(argc, argv); }
