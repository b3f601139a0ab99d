// `liveconf`: the operator's tool. Subcommands: watch, get, explain, check,
// render, env-report; every one takes the same source options. docs/cli.md is
// the manual, with the exit code table (kept in one place: exit_code_for and
// kExitCodeTable below).
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

#include "cli/exec.hpp"
#include "cli/printer.hpp"
#include "cli/render.hpp"
#include "cli/session.hpp"

namespace liveconf::cli {
namespace {

// The one exit code table (docs/cli.md repeats it; a test compares them).
constexpr int kExitOk = 0;
constexpr int kExitAbsent = 1;  // get/explain: no such key
constexpr int kExitUsage = 2;   // bad options or values
constexpr int kExitConfig = 3;  // a source does not parse, bind or validate; check found problems
constexpr int kExitIo = 4;      // a file cannot be read or written
constexpr int kExitUnavailable = 5;  // a remote source cannot be reached, EIO
constexpr int kExitInternal = 70;

constexpr std::string_view kExitCodeTable = R"(Exit codes:
  0    success (watch: stopped by SIGINT or SIGTERM)
  1    get, explain: the key is not in the configuration
  2    usage: a bad option or value
  3    configuration: a source does not parse, bind or validate; check found problems
  4    I/O: a file cannot be read or written (check: every problem is one)
  5    unavailable: a remote source cannot be reached, or a transient read error (EIO)
  70   internal error
  N    watch --exec: the command exited by itself with N (128+S if killed by signal S))";

int exit_code_for(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kParse:
    case ErrorCode::kType:
    case ErrorCode::kValidation:
      return kExitConfig;
    case ErrorCode::kNotFound:
    case ErrorCode::kIo:
      return kExitIo;
    case ErrorCode::kUnavailable:
      return kExitUnavailable;
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

int fail(const Error& e) {
  std::fprintf(stderr, "liveconf: %s\n", format_error(e).c_str());
  return exit_code_for(e);
}

// A bad option value the parser could not check itself (--debounce, --set).
int usage(const Error& e) {
  std::fprintf(stderr, "liveconf: %s\n", format_error(e).c_str());
  return kExitUsage;
}

bool use_color() {
  // no-color.org: a NO_COLOR that is present and not empty disables colour.
  if (::isatty(STDOUT_FILENO) == 0 || !get_env("NO_COLOR").value_or("").empty()) {
    return false;
  }
  return get_env("TERM").value_or("dumb") != "dumb";
}

// The options every subcommand shares. Source options keep their command-line
// order (CLI11's parse_order), which is their priority order.
struct Common {
  std::vector<std::string> files, dirs, envs, dotenvs, sets, secrets, etcds;
  std::string etcd_prefix, etcd_user, etcd_ca;
  bool etcd_document = false;
  std::string format = "text";
  std::string debounce;
  std::string schema;
  bool poll = false;
  // Per subcommand: each registers its own copies of the options.
  std::map<const CLI::App*, std::vector<std::pair<CLI::Option*, SourceSpec::Kind>>> source_options;

  void add_to(CLI::App* app) {
    source_options[app] = {
        {app->add_option("--file", files,
                         "A config file (JSON, YAML, TOML, INI, .env by extension)")
             ->type_name("PATH"),
         SourceSpec::Kind::kFile},
        {app->add_option("--dir", dirs, "A conf.d directory: its files merge in lexical order")
             ->type_name("DIR"),
         SourceSpec::Kind::kDir},
        {app->add_option("--env", envs, "Environment variables PREFIX_* (PREFIX_A__B sets a.b)")
             ->type_name("PREFIX"),
         SourceSpec::Kind::kEnv},
        {app->add_option("--dotenv", dotenvs, "A .env file")->type_name("PATH"),
         SourceSpec::Kind::kDotenv},
        {app->add_option("--etcd", etcds,
                         "etcd endpoints (host:port, http(s)://host:port; comma-separated); "
                         "keys under --prefix become keys (/app/db/port sets db.port)")
             ->type_name("URL"),
         SourceSpec::Kind::kEtcd},
        {app->add_option("--set", sets, "key=value above every source (JSON values allowed)")
             ->type_name("KEY=VALUE"),
         SourceSpec::Kind::kSet},
    };
    app->add_option("--prefix", etcd_prefix, "The etcd key prefix --etcd reads (e.g. /myapp/)")
        ->type_name("PREFIX");
    app->add_flag("--etcd-document", etcd_document,
                  "--prefix is one etcd key holding a whole JSON/YAML/TOML document");
    app->add_option("--etcd-user", etcd_user,
                    "etcd username; the password is read from $LIVECONF_ETCD_PASSWORD")
        ->type_name("USER");
    app->add_option("--etcd-ca", etcd_ca, "PEM file of the CA that signed etcd's certificate (TLS)")
        ->type_name("FILE");
    app->add_option("--format", format, "Output: text or json (one JSON object per line)")
        ->check(CLI::IsMember({"text", "json"}));
    app->add_option("--debounce", debounce, "Quiet period before a reload (e.g. 100ms, 1s)")
        ->type_name("DURATION");
    app->add_flag("--poll", poll, "Poll files instead of using inotify");
    app->add_option("--schema", schema,
                    "Types, defaults, secrets and validation (JSON Schema subset; docs/cli.md)")
        ->type_name("FILE");  // a missing file is an I/O error (4), reported when read
    app->add_option("--secret", secrets, "Treat KEY as a secret (printed as ***)")
        ->type_name("KEY");
  }

  // Sources in the order given, whatever option each came from.
  [[nodiscard]] std::vector<SourceSpec> sources(const CLI::App* app) const {
    std::vector<SourceSpec> out;
    std::map<const CLI::Option*, std::size_t> next;
    const auto options = source_options.find(app);
    if (options == source_options.end()) {
      return out;
    }
    for (const CLI::Option* opt : app->parse_order()) {
      for (const auto& [o, kind] : options->second) {
        if (o == opt) {
          const std::size_t i = next[o]++;
          const std::vector<std::string>& values = o->results();
          if (i < values.size()) {
            out.push_back(SourceSpec{kind, values[i]});
          }
        }
      }
    }
    return out;
  }

  [[nodiscard]] Result<SessionOptions> session_options(const CLI::App* app, bool watch) const {
    SessionOptions so;
    so.sources = sources(app);
    so.poll = poll;
    so.watch = watch;
    so.schema_path = schema;
    so.secrets = secrets;
    so.etcd_prefix = etcd_prefix;
    so.etcd_user = etcd_user;
    so.etcd_ca = etcd_ca;
    so.etcd_document = etcd_document;
    if (!etcd_user.empty()) {
      // Never on the command line: argv is visible to every user in ps.
      so.etcd_password = get_env("LIVECONF_ETCD_PASSWORD").value_or("");
    }
    if (!etcd_prefix.empty() && etcds.empty()) {
      return Error(ErrorCode::kValidation, "--prefix is for --etcd, which is not given");
    }
    for (const SourceSpec& spec : so.sources) {
      // --file names a file: a directory there would silently read as an
      // (often empty) conf.d directory. Checked only for paths that exist: a
      // missing file is an I/O error reported when read (or, watched, when it
      // appears).
      std::error_code ec;
      if ((spec.kind == SourceSpec::Kind::kFile || spec.kind == SourceSpec::Kind::kDotenv) &&
          std::filesystem::is_directory(spec.value, ec)) {
        return Error(ErrorCode::kValidation,
                     std::string(spec.kind == SourceSpec::Kind::kFile ? "--file " : "--dotenv ") +
                         spec.value + ": is a directory; use --dir " + spec.value +
                         " for a conf.d directory");
      }
      if (spec.kind == SourceSpec::Kind::kDir && std::filesystem::exists(spec.value, ec) &&
          !std::filesystem::is_directory(spec.value, ec)) {
        return Error(ErrorCode::kValidation, "--dir " + spec.value +
                                                 ": is not a directory; use --file " + spec.value +
                                                 " for a single file");
      }
      if (spec.kind == SourceSpec::Kind::kSet) {
        if (Result<std::pair<KeyPath, Value>> kv = parse_set(spec.value); !kv) {
          return kv.error();
        }
      }
    }
    if (!debounce.empty()) {
      std::optional<long double> ns = detail::parse_duration_ns(debounce);
      if (!ns || *ns < 0) {
        return Error(ErrorCode::kValidation,
                     "--debounce: expected a duration such as 100ms, got \"" + debounce + "\"");
      }
      so.debounce = std::chrono::milliseconds(static_cast<std::int64_t>(*ns / 1e6L));
    }
    return so;
  }
};

// ---- watch -------------------------------------------------------------------

struct WatchOptions {
  std::string render;
  std::string render_format;
  std::string exec;
  std::string on_change = "restart";
  bool once = false;
};

int run_watch(const Common& common, const CLI::App* app, const WatchOptions& w) {
  Result<SessionOptions> so = common.session_options(app, !w.once);
  if (!so) {
    return usage(so.error());
  }
  // --on-change is checked even without --exec: a typo should not pass silently.
  ExecOptions exec_base;
  exec_base.command = w.exec;
  Result<ExecOptions> parsed = parse_on_change(w.on_change, exec_base);
  if (!parsed) {
    return usage(parsed.error());
  }
  std::optional<ExecOptions> exec;
  if (!w.exec.empty()) {
    exec = std::move(*parsed);
  }
  std::string render_format;
  if (!w.render.empty()) {
    Result<std::string> f = render_format_for(w.render, w.render_format);
    if (!f) {
      std::fprintf(stderr, "liveconf: %s\n", format_error(f.error()).c_str());
      return kExitUsage;
    }
    render_format = *f;
  }

  // Signals are read from a signalfd by this thread alone: block them before
  // any thread exists, so every thread inherits the mask. (The child started
  // by --exec gets an empty mask back: exec.cpp.)
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) {
    sigaddset(&mask, sig);
  }
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (sfd < 0 || efd < 0) {
    return fail(Error(ErrorCode::kInternal, "cannot create signalfd/eventfd"));
  }

  Printer printer(common.format == "json", use_color());
  std::mutex state_mu;  // orders "loaded" before any change, and guards the below
  bool loaded = false;
  // The printed generation counts the configurations printed (1 = loaded), not
  // the library's snapshots: a save that changes only positions publishes a
  // snapshot but prints nothing.
  std::uint64_t shown = 0;
  SnapshotPtr last_printed;
  std::map<std::string, SourceState> states;

  so->manager.log = [&](LogLevel level, std::string_view message) {
    // Source failures and state changes arrive as source events, with the
    // generation as printed here; the library's own wording of them (its
    // generation numbers) would contradict that, so only the rest is shown:
    // unknown keys and other binding warnings.
    const std::string source_prefix = "config \"" + std::string(kConfigName) + "\": source ";
    if (level == LogLevel::kWarning && !message.starts_with(source_prefix)) {
      printer.warning(message);
    }
  };
  so->manager.on_source_event = [&](const SourceEvent& e) {
    std::lock_guard<std::mutex> lk(state_mu);
    if (!loaded) {
      return;
    }
    // A deleted file is a state ("missing"), not a refused change.
    if (e.error && e.state != SourceState::kMissing) {
      printer.error(e.source, *e.error, shown);
    }
    auto [it, inserted] = states.try_emplace(e.source, SourceState::kOk);
    if (it->second != e.state) {
      it->second = e.state;
      printer.source_state(e.source, e.state);
    }
  };

  Result<std::unique_ptr<Session>> session = Session::open(std::move(*so));
  if (!session) {
    return fail(session.error());
  }
  ConfigManager& manager = (*session)->manager();
  // Subscribe before printing "loaded": a change made right after the
  // watches were armed is then delivered, never lost between the two.
  auto sub = manager.subscribe(
      kConfigName, "", [&](const SnapshotPtr&, const SnapshotPtr& current, const ChangeSet&) {
        std::lock_guard<std::mutex> lk(state_mu);
        if (!loaded || current->generation() <= last_printed->generation()) {
          return;
        }
        const ChangeSet changes =
            diff(Session::config_of(last_printed, true), Session::config_of(current, true),
                 DiffOptions{&current->sensitive(), nullptr});
        last_printed = current;
        if (changes.empty()) {
          return;  // the merged config is as it was: nothing to say
        }
        printer.changed(++shown, changes, Session::config_of(current));
        const std::uint64_t one = 1;
        (void)!::write(efd, &one, sizeof one);
      });
  if (!sub) {
    return fail(sub.error());
  }
  {
    std::lock_guard<std::mutex> lk(state_mu);
    last_printed = (*session)->snapshot();
    shown = 1;
    loaded = true;
    printer.loaded(shown, Session::config_of(last_printed), (*session)->source_names());
  }
  auto render_now = [&]() -> Status {
    if (w.render.empty()) {
      return ok_status();
    }
    Result<std::string> text =
        render_text(Session::config_of((*session)->snapshot(), true), render_format);
    if (!text) {
      return text.error();
    }
    return write_atomic(w.render, *text);
  };
  if (Status st = render_now(); !st.ok()) {
    return fail(st.error());
  }
  if (w.once) {
    return kExitOk;
  }
  std::optional<ChildSupervisor> child;
  if (exec) {
    child.emplace(*exec);
    if (Status st = child->start(); !st.ok()) {
      return fail(st.error());
    }
  }

  while (true) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {efd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(Error(ErrorCode::kInternal, "poll failed"));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      std::uint64_t n = 0;
      (void)!::read(efd, &n, sizeof n);
      if (Status st = render_now(); !st.ok()) {
        std::lock_guard<std::mutex> lk(state_mu);
        printer.error("render", st.error(), shown);
      } else if (child) {
        if (Status cs = child->config_changed(); !cs.ok()) {
          std::lock_guard<std::mutex> lk(state_mu);
          printer.error("exec", cs.error(), shown);
        }
      }
    }
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      if (::read(sfd, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) {
        continue;
      }
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGINT || sig == SIGTERM) {
        if (child) {
          child->forward(sig);
          (void)child->stop();
        }
        return kExitOk;
      }
      if (sig == SIGHUP) {
        (void)manager.reload(kConfigName);  // re-read every source now
      }
      if (sig == SIGCHLD && child) {
        if (std::optional<int> code = child->reap()) {
          std::fprintf(stderr, "liveconf: the command exited with status %d\n", *code);
          return *code;
        }
      }
    }
  }
}

