// File: liveconf/detail/bind_impl.hpp
//
// Template plumbing behind bind.hpp: the per-type codecs and the Describer and
// from_dict/to_dict/diff bodies. Include liveconf/bind.hpp, not this file.
#pragma once

#include <cmath>
#include <string>
#include <type_traits>

namespace liveconf {
namespace detail {

template <typename>
inline constexpr bool kAlwaysFalse = false;

template <typename T>
std::string describe_enum_choices() {
  std::string out;
  for (const auto& [value, name] : liveconf_enum_names(T{})) {
    (void)value;
    out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

template <typename T>
struct Codec {
  static std::string type_name() {
    if constexpr (std::is_same_v<T, bool>) {
      return "bool";
    } else if constexpr (std::is_integral_v<T>) {
      return "integer";
    } else if constexpr (std::is_floating_point_v<T>) {
      return "float";
    } else if constexpr (std::is_same_v<T, std::string>) {
      return "string";
    } else if constexpr (std::is_same_v<T, Value>) {
      return "value";
    } else if constexpr (IsDuration<T>::value) {
      return "duration";
    } else if constexpr (NamedEnum<T>) {
      return "enum";
    } else if constexpr (IsOptional<T>::value) {
      return "optional<" + Codec<typename T::value_type>::type_name() + ">";
    } else if constexpr (IsVector<T>::value) {
      return "list<" + Codec<typename T::value_type>::type_name() + ">";
    } else if constexpr (IsStringMap<T>::value) {
      return "map<" + Codec<typename T::mapped_type>::type_name() + ">";
    } else if constexpr (Described<T>) {
      return schema_of<T>().type_name();
    } else {
      return "custom";
    }
  }

  static Status decode(const Value& v, T& out, BindContext& ctx) {
    if constexpr (std::is_same_v<T, bool>) {
      if (v.is_bool()) {
        out = v.as_bool();
        return ok_status();
      }
      if (v.is_string()) {
        if (auto b = parse_bool_text(v.as_string())) {
          out = *b;
          return ok_status();
        }
      }
      if (v.is_int() && (v.as_int() == 0 || v.as_int() == 1)) {
        out = v.as_int() == 1;
        return ok_status();
      }
      return ctx.type_error(v, "expected bool (true/false, yes/no, on/off, 1/0)");
    } else if constexpr (std::is_integral_v<T>) {
      return decode_integer(v, out, ctx);
    } else if constexpr (std::is_floating_point_v<T>) {
      std::optional<double> d;
      if (v.is_number()) {
        d = v.as_double();
      } else if (v.is_string()) {
        d = parse_double_text(v.as_string());
      }
      if (!d) {
        return ctx.type_error(v, "expected number");
      }
      if constexpr (sizeof(T) < sizeof(double)) {
        if (std::isfinite(*d) &&
            std::fabs(*d) > static_cast<double>(std::numeric_limits<T>::max())) {
          return ctx.type_error(v, "expected number within float range");
        }
      }
      out = static_cast<T>(*d);
      return ok_status();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (v.is_string()) {
        out = v.as_string();
        return ok_status();
      }
      if (v.is_number() || v.is_bool()) {
        return ctx.error(ErrorCode::kType, v, "expected string",
                         "got " + ctx.describe(v) + " (quote it to keep it as text)");
      }
      return ctx.type_error(v, "expected string");
    } else if constexpr (std::is_same_v<T, Value>) {
      out = v;
      return ok_status();
    } else if constexpr (IsDuration<T>::value) {
      return decode_duration(v, out, ctx);
    } else if constexpr (NamedEnum<T>) {
      if (v.is_string()) {
        for (const auto& [value, name] : liveconf_enum_names(T{})) {
          if (v.as_string() == name) {
            out = value;
            return ok_status();
          }
        }
      }
      return ctx.type_error(v, "expected one of " + describe_enum_choices<T>());
    } else if constexpr (IsOptional<T>::value) {
      if (v.is_null()) {
        out.reset();
        return ok_status();
      }
      if (!out) {
        out.emplace();
      }
      return Codec<typename T::value_type>::decode(v, *out, ctx);
    } else if constexpr (IsVector<T>::value) {
      using U = typename T::value_type;
      if (v.is_string()) {
        Value arr = Value::array();
        for (std::string& item : split_list_text(v.as_string())) {
          Value e(std::move(item));
          e.set_origin(v.origin());
          arr.push_back(std::move(e));
        }
        return decode(arr, out, ctx);
      }
      if (!v.is_array()) {
        return ctx.type_error(v, "expected array");
      }
      T result;
      result.reserve(v.as_array().size());
      std::size_t i = 0;
      for (const Value& e : v.as_array()) {
        U item{};
        ctx.push_index(i++);
        Status st = Codec<U>::decode(e, item, ctx);
        ctx.pop();
        if (!st.ok()) {
          return st;
        }
        result.push_back(std::move(item));
      }
      out = std::move(result);
      return ok_status();
    } else if constexpr (IsStringMap<T>::value) {
      using U = typename T::mapped_type;
      if (v.is_string()) {
        auto pairs = split_map_text(v.as_string());
        if (!pairs) {
          return ctx.type_error(v, "expected map (\"key=value,key2=value2\" or an object)");
        }
        Value obj = Value::object();
        for (auto& [k, val] : *pairs) {
          Value e(std::move(val));
          e.set_origin(v.origin());
          obj.as_object().insert_or_assign(std::move(k), std::move(e));
        }
        return decode(obj, out, ctx);
      }
      if (!v.is_object()) {
        return ctx.type_error(v, "expected object");
      }
      T result;
      for (const auto& [key, e] : v.as_object()) {
        U item{};
        ctx.push(key);
        Status st = Codec<U>::decode(e, item, ctx);
        ctx.pop();
        if (!st.ok()) {
          return st;
        }
        result.emplace(key, std::move(item));
      }
      out = std::move(result);
      return ok_status();
    } else if constexpr (Described<T>) {
      return schema_of<T>().decode_into(v, &out, ctx);
    } else if constexpr (AdlCodec<T>) {
      Status st = liveconf_from_value(v, out);
      if (!st.ok()) {
        Error e = st.error();
        if (e.path().empty()) {
          e.set_path(ctx.path());
        }
        if (e.origin().empty()) {
          e.set_origin(v.origin());
        }
        return e;
      }
      return st;
    } else {
      static_assert(kAlwaysFalse<T>,
                    "liveconf cannot bind this type: describe it with liveconf_describe, give an "
                    "enum liveconf_enum_names, or provide liveconf_from_value/liveconf_to_value");
    }
  }

  static Value encode(const T& t) {
    if constexpr (std::is_same_v<T, bool>) {
      return Value(t);
    } else if constexpr (std::is_integral_v<T>) {
      if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
        if (t > static_cast<T>(std::numeric_limits<std::int64_t>::max())) {
          return Value(static_cast<double>(t));
        }
      }
      return Value(static_cast<std::int64_t>(t));
    } else if constexpr (std::is_floating_point_v<T>) {
      return Value(static_cast<double>(t));
    } else if constexpr (std::is_same_v<T, std::string>) {
      return Value(t);
    } else if constexpr (std::is_same_v<T, Value>) {
      return t;
    } else if constexpr (IsDuration<T>::value) {
      return Value(
          format_duration_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(t).count()));
    } else if constexpr (NamedEnum<T>) {
      for (const auto& [value, name] : liveconf_enum_names(T{})) {
        if (value == t) {
          return Value(std::string(name));
        }
      }
      return Value(static_cast<std::int64_t>(t));
    } else if constexpr (IsOptional<T>::value) {
      return t ? Codec<typename T::value_type>::encode(*t) : Value();
    } else if constexpr (IsVector<T>::value) {
      Value out = Value::array();
      for (const auto& e : t) {
        out.push_back(Codec<typename T::value_type>::encode(e));
      }
      return out;
    } else if constexpr (IsStringMap<T>::value) {
      Value out = Value::object();
      for (const auto& [k, e] : t) {
        out.as_object().insert_or_assign(k, Codec<typename T::mapped_type>::encode(e));
      }
      return out;
    } else if constexpr (Described<T>) {
      return schema_of<T>().encode(&t);
    } else if constexpr (AdlCodec<T>) {
      return liveconf_to_value(t);
    } else {
      static_assert(kAlwaysFalse<T>, "liveconf cannot encode this type");
    }
  }

 private:
  static Status decode_integer(const Value& v, T& out, BindContext& ctx) {
    constexpr auto kMin = std::numeric_limits<T>::min();
    constexpr auto kMax = std::numeric_limits<T>::max();
    const std::string range =
        "expected integer between " + std::to_string(kMin) + " and " + std::to_string(kMax);
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::uint64_t)) {
      if (v.is_string()) {
        if (auto u = parse_uint_text(v.as_string())) {
          out = static_cast<T>(*u);
          return ok_status();
        }
      }
    }
    std::int64_t i = 0;
    if (v.is_int()) {
      i = v.as_int();
    } else if (v.is_double()) {
      const double d = v.as_double();
      if (!(std::trunc(d) == d && d >= -9.2233720368547758e18 && d < 9.2233720368547758e18)) {
        return ctx.type_error(v, "expected integer");
      }
      i = static_cast<std::int64_t>(d);
    } else if (v.is_string()) {
      auto parsed = parse_int_text(v.as_string());
      if (!parsed) {
        return ctx.type_error(v, "expected integer");
      }
      i = *parsed;
    } else {
      return ctx.type_error(v, "expected integer");
    }
    if constexpr (std::is_signed_v<T>) {
      if (i < static_cast<std::int64_t>(kMin) || i > static_cast<std::int64_t>(kMax)) {
        return ctx.type_error(v, range);
      }
    } else {
      if (i < 0 || static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(kMax)) {
        return ctx.type_error(v, range);
      }
    }
    out = static_cast<T>(i);
    return ok_status();
  }

