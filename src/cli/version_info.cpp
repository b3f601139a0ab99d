#include "cli/version_info.hpp"

#include "liveconf/version.hpp"

#include "cli/revision.hpp"  // generated at build time (cmake/revision.cmake)

namespace liveconf::cli {
namespace {

#ifdef LIVECONF_CLI_WITH_ETCD
constexpr bool kEtcd = true;
#else
constexpr bool kEtcd = false;
#endif
#ifdef LIVECONF_CLI_WITH_ADMIN
constexpr bool kAdmin = true;
#else
constexpr bool kAdmin = false;
#endif
#ifdef LIVECONF_CLI_WITH_JOURNAL
constexpr bool kJournal = true;
#else
constexpr bool kJournal = false;
#endif
#ifdef LIVECONF_CLI_PYTHON_BUILT
constexpr bool kPython = true;
#else
constexpr bool kPython = false;
#endif

std::string compiler() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown compiler";
#endif
}

}  // namespace

std::vector<BuiltPart> built_parts() {
  return {{"etcd", kEtcd}, {"admin", kAdmin}, {"journal", kJournal}, {"python", kPython}};
}

std::string_view git_revision() noexcept { return LIVECONF_GIT_REVISION; }

std::string version_text() {
  std::string built;
  std::string missing;
  for (const BuiltPart& p : built_parts()) {
    std::string& list = p.built ? built : missing;
    list += list.empty() ? "" : " ";
    list += p.name;
  }
  std::string out = std::string("liveconf ") + LIVECONF_VERSION_STRING + "\n";
  out += "revision: " + std::string(git_revision()) + "\n";
  out += "parts: " + (built.empty() ? std::string("-") : built);
  out += " (not built: " + (missing.empty() ? std::string("-") : missing) + ")\n";
  std::string type = LIVECONF_CLI_BUILD_TYPE;
  out +=
      "build: " + compiler() + ", " + (type.empty() ? std::string("no build type") : type) + "\n";
  return out;
}

}  // namespace liveconf::cli
