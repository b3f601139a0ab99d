// The fleet report (docs/fleet.md): each instance keeps one JSON entry under
// a lease, outside the configuration's prefix; `liveconf fleet` reads them.
#include <algorithm>
#include <condition_variable>
#include <random>
#include <thread>
#include <unistd.h>
#include <utility>

#include "liveconf/etcd.hpp"

#include "base/mutex.hpp"
#include "sources/etcd/etcd_mapping.hpp"

namespace liveconf {
namespace {

using detail::MutexLock;
using SystemClock = std::chrono::system_clock;

std::int64_t unix_ms(SystemClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) {
    return "unknown-host";
  }
  return buf;
}

class FleetReporterImpl final : public FleetReporter {
 public:
  FleetReporterImpl(std::unique_ptr<EtcdClient> client, FleetReporterOptions options,
                    FleetInstance self, std::string key)
      : client_(std::move(client)),
        options_(std::move(options)),
        key_(std::move(key)),
        pending_(std::move(self)) {
    thread_ = std::thread([this] { run(); });
  }

  ~FleetReporterImpl() override {
    {
      MutexLock lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (lease_ != 0) {
      (void)client_->revoke_lease(lease_);  // the entry goes now, not at TTL
    }
  }
  FleetReporterImpl(const FleetReporterImpl&) = delete;
  FleetReporterImpl& operator=(const FleetReporterImpl&) = delete;

  void report(FleetInstance now) override {
    {
      MutexLock lk(mu_);
      now.id = pending_.id;
      now.host = pending_.host;
      now.pid = pending_.pid;
      now.started = pending_.started;
      // The same content again (a reload that changed nothing the fleet
      // sees) is not put again: etcd's write load is one put per change.
      FleetInstance same = now;
      same.updated = {};
      std::string content = fleet_instance_json(same);
      if (content == reported_) {
        return;
      }
      reported_ = std::move(content);
      pending_ = std::move(now);
      dirty_ = true;
    }
    cv_.notify_all();
  }

  [[nodiscard]] const std::string& key() const noexcept override { return key_; }

  [[nodiscard]] Stats stats() const override {
    MutexLock lk(mu_);
    return stats_;
  }

 private:
  // The reporter's loop: lease, put, renew; on any failure wait (jittered,
  // doubling to the TTL) and start again from what is missing.
  void run() {
    std::mt19937_64 rng(std::random_device{}());
    const auto renew_every = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds(200),
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl) / 3);
    std::chrono::milliseconds backoff(100);
    bool put_needed = true;
    auto next_renewal = std::chrono::steady_clock::now() + renew_every;
    for (;;) {
      FleetInstance now;
      bool renew = false;
      {
        MutexLock lk(mu_);
        if (!put_needed && lease_ != 0) {
          lk.wait_until(cv_, next_renewal,
                        [this]() LIVECONF_REQUIRES(mu_) { return dirty_ || stopping_; });
        }
        if (stopping_) {
          return;
        }
        if (dirty_) {
          put_needed = true;
          dirty_ = false;
        }
        now = pending_;
        renew = !put_needed && std::chrono::steady_clock::now() >= next_renewal;
      }
      Status step = ok_status();
      if (lease_ == 0) {
        Result<std::int64_t> lease = client_->grant_lease(options_.ttl);
        if (lease) {
          lease_ = *lease;
          put_needed = true;
          bump(&Stats::leases);
          next_renewal = std::chrono::steady_clock::now() + renew_every;
        } else {
          step = lease.error();
        }
      }
      if (step.ok() && put_needed) {
        now.updated = SystemClock::now();
        Result<std::int64_t> put = client_->put(key_, fleet_instance_json(now), lease_);
        if (put) {
          put_needed = false;
          bump(&Stats::puts);
        } else {
          step = put.error();
          if (put.error().message().find("lease not found") != std::string::npos) {
            lease_ = 0;  // expired while etcd was away: a new one, then put again
          }
        }
      } else if (step.ok() && renew) {
        Result<std::chrono::seconds> ttl = client_->keep_alive(lease_);
        if (ttl && ttl->count() > 0) {
          bump(&Stats::keep_alives);
          next_renewal = std::chrono::steady_clock::now() + renew_every;
        } else if (ttl) {
          lease_ = 0;  // gone (expired during an outage): grant and put again
          put_needed = true;
          continue;
        } else {
          step = ttl.error();
        }
      }
      if (step.ok()) {
        backoff = std::chrono::milliseconds(100);
        continue;
      }
      bump(&Stats::failures);
      std::uniform_real_distribution<double> jitter(0.0, 1.0);
      const auto wait = std::chrono::milliseconds(
          static_cast<std::int64_t>(static_cast<double>(backoff.count()) * jitter(rng)));
      backoff = std::min<std::chrono::milliseconds>(
          backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl));
      put_needed = true;  // whatever failed, the entry is put again once through
      MutexLock lk(mu_);
      lk.wait_until(cv_, std::chrono::steady_clock::now() + wait,
                    [this]() LIVECONF_REQUIRES(mu_) { return stopping_; });
      if (stopping_) {
        return;
      }
    }
  }

  void bump(std::uint64_t Stats::*counter) {
    MutexLock lk(mu_);
    ++(stats_.*counter);
  }

  std::unique_ptr<EtcdClient> client_;
  const FleetReporterOptions options_;
  const std::string key_;
  std::int64_t lease_ = 0;  // the reporter thread's, and the destructor's after the join

  mutable detail::Mutex mu_;
  std::condition_variable cv_;
  FleetInstance pending_ LIVECONF_GUARDED_BY(mu_);
  std::string reported_ LIVECONF_GUARDED_BY(mu_);  // the newest content, without `updated`
  bool dirty_ LIVECONF_GUARDED_BY(mu_) = false;
  bool stopping_ LIVECONF_GUARDED_BY(mu_) = false;
  Stats stats_ LIVECONF_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace

