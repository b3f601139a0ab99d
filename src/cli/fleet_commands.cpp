// `liveconf publish` and `liveconf fleet` (docs/fleet.md): writing a checked
// configuration to etcd safely, and seeing which instance serves what.
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "liveconf/diff.hpp"
#include "liveconf/env.hpp"
#include "liveconf/etcd.hpp"

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/printer.hpp"

namespace liveconf::cli {
namespace {

Result<std::unique_ptr<EtcdClient>> client_for(const std::string& endpoints,
                                               const std::string& user, const std::string& ca) {
  const std::string password =
      user.empty() ? std::string() : get_env("LIVECONF_ETCD_PASSWORD").value_or("");
  return EtcdClient::create(etcd_connection(endpoints, user, password, ca));
}

// The config path a published key sets (tree layout).
KeyPath path_of_key(std::string_view key, std::string_view prefix) {
  std::vector<std::string> segments;
  std::string_view rest = key.substr(std::min(prefix.size(), key.size()));
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    if (slash != 0) {
      segments.emplace_back(rest.substr(0, slash));
    }
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return KeyPath::from_segments(std::move(segments));
}

}  // namespace

int run_publish(const PublishOptions& o) {
  if (o.etcd.empty() || o.prefix.empty() || o.file.empty()) {
    std::fprintf(stderr, "liveconf: publish needs --etcd, --prefix and --file\n");
    return kExitUsage;
  }
  SessionOptions so;
  so.sources.push_back(SourceSpec{SourceSpec::Kind::kFile, o.file});
  so.watch = false;
  so.schema_path = o.schema;
  std::optional<SchemaFile> schema;
  if (!o.schema.empty()) {
    Result<SchemaFile> s = load_schema_file(o.schema);
    if (!s) {
      return fail(s.error());
    }
    schema = std::move(*s);
  }
  SensitivePaths secret;
  for (const std::string& k : o.secrets) {
    Result<KeyPath> p = KeyPath::parse(k);
    if (!p) {
      return usage(p.error());
    }
    secret.add(std::move(*p));
  }
  if (schema) {
    const SensitivePaths from_schema = schema->schema->sensitive_paths();
    for (const KeyPath& p : from_schema.patterns()) {
      secret.add(p);
    }
  }
  // Exactly what `liveconf check --file F [--schema S]` does; nothing is
  // written unless it passes.
  const Checked checked = check_sources(so, schema ? &*schema : nullptr);
  if (!checked.problems.empty()) {
    const int code = report_problems(checked.problems);
    std::fprintf(stderr, "liveconf: nothing was published\n");
    return code;
  }
  std::string text;
  if (o.document) {
    std::ifstream in(o.file, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  Result<std::unique_ptr<EtcdClient>> client = client_for(o.etcd, o.etcd_user, o.etcd_ca);
  if (!client) {
    return usage(client.error());
  }
  const Value document = checked.loaded.empty() ? Value::object() : checked.loaded.front();
  Result<EtcdPublishPlan> plan = plan_etcd_publish(
      **client, o.prefix, o.document ? EtcdLayout::kDocument : EtcdLayout::kTree, document, text);
  if (!plan) {
    return fail(plan.error());
  }
  std::map<std::string, const EtcdKeyValue*> before;
  for (const EtcdKeyValue& kv : plan->current) {
    before[kv.key] = &kv;
  }
  auto shown = [&](const std::string& key, const std::string& value) {
    const bool masked =
        o.document ? !secret.empty() : secret.matches(path_of_key(key, plan->prefix));
    return masked ? std::string("***") : value;
  };
  std::int64_t revision = plan->revision;
  std::string outcome = o.dry_run ? "dry run: nothing written" : "nothing to change";
  int code = kExitOk;
  if (!o.dry_run && !plan->writes.empty()) {
    Result<std::int64_t> done = publish_to_etcd(**client, *plan);
    if (!done) {
      std::fprintf(stderr, "liveconf: %s\n", format_error(done.error()).c_str());
      if (done.error().code() != ErrorCode::kFailedPrecondition) {
        return exit_code_for(done.error());
      }
      outcome = "conflict: nothing written";
      code = kExitConflict;
    } else {
      revision = *done;
      outcome = "published at revision " + std::to_string(revision);
    }
  }
  if (o.format == "json") {
    std::string out = R"({"prefix":)" + json_text(Value(plan->prefix)) + R"(,"dry_run":)" +
                      (o.dry_run ? "true" : "false") + R"(,"published":)" +
                      (!o.dry_run && code == kExitOk && !plan->writes.empty() ? "true" : "false") +
                      R"(,"based_on":)" + std::to_string(plan->revision) + R"(,"revision":)" +
                      std::to_string(revision) + R"(,"unchanged":)" +
                      std::to_string(plan->unchanged) + R"(,"writes":[)";
    for (std::size_t i = 0; i < plan->writes.size(); ++i) {
      const EtcdWrite& w = plan->writes[i];
      const bool put = w.kind == EtcdWrite::Kind::kPut;
      out += (i > 0 ? "," : "") + std::string(R"({"op":")") +
             (put ? (before.count(w.key) != 0 ? "change" : "add") : "delete") + R"(","key":)" +
             json_text(Value(w.key));
      if (put) {
        out += R"(,"value":)" + json_text(Value(shown(w.key, w.value)));
      }
      out += "}";
    }
    std::cout << out << "]}" << std::endl;
    return code;
  }
  for (const EtcdWrite& w : plan->writes) {
    if (w.kind != EtcdWrite::Kind::kPut) {
      std::cout << "- " << w.key << "\n";
    } else {
      std::cout << (before.count(w.key) != 0 ? "~ " : "+ ") << w.key << " = "
                << shown(w.key, w.value) << "\n";
    }
  }
  std::cout << plan->writes.size() << " change" << (plan->writes.size() == 1 ? "" : "s") << ", "
            << plan->unchanged << " unchanged (based on revision " << plan->revision << "); "
            << outcome << std::endl;
  return code;
}

int run_fleet(const FleetOptions& o) {
  if (o.etcd.empty() || o.prefix.empty()) {
    std::fprintf(stderr, "liveconf: fleet needs --etcd and --prefix\n");
    return kExitUsage;
  }
  Result<std::unique_ptr<EtcdClient>> client = client_for(o.etcd, o.etcd_user, o.etcd_ca);
  if (!client) {
    return usage(client.error());
  }
  Result<FleetView> view =
      read_fleet(**client, o.prefix, o.document ? EtcdLayout::kDocument : EtcdLayout::kTree);
  if (!view) {
    return fail(view.error());
  }
  auto lags = [&](const FleetInstance& i) { return i.revision < view->latest_revision; };
  if (o.format == "json") {
    std::string out = R"({"prefix":)" + json_text(Value(o.prefix)) + R"(,"latest_revision":)" +
                      std::to_string(view->latest_revision) + R"(,"instances":[)";
    for (std::size_t n = 0; n < view->instances.size(); ++n) {
      const FleetInstance& i = view->instances[n];
      out += (n > 0 ? "," : "") + std::string(R"({"id":)") + json_text(Value(i.id)) +
             R"(,"host":)" + json_text(Value(i.host)) + R"(,"pid":)" + std::to_string(i.pid) +
             R"(,"started":)" + json_text(Value(iso_time(i.started))) + R"(,"updated":)" +
             json_text(Value(iso_time(i.updated))) + R"(,"generation":)" +
             std::to_string(i.generation) + R"(,"revision":)" + std::to_string(i.revision) +
             R"(,"state":)" + json_text(Value(i.state)) + R"(,"relists":)" +
             std::to_string(i.relists) + R"(,"reconnects":)" + std::to_string(i.reconnects) +
             R"(,"lagging":)" + (lags(i) ? "true" : "false") + R"(,"refused":)" +
             (i.refused_revision == 0
                  ? std::string("null")
                  : R"({"revision":)" + std::to_string(i.refused_revision) + R"(,"reason":)" +
                        json_text(Value(i.refused_reason)) + "}") +
             "}";
    }
    std::cout << out << "]}" << std::endl;
    return kExitOk;
  }
  std::size_t lagging = 0;
  std::size_t refusing = 0;
  std::printf("%-28s %-10s %-9s %-6s %s\n", "INSTANCE", "REVISION", "GEN", "STATE", "NOTE");
  for (const FleetInstance& i : view->instances) {
    std::string note;
    if (lags(i)) {
      ++lagging;
      note = "behind (latest " + std::to_string(view->latest_revision) + ")";
    }
    if (i.refused_revision != 0) {
      ++refusing;
      note += (note.empty() ? "" : "; ") + std::string("refused ") +
              std::to_string(i.refused_revision) + ": " + i.refused_reason;
    }
    std::printf("%-28s %-10" PRId64 " %-9" PRIu64 " %-6s %s\n", i.id.c_str(), i.revision,
                i.generation, i.state.c_str(), note.c_str());
  }
  std::printf("%zu instance%s; latest revision under %s: %" PRId64 "; %zu behind, %zu refusing\n",
              view->instances.size(), view->instances.size() == 1 ? "" : "s", o.prefix.c_str(),
              view->latest_revision, lagging, refusing);
  return kExitOk;
}

}  // namespace liveconf::cli
