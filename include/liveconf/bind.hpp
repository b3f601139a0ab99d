// File: liveconf/bind.hpp
//
// Typed configs: describe a struct's fields once, and liveconf binds Value
// trees to it (from_dict), turns it back into a tree (to_dict), diffs two
// instances, and takes its defaults, secrets, merge policies and env var
// names from the description.
//
//   struct WatchedConfig {
//     std::string api_key = "default-key";   // defaults are the member initialisers
//     int timeout = 30;
//     bool enabled = true;
//     std::vector<std::string> endpoints;
//   };
//
//   // Found by ADL: declare it in WatchedConfig's namespace.
//   inline void liveconf_describe(liveconf::Describer<WatchedConfig>& d) {
//     d.field("api_key", &WatchedConfig::api_key).description("API key").sensitive();
//     d.field("timeout", &WatchedConfig::timeout).description("Request timeout").range(1, 3600);
//     d.field("enabled", &WatchedConfig::enabled).description("Feature enabled");
//     d.field("endpoints", &WatchedConfig::endpoints).description("API endpoints");
//   }
//
//   liveconf::Result<WatchedConfig> c = liveconf::from_dict<WatchedConfig>(tree);
//   liveconf::Value tree2 = liveconf::to_dict(*c);            // api_key shown as "***"
//   liveconf::ChangeSet d = liveconf::diff(*c, other);        // "timeout: 30 -> 60"
//
// Field types: bool; integers (range-checked); float/double; std::string;
// enums by name (via an ADL `liveconf_enum_names(E)` returning pairs of
// {E, name}); std::chrono::duration written "250ms", "30s", "5m", "1h30m"
// (an integer counts the duration's own unit); std::optional; std::vector;
// std::map / std::unordered_map with string keys; nested described structs;
// liveconf::Value (anything); and user types through an ADL pair
//   liveconf::Status liveconf_from_value(const liveconf::Value&, T&);
//   liveconf::Value  liveconf_to_value(const T&);
//
// Conversions: text converts to the field's type when it parses completely
// ("8080" -> 8080, "yes" -> true, "a,b" -> {"a","b"}, "k=v,k2=v2" -> map),
// because INI, .env and environment values are text. Numbers never silently
// become strings (YAML's 1.10 is the float 1.1): quote them in the file.
//
// Thread-safety: schemas are built once, on first use, and are immutable and
// shared after that; from_dict/to_dict/diff may run concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "liveconf/diff.hpp"
#include "liveconf/export.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/path.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf {

/// Whether a changed field takes effect at once or only after a restart.
enum class ReloadPolicy : std::uint8_t {
  kHot,              // applied by the next snapshot
  kRestartRequired,  // the running process keeps its startup value; the change is
                     // reported (Change::restart_required) and pending until restart
};

class Schema;
template <typename T>
class Describer;

/// The shape of a field's value, for sources that address fields by name
/// (the environment): only maps take keys below them, and only list, map,
/// struct and `Value` fields accept a JSON document in place of text.
enum class FieldKind : std::uint8_t { kScalar, kStruct, kList, kMap, kAny };

/// One described field, type-erased. Part of a Schema.
struct FieldInfo {
  std::string key;
  std::string description;
  std::string env_var;  // explicit environment variable name, if any
  bool sensitive = false;
  ReloadPolicy reload = ReloadPolicy::kHot;
  std::optional<MergePolicy> merge;
  std::string type_name;                // "integer", "string", "duration", "list<string>", ...
  const Schema* nested = nullptr;       // schema of a struct field (or of its elements)
  bool nested_is_collection = false;    // nested applies to each element/value ("*")
  FieldKind kind = FieldKind::kScalar;  // std::optional<X> has X's kind
};

/// Options for binding a tree to a typed config.
struct BindOptions {
  /// Unknown keys are errors (true) or warnings (false).
  bool strict = false;
};