  static Status decode_duration(const Value& v, T& out, BindContext& ctx) {
    using Rep = typename T::rep;
    using Period = typename T::period;
    if (v.is_int()) {
      out = T(static_cast<Rep>(v.as_int()));
      return ok_status();
    }
    if (!v.is_string()) {
      return ctx.type_error(v, "expected duration such as \"250ms\", \"30s\" or \"5m\"");
    }
    auto ns = parse_duration_ns(v.as_string());
    if (!ns) {
      return ctx.type_error(v, "expected duration such as \"250ms\", \"30s\" or \"5m\"");
    }
    // Count of the target's unit: ns / (Period in ns).
    const long double unit_ns =
        static_cast<long double>(Period::num) * 1e9L / static_cast<long double>(Period::den);
    const long double count = *ns / unit_ns;
    if constexpr (std::is_integral_v<Rep>) {
      if (std::fabs(count - std::round(count)) > 1e-6L) {
        return ctx.type_error(v, "expected a whole number of " +
                                     format_duration_ns(static_cast<std::int64_t>(unit_ns)));
      }
      if (std::fabs(count) > static_cast<long double>(std::numeric_limits<Rep>::max())) {
        return ctx.type_error(v, "expected a shorter duration");
      }
      out = T(static_cast<Rep>(std::llround(count)));
    } else {
      out = T(static_cast<Rep>(count));
    }
    return ok_status();
  }
};

}  // namespace detail

