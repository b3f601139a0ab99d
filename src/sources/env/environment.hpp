// The process environment behind one lock, and the listeners set_env() wakes.
//
// POSIX gives environ no lock, so getenv racing setenv is undefined in a
// threaded program. Everything in liveconf that reads the environment goes
// through for_each_env_entry(), under env_mutex(); set_env()/unset_env() take
// the same lock. STYLE.md suggests an EnvReader interface to inject; the tests
// use the real environment instead (set_env takes the environment lock and notifies at once,
// so nothing needs faking), and one reader keeps one place that holds the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "base/mutex.hpp"

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace liveconf::detail {

Mutex& env_mutex();

/// Calls fn(name, value) for every variable, under env_mutex().
template <typename Fn>
void for_each_env_entry(Fn&& fn) {
  MutexLock lk(env_mutex());
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      continue;  // not NAME=VALUE (possible through execve); nobody can set it
    }
    fn(entry.substr(0, eq), entry.substr(eq + 1));
  }
}

/// Calls fn(entry) with every raw "NAME=value" string of environ, under
/// env_mutex(), malformed entries included (the caller splits them).
template <typename Fn>
void for_each_env_string(Fn&& fn) {
  MutexLock lk(env_mutex());
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    fn(static_cast<const char*>(*e));
  }
}

/// While alive, `wake` is called (on the setting thread, quickly, never
/// blocking) after every set_env()/unset_env().
class EnvListener {
 public:
  explicit EnvListener(std::function<void()> wake);
  ~EnvListener();
  EnvListener(const EnvListener&) = delete;
  EnvListener& operator=(const EnvListener&) = delete;

 private:
  std::uint64_t id_;
};

}  // namespace liveconf::detail
