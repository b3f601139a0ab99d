// A consumer of liveconf: registers a typed config, updates it, checks the result.
#include <iostream>

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

int main() {
  liveconf::ConfigManager manager;
  if (!manager.register_config<consumer::Settings>("settings").ok()) {
    return 1;
  }
  liveconf::Value patch = liveconf::Value::object();
  patch["port"] = 9090;
  if (!manager.update("settings", patch).ok()) {
    return 2;
  }
  const int port = manager.get<consumer::Settings>("settings").value()->port;
  std::cout << "liveconf " << LIVECONF_VERSION_STRING << ": port " << port << "\n";
  return port == 9090 ? 0 : 3;
}
