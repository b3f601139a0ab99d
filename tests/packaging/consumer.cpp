// A consumer of liveconf: registers a typed config, updates it, checks the result.
// With LIVECONF_CONSUMER_PLUGIN (the add_subdirectory consumer, a shared
// build of liveconf): a config registered by a shared object, and one by
// register_schema inside libliveconf.so, are read here with get<T>().
#include <iostream>
#include <memory>

#include "settings.hpp"

#ifdef LIVECONF_CONSUMER_PLUGIN
bool plugin_register(liveconf::ConfigManager& manager);
#endif

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
#ifdef LIVECONF_CONSUMER_PLUGIN
  if (!plugin_register(manager)) {
    return 4;
  }
  if (!manager.get<consumer::Settings>("plugin_settings").has_value() ||
      !manager.reader<consumer::Settings>("plugin_settings").has_value()) {
    std::cerr << "a config registered by the plugin is not found by get<T>()\n";
    return 5;
  }
  if (!manager
           .register_schema("schema", std::make_shared<liveconf::Schema>(),
                            liveconf::Value::object())
           .ok() ||
      !manager.get<liveconf::Value>("schema").has_value()) {
    std::cerr << "register_schema's config is not found by get<Value>()\n";
    return 6;
  }
  std::cout << "shared: type identity holds across shared objects\n";
#endif
  std::cout << "liveconf " << LIVECONF_VERSION_STRING << ": port " << port << "\n";
  return port == 9090 ? 0 : 3;
}
