// What the admin endpoint shows, computed from the manager's own reports
// (list(), snapshot()) at the time of the request: /status as a Value,
// /metrics as Prometheus text (prometheus-cpp's serializer), /readyz's reason.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "liveconf/admin.hpp"

namespace liveconf {
namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

Value error_value(const Error& e) {
  Value v = Value::object();
  v["code"] = std::string(error_code_name(e.code()));
  v["message"] = e.to_string();
  v["location"] = e.origin().location();
  if (!e.origin().source().empty()) {
    v["source"] = e.origin().source();
  }
  if (!e.path().empty()) {
    v["key"] = e.path().to_string();
  }
  return v;
}

Value layers_value(const std::vector<LayerVersion>& layers) {
  Value out = Value::array();
  for (const LayerVersion& l : layers) {
    Value v = Value::object();
    v["name"] = l.name;
    v["priority"] = l.priority;
    v["version"] = l.version;
    out.push_back(std::move(v));
  }
  return out;
}

Value source_value(const SourceStatus& s, std::chrono::system_clock::time_point now) {
  Value v = Value::object();
  v["name"] = s.name;
  v["state"] = std::string(source_state_name(s.state));
  v["since"] = unix_seconds(s.state_since);
  v["loads"] = s.loads;
  v["failures"] = s.failures;
  v["signals"] = s.signals;
  if (s.last_success) {
    v["last_success"] = unix_seconds(*s.last_success);
    v["staleness_seconds"] = std::chrono::duration<double>(now - *s.last_success).count();
  } else {
    v["last_success"] = nullptr;
    v["staleness_seconds"] = nullptr;
  }
  v["layers"] = layers_value(s.layers);
  v["last_error"] = s.last_error ? error_value(*s.last_error) : Value();
  return v;
}

}  // namespace

Value admin_status_value(const ConfigManager& manager) {
  const auto now = std::chrono::system_clock::now();
  Value configs = Value::array();
  for (const ConfigStatus& c : manager.list()) {
    Value v = Value::object();
    v["name"] = c.name;
    v["type"] = c.type_name;
    v["generation"] = c.generation;
    v["publishes"] = c.publishes;
    v["failures"] = c.failures;
    v["callbacks"] = c.callbacks;
    v["callback_errors"] = c.callback_errors;
    v["last_error"] = c.last_error ? error_value(*c.last_error) : Value();
    Value pending = Value::array();
    if (Result<SnapshotPtr> snap = manager.snapshot(c.name); snap && *snap) {
      for (const Change& ch : (*snap)->pending_restart()) {
        pending.push_back(ch.to_string());  // masked by the manager for secrets
      }
    }
    v["pending_restart"] = std::move(pending);
    v["layers"] = layers_value(c.layers);
    Value sources = Value::array();
    for (const SourceStatus& s : c.sources) {
      sources.push_back(source_value(s, now));
    }
    v["sources"] = std::move(sources);
    if (c.pin) {
      Value pin = Value::object();
      pin["pinned_generation"] = c.pin->pinned_generation;
      pin["served_generation"] = c.pin->served_generation;
      pin["since"] = unix_seconds(c.pin->since);
      pin["expires"] = c.pin->expires ? Value(unix_seconds(*c.pin->expires)) : Value();
      pin["reason"] = c.pin->reason;
      Value waiting = Value::array();
      for (const Change& ch : c.pin->pending) {
        waiting.push_back(ch.to_string());  // masked by the manager for secrets
      }
      pin["pending"] = std::move(waiting);
      v["pin"] = std::move(pin);
    } else {
      v["pin"] = Value();
    }
    v["healthy_generation"] = c.healthy_generation;
    Value rollbacks = Value::object();
    rollbacks["health_check"] = c.rollbacks.by_health;
    rollbacks["operator"] = c.rollbacks.by_operator;
    v["rollbacks"] = std::move(rollbacks);
    configs.push_back(std::move(v));
  }
  Value out = Value::object();
  out["configs"] = std::move(configs);
  return out;
}

std::string admin_not_ready_reason(const ConfigManager& manager, std::chrono::milliseconds grace) {
  const auto now = std::chrono::system_clock::now();
  for (const ConfigStatus& c : manager.list()) {
    if (c.generation == 0) {
      return "config \"" + c.name + "\" has not published yet";
    }
    for (const SourceStatus& s : c.sources) {
      if (s.state != SourceState::kMissing && s.state != SourceState::kError) {
        continue;
      }
      if (now - s.state_since < grace) {
        continue;
      }
      std::string why = "config \"" + c.name + "\": source " + s.name + " is " +
                        std::string(source_state_name(s.state));
      if (s.last_error) {
        why += ": " + s.last_error->to_string();
      }
      return why;
    }
  }
  return {};
}

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

