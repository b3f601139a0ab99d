// The run-time JSON Schema compiler (liveconf/json_schema.hpp).
#include "liveconf/json_schema.hpp"

#include <cmath>
#include <deque>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "liveconf/format.hpp"

namespace liveconf {
namespace {

enum class Type : std::uint8_t { kAny, kString, kInteger, kNumber, kBoolean, kArray, kObject };

struct Rule {
  Type type = Type::kAny;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::optional<std::size_t> min_length;
  std::optional<std::size_t> max_length;
  std::optional<std::size_t> min_items;
  std::optional<std::size_t> max_items;
  std::shared_ptr<const std::regex> pattern;
  std::string pattern_text;
  std::vector<Value> enum_values;
  bool duration = false;
  const Rule* items = nullptr;         // arrays
  const Schema* properties = nullptr;  // objects with named properties
  const Rule* additional = nullptr;    // maps: the rule of every value

  [[nodiscard]] std::string type_name() const {
    switch (type) {
      case Type::kAny:
        return "value";
      case Type::kString:
        return duration ? "duration" : "string";
      case Type::kInteger:
        return "integer";
      case Type::kNumber:
        return "float";
      case Type::kBoolean:
        return "bool";
      case Type::kArray:
        return "list<" + (items != nullptr ? items->type_name() : std::string("value")) + ">";
      case Type::kObject:
        if (additional != nullptr) {
          return "map<" + additional->type_name() + ">";
        }
        return properties != nullptr ? properties->type_name() : "object";
    }
    return "value";
  }
};

// Owns every schema and rule of one compiled document (stable addresses).
struct Arena {
  std::deque<Schema> schemas;
  std::deque<Rule> rules;
};

const std::set<std::string, std::less<>> kKeywords = {"type",
                                                      "properties",
                                                      "additionalProperties",
                                                      "items",
                                                      "required",
                                                      "default",
                                                      "enum",
                                                      "minimum",
                                                      "maximum",
                                                      "minLength",
                                                      "maxLength",
                                                      "pattern",
                                                      "minItems",
                                                      "maxItems",
                                                      "format",
                                                      "writeOnly",
                                                      "x-secret",
                                                      "x-env",
                                                      "x-restart-required",
                                                      "description",
                                                      "title",
                                                      "$schema",
                                                      "$id",
                                                      "$comment",
                                                      "examples",
                                                      "readOnly"};

Error schema_error(const Value& at, const std::string& message) {
  return Error(ErrorCode::kValidation, "schema: " + message, at.origin());
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
  }
  return n;
}

Result<Value> convert(const Rule& rule, const Value& v, detail::BindContext& ctx);

// 10000 rather than 10000.0: integral bounds read as integers.
std::string bound_text(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) {
    return std::to_string(static_cast<long long>(d));
  }
  return Value(d).to_display_string();
}

Status check_constraints(const Rule& rule, const Value& v, const Value& out,
                         detail::BindContext& ctx) {
  auto fail = [&](const std::string& message) -> Status {
    return ctx.error(ErrorCode::kValidation, v, message, "got " + ctx.describe(v));
  };
  if (!rule.enum_values.empty() && std::none_of(rule.enum_values.begin(), rule.enum_values.end(),
                                                [&](const Value& e) { return e == out; })) {
    std::string choices;
    for (const Value& e : rule.enum_values) {
      choices += (choices.empty() ? "" : ", ") + e.to_display_string();
    }
    return fail("must be one of " + choices);
  }
  if (out.is_number()) {
    if (rule.minimum && out.as_double() < *rule.minimum) {
      return fail("must be at least " + bound_text(*rule.minimum));
    }
    if (rule.maximum && out.as_double() > *rule.maximum) {
      return fail("must be at most " + bound_text(*rule.maximum));
    }
  }
  if (out.is_string()) {
    const std::size_t len = utf8_length(out.as_string());
    if (rule.min_length && len < *rule.min_length) {
      return fail("must be at least " + std::to_string(*rule.min_length) + " characters long");
    }
    if (rule.max_length && len > *rule.max_length) {
      return fail("must be at most " + std::to_string(*rule.max_length) + " characters long");
    }
    if (rule.pattern &&
        !std::regex_search(out.as_string().begin(), out.as_string().end(), *rule.pattern)) {
      return fail("must match the pattern " + rule.pattern_text);
    }
    if (rule.duration && !detail::parse_duration_ns(out.as_string())) {
      return fail("expected a duration such as 250ms, 30s or 1h30m");
    }
  }
  if (out.is_array()) {
    if (rule.min_items && out.size() < *rule.min_items) {
      return fail("must have at least " + std::to_string(*rule.min_items) + " items");
    }
    if (rule.max_items && out.size() > *rule.max_items) {
      return fail("must have at most " + std::to_string(*rule.max_items) + " items");
    }
  }
  return ok_status();
}

