#include "cli/common_options.hpp"

#include <filesystem>
#include <optional>
#include <system_error>

namespace liveconf::cli {

void Common::add_to(CLI::App* app) {
  source_options[app] = {
      {app->add_option("--file", files, "A config file (JSON, YAML, TOML, INI, .env by extension)")
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
  app->add_option("--etcd-cache", etcd_cache,
                  "Keep the last applied etcd state in FILE (encrypted) and start from it when "
                  "etcd is down")
      ->type_name("FILE");
  app->add_option("--etcd-cache-key", etcd_cache_key,
                  "The --etcd-cache key: 32 raw bytes or 64 hex digits, mode 0600")
      ->type_name("FILE");
  app->add_option("--format", format, "Output: text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  app->add_option("--debounce", debounce, "Quiet period before a reload (e.g. 100ms, 1s)")
      ->type_name("DURATION");
  app->add_flag("--poll", poll, "Poll files instead of using inotify");
  app->add_option("--schema", schema,
                  "Types, defaults, secrets and validation (JSON Schema subset; docs/cli.md)")
      ->type_name("FILE");  // a missing file is an I/O error (4), reported when read
  app->add_option("--secret", secrets, "Treat KEY as a secret (printed as ***)")->type_name("KEY");
}

std::vector<SourceSpec> Common::sources(const CLI::App* app) const {
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

Result<SessionOptions> Common::session_options(const CLI::App* app, bool watch) const {
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
  so.etcd_cache = etcd_cache;
  so.etcd_cache_key = etcd_cache_key;
  if ((!etcd_cache.empty() || !etcd_cache_key.empty()) && etcds.size() != 1) {
    return Error(ErrorCode::kValidation,
                 "--etcd-cache and --etcd-cache-key are for one --etcd source");
  }
  if (etcd_cache.empty() != etcd_cache_key.empty()) {
    return Error(ErrorCode::kValidation,
                 "--etcd-cache needs --etcd-cache-key and the other way round (the cache is "
                 "always encrypted)");
  }
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

}  // namespace liveconf::cli
