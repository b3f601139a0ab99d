#include "liveconf/format.hpp"

#include <array>
#include <string>

#include "formats/dotenv/dotenv_format.hpp"
#include "formats/ini/ini_format.hpp"
#include "formats/json/json_format.hpp"
#include "formats/toml/toml_format.hpp"
#include "formats/yaml/yaml_format.hpp"

namespace liveconf {
namespace {

// The built-in formats, created on first use. They are stateless and const, so
// sharing them between threads needs no locking (and there is no mutable global).
const std::array<const Format*, 5>& builtin_formats() {
  static const JsonFormat json;
  static const YamlFormat yaml;
  static const TomlFormat toml;
  static const IniFormat ini;
  static const DotenvFormat dotenv;
  static const std::array<const Format*, 5> all = {&json, &yaml, &toml, &ini, &dotenv};
  return all;
}

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

Result<std::string> Format::emit(const Value& /*value*/, const EmitOptions& /*options*/) const {
  return Error(ErrorCode::kInternal, "format " + std::string(name()) + " cannot emit");
}

const Format* find_format(std::string_view name) noexcept {
  // Aliases first; names compare case-insensitively ("JSON" from a command line works).
  if (iequals(name, "yml")) {
    name = "yaml";
  } else if (iequals(name, "dotenv")) {
    name = "env";
  }
  for (const Format* format : builtin_formats()) {
    if (iequals(format->name(), name)) {
      return format;
    }
  }
  return nullptr;
}

const Format* format_for_path(std::string_view path) noexcept {
  const std::size_t slash = path.find_last_of("/\\");
  const std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
  // An extension is what follows the last dot, unless that dot starts the name:
  // ".env" has none, "app.env" has "env".
  const std::size_t dot = file.rfind('.');
  const std::string_view extension =
      dot == std::string_view::npos || dot == 0 ? std::string_view() : file.substr(dot + 1);
  // A known extension wins ("settings.env.json" is JSON); then names such as
  // ".env" and ".env.local" (extensions() entries that start with a dot).
  if (!extension.empty()) {
    for (const Format* format : builtin_formats()) {
      for (std::string_view known : format->extensions()) {
        if (!known.starts_with('.') && iequals(known, extension)) {
          return format;
        }
      }
    }
  }
  for (const Format* format : builtin_formats()) {
    for (std::string_view known : format->extensions()) {
      if (known.starts_with('.') &&
          (iequals(file, known) || (istarts_with(file, known) && file.size() > known.size() &&
                                    file[known.size()] == '.'))) {
        return format;
      }
    }
  }
  return nullptr;
}

std::shared_ptr<const OriginInfo> make_file_origin(std::string source, std::string file) {
  auto info = std::make_shared<OriginInfo>();
  info->source = std::move(source);
  info->file = std::move(file);
  return info;
}

}  // namespace liveconf
