#include "sources/env/environment.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "liveconf/env.hpp"

namespace liveconf {
namespace detail {
namespace {

struct Listeners {
  Mutex mu;
  std::uint64_t next_id LIVECONF_GUARDED_BY(mu) = 1;
  std::map<std::uint64_t, std::function<void()>> wakes LIVECONF_GUARDED_BY(mu);
};

// Leaked on purpose: watchers owned by static objects may outlive a
// function-local static's destruction at exit.
Listeners& listeners() {
  static auto* l = new Listeners();  // NOLINT(cppcoreguidelines-owning-memory)
  return *l;
}

void wake_all() {
  Listeners& l = listeners();
  MutexLock lk(l.mu);
  for (auto& [id, wake] : l.wakes) {
    wake();
  }
}

Status check_name(std::string_view name) {
  if (name.empty() || name.find('=') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return Error(ErrorCode::kValidation, "invalid environment variable name \"" +
                                             std::string(name) +
                                             "\": it must be non-empty without '=' or NUL");
  }
  return ok_status();
}

}  // namespace

Mutex& env_mutex() {
  static auto* mu = new Mutex();  // NOLINT(cppcoreguidelines-owning-memory): see listeners()
  return *mu;
}

EnvListener::EnvListener(std::function<void()> wake) {
  Listeners& l = listeners();
  MutexLock lk(l.mu);
  id_ = l.next_id++;
  l.wakes.emplace(id_, std::move(wake));
}

EnvListener::~EnvListener() {
  // Under the lock wake_all() holds: once this returns, `wake` is not running.
  Listeners& l = listeners();
  MutexLock lk(l.mu);
  l.wakes.erase(id_);
}

}  // namespace detail

Status update_env(const std::map<std::string, std::optional<std::string>>& changes) {
  for (const auto& [name, value] : changes) {
    if (Status st = detail::check_name(name); !st.ok()) {
      return st;
    }
    if (value && value->find('\0') != std::string::npos) {
      return Error(ErrorCode::kValidation, "the value of " + name + " contains a NUL byte");
    }
  }
  Status result;
  {
    detail::MutexLock lk(detail::env_mutex());
    for (const auto& [name, value] : changes) {
      const int rc = value ? ::setenv(name.c_str(), value->c_str(), 1) : ::unsetenv(name.c_str());
      if (rc != 0) {  // ENOMEM: the variables before this one did change
        result = Error(ErrorCode::kInternal, "cannot set " + name + ": " + std::strerror(errno));
        break;
      }
    }
  }
  detail::wake_all();
  return result;
}

Status set_env(std::string_view name, std::string_view value) {
  return update_env({{std::string(name), std::string(value)}});
}

Status unset_env(std::string_view name) { return update_env({{std::string(name), std::nullopt}}); }

std::optional<std::string> get_env(std::string_view name) {
  std::optional<std::string> out;
  detail::for_each_env_entry([&](std::string_view n, std::string_view v) {
    if (!out && n == name) {
      out = std::string(v);
    }
  });
  return out;
}

std::map<std::string, std::string> environment_snapshot(std::string_view prefix) {
  std::map<std::string, std::string> out;
  detail::for_each_env_entry([&](std::string_view n, std::string_view v) {
    if (n.starts_with(prefix)) {
      out.emplace(std::string(n), std::string(v));  // the first of duplicates, as getenv
    }
  });
  return out;
}

}  // namespace liveconf