// Process figures read from /proc where that is one small read.
std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      n += e->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(d);
    n -= n > 0 ? 1 : 0;  // the directory's own fd
  }
  return n;
}

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  if (!(statm >> size >> resident)) {
    return 0;
  }
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string admin_metrics_text(const ConfigManager& manager) {
  MetricFamily generation =
      family("liveconf_config_generation", "Generation of the snapshot the config serves",
             MetricType::Gauge);
  MetricFamily publishes =
      family("liveconf_config_publishes_total", "Snapshots published (a change that went live)",
             MetricType::Counter);
  MetricFamily refused =
      family("liveconf_config_refused_total",
             "Candidates refused (parse, bind or validation failed)", MetricType::Counter);
  MetricFamily pending =
      family("liveconf_pending_restart", "Restart-required changes waiting for a restart",
             MetricType::Gauge);
  MetricFamily pinned =
      family("liveconf_config_pinned",
             "1 while a pin (a rollback) serves a stored generation instead of the sources",
             MetricType::Gauge);
  MetricFamily rollbacks =
      family("liveconf_rollbacks_total",
             "Times a config went back: reason health_check (a health gate's revert) or "
             "operator (a rollback pin)",
             MetricType::Counter);
  MetricFamily healthy =
      family("liveconf_config_healthy_generation",
             "The newest generation that passed its health bake (0: none, or no health gate)",
             MetricType::Gauge);
  MetricFamily callbacks =
      family("liveconf_subscriber_callbacks_total", "Subscriber calls made", MetricType::Counter);
  MetricFamily callback_errors = family("liveconf_subscriber_callback_errors_total",
                                        "Subscriber calls that threw", MetricType::Counter);
  MetricFamily reloads =
      family("liveconf_reloads_total",
             "Source loads by result (failure: failed, or refused content)", MetricType::Counter);
  MetricFamily signals =
      family("liveconf_source_signals_total", "Change notifications from a source's watch backend",
             MetricType::Counter);
  MetricFamily state =
      family("liveconf_source_state", "1 for the state a source is in, 0 for the others",
             MetricType::Gauge);
  MetricFamily last_success =
      family("liveconf_source_last_success_timestamp_seconds",
             "Unix time of the last load whose content went live", MetricType::Gauge);
  MetricFamily duration =
      family("liveconf_reload_duration_seconds", "From a source's load to the publish it caused",
             MetricType::Histogram);

  constexpr SourceState kStates[] = {SourceState::kOk, SourceState::kMissing, SourceState::kStale,
                                     SourceState::kError};
  for (const ConfigStatus& c : manager.list()) {
    const std::vector<ClientMetric::Label> config{{"config", c.name}};
    generation.metric.push_back(
        sample(config, static_cast<double>(c.generation), MetricType::Gauge));
    publishes.metric.push_back(
        sample(config, static_cast<double>(c.publishes), MetricType::Counter));
    refused.metric.push_back(sample(config, static_cast<double>(c.failures), MetricType::Counter));
    callbacks.metric.push_back(
        sample(config, static_cast<double>(c.callbacks), MetricType::Counter));
    callback_errors.metric.push_back(
        sample(config, static_cast<double>(c.callback_errors), MetricType::Counter));
    std::size_t waiting = 0;
    if (Result<SnapshotPtr> snap = manager.snapshot(c.name); snap && *snap) {
      waiting = (*snap)->pending_restart().size();
    }
    pending.metric.push_back(sample(config, static_cast<double>(waiting), MetricType::Gauge));
    pinned.metric.push_back(sample(config, c.pin ? 1 : 0, MetricType::Gauge));
    rollbacks.metric.push_back(sample({{"config", c.name}, {"reason", "health_check"}},
                                      static_cast<double>(c.rollbacks.by_health),
                                      MetricType::Counter));
    rollbacks.metric.push_back(sample({{"config", c.name}, {"reason", "operator"}},
                                      static_cast<double>(c.rollbacks.by_operator),
                                      MetricType::Counter));
    healthy.metric.push_back(
        sample(config, static_cast<double>(c.healthy_generation), MetricType::Gauge));

    ClientMetric h;
    h.label = config;
    h.histogram.sample_count = c.reload_duration.count;
    h.histogram.sample_sum = c.reload_duration.sum_seconds;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < c.reload_duration.counts.size(); ++i) {
      cumulative += c.reload_duration.counts[i];
      const double bound = i < DurationHistogram::kBounds.size()
                               ? DurationHistogram::kBounds[i]
                               : std::numeric_limits<double>::infinity();
      h.histogram.bucket.push_back(ClientMetric::Bucket{cumulative, bound});
    }
    duration.metric.push_back(std::move(h));

    for (const SourceStatus& s : c.sources) {
      const std::vector<ClientMetric::Label> source{{"config", c.name}, {"source", s.name}};
      auto with = [&](const char* name, std::string value) {
        std::vector<ClientMetric::Label> l = source;
        l.push_back({name, std::move(value)});
        return l;
      };
      reloads.metric.push_back(sample(with("result", "success"),
                                      static_cast<double>(s.loads - std::min(s.loads, s.failures)),
                                      MetricType::Counter));
      reloads.metric.push_back(
          sample(with("result", "failure"), static_cast<double>(s.failures), MetricType::Counter));
      signals.metric.push_back(sample(source, static_cast<double>(s.signals), MetricType::Counter));
      for (SourceState st : kStates) {
        state.metric.push_back(sample(with("state", std::string(source_state_name(st))),
                                      s.state == st ? 1 : 0, MetricType::Gauge));
      }
      if (s.last_success) {
        last_success.metric.push_back(
            sample(source, unix_seconds(*s.last_success), MetricType::Gauge));
      }
    }
  }
  MetricFamily fds = family("process_open_fds", "Open file descriptors", MetricType::Gauge);
  fds.metric.push_back(sample({}, static_cast<double>(open_fds()), MetricType::Gauge));
  MetricFamily rss =
      family("process_resident_memory_bytes", "Resident set size in bytes", MetricType::Gauge);
  rss.metric.push_back(sample({}, resident_bytes(), MetricType::Gauge));

  std::vector<MetricFamily> all;
  for (MetricFamily* f :
       {&generation, &publishes, &refused, &pending, &pinned, &rollbacks, &healthy, &callbacks,
        &callback_errors, &reloads, &signals, &state, &last_success, &duration, &fds, &rss}) {
    if (!f->metric.empty()) {
      all.push_back(std::move(*f));
    }
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, all);
  return std::move(out).str();
}

}  // namespace liveconf
