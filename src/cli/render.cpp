#include "cli/render.hpp"

#include "liveconf/format.hpp"

namespace liveconf::cli {
Result<std::string> render_format_for(const std::filesystem::path& path,
                                      std::string_view explicit_format) {
  std::string name(explicit_format);
  if (name.empty()) {
    const Format* f = path.empty() ? nullptr : format_for_path(path.string());
    name = f != nullptr ? std::string(f->name()) : "json";
  }
  const Format* f = find_format(name);
  if (f == nullptr || !f->can_emit()) {
    return Error(ErrorCode::kValidation,
                 "cannot render as \"" + name + "\": use json, yaml or toml");
  }
  return std::string(f->name());
}

Result<std::string> render_text(const Value& config, std::string_view format) {
  const Format* f = find_format(format);
  if (f == nullptr) {
    return Error(ErrorCode::kValidation, "unknown format \"" + std::string(format) + "\"");
  }
  Result<std::string> text = f->emit(config, EmitOptions{2});
  if (text && !text->ends_with('\n')) {
    text->push_back('\n');
  }
  return text;
}

}  // namespace liveconf::cli