std::string fleet_instance_json(const FleetInstance& i) {
  Value v = Value::object();
  v["id"] = i.id;
  v["host"] = i.host;
  v["pid"] = i.pid;
  v["started_unix_ms"] = unix_ms(i.started);
  v["updated_unix_ms"] = unix_ms(i.updated);
  v["generation"] = i.generation;
  v["revision"] = i.revision;
  v["state"] = i.state;
  v["relists"] = i.relists;
  v["reconnects"] = i.reconnects;
  v["connected_unix_ms"] = unix_ms(i.connected);
  if (i.refused_revision != 0) {
    Value r = Value::object();
    r["revision"] = i.refused_revision;
    r["reason"] = i.refused_reason;
    v["refused"] = std::move(r);
  } else {
    v["refused"] = nullptr;
  }
  return find_format("json")->emit(v, EmitOptions{0}).value();
}

Result<FleetInstance> parse_fleet_instance(std::string_view json) {
  Result<Value> v = find_format("json")->parse(json, ParseOptions{});
  if (!v) {
    return std::move(v).error();
  }
  auto field = [&](std::string_view name, bool (Value::*is)() const noexcept) -> const Value* {
    const Value* f = v->find_member(name);
    return f != nullptr && ((*f).*is)() ? f : nullptr;
  };
  const Value* id = field("id", &Value::is_string);
  const Value* generation = field("generation", &Value::is_int);
  const Value* revision = field("revision", &Value::is_int);
  if (id == nullptr || generation == nullptr || revision == nullptr) {
    return Error(ErrorCode::kParse, "fleet entry: missing id, generation or revision");
  }
  FleetInstance out;
  out.id = id->as_string();
  out.generation = static_cast<std::uint64_t>(generation->as_int());
  out.revision = revision->as_int();
  if (const Value* f = field("host", &Value::is_string)) {
    out.host = f->as_string();
  }
  if (const Value* f = field("pid", &Value::is_int)) {
    out.pid = f->as_int();
  }
  if (const Value* f = field("started_unix_ms", &Value::is_int)) {
    out.started = SystemClock::time_point(std::chrono::milliseconds(f->as_int()));
  }
  if (const Value* f = field("updated_unix_ms", &Value::is_int)) {
    out.updated = SystemClock::time_point(std::chrono::milliseconds(f->as_int()));
  }
  if (const Value* f = field("state", &Value::is_string)) {
    out.state = f->as_string();
  }
  if (const Value* f = field("relists", &Value::is_int)) {
    out.relists = static_cast<std::uint64_t>(f->as_int());
  }
  if (const Value* f = field("reconnects", &Value::is_int)) {
    out.reconnects = static_cast<std::uint64_t>(f->as_int());
  }
  if (const Value* f = field("connected_unix_ms", &Value::is_int)) {
    out.connected = SystemClock::time_point(std::chrono::milliseconds(f->as_int()));
  }
  if (const Value* r = field("refused", &Value::is_object)) {
    const Value* rev = r->find_member("revision");
    const Value* why = r->find_member("reason");
    out.refused_revision = rev != nullptr && rev->is_int() ? rev->as_int() : 0;
    out.refused_reason = why != nullptr && why->is_string() ? why->as_string() : "";
  }
  return out;
}

