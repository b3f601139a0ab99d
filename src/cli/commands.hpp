// The liveconf subcommands, one function each; main.cpp parses the command
// line and calls one. Each returns the process exit code (exit_codes.hpp).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/common_options.hpp"

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
};

int run_watch(const Common& common, const CLI::App* app, const WatchOptions& w);

// One-shot commands (oneshot_commands.cpp): load the sources once, no watching.
int run_get(const Common& common, const CLI::App* app, const std::string& key);
int run_explain(const Common& common, const CLI::App* app, const std::string& key);
int run_render(const Common& common, const CLI::App* app, const std::string& output,
               const std::string& render_format);
int run_check(const Common& common, const CLI::App* app);
int run_env_report(const Common& common, const std::string& prefix);

// status (status_command.cpp): what a running `liveconf watch --admin ADDR`
// (or any program serving liveconf::admin) reports.
struct StatusOptions {
  std::string admin;            // --admin ADDR
  std::string format = "text";  // --format text|json
};
int run_status(const StatusOptions& options);

}  // namespace liveconf::cli
