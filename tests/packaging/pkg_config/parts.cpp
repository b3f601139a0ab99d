// A consumer built with nothing but a Makefile and pkg-config: the core
// (consumer.cpp's checks) plus one call into each optional part whose .pc file
// the Makefile found, so a missing library or flag in any .pc fails the link.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "liveconf/liveconf.hpp"
#ifdef LIVECONF_PC_ETCD
#include "liveconf/etcd.hpp"
#endif
#ifdef LIVECONF_PC_JOURNAL
#include "liveconf/journal.hpp"
#endif
#ifdef LIVECONF_PC_ADMIN
#include "liveconf/admin.hpp"
#endif

int main(int argc, char** argv) {
  liveconf::ConfigManager manager;
  if (!manager.register_untyped("app").ok()) {
    return 1;
  }
  liveconf::Value patch = liveconf::Value::object();
  patch["port"] = 9090;
  if (!manager.update("app", patch).ok()) {
    return 2;
  }
  const liveconf::Value* port = manager.snapshot("app").value()->find(liveconf::KeyPath("port"));
  if (port == nullptr || port->as_int() != 9090) {
    return 3;
  }
  std::printf("core %s: port %lld\n", LIVECONF_VERSION_STRING,
              static_cast<long long>(port->as_int()));
#ifdef LIVECONF_PC_ETCD
  {
    // Made, not started: no etcd is needed to prove the library links.
    liveconf::EtcdSourceOptions etcd;
    etcd.connection.endpoints = {"127.0.0.1:1"};
    etcd.prefix = "/pkg-config/";
    if (!liveconf::make_etcd_source(etcd).ok()) {
      return 4;
    }
    std::printf("etcd: source made\n");
  }
#endif
#ifdef LIVECONF_PC_JOURNAL
  {
    if (argc < 2) {
      return 5;
    }
    liveconf::JournalOptions options;
    options.dir = std::filesystem::path(argv[1]) / "journal";
    if (!liveconf::Journal::open(options).ok()) {
      return 6;
    }
    std::printf("journal: opened\n");
  }
#endif
#ifdef LIVECONF_PC_ADMIN
  {
    liveconf::AdminOptions admin;  // 127.0.0.1, any free port
    auto server = liveconf::AdminServer::start(manager, admin);
    if (!server.ok()) {
      return 7;
    }
    std::printf("admin: listening\n");
  }
#endif
  (void)argc;
  (void)argv;
  return 0;
}