/// Everything a bind found: errors (the bind failed if any) and warnings
/// (unknown keys, with a closest-match suggestion).
struct BindReport {
  std::vector<Error> errors;
  std::vector<Error> warnings;
  [[nodiscard]] bool ok() const noexcept { return errors.empty(); }
  /// Ok, or the first error; with several, the message says how many more there are.
  [[nodiscard]] LIVECONF_API Status status() const;
};

// Implementation details below ------------------------------------------------

namespace detail {

/// A compiled ECMAScript regular expression, as a whole-string match. The
/// <regex> machinery stays in src/bind/pattern.cpp: a consumer that includes
/// this header does not pay std::regex's compile time.
using PatternMatcher = std::function<bool(std::string_view)>;
/// Compiles `re` once; throws std::regex_error when it is not a valid expression.
[[nodiscard]] LIVECONF_API PatternMatcher compile_pattern(const std::string& re);

/// State threaded through one bind: where we are, what was found.
class LIVECONF_API BindContext {
 public:
  explicit BindContext(BindOptions options) : options_(options) {}

  /// The current key path (built on demand: only errors need it).
  [[nodiscard]] KeyPath path() const;
  /// Enters a key. `segment` is borrowed and must outlive the matching pop():
  /// keys come from the bound tree or the schema, which outlive a bind.
  void push(std::string_view segment) {
    segments_.push_back(segment);
    owned_.push_back(false);
  }
  /// Enters an array index.
  void push_index(std::size_t index) {
    index_text_.push_back(std::to_string(index));
    segments_.push_back(index_text_.back());
    owned_.push_back(true);
  }
  void pop() {
    if (owned_.back()) {
      index_text_.pop_back();
    }
    owned_.pop_back();
    segments_.pop_back();
  }
  [[nodiscard]] bool strict() const noexcept { return options_.strict; }
  [[nodiscard]] bool in_secret() const noexcept { return secret_depth_ > 0; }
  void enter_secret() noexcept { ++secret_depth_; }
  void leave_secret() noexcept { --secret_depth_; }

  /// An error at the current path and `v`'s origin: "expected integer", got <v>.
  [[nodiscard]] Error type_error(const Value& v, std::string expected) const;
  /// An error at the current path with a custom message; `detail` is dropped in secrets.
  [[nodiscard]] Error error(ErrorCode code, const Value& v, std::string message,
                            std::string detail = {}) const;
  /// `got string "80a"`, or `got string (hidden)` inside a secret.
  [[nodiscard]] std::string describe(const Value& v) const;

  void add_error(Error e) { report_.errors.push_back(std::move(e)); }
  void add_warning(Error e) { report_.warnings.push_back(std::move(e)); }
  /// Reports keys of `object` that `schema` lacks as warnings (errors when strict).
  void check_unknown_keys(const Value& object, const Schema& schema);
  [[nodiscard]] BindReport& report() noexcept { return report_; }