// ---- get, explain, render, check, env-report ------------------------------------

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
    std::string out = R"({"path":)" + json_text(Value(path->to_string()));
    if (e->effective) {
      out += R"(,"effective":)" + json_text(*e->effective);
    }
    out += R"(,"layers":[)";
    for (std::size_t i = 0; i < e->layers.size(); ++i) {
      const LayerValue& lv = e->layers[i];
      out += (i > 0 ? ",{" : "{") + std::string(R"("layer":)") + json_text(Value(lv.layer)) +
             R"(,"priority":)" + std::to_string(lv.priority) + R"(,"value":)" +
             json_text(lv.value) + R"(,"origin":)" +
             json_text(Value(lv.value.origin().location())) + R"(,"winner":)" +
             (lv.winner ? "true" : "false") + "}";
    }
    std::cout << out << "]}" << std::endl;
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
  if (Status st = write_atomic(output, *text); !st.ok()) {
    return fail(st.error());
  }
  return kExitOk;
}

// Loads every source on its own, so one broken source does not hide the next,
// then binds everything that loaded, listing every problem.
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
  std::vector<Error> problems;
  std::vector<Layer> layers;
  if (schema) {
    layers.push_back(Layer{"defaults", INT_MIN, schema->defaults, ""});
  }
  int priority = 0;
  for (const SourceSpec& spec : so->sources) {
    ++priority;
    if (spec.kind == SourceSpec::Kind::kSet) {
      Result<std::pair<KeyPath, Value>> kv = parse_set(spec.value);
      if (!kv) {
        problems.push_back(kv.error());
        continue;
      }
      Value layer = Value::object();
      layer.set(kv->first, std::move(kv->second));
      layers.push_back(Layer{"set", kSetPriority, std::move(layer), ""});
      continue;
    }
    if (spec.kind == SourceSpec::Kind::kEnv && schema) {
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
        make_source(spec, priority, *so, schema ? schema->schema.get() : nullptr);
    if (!source) {
      problems.push_back(source.error());
      continue;
    }
    (*source)->wait_ready();  // load() never waits: an etcd source connects here
    Result<SourceLoad> load = (*source)->load();
    if (!load) {
      problems.push_back(load.error());
      continue;
    }
    for (Layer& l : load->layers) {
      layers.push_back(std::move(l));
    }
  }
  const Value merged =
      merge_layers(layers, schema ? schema->schema->merge_policies() : MergePolicies{});
  if (schema) {
    BindReport report = schema->schema->check(merged, BindOptions{schema->strict});
    for (Error& e : report.errors) {
      problems.push_back(std::move(e));
    }
    for (const Error& w : report.warnings) {
      std::fprintf(stderr, "liveconf: warning: %s\n", format_error(w).c_str());
    }
  }
  for (const Error& e : problems) {
    std::fprintf(stderr, "liveconf: %s\n", format_error(e).c_str());
  }
  if (!problems.empty()) {
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

int run(int argc, char** argv) {
  CLI::App app(
      "liveconf: keep an application's configuration live, and see where every value "
      "came from.",
      "liveconf");
  app.set_version_flag("--version", std::string("liveconf ") + LIVECONF_VERSION_STRING);
  app.require_subcommand(1);
  app.footer(std::string(kExitCodeTable) + "\n\nSee docs/cli.md.");

  Common common;
  WatchOptions watch;
  std::string key;
  std::string prefix;
  std::string output;
  std::string render_format;

  CLI::App* w = app.add_subcommand(
      "watch", "Print the config, then every change with its source, until SIGINT/SIGTERM");
  common.add_to(w);
  w->add_option("--render", watch.render, "Write the merged config to PATH atomically")
      ->type_name("PATH");
  w->add_option("--render-format", watch.render_format,
                "json, yaml or toml (default: by extension)");
  w->add_option("--exec", watch.exec, "Run CMD (via /bin/sh -c) and keep it running")
      ->type_name("CMD");
  w->add_option("--on-change", watch.on_change, "restart, or signal:NAME (e.g. signal:HUP)");
  w->add_flag("--once", watch.once, "Load, print, exit");

  CLI::App* g = app.add_subcommand("get", "Print one value (exit 1 if absent)");
  common.add_to(g);
  g->add_option("KEY", key, "Dotted key path")->required();

  CLI::App* e = app.add_subcommand("explain", "Every layer's value for KEY, and which one won");
  common.add_to(e);
  e->add_option("KEY", key, "Dotted key path")->required();

  CLI::App* c = app.add_subcommand("check", "Load and validate everything; list every problem");
  common.add_to(c);

  CLI::App* r = app.add_subcommand("render", "Write the merged config (stdout: secrets masked)");
  common.add_to(r);
  r->add_option("-o,--output", output, "Write to PATH atomically (secrets included, mode 0600)")
      ->type_name("PATH");
  r->add_option("--render-format", render_format, "json, yaml or toml (default: by extension)");

  CLI::App* env = app.add_subcommand(
      "env-report", "For each PREFIX_* variable: the key it sets, or why it is ignored");
  common.add_to(env);
  env->add_option("PREFIX", prefix, "Variable prefix")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& ex) {
    return app.exit(ex);
  } catch (const CLI::CallForAllHelp& ex) {
    return app.exit(ex);
  } catch (const CLI::CallForVersion& ex) {
    return app.exit(ex);
  } catch (const CLI::ParseError& ex) {
    // Our error format rather than CLI11's, so every error reads the same.
    std::fprintf(stderr, "liveconf: %s\nRun with --help for more information.\n", ex.what());
    return kExitUsage;
  }
  try {
    if (w->parsed()) {
      return run_watch(common, w, watch);
    }
    if (g->parsed()) {
      return run_get(common, g, key);
    }
    if (e->parsed()) {
      return run_explain(common, e, key);
    }
    if (c->parsed()) {
      return run_check(common, c);
    }
    if (r->parsed()) {
      return run_render(common, r, output, render_format);
    }
    if (env->parsed()) {
      return run_env_report(common, prefix);
    }
  } catch (const std::exception& ex) {
    // The library throws nothing for anticipated failures; this is a bug or out of memory.
    std::fprintf(stderr, "liveconf: internal error: %s\n", ex.what());
    return kExitInternal;
  }
  return kExitUsage;
}

}  // namespace
}  // namespace liveconf::cli

int main(int argc, char** argv) { return liveconf::cli::run(argc, argv); }
