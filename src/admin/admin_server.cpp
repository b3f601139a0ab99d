// The admin endpoint's HTTP side: a listening socket we bind ourselves (TCP
// on loopback, or a Unix socket made 0600 before anyone can connect), handed
// to libmicrohttpd, which parses HTTP, enforces the connection limit, the
// idle timeout (slowloris) and the per-connection memory limit (oversized
// headers get 431/413 or a close), and runs requests on its one epoll thread.
// Handlers only copy status and snapshot pointers, so a request never waits
// for the update thread and a flood of them never stalls it.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>

#include "liveconf/admin.hpp"
#include "liveconf/bind.hpp"
#include "liveconf/format.hpp"

#include "base/file_io.hpp"

namespace liveconf {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// "unix:/path" or "HOST:PORT" / "[V6]:PORT".
struct ListenSpec {
  bool unix_socket = false;
  std::string path;
  std::string host;
  std::string port;
};

Result<ListenSpec> parse_listen(std::string_view text) {
  ListenSpec spec;
  if (text.starts_with("unix:")) {
    spec.unix_socket = true;
    spec.path = std::string(text.substr(5));
    if (spec.path.empty() || spec.path.size() >= sizeof(sockaddr_un::sun_path)) {
      return Error(ErrorCode::kValidation, "admin address \"" + std::string(text) +
                                               "\": a Unix socket path must be 1 to 107 bytes");
    }
    return spec;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return Error(ErrorCode::kValidation,
                 "admin address \"" + std::string(text) + "\": expected HOST:PORT or unix:/path");
  }
  spec.host = std::string(text.substr(0, colon));
  spec.port = std::string(text.substr(colon + 1));
  if (spec.host.size() >= 2 && spec.host.front() == '[' && spec.host.back() == ']') {
    spec.host = spec.host.substr(1, spec.host.size() - 2);
  }
  if (spec.host.empty() || spec.host == "localhost") {
    spec.host = "127.0.0.1";
  }
  return spec;
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) != 0;
  }
  return false;
}

// A listening socket and what to say it is.
struct Listener {
  int fd = -1;
  std::string address;
  std::string unix_path;  // removed when the server stops
};

Result<Listener> listen_unix(const ListenSpec& spec) {
  // Bound under a temporary name, made 0600, then renamed into place: the
  // socket is never reachable at its real path with wider permissions (a
  // umask change would affect every thread of the process).
  const std::string temp = spec.path + ".tmp." + std::to_string(::getpid());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(ErrorCode::kIo, "admin socket: " + errno_text(errno));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, temp.c_str(), std::min(temp.size(), sizeof(addr.sun_path) - 1));
  ::unlink(temp.c_str());
  auto fail = [&](std::string what) -> Result<Listener> {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return Error(ErrorCode::kIo,
                 "admin socket " + spec.path + ": " + what + ": " + errno_text(err));
  };
  if (temp.size() >= sizeof(addr.sun_path)) {
    errno = ENAMETOOLONG;
    return fail("bind");
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail("bind");
  }
  if (::chmod(temp.c_str(), 0600) != 0) {
    return fail("chmod");
  }
  struct stat st {};
  if (::lstat(spec.path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
    errno = EEXIST;  // never replace a file that is not a (stale) socket
    return fail("path exists and is not a socket");
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    return fail("listen");
  }
  if (::rename(temp.c_str(), spec.path.c_str()) != 0) {
    return fail("rename");
  }
  return Listener{fd, "unix:" + spec.path, spec.path};
}

Result<Listener> listen_tcp(const ListenSpec& spec, bool allow_remote, std::string_view text) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(spec.host.c_str(), spec.port.c_str(), &hints, &found); rc != 0) {
    return Error(ErrorCode::kValidation, "admin address \"" + std::string(text) +
                                             "\": " + ::gai_strerror(rc) +
                                             " (give a numeric address and port)");
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> hold(found, &::freeaddrinfo);
  if (!allow_remote && !is_loopback(found->ai_addr)) {
    return Error(ErrorCode::kValidation,
                 "admin address \"" + std::string(text) +
                     "\" is not loopback: pass allow_remote (--admin-allow-remote) to serve it");
  }
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(ErrorCode::kIo, "admin socket: " + errno_text(errno));
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int err = errno;
    ::close(fd);
    return Error(ErrorCode::kIo, "admin address " + std::string(text) + ": " + errno_text(err));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  char host[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (bound.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&bound);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
    return Listener{fd, "[" + std::string(host) + "]:" + std::to_string(port), {}};
  }
  const auto* in = reinterpret_cast<const sockaddr_in*>(&bound);
  ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
  port = ntohs(in->sin_port);
  return Listener{fd, std::string(host) + ":" + std::to_string(port), {}};
}