 private:
  BindOptions options_;
  // Borrowed keys; index text lives in index_text_ (a deque: stable addresses).
  std::vector<std::string_view> segments_;
  std::vector<bool> owned_;
  std::deque<std::string> index_text_;
  int secret_depth_ = 0;
  BindReport report_;
};

// Text conversions shared by the codecs (and by env parsing).
LIVECONF_API std::optional<bool> parse_bool_text(std::string_view s) noexcept;
LIVECONF_API std::optional<std::int64_t> parse_int_text(std::string_view s) noexcept;
LIVECONF_API std::optional<std::uint64_t> parse_uint_text(std::string_view s) noexcept;
LIVECONF_API std::optional<double> parse_double_text(std::string_view s) noexcept;
/// "1h30m" -> 5400e9 ns. Units: ns, us, µs, ms, s, m, h, d; decimals allowed ("1.5s").
LIVECONF_API std::optional<long double> parse_duration_ns(std::string_view s) noexcept;
/// 5400e9 ns -> "90m": the largest unit that divides exactly.
LIVECONF_API std::string format_duration_ns(std::int64_t ns);
/// "a, b ,c" -> {"a","b","c"} (trimmed; "" -> {}).
LIVECONF_API std::vector<std::string> split_list_text(std::string_view s);
/// "k=v,k2=v2" -> {{"k","v"},{"k2","v2"}}; nullopt if an item has no '='.
LIVECONF_API std::optional<std::vector<std::pair<std::string, std::string>>> split_map_text(
    std::string_view s);

template <typename T>
struct Codec;  // decode(const Value&, T&, BindContext&) -> Status; encode(const T&) -> Value

template <typename T>
concept AdlCodec = requires(const Value& v, T& t, const T& ct) {
  { liveconf_from_value(v, t) } -> std::same_as<Status>;
  { liveconf_to_value(ct) } -> std::same_as<Value>;
};

template <typename T>
concept NamedEnum = std::is_enum_v<T> && requires(T e) {
  liveconf_enum_names(e);
};

template <typename T>
struct IsDuration : std::false_type {};
template <typename R, typename P>
struct IsDuration<std::chrono::duration<R, P>> : std::true_type {};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
struct IsVector : std::false_type {};
template <typename T, typename A>
struct IsVector<std::vector<T, A>> : std::true_type {};

template <typename T>
struct IsStringMap : std::false_type {};
template <typename V, typename C, typename A>
struct IsStringMap<std::map<std::string, V, C, A>> : std::true_type {};
template <typename V, typename H, typename E, typename A>
struct IsStringMap<std::unordered_map<std::string, V, H, E, A>> : std::true_type {};

}  // namespace detail

/// A struct type with a `liveconf_describe(Describer<T>&)` found by ADL.
template <typename T>
concept Described = std::is_class_v<T> && std::is_default_constructible_v<T> &&
    requires(Describer<T>& d) {
  liveconf_describe(d);
};

/// A type-erased description of a struct, built from liveconf_describe.
/// Obtain it with schema_of<T>(). Immutable once built; thread-safe.
class LIVECONF_API Schema {
 public:
  [[nodiscard]] const std::string& type_name() const noexcept { return type_name_; }
  [[nodiscard]] const std::vector<FieldInfo>& fields() const noexcept { return fields_; }
  [[nodiscard]] const FieldInfo* find(std::string_view key) const noexcept;

  /// Paths of sensitive fields, nested ones included ("*" for collection elements).
  [[nodiscard]] SensitivePaths sensitive_paths() const;
  /// Merge policies declared on fields, nested ones included.
  [[nodiscard]] MergePolicies merge_policies() const;
  /// Paths of restart-required fields, nested ones included.
  [[nodiscard]] std::vector<KeyPath> restart_required_paths() const;
  /// Every field path with its info, depth first ("db.port" with the port FieldInfo).
  [[nodiscard]] std::vector<std::pair<KeyPath, const FieldInfo*>> all_fields() const;

  // Used by Describer and the codecs.
  struct Ops {
    std::function<Status(const Value&, void*, detail::BindContext&)> decode;
    std::function<Value(const void*)> encode;
    std::function<void(const void*, void*)> copy;  // member from one object to another
  };
  FieldInfo& add_field(FieldInfo info, Ops ops);
  [[nodiscard]] const Ops& ops(std::size_t i) const { return ops_[i]; }
  void set_type_name(std::string name) { type_name_ = std::move(name); }
  void add_validator(std::function<Status(const void*)> v) { validators_.push_back(std::move(v)); }
  [[nodiscard]] const std::vector<std::function<Status(const void*)>>& validators() const noexcept {
    return validators_;
  }

  /// Binds `tree` to a default-constructed object of the schema's type and
  /// returns what the bind found, without needing the type itself (the
  /// environment's binding report uses it).
  [[nodiscard]] BindReport check(const Value& tree, const BindOptions& options = {}) const;
  void set_factory(std::function<std::shared_ptr<void>()> make) { factory_ = std::move(make); }

