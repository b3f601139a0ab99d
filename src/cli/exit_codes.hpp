// The one exit code table of the liveconf tool (docs/cli.md repeats it; a test
// compares them), and the mapping from an Error's code to an exit code.
#pragma once

#include <string_view>

#include "liveconf/status.hpp"

namespace liveconf::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitAbsent =
    1;  // get/explain: no such key; history --show: no such generation
inline constexpr int kExitUsage = 2;  // bad options or values
inline constexpr int kExitConfig =
    3;  // a source does not parse, bind or validate; check found problems
inline constexpr int kExitIo = 4;           // a file cannot be read or written
inline constexpr int kExitUnavailable = 5;  // a remote source cannot be reached, EIO
inline constexpr int kExitConflict = 6;     // publish: someone else wrote meanwhile
inline constexpr int kExitInternal = 70;

inline constexpr std::string_view kExitCodeTable = R"(Exit codes:
  0    success (watch: stopped by SIGINT or SIGTERM)
  1    get, explain: the key is not in the configuration; history --show: the generation is not in the journal
  2    usage: a bad option or value
  3    configuration: a source does not parse, bind or validate; check found problems
  4    I/O: a file cannot be read or written (check: every problem is one)
  5    unavailable: a remote source cannot be reached, or a transient read error (EIO)
  6    publish: someone else wrote under the prefix meanwhile; nothing was written
  70   internal error
  N    watch --exec: the command exited by itself with N (128+S if killed by signal S))";

// The exit code for an error that stops a command.
[[nodiscard]] int exit_code_for(const Error& e);

// Prints `e` to stderr and returns exit_code_for(e).
int fail(const Error& e);

// A bad option value the parser could not check itself (--debounce, --set):
// prints `e` to stderr and returns kExitUsage.
int usage(const Error& e);

}  // namespace liveconf::cli
