#include "sources/env/env_names.hpp"

#include <cctype>

namespace liveconf::detail {

std::string env_segment(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) != 0 ? static_cast<char>(std::toupper(u)) : '_';
  }
  return out;
}

std::string env_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string> split_env_segments(std::string_view name) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = name.find("__", start);
    out.emplace_back(name.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) {
      return out;
    }
    start = pos + 2;
  }
}

KeyPath env_name_to_path(std::string_view name) {
  KeyPath path;
  for (const std::string& segment : split_env_segments(name)) {
    path.push_back(env_lower(segment));
  }
  return path;
}

}  // namespace liveconf::detail
