// The config type the consumer and its plugin share.
#pragma once

#include <string>

#include <liveconf/liveconf.hpp>

namespace consumer {
struct Settings {
  int port = 8080;
  std::string name = "demo";
};
inline void liveconf_describe(liveconf::Describer<Settings>& d) {
  d.field("port", &Settings::port).range(1, 65535);
  d.field("name", &Settings::name);
}
}  // namespace consumer
