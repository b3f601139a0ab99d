#include "formats/json/json_format.hpp"

#include <array>

namespace liveconf {
namespace {

constexpr std::array<std::string_view, 1> kJsonExtensions = {"json"};

}  // namespace

std::span<const std::string_view> JsonFormat::extensions() const noexcept {
  return kJsonExtensions;
}

}  // namespace liveconf