// Constant-time comparison: a token is not guessed byte by byte from timing.
bool same_token(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  }
  return diff == 0 && !b.empty();
}

struct Reply {
  unsigned status = MHD_HTTP_OK;
  std::string body;
  std::string content_type = "application/json";
};

Reply json_reply(const Value& v, unsigned status = MHD_HTTP_OK) {
  Result<std::string> text = find_format("json")->emit(v, EmitOptions{0});
  if (!text) {
    return Reply{MHD_HTTP_INTERNAL_SERVER_ERROR, text.error().to_string() + "\n", "text/plain"};
  }
  return Reply{status, std::move(*text) + "\n", "application/json"};
}

Reply error_reply(unsigned status, std::string message) {
  Value v = Value::object();
  v["error"] = std::move(message);
  return json_reply(v, status);
}

}  // namespace

class AdminServer::Impl {
 public:
  Impl(ConfigManager& manager, AdminOptions options, Listener listener, std::string token)
      : manager_(manager),
        options_(std::move(options)),
        listener_(std::move(listener)),
        token_(std::move(token)) {}

  ~Impl() {
    if (daemon_ != nullptr) {
      MHD_stop_daemon(daemon_);  // closes the listening socket too
    } else if (listener_.fd >= 0) {
      ::close(listener_.fd);
    }
    if (!listener_.unix_path.empty()) {
      ::unlink(listener_.unix_path.c_str());
    }
  }

