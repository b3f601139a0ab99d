// The one-shot commands: get, explain, render, check, env-report. Each loads
// the sources once, without watching.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "liveconf/liveconf.hpp"

#include "base/file_io.hpp"
#include "cli/commands.hpp"
#include "cli/exec.hpp"
#include "cli/exit_codes.hpp"
#include "cli/printer.hpp"
#include "cli/render.hpp"
#include "cli/session.hpp"

namespace liveconf::cli {
namespace {

// Loads the sources once (no watching). On failure the error is printed and
// `exit_code` set (2 for a bad option value, else by the error's code).
std::unique_ptr<Session> open_once(const Common& common, const CLI::App* app, int& exit_code) {
  Result<SessionOptions> so = common.session_options(app, false);
  if (!so) {
    exit_code = usage(so.error());
    return nullptr;
  }
  so->manager.log = [](LogLevel level, std::string_view message) {
    if (level == LogLevel::kWarning) {
      std::fprintf(stderr, "liveconf: warning: %s\n", std::string(message).c_str());
    }
  };
  Result<std::unique_ptr<Session>> session = Session::open(std::move(*so));
  if (!session) {
    exit_code = fail(session.error());
    return nullptr;
  }
  return std::move(*session);
}

// get and explain: the key's path and the loaded sources (null session: failed,
// exit_code set).
struct KeyQuery {
  KeyPath path;
  std::unique_ptr<Session> session;
  int exit_code = kExitOk;
};

KeyQuery open_for_key(const Common& common, const CLI::App* app, const std::string& key) {
  KeyQuery q;
  Result<KeyPath> path = KeyPath::parse(key);
  if (!path) {
    q.exit_code = usage(path.error());
    return q;
  }
  q.path = std::move(*path);
  q.session = open_once(common, app, q.exit_code);
  return q;
}

}  // namespace

int run_get(const Common& common, const CLI::App* app, const std::string& key) {
  KeyQuery q = open_for_key(common, app, key);
  if (!q.session) {
    return q.exit_code;
  }
  const Value config = Session::config_of(q.session->snapshot());
  const Value* v = config.find(q.path);
  if (v == nullptr) {
    std::fprintf(stderr, "liveconf: %s is not in the configuration\n", key.c_str());
    return kExitAbsent;
  }
  std::cout << (common.format == "json" ? json_text(*v) : plain_text(*v)) << std::endl;
  return kExitOk;
}

int run_explain(const Common& common, const CLI::App* app, const std::string& key) {
  KeyQuery q = open_for_key(common, app, key);
  if (!q.session) {
    return q.exit_code;
  }
  const KeyPath* path = &q.path;
  Result<Explanation> e = q.session->manager().explain(kConfigName, *path);
  if (!e) {
    return fail(e.error());
  }
  if (common.format == "json") {
    std::cout << json_text(e->to_value()) << std::endl;
  } else if (!e->layers.empty()) {
    std::cout << e->to_string();
    if (!e->to_string().ends_with('\n')) {
      std::cout << '\n';
    }
  }
  if (e->layers.empty()) {
    std::fprintf(stderr, "liveconf: %s is not in the configuration\n", key.c_str());
    return kExitAbsent;
  }
  return kExitOk;
}

int run_render(const Common& common, const CLI::App* app, const std::string& output,
               const std::string& format) {
  Result<std::string> f = render_format_for(output, format);
  if (!f) {
    std::fprintf(stderr, "liveconf: %s\n", format_error(f.error()).c_str());
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::unique_ptr<Session> session = open_once(common, app, exit_code);
  if (!session) {
    return exit_code;
  }
  // A file is for the program that reads it (secrets included, mode 0600);
  // standard output is for people (secrets masked).
  Result<std::string> text =
      render_text(Session::config_of(session->snapshot(), !output.empty()), *f);
  if (!text) {
    return fail(text.error());
  }
  if (output.empty()) {
    std::cout << *text << std::flush;
    return kExitOk;
  }
  if (Status st = detail::write_file_atomically(output, *text); !st.ok()) {
    return fail(st.error());
  }
  return kExitOk;
}

// Loads every source on its own, so one broken source does not hide the next,
// then binds everything that loaded, listing every problem.
Checked check_sources(const SessionOptions& so, const SchemaFile* schema) {
  Checked out;
  std::vector<Layer> layers;
  if (schema != nullptr) {
    layers.push_back(Layer{"defaults", INT_MIN, schema->defaults, ""});
  }
  int priority = 0;
  for (const SourceSpec& spec : so.sources) {
    ++priority;
    if (spec.kind == SourceSpec::Kind::kSet) {
      Result<std::pair<KeyPath, Value>> kv = parse_set(spec.value);
      if (!kv) {
        out.problems.push_back(kv.error());
        continue;
      }
      Value layer = Value::object();
      layer.set(kv->first, std::move(kv->second));
      layers.push_back(Layer{"set", kSetPriority, std::move(layer), ""});
      continue;
    }
    if (spec.kind == SourceSpec::Kind::kEnv && schema != nullptr) {
      EnvSourceOptions env;
      env.prefix = spec.value;
      env.schema = schema->schema.get();
      for (const EnvBinding& b : env_report(env).bindings) {
        if (b.state != EnvBindingState::kBound && b.state != EnvBindingState::kTypeError) {
          std::fprintf(
              stderr, "liveconf: warning: $%s: %s%s\n", b.variable.c_str(),
              std::string(env_binding_state_name(b.state)).c_str(),
              b.suggestion.empty() ? "" : ("; did you mean " + b.suggestion + "?").c_str());
        }
      }
    }
    Result<std::unique_ptr<Source>> source =
        make_source(spec, priority, so, schema != nullptr ? schema->schema.get() : nullptr);
    if (!source) {
      out.problems.push_back(source.error());
      continue;
    }
    (*source)->wait_ready();  // load() never waits: an etcd source connects here
    Result<SourceLoad> load = (*source)->load();
    if (!load) {
      out.problems.push_back(load.error());
      continue;
    }
    for (Layer& l : load->layers) {
      out.loaded.push_back(l.data);
      layers.push_back(std::move(l));
    }
  }
  out.merged =
      merge_layers(layers, schema != nullptr ? schema->schema->merge_policies() : MergePolicies{});
  if (schema != nullptr) {
    BindReport report = schema->schema->check(out.merged, BindOptions{schema->strict});
    for (Error& e : report.errors) {
      out.problems.push_back(std::move(e));
    }
    for (const Error& w : report.warnings) {
      std::fprintf(stderr, "liveconf: warning: %s\n", format_error(w).c_str());
    }
  }
  return out;
}

int report_problems(const std::vector<Error>& problems) {
  for (const Error& e : problems) {
    std::fprintf(stderr, "liveconf: %s\n", format_error(e).c_str());
  }
  std::fprintf(stderr, "liveconf: %zu problem%s\n", problems.size(),
               problems.size() == 1 ? "" : "s");
  // 4 when every problem is a file that cannot be read (5 when one of them
  // is transient: EIO, an unreachable remote), else 3.
  const bool all_io = std::all_of(problems.begin(), problems.end(), [](const Error& p) {
    return p.code() == ErrorCode::kNotFound || p.code() == ErrorCode::kIo ||
           p.code() == ErrorCode::kUnavailable;
  });
  const bool any_unavailable = std::any_of(problems.begin(), problems.end(), [](const Error& p) {
    return p.code() == ErrorCode::kUnavailable;
  });
  return !all_io ? kExitConfig : any_unavailable ? kExitUnavailable : kExitIo;
}

int run_check(const Common& common, const CLI::App* app) {
  Result<SessionOptions> so = common.session_options(app, false);
  if (!so) {
    return usage(so.error());
  }
  std::optional<SchemaFile> schema;
  if (!so->schema_path.empty()) {
    Result<SchemaFile> s = load_schema_file(so->schema_path);
    if (!s) {
      return fail(s.error());
    }
    schema = std::move(*s);
  }
  const Checked checked = check_sources(*so, schema ? &*schema : nullptr);
  if (!checked.problems.empty()) {
    return report_problems(checked.problems);
  }
  std::cout << "ok: " << so->sources.size() << " source" << (so->sources.size() == 1 ? "" : "s")
            << " loaded and valid" << std::endl;
  return kExitOk;
}

int run_env_report(const Common& common, const std::string& prefix) {
  EnvSourceOptions env;
  env.prefix = prefix;
  std::optional<SchemaFile> schema;
  if (!common.schema.empty()) {
    Result<SchemaFile> s = load_schema_file(common.schema);
    if (!s) {
      return fail(s.error());
    }
    schema = std::move(*s);
    env.schema = schema->schema.get();
  } else if (prefix.empty()) {
    std::fprintf(stderr, "liveconf: env-report needs a prefix or a --schema\n");
    return kExitUsage;
  }
  const EnvReport report = env_report(env);
  if (common.format == "json") {
    std::string out = R"({"prefix":)" + json_text(Value(report.prefix)) + R"(,"variables":[)";
    for (std::size_t i = 0; i < report.bindings.size(); ++i) {
      const EnvBinding& b = report.bindings[i];
      out += (i > 0 ? ",{" : "{") + std::string(R"("variable":)") + json_text(Value(b.variable)) +
             R"(,"state":")" + std::string(env_binding_state_name(b.state)) + "\"";
      if (!b.path.empty()) {
        out += R"(,"path":)" + json_text(Value(b.path.to_string()));
      }
      if (!b.expected_type.empty()) {
        out += R"(,"type":)" + json_text(Value(b.expected_type));
      }
      if (!b.message.empty()) {
        out += R"(,"message":)" + json_text(Value(b.message));
      }
      if (!b.suggestion.empty()) {
        out += R"(,"suggestion":)" + json_text(Value(b.suggestion));
      }
      out += std::string(R"(,"secret":)") + (b.sensitive ? "true" : "false") + "}";
    }
    std::cout << out << "]}" << std::endl;
  } else if (report.bindings.empty()) {
    std::cout << "no variables with the prefix " << report.prefix << "_\n";
  } else {
    std::cout << report.to_string() << std::flush;
  }
  return report.ok() ? kExitOk : kExitConfig;
}

}  // namespace liveconf::cli
