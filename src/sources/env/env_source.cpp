// The environment as a layer: variable names resolved against the schema,
// secret files read, JSON documents parsed, and a report of every decision.
// resolve() is the one place that decides; load_env(), env_report() and the
// source all call it.
//
// Why ~700 lines in one file: resolve() and its helpers (name table, type
// conversion, secret files) are one decision with one report; splitting them
// would put the anonymous-namespace Target/Match/Resolution types in a header
// only this file uses. What stands alone lives apart: the name rules
// (env_names.cpp), the process environment (environment.cpp) and the
// watcher (env_watcher.cpp).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <new>
#include <random>
#include <set>
#include <xxhash.h>

#include "liveconf/env.hpp"
#include "liveconf/format.hpp"

#include "sources/env/env_names.hpp"
#include "sources/env/environment.hpp"
#include "sources/file/read_file.hpp"
#include "value/text.hpp"

namespace liveconf {
namespace {

constexpr std::string_view kFileSuffix = "_FILE";
constexpr std::string_view kFileScheme = "file://";

std::string normalise_prefix(std::string p) {
  while (!p.empty() && p.back() == '_') {
    p.pop_back();
  }
  return p;
}

using detail::env_lower;
using detail::env_segment;

// What a variable sets.
struct Target {
  KeyPath path;
  FieldKind kind = FieldKind::kAny;  // kAny for untyped configs
  std::string type;                  // "" when untyped
  bool sensitive = false;
  int rank = 1;  // 0: the field's explicit name; 1: derived from the prefix
};

struct Match {
  enum Kind : std::uint8_t { kOk, kUnknown, kAmbiguous } kind = kUnknown;
  Target target;
  std::string why;
};

FieldKind element_kind(const FieldInfo& f) {
  if (f.nested != nullptr) {
    return FieldKind::kStruct;
  }
  const std::string_view t = f.type_name;
  if (t.starts_with("map<list<")) {
    return FieldKind::kList;
  }
  if (t.starts_with("map<map<")) {
    return FieldKind::kMap;
  }
  if (t == "map<value>") {
    return FieldKind::kAny;
  }
  return FieldKind::kScalar;
}

std::string element_type(const FieldInfo& f) {
  const std::string& t = f.type_name;
  if (t.starts_with("map<") && t.back() == '>') {
    return t.substr(4, t.size() - 5);
  }
  return t;
}

// Walks `segs` (upper-case name parts) down the schema from segs[i].
Match match_derived(const Schema& schema, const std::vector<std::string>& segs, std::size_t i,
                    KeyPath path, bool sensitive) {
  std::vector<const FieldInfo*> found;
  for (const FieldInfo& f : schema.fields()) {
    if (env_segment(f.key) == segs[i]) {
      found.push_back(&f);
    }
  }
  if (found.empty()) {
    return Match{Match::kUnknown,
                 {},
                 "no field \"" + env_lower(segs[i]) + "\"" +
                     (path.empty() ? "" : " in " + path.to_string())};
  }
  if (found.size() > 1) {
    std::string keys;
    for (const FieldInfo* f : found) {
      keys += (keys.empty() ? "" : ", ") + f->key;
    }
    return Match{Match::kAmbiguous, {}, "names several fields: " + keys};
  }
  const FieldInfo& f = *found.front();
  path.push_back(f.key);
  sensitive = sensitive || f.sensitive;
  const bool last = i + 1 == segs.size();
  if (last) {
    return Match{Match::kOk, Target{path, f.kind, f.type_name, sensitive, 1}, {}};
  }
  if (f.kind == FieldKind::kStruct && f.nested != nullptr) {
    return match_derived(*f.nested, segs, i + 1, path, sensitive);
  }
  if (f.kind == FieldKind::kMap) {
    path.push_back(env_lower(segs[i + 1]));
    if (i + 2 == segs.size()) {
      return Match{Match::kOk, Target{path, element_kind(f), element_type(f), sensitive, 1}, {}};
    }
    if (f.nested != nullptr) {
      return match_derived(*f.nested, segs, i + 2, path, sensitive);
    }
    return Match{Match::kUnknown, {}, path.to_string() + " is a " + f.type_name + " value"};
  }
  if (f.kind == FieldKind::kList) {
    return Match{Match::kUnknown,
                 {},
                 path.to_string() +
                     " is a list, set as a whole: a,b,c or a JSON array in the variable " +
                     "for the list itself"};
  }
  return Match{Match::kUnknown, {}, path.to_string() + " is a " + f.type_name + ", not a section"};
}

// Everything the schema reads, for explicit names, suggestions and the report.
struct NameTable {
  std::map<std::string, std::vector<Target>> explicit_names;
  std::vector<std::pair<std::string, KeyPath>> known;  // schema order
};

void collect_names(const Schema& schema, const std::string& prefix, KeyPath path,
                   std::string derived, bool sensitive, bool in_collection, NameTable& out) {
  for (const FieldInfo& f : schema.fields()) {
    KeyPath p = path.child(f.key);
    std::string name = derived + (derived.empty() ? "" : "__") + env_segment(f.key);
    const bool secret = sensitive || f.sensitive;
    if (!f.env_var.empty() && !in_collection) {
      out.explicit_names[f.env_var].push_back(Target{p, f.kind, f.type_name, secret, 0});
      out.known.emplace_back(f.env_var, p);
    }
    const std::string full = prefix.empty() ? name : prefix + "_" + name;
    if (f.kind == FieldKind::kStruct && f.nested != nullptr) {
      collect_names(*f.nested, prefix, p, name, secret, in_collection, out);
    } else if (f.kind == FieldKind::kMap) {
      out.known.emplace_back(full + "__<KEY>", p.child("*"));
      if (f.nested != nullptr) {
        collect_names(*f.nested, prefix, p.child("*"), name + "__<KEY>", secret, true, out);
      }
    } else {
      out.known.emplace_back(full, p);
    }
  }
}

struct Candidate {
  std::string variable;
  std::string raw;  // the variable's value
  Target target;
  bool file_ref = false;  // NAME_FILE: raw is a path
};

struct Resolution {
  Value tree = Value::object();
  std::vector<EnvBinding> bindings;
  std::vector<Error> errors;
  std::set<std::string> files;                 // secret files read (to watch)
  std::map<std::string, std::string> content;  // what went into the tree
  NameTable names;
};

Error var_error(ErrorCode code, const std::string& source, const std::string& var,
                std::string message) {
  auto info = std::make_shared<OriginInfo>();
  info->source = source;
  info->env_var = var;
  return Error(code, std::move(message), Origin(std::move(info)));
}

// The layer version: a hash of what went into the tree, so the same
// environment gives the same version in every load (a fresh load agrees with
// a live one, and an unchanged environment publishes nothing). Values may be
// secret, so the hash is keyed with a random per-process seed that never
// leaves the process: a version cannot be used to test guesses of a secret
// elsewhere. Versions are therefore comparable within one process only.
std::string content_version(const std::map<std::string, std::string>& content) {
  static const XXH64_hash_t seed = [] {
    std::random_device rd;
    return (static_cast<XXH64_hash_t>(rd()) << 32) ^ rd();
  }();
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) {
    throw std::bad_alloc();
  }
  (void)XXH3_64bits_reset_withSeed(state, seed);
  for (const auto& [name, value] : content) {
    const std::uint64_t sizes[2] = {name.size(), value.size()};
    (void)XXH3_64bits_update(state, sizes, sizeof(sizes));
    (void)XXH3_64bits_update(state, name.data(), name.size());
    (void)XXH3_64bits_update(state, value.data(), value.size());
  }
  const XXH64_hash_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "env:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// A secret file's content, one trailing newline dropped.
Result<std::string> read_secret_file(const std::string& path, std::size_t max_bytes) {
  Result<detail::FileRead> read = detail::read_file(path, {}, max_bytes);
  if (!read) {
    return Error(read.error().code(), path + ": " + read.error().message());
  }
  std::string out = std::move(read->bytes);
  if (out.ends_with("\r\n")) {
    out.resize(out.size() - 2);
  } else if (out.ends_with('\n')) {
    out.pop_back();
  }
  return out;
}

// Text -> Value for a target: JSON documents where the field takes them.
Result<Value> convert(const std::string& text, const Target& t, const Origin& origin, bool typed) {
  const std::string_view trimmed = [&] {
    std::string_view s = text;
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
      s.remove_prefix(1);
    }
    return s;
  }();
  const bool document = !trimmed.empty() && (trimmed.front() == '[' || trimmed.front() == '{');
  const bool takes_document = !typed || t.kind != FieldKind::kScalar;
  if (takes_document && (document || !typed || t.kind == FieldKind::kAny)) {
    ParseOptions parse;
    parse.origin = origin.info();
    Result<Value> v = find_format("json")->parse(text, parse);
    if (v) {
      return v;
    }
    // Untyped: anything that is not JSON is a string (docs/environment.md), and
    // the config's secrets are unknown here, so no parser message may quote it.
    if (document && typed) {
      return Error(ErrorCode::kParse, t.sensitive
                                          ? std::string("not valid JSON (details hidden: a secret)")
                                          : "not valid JSON: " + v.error().to_string());
    }
  }
  Value v(text);
  v.set_origin(origin);
  return v;
}

Resolution resolve(const EnvSourceOptions& options, const Schema* schema,
                   const std::string& source) {
  Resolution r;
  const std::string prefix = normalise_prefix(options.prefix);
  const std::string pre = prefix.empty() ? std::string() : prefix + "_";
  if (schema != nullptr) {
    collect_names(*schema, prefix, KeyPath(), std::string(), false, false, r.names);
  }
  const bool typed = schema != nullptr;

  // Which field each variable names, by explicit name, then by derived name.
  auto lookup = [&](std::string_view name, bool& under_prefix) -> Match {
    if (auto it = r.names.explicit_names.find(std::string(name));
        it != r.names.explicit_names.end()) {
      if (it->second.size() > 1) {
        std::string keys;
        for (const Target& t : it->second) {
          keys += (keys.empty() ? "" : ", ") + t.path.to_string();
        }
        return Match{Match::kAmbiguous, {}, "declared by several fields: " + keys};
      }
      return Match{Match::kOk, it->second.front(), {}};
    }
    under_prefix = pre.empty() ? typed : (name.starts_with(pre) && name.size() > pre.size());
    if (!under_prefix) {
      return Match{};
    }
    const std::vector<std::string> segs = detail::split_env_segments(name.substr(pre.size()));
    if (std::any_of(segs.begin(), segs.end(), [](const std::string& s) { return s.empty(); })) {
      return Match{Match::kUnknown, {}, "empty key segment (three or more underscores in a row?)"};
    }
    if (!typed) {
      const KeyPath path = detail::env_name_to_path(name.substr(pre.size()));
      return Match{Match::kOk, Target{path, FieldKind::kAny, "", false, 1}, {}};
    }
    return match_derived(*schema, segs, 0, KeyPath(), false);
  };

  std::vector<Candidate> candidates;
  auto report = [&](const std::string& var, EnvBindingState state, std::string message,
                    const Target* t) {
    EnvBinding b;
    b.variable = var;
    b.state = state;
    b.message = std::move(message);
    if (t != nullptr) {
      b.path = t->path;
      b.expected_type = t->type;
      b.sensitive = t->sensitive;
    }
    r.bindings.push_back(std::move(b));
  };

  const std::map<std::string, std::string> env = environment_snapshot();
  for (const auto& [name, value] : env) {
    bool under_prefix = false;
    Match m = lookup(name, under_prefix);
    if (m.kind == Match::kOk) {
      candidates.push_back(Candidate{name, value, m.target, false});
      continue;
    }
    // NAME_FILE: the value of NAME is in that file (typed configs: the schema
    // says whether NAME is a field; untyped ones use file:// values instead).
    if (options.file_refs && typed && name.ends_with(kFileSuffix) && m.kind == Match::kUnknown) {
      bool stem_under_prefix = false;
      Match stem = lookup(std::string_view(name).substr(0, name.size() - kFileSuffix.size()),
                          stem_under_prefix);
      if (stem.kind == Match::kOk) {
        candidates.push_back(Candidate{name, value, stem.target, true});
        continue;
      }
    }
    if (!under_prefix || (pre.empty() && m.kind == Match::kUnknown)) {
      continue;  // not ours (without a prefix, only the schema's own names are)
    }
    EnvBinding b;
    b.variable = name;
    b.state = m.kind == Match::kAmbiguous ? EnvBindingState::kAmbiguous : EnvBindingState::kUnknown;
    b.message = m.why;
    if (m.kind == Match::kUnknown) {
      std::size_t best = std::string::npos;
      for (const auto& [known, path] : r.names.known) {
        const std::size_t d = detail::edit_distance(name, known);
        if (d < best && d <= std::max<std::size_t>(2, known.size() / 4)) {
          best = d;
          b.suggestion = known;
        }
      }
    }
    r.bindings.push_back(std::move(b));
  }

  // One winner per field: the explicit name over the derived one; NAME and
  // NAME_FILE together are an error (Docker's rule: they are exclusive).
  std::map<KeyPath, std::vector<Candidate*>> by_path;
  for (Candidate& c : candidates) {
    by_path[c.target.path].push_back(&c);
  }
  std::vector<Candidate*> winners;
  for (auto& [path, list] : by_path) {
    std::stable_sort(list.begin(), list.end(), [](const Candidate* a, const Candidate* b) {
      return a->target.rank < b->target.rank;
    });
    Candidate* win = list.front();
    bool refused = false;
    for (std::size_t i = 1; i < list.size(); ++i) {
      Candidate* other = list[i];
      if (other->target.rank == win->target.rank && other->file_ref != win->file_ref) {
        const std::string& plain = win->file_ref ? other->variable : win->variable;
        const std::string& file = win->file_ref ? win->variable : other->variable;
        r.errors.push_back(
            var_error(ErrorCode::kValidation, source, plain,
                      "both " + plain + " and " + file + " are set; set one of them"));
        report(plain, EnvBindingState::kAmbiguous, "both " + plain + " and " + file + " are set",
               &win->target);
        report(file, EnvBindingState::kAmbiguous, "both " + plain + " and " + file + " are set",
               &win->target);
        refused = true;
      } else {
        report(other->variable, EnvBindingState::kShadowed,
               win->variable + " sets " + path.to_string() + " too and wins", &other->target);
      }
    }
    if (!refused) {
      winners.push_back(win);
    }
  }

  // Shallow paths first, so MYAPP_DB='{"port":1}' and MYAPP_DB__PORT=2 give port 2.
  std::stable_sort(winners.begin(), winners.end(), [](const Candidate* a, const Candidate* b) {
    return a->target.path.size() < b->target.path.size();
  });
  std::map<KeyPath, std::string> set_by;
  for (Candidate* c : winners) {
    auto info = std::make_shared<OriginInfo>();
    info->source = source;
    info->env_var = c->variable;
    const Origin origin(info);
    std::string text = c->raw;
    bool from_file = false;
    std::string file;
    if (c->file_ref) {
      file = c->raw;
    } else if (options.file_refs && text.starts_with(kFileScheme)) {
      file = text.substr(kFileScheme.size());
    }
    if (!file.empty() || c->file_ref) {
      from_file = true;
      r.files.insert(file);
      Result<std::string> read = read_secret_file(file, options.max_file_bytes);
      if (!read) {
        r.errors.push_back(var_error(
            read.error().code() == ErrorCode::kNotFound ? ErrorCode::kIo : read.error().code(),
            source, c->variable,
            "cannot read the value of " + c->variable + " from a file: " + read.error().message()));
        report(c->variable, EnvBindingState::kFileError, read.error().message(), &c->target);
        continue;
      }
      text = std::move(*read);
    }
    // A scalar set above this path (MYAPP_DB=x and MYAPP_DB__PORT=1)?
    std::string conflict;
    for (std::size_t n = 1; n < c->target.path.size(); ++n) {
      const KeyPath parent = KeyPath::from_segments(std::vector<std::string>(
          c->target.path.segments().begin(),
          c->target.path.segments().begin() + static_cast<std::ptrdiff_t>(n)));
      const Value* p = r.tree.find(parent);
      if (p != nullptr && !p->is_object()) {
        conflict = set_by.count(parent) != 0 ? set_by[parent] : parent.to_string();
        break;
      }
    }
    if (!conflict.empty()) {
      report(c->variable, EnvBindingState::kAmbiguous,
             "conflicts with " + conflict + ", which sets a value above it", &c->target);
      continue;
    }
    Result<Value> v = convert(text, c->target, origin, typed);
    if (!v) {
      r.errors.push_back(var_error(ErrorCode::kParse, source, c->variable,
                                   c->variable + ": " + v.error().message()));
      report(c->variable, EnvBindingState::kTypeError, v.error().message(), &c->target);
      continue;
    }
    r.tree.set(c->target.path, std::move(*v));
    set_by[c->target.path] = c->variable;
    r.content[c->variable] = text;
    report(c->variable, EnvBindingState::kBound, {}, &c->target);
    r.bindings.back().from_file = from_file;
  }
  // Intermediate objects carry the source name, for explain().
  std::sort(r.bindings.begin(), r.bindings.end(),
            [](const EnvBinding& a, const EnvBinding& b) { return a.variable < b.variable; });
  return r;
}

Error first_error(std::vector<Error> errors) {
  Error e = std::move(errors.front());
  if (errors.size() > 1) {
    return Error(e.code(),
                 e.message() + " (and " + std::to_string(errors.size() - 1) + " more problem" +
                     (errors.size() > 2 ? "s" : "") + ")",
                 e.origin(), e.path(), e.detail());
  }
  return e;
}

std::string source_name(const EnvSourceOptions& options) {
  const std::string prefix = normalise_prefix(options.prefix);
  return prefix.empty() ? "env" : "env:" + prefix;
}

Status check_prefix(const std::string& prefix) {
  for (char c : prefix) {
    if (c == '=' || c == '\0') {
      return Error(ErrorCode::kValidation, "invalid environment prefix \"" + prefix + "\"");
    }
  }
  return ok_status();
}

class EnvSource final : public Source {
 public:
  explicit EnvSource(EnvSourceOptions options)
      : options_(std::move(options)), name_(source_name(options_)), schema_(options_.schema) {}

