// File: liveconf/admin.hpp — the admin endpoint (target liveconf::admin)
//
// An HTTP server a program opts into, beside its ConfigManager, so operators
// and monitoring can see what the process runs and why:
//
//   liveconf::AdminOptions admin;
//   admin.listen = "127.0.0.1:9901";         // or "unix:/run/app/admin.sock"
//   liveconf::Result<std::unique_ptr<liveconf::AdminServer>> server =
//       liveconf::AdminServer::start(manager, admin);
//   if (!server) {
//     std::cerr << server.error().to_string() << "\n";
//   }
//
//   GET /healthz               200 "ok" while the process serves requests
//   GET /readyz                200 once every config has published and no source is
//                              missing or in error beyond `ready_grace`; 503 and why
//   GET /status                every config and source, as JSON
//   GET /config/<name>         the config as JSON (secrets "***")
//   GET /explain/<name>/<key>  every layer's value for key, with file:line, as JSON
//   GET /metrics               Prometheus text exposition (docs/operations.md)
//
// Everything it serves is read from ConfigManager::list(), snapshot() and
// explain(): what it shows is what the manager reports, nothing kept aside.
// Requests run on the server's own thread (libmicrohttpd, epoll); they take a
// snapshot pointer and the status lock for a copy, never the update thread.
//
// Security: it listens on loopback or a Unix socket (created 0600) unless
// `allow_remote` is set. Endpoints that change anything (the journal's pin
// and rollback) need the bearer token read from `token_file`; a wrong or
// missing token gets 401 and a log line that does not contain it.
//
// Thread-safety: start() and the destructor from one thread; the manager
// must outlive the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "liveconf/export.hpp"
#include "liveconf/status.hpp"
#include "liveconf/store.hpp"

namespace liveconf {

struct AdminOptions {
  /// "HOST:PORT" (port 0: any free port, see AdminServer::address()) or
  /// "unix:/path/to.sock". IPv6 as "[::1]:PORT".
  std::string listen = "127.0.0.1:0";
  /// Needed to bind anything but a loopback address or a Unix socket.
  bool allow_remote = false;
  /// File holding the bearer token for endpoints that change anything
  /// (trailing newline ignored). Empty: those endpoints answer 403.
  std::string token_file;
  /// /readyz tolerates a source that is missing or in error for this long
  /// (after it entered that state) before it reports 503.
  std::chrono::milliseconds ready_grace{0};
  /// Connections served at once; more are refused at accept.
  std::size_t max_connections = 512;
  /// A connection idle (or sending its request slower) than this is closed.
  std::chrono::seconds connection_timeout{10};
  /// What POST /pin/NAME?generation=G and POST /rollback/NAME[?generation=G]
  /// call (with the bearer token): they need a generation's content, which a
  /// liveconf::Journal keeps (bind them to Journal::pin and Journal::rollback;
  /// the CLI does with --journal). Unset: those endpoints answer 501.
  /// POST /unpin/NAME calls ConfigManager::unpin and needs nothing.
  /// Query parameters: generation=G, ttl=DURATION (30m), reason=TEXT.
  std::function<Status(std::string_view config, std::uint64_t generation, PinOptions options)> pin;
  std::function<Status(std::string_view config, std::uint64_t generation, PinOptions options)>
      rollback;
  /// Receives one line per refused request (bad token) and server errors.
  /// Default: stderr, as the manager logs.
  std::function<void(LogLevel, std::string_view)> log;
};

/// A running admin endpoint. Destroying it stops the server (in-flight
/// requests finish first).
class LIVECONF_API AdminServer {
 public:
  /// Binds and starts serving. Errors: kValidation for a bad or non-loopback
  /// address without allow_remote, kIo when the address cannot be bound or
  /// the token file cannot be read.
  [[nodiscard]] static Result<std::unique_ptr<AdminServer>> start(ConfigManager& manager,
                                                                  AdminOptions options);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;
  ~AdminServer();

  /// Where it listens: "127.0.0.1:43211" (the real port when 0 was asked) or
  /// "unix:/path".
  [[nodiscard]] const std::string& address() const noexcept;

  class Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The JSON /status serves, as a Value: {"configs":[{name, type, generation,
/// publishes, failures, last_error, pending_restart, sources:[...]}]}. Secrets
/// never appear (errors and changes are masked by the manager already).
[[nodiscard]] LIVECONF_API Value admin_status_value(const ConfigManager& manager);

/// The Prometheus text exposition /metrics serves (version 0.0.4).
[[nodiscard]] LIVECONF_API std::string admin_metrics_text(const ConfigManager& manager);

/// Readiness as /readyz reports it: empty when ready, else the reason.
[[nodiscard]] LIVECONF_API std::string admin_not_ready_reason(const ConfigManager& manager,
                                                              std::chrono::milliseconds grace);

}  // namespace liveconf
