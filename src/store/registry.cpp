#include <iostream>
#include <mutex>

#include "store/config_entry.hpp"

namespace liveconf::detail {

const std::unordered_map<std::string, std::size_t>& layer_positions(EntryState& st) {
  if (st.positions.empty()) {
    st.positions.reserve(st.layers().size());
    for (std::size_t i = 0; i < st.layers().size(); ++i) {
      st.positions.emplace(st.layers()[i]->name, i);
    }
  }
  return st.positions;
}

bool SourceSlot::Quarantine::matches(const std::vector<Layer>& load) const {
  if (load.size() != layers.size()) {
    return false;
  }
  for (std::size_t i = 0; i < load.size(); ++i) {
    const Layer& was = *layers[i];
    if (load[i].name != was.name ||
        (load[i].version != was.version && !(load[i].data == was.data))) {
      return false;
    }
  }
  return true;
}

std::shared_ptr<Entry> Registry::find(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<Entry>> Registry::get(std::string_view name) const {
  if (std::shared_ptr<Entry> e = find(name)) {
    return e;
  }
  return not_found(name);
}

std::vector<std::shared_ptr<Entry>> Registry::all() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  std::vector<std::shared_ptr<Entry>> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) {
    out.push_back(e);
  }
  return out;
}

bool Registry::insert(std::shared_ptr<Entry> entry) {
  std::unique_lock<std::shared_mutex> lk(mu_);
  std::string name = entry->name;
  return entries_.emplace(std::move(name), std::move(entry)).second;
}

std::shared_ptr<Entry> Registry::erase(std::string_view name) {
  std::unique_lock<std::shared_mutex> lk(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return nullptr;
  }
  std::shared_ptr<Entry> e = std::move(it->second);
  entries_.erase(it);
  return e;
}

Error Registry::not_found(std::string_view name) {
  return Error(ErrorCode::kNotFound, "no config named \"" + std::string(name) + "\"");
}

namespace {

void default_log(LogLevel level, std::string_view message) {
  if (level >= LogLevel::kWarning) {
    std::cerr << "liveconf: " << (level == LogLevel::kError ? "error: " : "warning: ") << message
              << '\n';
  }
}

}  // namespace

ManagerLog::ManagerLog(std::function<void(LogLevel, std::string_view)> sink)
    : sink_(sink ? std::move(sink) : default_log) {}

void ManagerLog::operator()(LogLevel level, std::string_view message) const noexcept {
  try {
    sink_(level, message);
  } catch (...) {
  }
}

}  // namespace liveconf::detail