  Status start() {
    const unsigned timeout = static_cast<unsigned>(options_.connection_timeout.count());
    daemon_ = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, nullptr, nullptr, &Impl::on_request,
        this,
        // The logger first, so no message goes to MHD's own stderr logger.
        MHD_OPTION_EXTERNAL_LOGGER, &Impl::on_mhd_log, this,  //
        MHD_OPTION_LISTEN_SOCKET, listener_.fd,               //
        MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(options_.max_connections),
        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        // Request line and headers must fit in 16 KiB; larger ones are refused.
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<std::size_t>(16 * 1024), MHD_OPTION_END);
    if (daemon_ == nullptr) {
      return Error(ErrorCode::kIo, "admin endpoint " + listener_.address + ": could not start");
    }
    return ok_status();
  }

  const std::string& address() const noexcept { return listener_.address; }

 private:
  void log(LogLevel level, std::string_view message) const {
    if (options_.log) {
      options_.log(level, message);
    } else {
      std::fprintf(stderr, "liveconf: admin: %.*s\n", static_cast<int>(message.size()),
                   message.data());
    }
  }

  static void on_mhd_log(void* self, const char* format, va_list args) {
    char line[512];
    std::vsnprintf(line, sizeof(line), format, args);
    std::string_view text(line);
    while (!text.empty() && text.back() == '\n') {
      text.remove_suffix(1);
    }
    static_cast<Impl*>(self)->log(LogLevel::kWarning, text);
  }

  static MHD_Result on_request(void* self, MHD_Connection* connection, const char* url,
                               const char* method, const char* /*version*/,
                               const char* /*upload_data*/, std::size_t* upload_size,
                               void** request_state) {
    // The first call for a request only announces its headers; answer on the
    // second, after any body (which we drop: no endpoint takes one yet).
    if (*request_state == nullptr) {
      *request_state = self;
      return MHD_YES;
    }
    if (*upload_size != 0) {
      *upload_size = 0;
      return MHD_YES;
    }
    Reply reply = static_cast<Impl*>(self)->route(connection, url, method);
    MHD_Response* response = MHD_create_response_from_buffer(reply.body.size(), reply.body.data(),
                                                             MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) {
      return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    const MHD_Result queued = MHD_queue_response(connection, reply.status, response);
    MHD_destroy_response(response);
    return queued;
  }

  // Whether the request carries the admin token; logs a refusal (never the token).
  bool authorized(MHD_Connection* connection, std::string_view url) const {
    const char* header =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    std::string_view given = header != nullptr ? std::string_view(header) : std::string_view();
    constexpr std::string_view kBearer = "Bearer ";
    const bool ok = !token_.empty() && given.starts_with(kBearer) &&
                    same_token(given.substr(kBearer.size()), token_);
    if (!ok) {
      log(LogLevel::kWarning, std::string("refused ") + std::string(url) + ": " +
                                  (header == nullptr ? "no bearer token" : "wrong bearer token"));
    }
    return ok;
  }

  Reply route(MHD_Connection* connection, std::string_view url, std::string_view method) {
    const bool read = method == MHD_HTTP_METHOD_GET || method == MHD_HTTP_METHOD_HEAD;
    if (!read) {
      // Every write is authenticated first, so a probe learns nothing
      // (not even which paths exist) without the token.
      if (token_.empty()) {
        return error_reply(MHD_HTTP_FORBIDDEN, "no admin token configured (token_file)");
      }
      if (!authorized(connection, url)) {
        return error_reply(MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
      }
      if (method != MHD_HTTP_METHOD_POST) {
        return error_reply(MHD_HTTP_METHOD_NOT_ALLOWED, std::string(method) + " is not supported");
      }
      return write(connection, url);
    }
    if (url == "/healthz") {
      return Reply{MHD_HTTP_OK, "ok\n", "text/plain; charset=utf-8"};
    }
    if (url == "/readyz") {
      std::string why = admin_not_ready_reason(manager_, options_.ready_grace);
      if (why.empty()) {
        return Reply{MHD_HTTP_OK, "ready\n", "text/plain; charset=utf-8"};
      }
      return Reply{MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: " + why + "\n",
                   "text/plain; charset=utf-8"};
    }
    if (url == "/status") {
      return json_reply(admin_status_value(manager_));
    }
    if (url == "/metrics") {
      return Reply{MHD_HTTP_OK, admin_metrics_text(manager_), "text/plain; version=0.0.4"};
    }
    if (url.starts_with("/config/")) {
      const std::string_view name = url.substr(8);
      Result<SnapshotPtr> snap = manager_.snapshot(name);
      if (!snap) {
        return error_reply(MHD_HTTP_NOT_FOUND, snap.error().to_string());
      }
      if (!*snap) {
        return error_reply(MHD_HTTP_SERVICE_UNAVAILABLE, "config has not published yet");
      }
      return json_reply((*snap)->masked_tree());
    }
    if (url.starts_with("/explain/")) {
      const std::string_view rest = url.substr(9);
      const std::size_t slash = rest.find('/');
      const std::string_view name = rest.substr(0, slash);
      const std::string_view key =
          slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      Result<KeyPath> path = KeyPath::parse(key);
      if (!path) {
        return error_reply(MHD_HTTP_BAD_REQUEST, path.error().to_string());
      }
      Result<Explanation> e = manager_.explain(name, *path);
      if (!e) {
        return error_reply(MHD_HTTP_NOT_FOUND, e.error().to_string());
      }
      return json_reply(e->to_value(), e->layers.empty() ? MHD_HTTP_NOT_FOUND : MHD_HTTP_OK);
    }
    return error_reply(MHD_HTTP_NOT_FOUND,
                       "no such endpoint: " + std::string(url) +
                           " (try /status, /metrics, /readyz, /healthz, /config/NAME, "
                           "/explain/NAME/KEY)");
  }

  // POST /pin/NAME, /unpin/NAME, /rollback/NAME (authorized already).
  Reply write(MHD_Connection* connection, std::string_view url) {
    auto arg = [&](const char* name) -> std::optional<std::string> {
      const char* v = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, name);
      return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
    };
    std::string_view action;
    std::string_view name;
    for (std::string_view a : {"pin", "unpin", "rollback"}) {
      const std::string prefix = "/" + std::string(a) + "/";
      if (url.starts_with(prefix)) {
        action = a;
        name = url.substr(prefix.size());
      }
    }
    if (action.empty() || name.empty()) {
      return error_reply(MHD_HTTP_NOT_FOUND, "no such endpoint: POST " + std::string(url) +
                                                 " (try /pin/NAME, /unpin/NAME, /rollback/NAME)");
    }
    std::uint64_t generation = 0;
    if (std::optional<std::string> g = arg("generation")) {
      const auto [end, ec] = std::from_chars(g->data(), g->data() + g->size(), generation);
      if (ec != std::errc() || end != g->data() + g->size() || generation == 0) {
        return error_reply(MHD_HTTP_BAD_REQUEST, "generation: expected a positive integer");
      }
    }
    PinOptions po;
    if (std::optional<std::string> ttl = arg("ttl")) {
      std::optional<long double> ns = detail::parse_duration_ns(*ttl);
      if (!ns || *ns <= 0) {
        return error_reply(MHD_HTTP_BAD_REQUEST, "ttl: expected a duration such as 30m");
      }
      po.ttl = std::chrono::milliseconds(
          std::max<std::int64_t>(1, static_cast<std::int64_t>(*ns / 1e6L)));
    }
    po.reason = arg("reason").value_or("");
    Status st;
    if (action == "unpin") {
      st = manager_.unpin(name);
    } else if (action == "pin" && generation == 0) {
      return error_reply(MHD_HTTP_BAD_REQUEST, "pin needs ?generation=G");
    } else {
      const auto& hook = action == "pin" ? options_.pin : options_.rollback;
      if (!hook) {
        return error_reply(
            MHD_HTTP_NOT_IMPLEMENTED,
            std::string(action) + " needs stored generations: start with a journal (--journal)");
      }
      if (po.reason.empty()) {
        po.reason = std::string(action) + " through the admin endpoint";
      }
      st = hook(name, generation, po);
    }
    if (!st.ok()) {
      const ErrorCode code = st.error().code();
      return error_reply(
          code == ErrorCode::kNotFound ? MHD_HTTP_NOT_FOUND
          : code == ErrorCode::kType || code == ErrorCode::kValidation || code == ErrorCode::kParse
              ? MHD_HTTP_CONFLICT
              : MHD_HTTP_INTERNAL_SERVER_ERROR,
          st.error().to_string());
    }
    log(LogLevel::kWarning,
        std::string(action) + " " + std::string(name) + " done" +
            (generation != 0 ? " (generation " + std::to_string(generation) + ")" : std::string()));
    Value out = Value::object();
    out["config"] = std::string(name);
    if (Result<SnapshotPtr> snap = manager_.snapshot(name); snap && *snap) {
      out["generation"] = (*snap)->generation();
      if ((*snap)->pin()) {
        out["pinned_generation"] = (*snap)->pin()->pinned_generation;
      }
    }
    return json_reply(out);
  }

  ConfigManager& manager_;
  AdminOptions options_;
  Listener listener_;
  std::string token_;
  MHD_Daemon* daemon_ = nullptr;
};

Result<std::unique_ptr<AdminServer>> AdminServer::start(ConfigManager& manager,
                                                        AdminOptions options) {
  std::string token;
  if (!options.token_file.empty()) {
    Result<std::string> t = detail::read_token_file(options.token_file, "admin token file");
    if (!t) {
      return std::move(t).error();
    }
    token = std::move(*t);
  }
  Result<ListenSpec> spec = parse_listen(options.listen);
  if (!spec) {
    return std::move(spec).error();
  }
  Result<Listener> listener = spec->unix_socket
                                  ? listen_unix(*spec)
                                  : listen_tcp(*spec, options.allow_remote, options.listen);
  if (!listener) {
    return std::move(listener).error();
  }
  auto impl =
      std::make_unique<Impl>(manager, std::move(options), std::move(*listener), std::move(token));
  if (Status st = impl->start(); !st.ok()) {
    return st.error();
  }
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminServer::~AdminServer() = default;
const std::string& AdminServer::address() const noexcept { return impl_->address(); }

}  // namespace liveconf
