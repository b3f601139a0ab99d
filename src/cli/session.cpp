#include "cli/session.hpp"

#if LIVECONF_CLI_WITH_ETCD
#include "liveconf/etcd.hpp"
#endif
#include "liveconf/format.hpp"
#include "liveconf/source.hpp"

namespace liveconf::cli {
std::string source_name(const SourceSpec& spec) {
  switch (spec.kind) {
    case SourceSpec::Kind::kFile:
    case SourceSpec::Kind::kDir:
      return "file:" + spec.value;
    case SourceSpec::Kind::kDotenv:
      return "dotenv:" + spec.value;
    case SourceSpec::Kind::kEnv:
      return "env:" + spec.value;
    case SourceSpec::Kind::kSet:
      return "set";
    case SourceSpec::Kind::kEtcd:
      return "etcd:" + spec.value;
  }
  return "?";
}

Result<std::pair<KeyPath, Value>> parse_set(std::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Error(ErrorCode::kValidation,
                 "--set expects key=value, got \"" + std::string(text) + "\"");
  }
  Result<KeyPath> path = KeyPath::parse(text.substr(0, eq));
  if (!path) {
    return path.error();
  }
  const std::string raw(text.substr(eq + 1));
  auto info = std::make_shared<OriginInfo>();
  info->source = "set";
  ParseOptions parse;
  parse.origin = info;
  Result<Value> v = find_format("json")->parse(raw, parse);
  Value value = v ? std::move(*v) : Value(raw);
  value.set_origin_recursive(Origin(info));
  return std::make_pair(std::move(*path), std::move(value));
}

#if LIVECONF_CLI_WITH_ETCD
EtcdConnection etcd_connection(std::string_view endpoints, const std::string& user,
                               const std::string& password, const std::string& ca) {
  EtcdConnection c;
  c.endpoints.clear();
  for (std::string_view rest = endpoints; !rest.empty();) {
    const std::size_t comma = rest.find(',');
    if (comma != 0) {
      c.endpoints.emplace_back(rest.substr(0, comma));
    }
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  c.username = user;
  c.password = password;
  if (!ca.empty()) {
    c.tls = EtcdTls{ca, {}, {}};
  }
  return c;
}
#endif

Result<std::unique_ptr<Source>> make_source(const SourceSpec& spec, int priority,
                                            const SessionOptions& options, const Schema* schema) {
  if (spec.kind == SourceSpec::Kind::kEnv) {
    EnvSourceOptions env;
    env.prefix = spec.value;
    env.priority = priority;
    env.watch = options.watch;
    env.schema = schema;
    if (options.debounce) {
      env.debounce.quiet = *options.debounce;
    }
    return make_env_source(std::move(env));
  }
  if (spec.kind == SourceSpec::Kind::kSet) {
    return Error(ErrorCode::kInternal, "--set is a layer, not a source");
  }
  if (spec.kind == SourceSpec::Kind::kEtcd) {
#if LIVECONF_CLI_WITH_ETCD
    EtcdSourceOptions etcd;
    etcd.connection =
        etcd_connection(spec.value, options.etcd_user, options.etcd_password, options.etcd_ca);
    if (options.etcd_prefix.empty()) {
      return Error(ErrorCode::kValidation, "--etcd needs --prefix (the key prefix to read)");
    }
    etcd.prefix = options.etcd_prefix;
    etcd.layout = options.etcd_document ? EtcdLayout::kDocument : EtcdLayout::kTree;
    etcd.priority = priority;
    etcd.name = "etcd:" + options.etcd_prefix;
    if (options.debounce) {
      etcd.debounce.quiet = *options.debounce;
    }
    etcd.cache_file = options.etcd_cache;
    etcd.cache_key_file = options.etcd_cache_key;
    return make_etcd_source(std::move(etcd));
#else
    return Error(ErrorCode::kValidation,
                 "--etcd: this liveconf was built without etcd support (LIVECONF_WITH_ETCD=OFF)");
#endif
  }
  FileSourceOptions file;
  file.path = spec.value;
  file.name = source_name(spec);
  file.priority = priority;
  if (spec.kind == SourceSpec::Kind::kDotenv) {
    file.format = "env";
    file.env_style_keys = true;  // DB__PASSWORD=x sets db.password, as --env does
  }
  file.watch = !options.watch ? WatchMode::kNone
               : options.poll ? WatchMode::kPoll
                              : WatchMode::kAuto;
  if (options.debounce) {
    file.debounce.quiet = *options.debounce;
  }
  return make_file_source(std::move(file));
}

Result<std::unique_ptr<Session>> Session::open(SessionOptions options) {
  std::unique_ptr<Session> s(new Session());
  s->manager_ = std::make_unique<ConfigManager>(options.manager);
  RegisterOptions reg;
  reg.first_generation = options.first_generation;
  for (const std::string& secret : options.secrets) {
    Result<KeyPath> p = KeyPath::parse(secret);
    if (!p) {
      return p.error();
    }
    reg.sensitive.push_back(std::move(*p));
  }
  Status st;
  if (!options.schema_path.empty()) {
    Result<SchemaFile> schema = load_schema_file(options.schema_path);
    if (!schema) {
      return schema.error();
    }
    s->schema_ = std::move(*schema);
    reg.strict = s->schema_->strict;
    st = s->manager_->register_schema(std::string(kConfigName), s->schema_->schema,
                                      s->schema_->defaults, std::move(reg));
  } else {
    st = s->manager_->register_untyped(std::string(kConfigName), std::move(reg));
  }
  if (!st.ok()) {
    return st.error();
  }

  Value set_layer = Value::object();
  bool any_set = false;
  int priority = 0;
  std::vector<std::unique_ptr<Source>> sources;
  for (const SourceSpec& spec : options.sources) {
    ++priority;
    if (spec.kind == SourceSpec::Kind::kSet) {
      Result<std::pair<KeyPath, Value>> kv = parse_set(spec.value);
      if (!kv) {
        return kv.error();
      }
      set_layer.set(kv->first, std::move(kv->second));
      any_set = true;
      continue;
    }
    Result<std::unique_ptr<Source>> source = make_source(spec, priority, options, nullptr);
    if (!source) {
      return source.error();
    }
    s->names_.push_back((*source)->name());  // etcd: "etcd:PREFIX", not the URL
    if (spec.kind == SourceSpec::Kind::kEtcd) {
      s->etcd_ = source->get();
    }
    sources.push_back(std::move(*source));
  }
  // All at once: the result of a fresh load of every source, never of the
  // first few alone.
  if (Status added = s->manager_->add_sources(kConfigName, std::move(sources)); !added.ok()) {
    return added.error();
  }
  if (any_set) {
    if (Status set = s->manager_->set_layer(kConfigName, Layer{"set", kSetPriority, set_layer, ""});
        !set.ok()) {
      return set.error();
    }
    s->names_.emplace_back("set");
  }
  return s;
}

SnapshotPtr Session::snapshot() const { return *manager_->snapshot(kConfigName); }

Value Session::config_of(const SnapshotPtr& snapshot, bool reveal) {
  Value v =
      snapshot->bound_if<Value>() != nullptr ? *snapshot->bound_if<Value>() : snapshot->tree();
  if (!reveal) {
    mask_sensitive(v, snapshot->sensitive());
  }
  return v;
}

}  // namespace liveconf::cli
