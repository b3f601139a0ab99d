// Documents generated from the CLI's own command tree (CLI11's App), so they
// name exactly the subcommands and options this binary has and cannot drift
// from --help: the shell completion scripts (`liveconf completion bash|zsh`)
// and the manual page (`liveconf man-page`, installed as liveconf(1)).
//
//   source <(liveconf completion bash)
//   liveconf completion zsh > "${fpath[1]}/_liveconf"
//
// Options whose value is a file (type PATH or FILE) complete file names, DIR
// directories, a fixed set of choices (CLI::IsMember) those choices; other
// values complete nothing.
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace liveconf::cli {

/// The shells a script can be generated for.
/// The shells `liveconf completion` writes a script for.
inline constexpr std::string_view kCompletionShells[] = {"bash", "zsh"};

/// The completion script for `shell` ("bash" or "zsh") of `app`'s commands.
[[nodiscard]] std::string completion_script(const CLI::App& app, std::string_view shell);

/// liveconf(1) in roff (man macros): every subcommand with its options, the
/// exit codes (`exit_codes`), the environment and where to read more.
[[nodiscard]] std::string man_page(const CLI::App& app, std::string_view exit_codes);

}  // namespace liveconf::cli