template <typename T>
Result<Value> decode_scalar(const Value& v, detail::BindContext& ctx) {
  T t{};
  if (Status st = detail::Codec<T>::decode(v, t, ctx); !st.ok()) {
    return st.error();
  }
  Value out(t);
  out.set_origin(v.origin());
  return out;
}

Result<Value> convert_array(const Rule& rule, const Value& v, detail::BindContext& ctx) {
  Value::Array elements;
  if (v.is_array()) {
    elements.assign(v.as_array().begin(), v.as_array().end());
  } else if (v.is_string()) {
    for (std::string& s : detail::split_list_text(v.as_string())) {  // text: "a,b,c"
      Value e(std::move(s));
      e.set_origin(v.origin());
      elements.push_back(std::move(e));
    }
  } else {
    return ctx.type_error(v, "expected list");
  }
  Value out = Value::array();
  out.set_origin(v.origin());
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (rule.items == nullptr) {
      out.push_back(elements[i]);
      continue;
    }
    ctx.push_index(i);
    Result<Value> e = convert(*rule.items, elements[i], ctx);
    ctx.pop();
    if (!e) {
      return e;
    }
    out.push_back(std::move(*e));
  }
  return out;
}

Result<Value> convert_map(const Rule& rule, const Value& v, detail::BindContext& ctx) {
  Value source = v;
  if (v.is_string()) {  // text: "k=v,k2=v2"
    auto pairs = detail::split_map_text(v.as_string());
    if (!pairs) {
      return ctx.type_error(v, "expected map (k=v,k2=v2)");
    }
    source = Value::object();
    for (auto& [k, val] : *pairs) {
      Value e(std::move(val));
      e.set_origin(v.origin());
      source.as_object().insert_or_assign(std::move(k), std::move(e));
    }
  } else if (!v.is_object()) {
    return ctx.type_error(v, "expected map");
  }
  Value out = Value::object();
  out.set_origin(v.origin());
  for (const auto& [key, member] : source.as_object()) {
    ctx.push(key);
    Result<Value> e = convert(*rule.additional, member, ctx);
    ctx.pop();
    if (!e) {
      return e;
    }
    out.as_object().insert_or_assign(key, std::move(*e));
  }
  return out;
}

Result<Value> convert(const Rule& rule, const Value& v, detail::BindContext& ctx) {
  Result<Value> out = Value();
  switch (rule.type) {
    case Type::kAny:
      out = v;
      break;
    case Type::kString:
      out = decode_scalar<std::string>(v, ctx);
      break;
    case Type::kInteger:
      out = decode_scalar<std::int64_t>(v, ctx);
      break;
    case Type::kNumber:
      out = decode_scalar<double>(v, ctx);
      break;
    case Type::kBoolean:
      out = decode_scalar<bool>(v, ctx);
      break;
    case Type::kArray:
      out = convert_array(rule, v, ctx);
      break;
    case Type::kObject:
      if (rule.additional != nullptr) {
        out = convert_map(rule, v, ctx);
      } else if (rule.properties != nullptr) {
        Value child = Value::object();
        child.set_origin(v.origin());
        if (Status st = rule.properties->decode_into(v, &child, ctx); !st.ok()) {
          return st.error();
        }
        out = std::move(child);
      } else if (v.is_object()) {
        out = v;
      } else {
        return ctx.type_error(v, "expected object");
      }
      break;
  }
  if (!out) {
    return out;
  }
  if (Status st = check_constraints(rule, v, *out, ctx); !st.ok()) {
    return st.error();
  }
  return out;
}

std::optional<double> number_of(const Value& node, std::string_view key, Status& st) {
  const Value* v = node.find_member(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_number()) {
    st = schema_error(*v, std::string(key) + " must be a number");
    return std::nullopt;
  }
  return v->as_double();
}

std::optional<std::size_t> count_of(const Value& node, std::string_view key, Status& st) {
  const Value* v = node.find_member(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_int() || v->as_int() < 0) {
    st = schema_error(*v, std::string(key) + " must be a non-negative integer");
    return std::nullopt;
  }
  return static_cast<std::size_t>(v->as_int());
}

