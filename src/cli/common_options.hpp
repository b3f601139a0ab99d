// The options every liveconf subcommand shares: the sources, in command-line
// order, and what they turn into (SessionOptions).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "liveconf/liveconf.hpp"

#include "cli/session.hpp"

namespace liveconf::cli {

// The options every subcommand shares. Source options keep their command-line
// order (CLI11's parse_order), which is their priority order.
struct Common {
  std::vector<std::string> files, dirs, envs, dotenvs, sets, secrets, etcds;
  std::string etcd_prefix, etcd_user, etcd_ca, etcd_cache, etcd_cache_key;
  bool etcd_document = false;
  std::string format = "text";
  std::string debounce;
  std::string schema;
  bool poll = false;
  // Per subcommand: each registers its own copies of the options.
  std::map<const CLI::App*, std::vector<std::pair<CLI::Option*, SourceSpec::Kind>>> source_options;

  // Registers the shared options on `app` (each subcommand has its own copies).
  void add_to(CLI::App* app);

  // Sources in the order given, whatever option each came from.
  [[nodiscard]] std::vector<SourceSpec> sources(const CLI::App* app) const;

  // The session the options describe, or kValidation for a value the parser
  // could not check itself.
  [[nodiscard]] Result<SessionOptions> session_options(const CLI::App* app, bool watch) const;
};

}  // namespace liveconf::cli
