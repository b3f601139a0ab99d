// A shared object that registers configs in a manager it is handed, built
// with hidden visibility: its copies of liveconf's inline templates are its
// own. The executable then reads them with get<T>(): type identity must hold
// across shared objects (it did not while it was the address of a static in
// an inline template).
#include "settings.hpp"

__attribute__((visibility("default"))) bool plugin_register(liveconf::ConfigManager& manager) {
  return manager.register_config<consumer::Settings>("plugin_settings").ok();
}
