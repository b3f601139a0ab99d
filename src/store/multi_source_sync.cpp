#include <climits>

#include "liveconf/sync.hpp"

namespace liveconf {
namespace {

void collect_leaves(const Value& v, KeyPath& path, std::vector<KeySource>& out) {
  if (v.is_object() && !v.as_object().empty()) {
    for (const auto& [key, child] : v.as_object()) {
      path.push_back(key);
      collect_leaves(child, path, out);
      path.pop_back();
    }
    return;
  }
  out.push_back(KeySource{path.to_string(), v.origin().source(), v.origin().location()});
}

}  // namespace

MultiSourceConfigSync::MultiSourceConfigSync(std::string config_name, ConfigManager& manager,
                                             SyncOptions options)
    : config_name_(std::move(config_name)), manager_(manager), options_(std::move(options)) {}

Status MultiSourceConfigSync::check_priority(int priority) {
  // Stay strictly between the manager's own layers: defaults/initial below,
  // update()'s overrides above.
  if (priority <= INT_MIN + 2 || priority >= INT_MAX - 2) {
    return Error(ErrorCode::kValidation,
                 "sync priority " + std::to_string(priority) + " is out of range");
  }
  return ok_status();
}

Status MultiSourceConfigSync::add(std::unique_ptr<Source> source, int priority) {
  const std::string name = source->name();
  if (Status st = manager_.add_source(config_name_, std::move(source)); !st.ok()) {
    return st;
  }
  std::lock_guard<std::mutex> lk(mu_);
  sources_.emplace_back(name, priority);
  return ok_status();
}

Status MultiSourceConfigSync::add_file_source(std::filesystem::path path, int priority,
                                              FileSourceOptions file) {
  if (Status st = check_priority(priority); !st.ok()) {
    return st;
  }
  file.path = std::move(path);
  file.priority = layer_priority(priority);
  file.debounce = options_.debounce;
  file.optional = file.optional || options_.optional_files;
  Result<std::unique_ptr<Source>> source = make_file_source(std::move(file));
  if (!source) {
    return std::move(source).error();
  }
  return add(std::move(*source), priority);
}

Status MultiSourceConfigSync::add_env_source(std::string prefix, int priority,
                                             EnvSourceOptions env) {
  if (Status st = check_priority(priority); !st.ok()) {
    return st;
  }
  env.prefix = std::move(prefix);
  env.priority = layer_priority(priority);
  env.debounce = options_.debounce;
  Result<std::unique_ptr<Source>> source = make_env_source(std::move(env));
  if (!source) {
    return std::move(source).error();
  }
  return add(std::move(*source), priority);
}

Status MultiSourceConfigSync::add_source(
    int priority, const std::function<Result<std::unique_ptr<Source>>(int)>& make) {
  if (Status st = check_priority(priority); !st.ok()) {
    return st;
  }
  Result<std::unique_ptr<Source>> source = make(layer_priority(priority));
  if (!source) {
    return std::move(source).error();
  }
  if (!*source) {
    return Error(ErrorCode::kValidation, "add_source: the factory returned no source");
  }
  return add(std::move(*source), priority);
}

Result<SnapshotPtr> MultiSourceConfigSync::sync() {
  if (Status st = manager_.reload(config_name_); !st.ok()) {
    return st.error();
  }
  return manager_.snapshot(config_name_);
}

std::vector<KeySource> MultiSourceConfigSync::sources_of() const {
  std::vector<KeySource> out;
  Result<SnapshotPtr> snap = manager_.snapshot(config_name_);
  if (!snap) {
    return out;
  }
  KeyPath path;
  collect_leaves((*snap)->tree(), path, out);
  return out;
}

std::string MultiSourceConfigSync::describe_sources(bool include_defaults) const {
  std::string out;
  for (const KeySource& k : sources_of()) {
    if (!include_defaults && (k.source == kDefaultsLayer || k.source == kInitialLayer)) {
      continue;
    }
    out += "  " + k.path + ": " + k.source + "\n";
  }
  return out;
}

std::vector<std::pair<std::string, int>> MultiSourceConfigSync::sources() const {
  std::lock_guard<std::mutex> lk(mu_);
  return sources_;
}

}  // namespace liveconf
