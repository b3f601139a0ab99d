// What `liveconf --version` prints: the version, the git revision it was
// built from and which optional parts were built, so an operator's bug report
// says exactly which binary it is about.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace liveconf::cli {

/// One optional part and whether this build has it.
struct BuiltPart {
  std::string_view name;  // "etcd", "admin", "journal", "python"
  bool built = false;
};

/// The optional parts, in a fixed order.
[[nodiscard]] std::vector<BuiltPart> built_parts();
/// The git revision (`git describe --always --dirty`), or "unknown".
[[nodiscard]] std::string_view git_revision() noexcept;
/// The whole `--version` text, ending in a newline:
///   liveconf 0.1.0
///   revision: 89d564d1a2b3
///   parts: etcd admin journal python (not built: -)
///   build: GCC 12.2.0, Release
[[nodiscard]] std::string version_text();

}  // namespace liveconf::cli