  ~EnvSource() override { stop(); }

  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] Debounce debounce() const noexcept override { return options_.debounce; }

  [[nodiscard]] Status attach(const SourceContext& context) override {
    if (schema_ == nullptr) {
      schema_ = context.schema;
    }
    if (schema_ == nullptr && normalise_prefix(options_.prefix).empty()) {
      return Error(ErrorCode::kValidation,
                   "an env source for the untyped config \"" + context.config +
                       "\" needs a prefix (it would read the whole environment)");
    }
    return ok_status();
  }

  [[nodiscard]] Result<SourceLoad> load() override {
    Resolution r = resolve(options_, schema_, name_);
    arm_files(r.files);
    if (!r.errors.empty()) {
      return first_error(std::move(r.errors));
    }
    SourceLoad out;
    out.layers.push_back(
        Layer{name_, options_.priority, std::move(r.tree), content_version(r.content)});
    return out;
  }

  [[nodiscard]] Result<WatchHandle> watch(std::function<void()> changed) override {
    if (!options_.watch) {
      return WatchHandle();
    }
    {
      detail::MutexLock lk(mu_);
      changed_ = changed;
    }
    auto watcher = std::make_unique<EnvironmentWatcher>(EnvironmentWatcherOptions{
        .poll_interval = options_.poll_interval, .clock = options_.clock});
    const std::string prefix = normalise_prefix(options_.prefix);
    auto notify = [changed](const EnvChanges&) { changed(); };
    if (!prefix.empty()) {
      watcher->watch_prefix(prefix + "_", notify);
    }
    std::vector<std::string> names;
    if (schema_ != nullptr) {
      NameTable table;
      collect_names(*schema_, prefix, KeyPath(), std::string(), false, false, table);
      for (const auto& [name, path] : table.known) {
        if (!prefix.empty() && name.starts_with(prefix + "_")) {
          continue;  // the prefix watch sees it
        }
        names.push_back(name);
        names.push_back(name + std::string(kFileSuffix));
      }
    }
    if (!names.empty()) {
      watcher->watch_vars(std::move(names), notify);
    }
    if (Status st = watcher->start(); !st.ok()) {
      return st.error();
    }
    watcher_ = std::move(watcher);
    return WatchHandle([this] { stop(); });
  }