namespace detail {

template <typename M>
constexpr FieldKind field_kind() {
  if constexpr (IsOptional<M>::value) {
    return field_kind<typename M::value_type>();
  } else if constexpr (std::is_same_v<M, Value>) {
    return FieldKind::kAny;
  } else if constexpr (IsVector<M>::value) {
    return FieldKind::kList;
  } else if constexpr (IsStringMap<M>::value) {
    return FieldKind::kMap;
  } else if constexpr (Described<M>) {
    return FieldKind::kStruct;
  } else {
    return FieldKind::kScalar;
  }
}

}  // namespace detail

template <Described T>
const Schema& schema_of() {
  static const Schema schema = [] {
    Schema s;
    Describer<T> d(s);
    liveconf_describe(d);
    if (s.type_name().empty()) {
      s.set_type_name("object");
    }
    s.set_factory([] { return std::static_pointer_cast<void>(std::make_shared<T>()); });
    return s;
  }();
  return schema;
}

template <typename T>
template <typename M>
FieldBuilder<T, M> Describer<T>::field(std::string key, M T::*member) {
  using Validators =
      std::vector<std::function<Status(const M&, const Value&, detail::BindContext&)>>;
  auto validators = std::make_shared<Validators>();
  auto parser = std::make_shared<std::function<Result<M>(std::string_view)>>();

  FieldInfo info;
  info.key = std::move(key);
  info.type_name = detail::Codec<M>::type_name();
  info.kind = detail::field_kind<M>();
  if constexpr (Described<M>) {
    info.nested = &schema_of<M>();
  } else if constexpr (detail::IsOptional<M>::value) {
    if constexpr (Described<typename M::value_type>) {
      info.nested = &schema_of<typename M::value_type>();
    }
  } else if constexpr (detail::IsVector<M>::value) {
    if constexpr (Described<typename M::value_type>) {
      info.nested = &schema_of<typename M::value_type>();
      info.nested_is_collection = true;
    }
  } else if constexpr (detail::IsStringMap<M>::value) {
    if constexpr (Described<typename M::mapped_type>) {
      info.nested = &schema_of<typename M::mapped_type>();
      info.nested_is_collection = true;
    }
  }

  Schema::Ops ops;
  ops.decode = [member, validators, parser](const Value& v, void* obj,
                                            detail::BindContext& ctx) -> Status {
    // Decoded in place: a bind that fails anywhere is discarded whole
    // (from_dict starts from a fresh T), so no rollback copy is needed.
    M& target = static_cast<T*>(obj)->*member;
    if (*parser && v.is_string()) {
      Result<M> parsed = (*parser)(v.as_string());
      if (!parsed) {
        return ctx.error(ErrorCode::kType, v, parsed.error().message(), "got " + ctx.describe(v));
      }
      target = std::move(*parsed);
    } else {
      Status st = detail::Codec<M>::decode(v, target, ctx);
      if (!st.ok()) {
        return st;
      }
    }
    for (const auto& validator : *validators) {
      Status st = validator(target, v, ctx);
      if (!st.ok()) {
        return st;
      }
    }
    return ok_status();
  };
  ops.encode = [member](const void* obj) {
    return detail::Codec<M>::encode(static_cast<const T*>(obj)->*member);
  };
  ops.copy = [member](const void* from, void* to) {
    static_cast<T*>(to)->*member = static_cast<const T*>(from)->*member;
  };
  FieldInfo& stored = schema_.add_field(std::move(info), std::move(ops));
  return FieldBuilder<T, M>(stored, std::move(validators), std::move(parser));
}

template <Described T>
Result<T> from_dict(const Value& value, const BindOptions& options, BindReport* report) {
  detail::BindContext ctx(options);
  T out{};
  (void)schema_of<T>().decode_into(value, &out, ctx);
  if (report != nullptr) {
    *report = ctx.report();
  }
  if (!ctx.report().ok()) {
    return ctx.report().status();
  }
  return out;
}

template <Described T>
Value to_dict(const T& config, const ToDictOptions& options) {
  Value out = schema_of<T>().encode(&config);
  if (!options.reveal_secrets) {
    mask_sensitive(out, schema_of<T>().sensitive_paths());
  }
  return out;
}

template <Described T>
ChangeSet diff(const T& a, const T& b) {
  const SensitivePaths sensitive = schema_of<T>().sensitive_paths();
  DiffOptions options;
  options.sensitive = &sensitive;
  return liveconf::diff(schema_of<T>().encode(&a), schema_of<T>().encode(&b), options);
}

}  // namespace liveconf