std::string fleet_report_prefix(std::string_view prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') {
    prefix.remove_suffix(1);
  }
  return std::string(prefix) + ".liveconf/instances/";
}

Result<FleetView> read_fleet(EtcdClient& client, std::string_view prefix, EtcdLayout layout) {
  FleetView view;
  Result<std::vector<EtcdKeyValue>> entries = client.get(fleet_report_prefix(prefix), true);
  if (!entries) {
    return std::move(entries).error();
  }
  for (const EtcdKeyValue& kv : *entries) {
    Result<FleetInstance> i = parse_fleet_instance(kv.value);
    if (i) {
      view.instances.push_back(std::move(*i));
    }
  }
  std::sort(view.instances.begin(), view.instances.end(),
            [](const FleetInstance& a, const FleetInstance& b) { return a.id < b.id; });
  // The newest change under the prefix: a current instance serves it.
  Result<std::vector<EtcdKeyValue>> keys = layout == EtcdLayout::kTree
                                               ? client.get(detail::etcd_tree_prefix(prefix), true)
                                               : client.get(std::string(prefix), false);
  if (!keys) {
    return std::move(keys).error();
  }
  for (const EtcdKeyValue& kv : *keys) {
    view.latest_revision = std::max(view.latest_revision, kv.mod_revision);
  }
  Result<std::int64_t> store = client.revision();
  if (!store) {
    return std::move(store).error();
  }
  view.store_revision = *store;
  return view;
}

Result<std::unique_ptr<FleetReporter>> FleetReporter::start(FleetReporterOptions options,
                                                            FleetInstance self) {
  if (options.prefix.empty()) {
    return Error(ErrorCode::kValidation, "fleet report: the configuration's prefix is empty");
  }
  if (options.ttl < std::chrono::seconds(2)) {
    return Error(ErrorCode::kValidation, "fleet report: the lease TTL must be at least 2 s");
  }
  if (self.host.empty()) {
    self.host = host_name();
  }
  if (self.pid == 0) {
    self.pid = static_cast<std::int64_t>(::getpid());
  }
  if (self.id.empty()) {
    self.id = self.host + ":" + std::to_string(self.pid);
  }
  if (self.id.find('/') != std::string::npos) {
    return Error(ErrorCode::kValidation, "fleet report: the id \"" + self.id + "\" has a \"/\"");
  }
  if (self.started == SystemClock::time_point{}) {
    self.started = SystemClock::now();
  }
  Result<std::unique_ptr<EtcdClient>> client = EtcdClient::create(options.connection);
  if (!client) {
    return std::move(client).error();
  }
  std::string key = fleet_report_prefix(options.prefix) + self.id;
  return std::unique_ptr<FleetReporter>(new FleetReporterImpl(
      std::move(*client), std::move(options), std::move(self), std::move(key)));
}

}  // namespace liveconf