 private:
  void stop() {
    if (watcher_) {
      watcher_->stop();
    }
    std::map<std::string, WatchHandle> files;
    {
      detail::MutexLock lk(mu_);
      changed_ = nullptr;
      files.swap(file_watches_);
    }
    files.clear();  // cancels outside the lock: a callback may be waiting for it
  }

  // Watches the secret files read by the last load, like config files.
  void arm_files(const std::set<std::string>& files) {
    detail::MutexLock lk(mu_);
    if (!changed_) {
      return;
    }
    for (auto it = file_watches_.begin(); it != file_watches_.end();) {
      it = files.count(it->first) != 0 ? std::next(it) : file_watches_.erase(it);
    }
    for (const std::string& f : files) {
      if (file_watches_.count(f) != 0 || f.empty()) {
        continue;
      }
      const std::filesystem::path path = std::filesystem::absolute(f);
      std::shared_ptr<Watcher> w =
          make_watcher(path, WatchMode::kAuto, WatcherOptions{.clock = options_.clock});
      Result<WatchHandle> h = w->watch(path, changed_);
      if (h) {
        file_watchers_.push_back(std::move(w));
        file_watches_.emplace(f, std::move(*h));
      }
    }
  }

  EnvSourceOptions options_;
  std::string name_;
  const Schema* schema_;
  std::unique_ptr<EnvironmentWatcher> watcher_;
  detail::Mutex mu_;
  std::function<void()> changed_ LIVECONF_GUARDED_BY(mu_);
  std::map<std::string, WatchHandle> file_watches_ LIVECONF_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Watcher>> file_watchers_ LIVECONF_GUARDED_BY(mu_);
};

}  // namespace