  /// Binds `value` (an object) into `object` (a T of this schema) in place:
  /// fields present in `value` are set, the rest keep their current value.
  Status decode_into(const Value& value, void* object, detail::BindContext& ctx) const;
  /// The object's fields as a Value object, in declaration order.
  [[nodiscard]] Value encode(const void* object) const;

 private:
  std::string type_name_;
  std::vector<FieldInfo> fields_;
  std::vector<Ops> ops_;
  std::vector<std::function<Status(const void*)>> validators_;
  std::function<std::shared_ptr<void>()> factory_;
};

/// The schema of T, built on first use from liveconf_describe.
template <Described T>
const Schema& schema_of();

/// Configures one field; returned by Describer::field. Every setter returns
/// *this for chaining.
template <typename T, typename M>
class FieldBuilder {
 public:
  FieldBuilder(FieldInfo& info,
               std::shared_ptr<
                   std::vector<std::function<Status(const M&, const Value&, detail::BindContext&)>>>
                   validators,
               std::shared_ptr<std::function<Result<M>(std::string_view)>> parser)
      : info_(info), validators_(std::move(validators)), parser_(std::move(parser)) {}

  FieldBuilder& description(std::string text) {
    info_.description = std::move(text);
    return *this;
  }
  /// The environment variable that sets this field (the seed's env_var=).
  FieldBuilder& env(std::string name) {
    info_.env_var = std::move(name);
    return *this;
  }
  /// A secret: masked in to_dict, diffs, explain, errors and exports.
  FieldBuilder& sensitive(bool yes = true) {
    info_.sensitive = yes;
    return *this;
  }
  FieldBuilder& reload(ReloadPolicy policy) {
    info_.reload = policy;
    return *this;
  }
  FieldBuilder& restart_required() { return reload(ReloadPolicy::kRestartRequired); }
  /// How this field's array merges across layers.
  FieldBuilder& merge(MergePolicy policy) {
    info_.merge = std::move(policy);
    return *this;
  }
  FieldBuilder& merge(MergeStrategy strategy, std::string key = {}) {
    return merge(MergePolicy{strategy, std::move(key)});
  }
  /// Parses text (from env, INI, .env, or a string in any file) into the field,
  /// replacing the built-in conversion (the seed's parser=). Non-text values
  /// still use the built-in conversion.
  FieldBuilder& parser(std::function<Result<M>(std::string_view)> fn) {
    *parser_ = std::move(fn);
    return *this;
  }