bool flag(const Value& node, std::string_view key) {
  const Value* v = node.find_member(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

class Compiler {
 public:
  explicit Compiler(Arena& arena) : arena_(arena) {}
  bool strict = false;

  Result<const Rule*> rule(const Value& node, const std::string& where, Value* defaults) {
    if (!node.is_object()) {
      return schema_error(node, where + ": a schema must be an object");
    }
    for (const auto& [key, v] : node.as_object()) {
      if (kKeywords.count(key) == 0) {
        return schema_error(v, where + ": unsupported keyword \"" + key + "\"");
      }
    }
    Rule r;
    if (const Value* t = node.find_member("type")) {
      static const std::map<std::string, Type, std::less<>> kTypes = {
          {"string", Type::kString},   {"integer", Type::kInteger}, {"number", Type::kNumber},
          {"boolean", Type::kBoolean}, {"array", Type::kArray},     {"object", Type::kObject}};
      auto it = t->is_string() ? kTypes.find(t->as_string()) : kTypes.end();
      if (it == kTypes.end()) {
        return schema_error(*t, where +
                                    ": type must be one of string, integer, number, "
                                    "boolean, array, object");
      }
      r.type = it->second;
    } else if (node.find_member("properties") != nullptr) {
      r.type = Type::kObject;
    }
    Status st;
    r.minimum = number_of(node, "minimum", st);
    r.maximum = number_of(node, "maximum", st);
    r.min_length = count_of(node, "minLength", st);
    r.max_length = count_of(node, "maxLength", st);
    r.min_items = count_of(node, "minItems", st);
    r.max_items = count_of(node, "maxItems", st);
    if (!st.ok()) {
      return st.error();
    }
    if (const Value* p = node.find_member("pattern")) {
      if (!p->is_string()) {
        return schema_error(*p, where + ": pattern must be a string");
      }
      try {
        r.pattern = std::make_shared<const std::regex>(p->as_string().begin(), p->as_string().end(),
                                                       std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return schema_error(*p, where + ": invalid pattern: " + e.what());
      }
      r.pattern_text = p->as_string();
    }
    if (const Value* e = node.find_member("enum")) {
      if (!e->is_array() || e->as_array().empty()) {
        return schema_error(*e, where + ": enum must be a non-empty list");
      }
      r.enum_values.assign(e->as_array().begin(), e->as_array().end());
    }
    if (const Value* f = node.find_member("format")) {
      r.duration = f->is_string() && f->as_string() == "duration";
    }
    if (const Value* items = node.find_member("items")) {
      Result<const Rule*> ir = rule(*items, where + "[]", nullptr);
      if (!ir) {
        return ir;
      }
      r.items = *ir;
    }
    if (const Value* ap = node.find_member("additionalProperties")) {
      if (ap->is_bool()) {
        strict = strict || !ap->as_bool();
      } else {
        Result<const Rule*> ar = rule(*ap, where + ".*", nullptr);
        if (!ar) {
          return ar;
        }
        r.additional = *ar;
      }
    }
    if (node.find_member("properties") != nullptr) {
      Value nested_defaults = Value::object();
      Result<const Schema*> s = object(node, where, &nested_defaults);
      if (!s) {
        return s.error();
      }
      r.properties = *s;
      if (defaults != nullptr && !nested_defaults.as_object().empty()) {
        *defaults = std::move(nested_defaults);
      }
    }
    if (const Value* d = node.find_member("default"); d != nullptr && defaults != nullptr) {
      *defaults = *d;
    }
    arena_.rules.push_back(std::move(r));
    return &arena_.rules.back();
  }

  Result<const Schema*> object(const Value& node, const std::string& where, Value* defaults) {
    const Value* props = node.find_member("properties");
    if (props == nullptr || !props->is_object()) {
      return schema_error(props != nullptr ? *props : node,
                          where + ": properties must be an object");
    }
    Schema& schema = arena_.schemas.emplace_back();
    const Value* title = node.find_member("title");
    schema.set_type_name(title != nullptr && title->is_string() ? std::string(title->as_string())
                         : where.empty()                        ? std::string("config")
                                                                : where);
    schema.set_factory(
        [] { return std::static_pointer_cast<void>(std::make_shared<Value>(Value::object())); });
    for (const auto& [key, prop] : props->as_object()) {
      const std::string path = where.empty() ? key : where + "." + key;
      Value field_default;
      Result<const Rule*> r = rule(prop, path, &field_default);
      if (!r) {
        return r.error();
      }
      if (!field_default.is_null() && defaults != nullptr) {
        defaults->as_object().insert_or_assign(key, std::move(field_default));
      }
      const Rule* rule_ptr = *r;
      FieldInfo info;
      info.key = key;
      if (const Value* d = prop.find_member("description"); d != nullptr && d->is_string()) {
        info.description = d->as_string();
      }
      if (const Value* env = prop.find_member("x-env"); env != nullptr && env->is_string()) {
        info.env_var = env->as_string();
      }
      info.sensitive = flag(prop, "writeOnly") || flag(prop, "x-secret");
      if (flag(prop, "x-restart-required")) {
        info.reload = ReloadPolicy::kRestartRequired;
      }
      info.type_name = rule_ptr->type_name();
      switch (rule_ptr->type) {
        case Type::kArray:
          info.kind = FieldKind::kList;
          if (rule_ptr->items != nullptr && rule_ptr->items->properties != nullptr) {
            info.nested = rule_ptr->items->properties;
            info.nested_is_collection = true;
          }
          break;
        case Type::kObject:
          if (rule_ptr->additional != nullptr) {
            info.kind = FieldKind::kMap;
            if (rule_ptr->additional->properties != nullptr) {
              info.nested = rule_ptr->additional->properties;
              info.nested_is_collection = true;
            }
          } else if (rule_ptr->properties != nullptr) {
            info.kind = FieldKind::kStruct;
            info.nested = rule_ptr->properties;
          } else {
            info.kind = FieldKind::kAny;
          }
          break;
        case Type::kAny:
          info.kind = FieldKind::kAny;
          break;
        default:
          info.kind = FieldKind::kScalar;
      }
      Schema::Ops ops;
      ops.decode = [rule_ptr, key = key](const Value& v, void* obj,
                                         detail::BindContext& ctx) -> Status {
        Result<Value> out = convert(*rule_ptr, v, ctx);
        if (!out) {
          return out.error();
        }
        static_cast<Value*>(obj)->as_object().insert_or_assign(key, std::move(*out));
        return ok_status();
      };
      ops.encode = [key = key](const void* obj) -> Value {
        const Value* v = static_cast<const Value*>(obj)->find_member(key);
        return v != nullptr ? *v : Value();
      };
      ops.copy = [key = key](const void* from, void* to) {
        if (const Value* v = static_cast<const Value*>(from)->find_member(key)) {
          static_cast<Value*>(to)->as_object().insert_or_assign(key, *v);
        }
      };
      schema.add_field(std::move(info), std::move(ops));
    }
    if (const Value* req = node.find_member("required")) {
      if (!req->is_array()) {
        return schema_error(*req, where + ": required must be a list of keys");
      }
      std::vector<std::string> keys;
      for (const Value& k : req->as_array()) {
        if (!k.is_string() || props->find_member(k.as_string()) == nullptr) {
          return schema_error(
              k, where + ": required names " + k.to_display_string() + ", which is not a property");
        }
        keys.emplace_back(k.as_string());
      }
      schema.add_validator([keys](const void* obj) -> Status {
        const auto* v = static_cast<const Value*>(obj);
        for (const std::string& k : keys) {
          if (v->find_member(k) == nullptr) {
            return Error(ErrorCode::kValidation, "required key is missing", {},
                         KeyPath::from_segments({k}));
          }
        }
        return ok_status();
      });
    }
    return &schema;
  }

 private:
  Arena& arena_;
};

}  // namespace

Result<JsonSchema> compile_json_schema(const Value& document) {
  auto arena = std::make_shared<Arena>();
  Compiler compiler(*arena);
  JsonSchema out;
  out.defaults = Value::object();
  if (!document.is_object() || document.find_member("properties") == nullptr) {
    return schema_error(document, "the top level must be an object schema with \"properties\"");
  }
  Result<const Rule*> root = compiler.rule(document, "", &out.defaults);
  if (!root) {
    return root.error();
  }
  if ((*root)->properties == nullptr) {
    return schema_error(document, "the top level must be an object schema with \"properties\"");
  }
  // The root schema shares ownership of the whole arena.
  out.schema = std::shared_ptr<const Schema>(arena, (*root)->properties);
  out.strict = compiler.strict;
  return out;
}

Result<JsonSchema> load_json_schema_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::kNotFound, "cannot read schema file " + path.string());
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const Format* format = format_for_path(path.string());
  if (format == nullptr) {
    format = find_format("json");
  }
  ParseOptions parse;
  parse.origin =
      make_file_origin("defaults", path.string());  // the defaults layer's values come from here
  Result<Value> doc = format->parse(buf.str(), parse);
  if (!doc) {
    return doc.error();
  }
  return compile_json_schema(*doc);
}

}  // namespace liveconf