std::string_view env_binding_state_name(EnvBindingState s) noexcept {
  switch (s) {
    case EnvBindingState::kBound:
      return "bound";
    case EnvBindingState::kUnknown:
      return "unknown";
    case EnvBindingState::kAmbiguous:
      return "ambiguous";
    case EnvBindingState::kShadowed:
      return "shadowed";
    case EnvBindingState::kTypeError:
      return "type_error";
    case EnvBindingState::kFileError:
      return "file_error";
  }
  return "unknown";
}

bool EnvReport::ok() const noexcept {
  return std::none_of(bindings.begin(), bindings.end(), [](const EnvBinding& b) {
    return b.state == EnvBindingState::kTypeError || b.state == EnvBindingState::kFileError ||
           (b.state == EnvBindingState::kAmbiguous && !b.path.empty());
  });
}

std::string EnvReport::to_string() const {
  std::string out;
  for (const EnvBinding& b : bindings) {
    out += b.variable;
    if (!b.path.empty()) {
      out += " -> " + b.path.to_string();
      if (!b.expected_type.empty()) {
        out += " (" + b.expected_type + ")";
      }
    }
    out += ": " + std::string(env_binding_state_name(b.state));
    if (b.from_file) {
      out += ", read from a file";
    }
    if (b.sensitive) {
      out += ", secret";
    }
    if (!b.message.empty()) {
      out += ": " + b.message;
    }
    if (!b.suggestion.empty()) {
      out += "; did you mean " + b.suggestion + "?";
    }
    out += '\n';
  }
  return out;
}