  /// Custom validation: return an Error (its path and origin are filled in).
  FieldBuilder& validate(std::function<Status(const M&)> fn) {
    validators_->push_back(
        [fn = std::move(fn)](const M& m, const Value& v, detail::BindContext& ctx) -> Status {
          Status st = fn(m);
          if (!st.ok()) {
            Error e = st.error();
            return ctx.error(ErrorCode::kValidation, v, e.message(), e.detail());
          }
          return ok_status();
        });
    return *this;
  }
  /// Accepts values for which `pred` is true; else "`message`".
  FieldBuilder& check(std::function<bool(const M&)> pred, std::string message) {
    validators_->push_back([pred = std::move(pred), message = std::move(message)](
                               const M& m, const Value& v, detail::BindContext& ctx) -> Status {
      if (pred(m)) {
        return ok_status();
      }
      return ctx.error(ErrorCode::kValidation, v, message, "got " + ctx.describe(v));
    });
    return *this;
  }
  /// lo <= value <= hi (numbers, durations, anything ordered).
  template <typename L, typename H>
  FieldBuilder& range(L lo, H hi) {
    const std::string text = "must be between " + bound_text(M(lo)) + " and " + bound_text(M(hi));
    return check([lo = M(lo), hi = M(hi)](const M& m) { return !(m < lo) && !(hi < m); }, text);
  }
  template <typename L>
  FieldBuilder& min(L lo) {
    return check([lo = M(lo)](const M& m) { return !(m < lo); },
                 "must be at least " + bound_text(M(lo)));
  }
  template <typename L>
  FieldBuilder& max(L hi) {
    return check([hi = M(hi)](const M& m) { return !(hi < m); },
                 "must be at most " + bound_text(M(hi)));
  }
  /// The value must equal one of `choices`.
  FieldBuilder& one_of(std::vector<M> choices) {
    std::string text = "must be one of ";
    for (std::size_t i = 0; i < choices.size(); ++i) {
      text += (i > 0 ? ", " : "") + detail::Codec<M>::encode(choices[i]).to_display_string();
    }
    return check(
        [choices = std::move(choices)](const M& m) {
          for (const M& c : choices) {
            if (c == m) {
              return true;
            }
          }
          return false;
        },
        text);
  }
  /// Strings: the whole value must match the ECMAScript regular expression `re`.
  /// The expression is compiled once, here; an invalid one throws std::regex_error
  /// (a bug in the schema, not in the configuration).
  FieldBuilder& pattern(const std::string& re) requires std::is_same_v<M, std::string> {
    return check([matches = detail::compile_pattern(re)](const M& m) { return matches(m); },
                 "must match the pattern " + re);
  }
  /// Strings and containers: must not be empty.
  FieldBuilder& non_empty() {
    return check([](const M& m) { return !m.empty(); }, "must not be empty");
  }

 private:
  // "1ms" rather than "\"1ms\"": bounds read as text in messages.
  static std::string bound_text(const M& m) {
    Value v = detail::Codec<M>::encode(m);
    return v.is_string() ? std::string(v.as_string()) : v.to_display_string();
  }

  FieldInfo& info_;
  std::shared_ptr<std::vector<std::function<Status(const M&, const Value&, detail::BindContext&)>>>
      validators_;
  std::shared_ptr<std::function<Result<M>(std::string_view)>> parser_;
};

/// Passed to liveconf_describe(Describer<T>&): declares T's fields.
template <typename T>
class Describer {
 public:
  explicit Describer(Schema& schema) : schema_(schema) {}

  /// Declares member `member` under `key`; its default is the member's initial value in T{}.
  template <typename M>
  FieldBuilder<T, M> field(std::string key, M T::*member);

  /// A whole-struct check, run after every field bound: cross-field rules
  /// ("min_workers <= max_workers"). Return an Error whose path names the field.
  Describer& validate(std::function<Status(const T&)> fn) {
    schema_.add_validator(
        [fn = std::move(fn)](const void* obj) { return fn(*static_cast<const T*>(obj)); });
    return *this;
  }
  /// A name for messages ("WatchedConfig").
  Describer& name(std::string type_name) {
    schema_.set_type_name(std::move(type_name));
    return *this;
  }

 private:
  Schema& schema_;
};

/// Binds `value` to a new T (starting from T's defaults). Errors name the key
/// path and origin of every bad value; all of them are in `report` if given.
template <Described T>
[[nodiscard]] Result<T> from_dict(const Value& value, const BindOptions& options = {},
                                  BindReport* report = nullptr);

struct ToDictOptions {
  /// Show secrets' real values (for writing them back to a store you trust).
  bool reveal_secrets = false;
};

/// The config as a tree (fields in declaration order). Secrets are "***" unless revealed.
template <Described T>
[[nodiscard]] Value to_dict(const T& config, const ToDictOptions& options = {});

/// Field-by-field changes from `a` to `b` ("timeout: 30 -> 60"); secrets show as changed only.
template <Described T>
[[nodiscard]] ChangeSet diff(const T& a, const T& b);

}  // namespace liveconf

#include "liveconf/detail/bind_impl.hpp"