Result<std::unique_ptr<Source>> make_env_source(EnvSourceOptions options) {
  if (Status st = check_prefix(options.prefix); !st.ok()) {
    return st.error();
  }
  return std::unique_ptr<Source>(std::make_unique<EnvSource>(std::move(options)));
}

Result<Value> load_env(const EnvSourceOptions& options) {
  if (Status st = check_prefix(options.prefix); !st.ok()) {
    return st.error();
  }
  if (options.schema == nullptr && normalise_prefix(options.prefix).empty()) {
    return Error(ErrorCode::kValidation, "reading the environment without a schema needs a prefix");
  }
  Resolution r = resolve(options, options.schema, source_name(options));
  if (!r.errors.empty()) {
    return first_error(std::move(r.errors));
  }
  return std::move(r.tree);
}

EnvReport env_report(const EnvSourceOptions& options) {
  EnvReport report;
  report.prefix = normalise_prefix(options.prefix);
  Resolution r = resolve(options, options.schema, source_name(options));
  if (options.schema != nullptr) {
    // Type errors: bind what was read and pin each error on its variable.
    const BindReport bind = options.schema->check(r.tree);
    for (const Error& e : bind.errors) {
      for (EnvBinding& b : r.bindings) {
        if (b.state == EnvBindingState::kBound && e.path().starts_with(b.path)) {
          b.state = EnvBindingState::kTypeError;
          b.message = e.to_string();
          break;
        }
      }
    }
  }
  report.bindings = std::move(r.bindings);
  report.known = std::move(r.names.known);
  return report;
}

}  // namespace liveconf
