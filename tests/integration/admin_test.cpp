// The admin endpoint (liveconf::admin) with real clients: libcurl for the
// HTTP endpoints, Debian's promtool for the exposition format, raw sockets
// for the abuse cases (slowloris, oversized headers, a connection flood).
// BEHAVIOUR 51, 52 and 55 (docs/reliability.md).
#include "liveconf/admin.hpp"

#include <arpa/inet.h>
#include <condition_variable>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"
#include "liveconf/liveconf.hpp"
#include "liveconf/systemd.hpp"

#include "testutil/http_client.hpp"
#include "testutil/process.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::http_get;
using testing::http_request;
using testing::TempDir;
using testing::wait_until;

Value parse_json(const std::string& text) {
  Result<Value> v = find_format("json")->parse(text, ParseOptions{});
  EXPECT_TRUE(v.ok()) << text;
  return v ? *v : Value();
}

// One config "app" over one JSON file, and an admin server in front of it.
class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_.write("app.json", R"({"port": 8080, "db": {"password": "hunter2-marker"}})");
    ManagerOptions mo;
    mo.log = [this](LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> lk(log_mu_);
      log_ += std::string(m) + "\n";
    };
    manager_ = std::make_unique<ConfigManager>(mo);
    RegisterOptions ro;
    ro.sensitive = {KeyPath::parse("db.password").value()};
    ASSERT_TRUE(manager_->register_untyped("app", ro).ok());
    FileSourceOptions fo;
    fo.path = file_;
    fo.debounce.quiet = std::chrono::milliseconds(20);
    ASSERT_TRUE(manager_->add_source("app", make_file_source(fo).value()).ok());
  }

  void start(AdminOptions options = {}) {
    options.log = [this](LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> lk(log_mu_);
      log_ += std::string(m) + "\n";
    };
    Result<std::unique_ptr<AdminServer>> s = AdminServer::start(*manager_, std::move(options));
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = std::move(*s);
  }

  std::string log() {
    std::lock_guard<std::mutex> lk(log_mu_);
    return log_;
  }

  // The /status entry of source `index` of config "app".
  Value source_status() {
    Value status = parse_json(http_get(server_->address(), "/status").body);
    const Value* configs = status.find_member("configs");
    if (configs == nullptr || configs->size() != 1) {
      return Value();
    }
    return configs->as_array()[0].find_member("sources")->as_array()[0];
  }

  std::int64_t generation() { return manager_->snapshot("app").value()->generation(); }

  TempDir dir_;
  std::filesystem::path file_;
  std::unique_ptr<ConfigManager> manager_;
  std::unique_ptr<AdminServer> server_;
  std::mutex log_mu_;
  std::string log_;
};

TEST_F(AdminTest, ServesHealthReadinessStatusConfigAndExplain) {
  start();
  EXPECT_TRUE(server_->address().starts_with("127.0.0.1:")) << server_->address();
  EXPECT_EQ(http_get(server_->address(), "/healthz").status, 200);
  EXPECT_EQ(http_get(server_->address(), "/readyz").status, 200);

  testing::HttpReply status = http_get(server_->address(), "/status");
  ASSERT_EQ(status.status, 200) << status.error;
  EXPECT_EQ(status.content_type, "application/json");
  Value v = parse_json(status.body);
  const Value& app = v.find_member("configs")->as_array()[0];
  EXPECT_EQ(app.find_member("name")->as_string(), "app");
  EXPECT_EQ(app.find_member("generation")->as_int(), generation());
  const Value& src = app.find_member("sources")->as_array()[0];
  EXPECT_EQ(src.find_member("name")->as_string(), "file:" + file_.string());
  EXPECT_EQ(src.find_member("state")->as_string(), "ok");
  EXPECT_TRUE(src.find_member("last_success")->is_number());
  EXPECT_GE(src.find_member("staleness_seconds")->as_double(), 0.0);
  EXPECT_TRUE(
      src.find_member("layers")->as_array()[0].find_member("version")->as_string().starts_with(
          "xxh3:"));

  testing::HttpReply config = http_get(server_->address(), "/config/app");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(parse_json(config.body), parse_json(R"({"port":8080,"db":{"password":"***"}})"));

  testing::HttpReply explain = http_get(server_->address(), "/explain/app/port");
  ASSERT_EQ(explain.status, 200);
  Value e = parse_json(explain.body);
  EXPECT_EQ(e.find_member("effective")->as_int(), 8080);
  const Value& layer = e.find_member("layers")->as_array()[0];
  EXPECT_EQ(layer.find_member("origin")->as_string(), file_.string() + ":1:10");
  EXPECT_TRUE(layer.find_member("winner")->as_bool());

  testing::HttpReply secret = http_get(server_->address(), "/explain/app/db.password");
  EXPECT_EQ(secret.status, 200);
  EXPECT_EQ(secret.body.find("hunter2-marker"), std::string::npos) << secret.body;

  EXPECT_EQ(http_get(server_->address(), "/config/nope").status, 404);
  EXPECT_EQ(http_get(server_->address(), "/explain/app/absent.key").status, 404);
  EXPECT_EQ(http_get(server_->address(), "/no/such/endpoint").status, 404);
  for (const char* path : {"/status", "/metrics", "/config/app", "/explain/app/db"}) {
    EXPECT_EQ(http_get(server_->address(), path).body.find("hunter2-marker"), std::string::npos)
        << path;
  }
}

// A change, a refused change and a missing file, each as /status, /metrics
// and /readyz report it.
TEST_F(AdminTest, ChangeRefusalAndMissingFileShowInStatusMetricsAndReadiness) {
  start();
  const std::int64_t g0 = generation();
  testing::write_file(file_, R"({"port": 9090, "db": {"password": "hunter2-marker"}})");
  ASSERT_TRUE(wait_until([&] { return generation() > g0; }));
  ASSERT_TRUE(wait_until([&] {
    return http_get(server_->address(), "/metrics")
               .body.find("liveconf_config_generation{config=\"app\"} " +
                          std::to_string(generation())) != std::string::npos;
  }));
  std::string metrics = http_get(server_->address(), "/metrics").body;
  EXPECT_NE(metrics.find("liveconf_reload_duration_seconds_count{config=\"app\"} 1"),
            std::string::npos)
      << metrics;

  // Refused: the last good config keeps serving, and every view says why.
  const std::int64_t g1 = generation();
  testing::write_file(file_, "{\"port\": 7070,\n  \"db\": }");
  ASSERT_TRUE(
      wait_until([&] { return source_status().find_member("state")->as_string() == "error"; }));
  EXPECT_EQ(generation(), g1);
  Value src = source_status();
  const std::string message(src.find_member("last_error")->find_member("message")->as_string());
  EXPECT_NE(message.find("app.json:2:9"), std::string::npos) << message;
  EXPECT_EQ(src.find_member("failures")->as_int(), 1);
  metrics = http_get(server_->address(), "/metrics").body;
  const std::string labels = "config=\"app\",source=\"file:" + file_.string() + "\"";
  EXPECT_NE(metrics.find("liveconf_reloads_total{" + labels + ",result=\"failure\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("liveconf_source_state{" + labels + ",state=\"error\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("liveconf_source_state{" + labels + ",state=\"ok\"} 0"),
            std::string::npos);
  testing::HttpReply ready = http_get(server_->address(), "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("app.json:2:9"), std::string::npos) << ready.body;
  EXPECT_EQ(
      parse_json(http_get(server_->address(), "/config/app").body).find_member("port")->as_int(),
      9090);

  // Fixed, then removed: missing (the last good layers keep serving).
  testing::write_file(file_, R"({"port": 7070, "db": {"password": "hunter2-marker"}})");
  ASSERT_TRUE(
      wait_until([&] { return source_status().find_member("state")->as_string() == "ok"; }));
  EXPECT_EQ(http_get(server_->address(), "/readyz").status, 200);
  std::filesystem::remove(file_);
  ASSERT_TRUE(
      wait_until([&] { return source_status().find_member("state")->as_string() == "missing"; }));
  ready = http_get(server_->address(), "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("missing"), std::string::npos) << ready.body;
  metrics = http_get(server_->address(), "/metrics").body;
  EXPECT_NE(metrics.find("liveconf_source_state{" + labels + ",state=\"missing\"} 1"),
            std::string::npos);
}

TEST_F(AdminTest, ReadinessToleratesAFailingSourceForTheGrace) {
  AdminOptions o;
  o.ready_grace = std::chrono::hours(1);
  start(o);
  testing::write_file(file_, "{ not json");
  ASSERT_TRUE(
      wait_until([&] { return source_status().find_member("state")->as_string() == "error"; }));
  EXPECT_EQ(http_get(server_->address(), "/readyz").status, 200);
  EXPECT_EQ(admin_not_ready_reason(*manager_, std::chrono::milliseconds(0)).find("error") !=
                std::string::npos,
            true);
}

TEST_F(AdminTest, PromtoolAcceptsTheMetrics) {
  if (!std::filesystem::exists("/usr/bin/promtool")) {
    GTEST_SKIP() << "promtool not installed (Debian package prometheus; scripts/install-deps.sh)";
  }
  start();
  testing::write_file(file_, "{ broken");  // a failure, so every family has samples
  ASSERT_TRUE(
      wait_until([&] { return source_status().find_member("state")->as_string() == "error"; }));
  const std::filesystem::path out = dir_ / "metrics.txt";
  testing::write_file(out, http_get(server_->address(), "/metrics").body);
  const std::string cmd = "/usr/bin/promtool check metrics < " + out.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string said;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    said += buf;
  }
  const int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << said << "\n" << testing::read_file(out).value_or("");
  EXPECT_EQ(said, "") << said;  // no lint findings either
}

TEST_F(AdminTest, UnixSocketIsPrivateAndRemovedOnStop) {
  const std::filesystem::path sock = dir_ / "admin.sock";
  AdminOptions o;
  o.listen = "unix:" + sock.string();
  start(o);
  EXPECT_EQ(server_->address(), "unix:" + sock.string());
  struct stat st {};
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(http_get(server_->address(), "/healthz").status, 200);
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(sock));
  // A regular file at the path is never replaced.
  testing::write_file(sock, "precious");
  Result<std::unique_ptr<AdminServer>> again = AdminServer::start(*manager_, o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kIo);
  EXPECT_EQ(testing::read_file(sock).value_or(""), "precious");
}

TEST_F(AdminTest, RemoteAddressesNeedAnExplicitOptIn) {
  for (const char* addr : {"0.0.0.0:0", "[::]:0", "10.1.2.3:9901"}) {
    AdminOptions o;
    o.listen = addr;
    Result<std::unique_ptr<AdminServer>> s = AdminServer::start(*manager_, o);
    ASSERT_FALSE(s.ok()) << addr;
    EXPECT_EQ(s.error().code(), ErrorCode::kValidation) << addr;
    EXPECT_NE(s.error().to_string().find("allow_remote"), std::string::npos);
  }
  for (const char* addr : {"nonsense", "127.0.0.1:", "unix:", "host.example:80"}) {
    AdminOptions o;
    o.listen = addr;
    EXPECT_FALSE(AdminServer::start(*manager_, o).ok()) << addr;
  }
}

TEST_F(AdminTest, WritesNeedTheBearerTokenAndTheLogNeverShowsIt) {
  const std::string token = "s3cr3t-token-marker";
  const std::filesystem::path token_file = dir_.write("token", token + "\n");
  AdminOptions o;
  o.token_file = token_file.string();
  start(o);
  EXPECT_EQ(http_request(server_->address(), "/status", "POST").status, 401);
  EXPECT_EQ(
      http_request(server_->address(), "/status", "POST", {"Authorization: Bearer wrong"}).status,
      401);
  EXPECT_EQ(http_request(server_->address(), "/status", "POST",
                         {"Authorization: Bearer " + token.substr(0, token.size() - 1)})
                .status,
            401);
  EXPECT_EQ(http_request(server_->address(), "/status", "POST", {"Authorization: Bearer " + token})
                .status,
            404);  // authenticated; /status is not a write
  EXPECT_EQ(
      http_request(server_->address(), "/unpin/app", "PUT", {"Authorization: Bearer " + token})
          .status,
      405);
  EXPECT_NE(log().find("wrong bearer token"), std::string::npos) << log();
  EXPECT_NE(log().find("no bearer token"), std::string::npos) << log();
  EXPECT_EQ(log().find(token), std::string::npos) << log();
  EXPECT_EQ(log().find("wrong"), log().find("wrong bearer token"));  // the given one neither

  // Without a token file, writes are forbidden outright.
  server_.reset();
  start();
  EXPECT_EQ(http_request(server_->address(), "/status", "POST", {"Authorization: Bearer " + token})
                .status,
            403);
  o.token_file = (dir_ / "absent-token").string();
  Result<std::unique_ptr<AdminServer>> bad = AdminServer::start(*manager_, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kIo);
}

// POST /pin, /rollback (through the hooks a journal would fill; here a
// stored stack by hand) and /unpin: token first, then the pin shows in
// /status, /metrics and the served config, and unpin brings the file back.
TEST_F(AdminTest, PinRollbackAndUnpinThroughTheEndpoint) {
  const std::string token = "pin-token";
  const std::filesystem::path token_file = dir_.write("token", token);
  const std::vector<std::string> auth = {"Authorization: Bearer " + token};
  AdminOptions o;
  o.token_file = token_file.string();
  std::vector<std::uint64_t> asked;
  o.pin = [&](std::string_view config, std::uint64_t gen, PinOptions po) {
    asked.push_back(gen);
    Value stored = Value::object();
    stored["port"] = 1000 + static_cast<std::int64_t>(gen);
    po.pinned_generation = gen;
    return manager_->pin(config, {Layer{"stored", 10, stored, "v"}}, std::move(po));
  };
  o.rollback = o.pin;
  start(o);
  const std::string addr = server_->address();
  EXPECT_EQ(http_request(addr, "/pin/app?generation=1", "POST").status, 401);
  EXPECT_EQ(http_request(addr, "/pin/app", "POST", auth).status, 400);  // no generation
  EXPECT_EQ(http_request(addr, "/pin/app?generation=x", "POST", auth).status, 400);
  EXPECT_EQ(http_request(addr, "/pin/app?generation=1&ttl=soon", "POST", auth).status, 400);
  EXPECT_EQ(http_request(addr, "/pin/nope?generation=1", "POST", auth).status, 404);
  testing::HttpReply r =
      http_request(addr, "/pin/app?generation=3&ttl=30m&reason=bad%20deploy", "POST", auth);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse_json(r.body).find_member("pinned_generation")->as_int(), 3);
  EXPECT_EQ(manager_->snapshot("app").value()->find("port")->as_int(), 1003);
  const Value status = parse_json(http_get(addr, "/status").body);
  const Value* pin = status.find_member("configs")->as_array()[0].find_member("pin");
  ASSERT_TRUE(pin != nullptr && pin->is_object()) << http_get(addr, "/status").body;
  EXPECT_EQ(pin->find_member("pinned_generation")->as_int(), 3);
  EXPECT_EQ(pin->find_member("reason")->as_string(), "bad deploy");
  EXPECT_TRUE(pin->find_member("expires")->is_number());
  EXPECT_NE(http_get(addr, "/metrics").body.find("liveconf_config_pinned{config=\"app\"} 1"),
            std::string::npos);
  // The file changes behind the pin: listed as pending, not served.
  const std::filesystem::path temp = dir_.write(".tmp", R"({"port": 9090})");
  std::filesystem::rename(temp, file_);
  ASSERT_TRUE(wait_until([&] {
    const Value s = parse_json(http_get(addr, "/status").body);
    const Value* p = s.find_member("configs")->as_array()[0].find_member("pin");
    if (p == nullptr || !p->is_object()) {
      return false;
    }
    for (const Value& change : p->find_member("pending")->as_array()) {
      if (change.as_string().find("9090") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << http_get(addr, "/status").body;
  EXPECT_EQ(manager_->snapshot("app").value()->find("port")->as_int(), 1003);
  // Rollback with no generation: the hook decides (a journal: the one before).
  ASSERT_EQ(http_request(addr, "/rollback/app", "POST", auth).status, 200);
  EXPECT_EQ(asked.back(), 0u);
  ASSERT_EQ(http_request(addr, "/unpin/app", "POST", auth).status, 200);
  EXPECT_EQ(manager_->snapshot("app").value()->find("port")->as_int(), 9090);
  EXPECT_EQ(http_request(addr, "/unpin/app", "POST", auth).status, 404);  // not pinned
  EXPECT_NE(http_get(addr, "/metrics").body.find("liveconf_config_pinned{config=\"app\"} 0"),
            std::string::npos);
  // A health revert: counted by reason, the healthy generation shown.
  const std::uint64_t healthy = manager_->snapshot("app").value()->generation();
  ASSERT_TRUE(manager_->mark_healthy("app", healthy).ok());
  Value patch = Value::object();
  patch["port"] = 7;
  ASSERT_TRUE(manager_->update("app", patch).ok());
  ASSERT_TRUE(manager_->revert("app", RevertOptions{0, "probe failed"}).ok());
  const std::string metrics = http_get(addr, "/metrics").body;
  EXPECT_NE(metrics.find("liveconf_rollbacks_total{config=\"app\",reason=\"health_check\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("liveconf_rollbacks_total{config=\"app\",reason=\"operator\"} 0"),
            std::string::npos);
  const Value after = parse_json(http_get(addr, "/status").body);
  const Value& config = after.find_member("configs")->as_array()[0];
  EXPECT_EQ(config.find_member("healthy_generation")->as_int(),
            static_cast<std::int64_t>(healthy) + 2);  // the revert serves healthy content
  EXPECT_EQ(config.find_member("rollbacks")->find_member("health_check")->as_int(), 1);
  // Without the hooks (no journal), pin and rollback cannot be served.
  server_.reset();
  AdminOptions bare;
  bare.token_file = token_file.string();
  start(bare);
  EXPECT_EQ(http_request(server_->address(), "/rollback/app", "POST", auth).status, 501);
}

// A connected socket, or -1 when the connection is not accepted within
// 200 ms (a full listen backlog: the kernel drops the SYN and the client
// would otherwise retry for minutes).
int connect_to(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    pollfd p{fd, POLLOUT, 0};
    int err = errno == EINPROGRESS ? 0 : errno;
    socklen_t len = sizeof err;
    if (err != 0 || ::poll(&p, 1, 200) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

// True when the server closed `fd` (read returns 0 or an error) within `timeout`.
bool closed_by_server(int fd, std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return false;
    }
  }
}

TEST_F(AdminTest, SlowAndOversizedRequestsAreDroppedWhileOthersAreServed) {
  AdminOptions o;
  o.connection_timeout = std::chrono::seconds(1);
  start(o);
  // Slowloris: a request line and half a header, then nothing.
  const int slow = connect_to(server_->address());
  ASSERT_GE(slow, 0);
  const std::string partial = "GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  ASSERT_EQ(::write(slow, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  EXPECT_EQ(http_get(server_->address(), "/healthz").status, 200);  // others still served
  EXPECT_TRUE(closed_by_server(slow, std::chrono::seconds(5)));     // and the slow one dropped
  ::close(slow);

  // 64 KiB of headers: refused (an error status or a close), never served.
  testing::HttpReply big =
      http_request(server_->address(), "/status", "GET", {"X-Big: " + std::string(64 * 1024, 'a')});
  EXPECT_NE(big.status, 200) << big.body.substr(0, 200);
  EXPECT_EQ(http_get(server_->address(), "/healthz").status, 200);
}

TEST_F(AdminTest, AConnectionFloodNeverStallsUpdatesOrReaders) {
  // 10,000 connections opened at once (as many as the fd limit allows, after
  // raising the soft limit to the hard one), none of them sending a byte.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  const std::size_t want =
      std::min<std::size_t>(10000, lim.rlim_cur > 200 ? lim.rlim_cur - 200 : 0);
  AdminOptions o;
  o.max_connections = 256;
  o.connection_timeout = std::chrono::seconds(2);
  start(o);
  const std::string& address = server_->address();
  const std::size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::vector<int> flood;
  flood.reserve(want);
  for (std::size_t i = 0; i < want; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0) << i;
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);  // EINPROGRESS
    flood.push_back(fd);
  }
  // The manager keeps publishing, and snapshots keep being read, meanwhile.
  const std::int64_t g0 = generation();
  testing::write_file(file_, R"({"port": 1234, "db": {"password": "x"}})");
  EXPECT_TRUE(wait_until([&] { return generation() > g0; }));
  EXPECT_EQ(manager_->snapshot("app").value()->tree().find_member("port")->as_int(), 1234);
  EXPECT_EQ(manager_->status("app").value().sources[0].state, SourceState::kOk);
  for (int fd : flood) {
    ::close(fd);
  }
  // Served again once the flood is gone.
  EXPECT_TRUE(wait_until([&] { return http_get(server_->address(), "/healthz").status == 200; },
                         std::chrono::seconds(30)));
}

// Plays systemd: a datagram socket NOTIFY_SOCKET names, read with deadlines.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  }
  ~NotifySocket() { ::close(fd_); }

  // The next datagram within `timeout`, or nullopt.
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      return std::nullopt;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::nullopt
                 : std::optional<std::string>(std::string(buf, static_cast<std::size_t>(n)));
  }
  // Takes datagrams until one satisfies `pred`; nullopt at the deadline.
  std::optional<std::string> wait_for(const std::function<bool(const std::string&)>& pred,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      std::optional<std::string> m = next(std::max(left, std::chrono::milliseconds(1)));
      if (m && pred(*m)) {
        return m;
      }
    }
    return std::nullopt;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

TEST(SystemdNotifierTest, ReadyStatusReloadingWatchdogAndStopping) {
  TempDir dir;
  NotifySocket systemd(dir / "notify");
  testing::ScopedEnv socket_env("NOTIFY_SOCKET", (dir / "notify").string());
  testing::ScopedEnv watchdog_env("WATCHDOG_USEC", "200000");
  testing::ScopedEnv watchdog_pid("WATCHDOG_PID", std::nullopt);
  std::shared_ptr<SystemdNotifier> notifier = SystemdNotifier::from_environment();
  ASSERT_NE(notifier, nullptr);

  // The reload hook can be held, which holds the update thread.
  std::mutex hold_mu;
  std::condition_variable hold_cv;
  bool hold = false;
  auto hook = notifier->reload_hook();
  ManagerOptions mo;
  mo.on_reload = [&](std::string_view config, bool begin) {
    std::unique_lock<std::mutex> lk(hold_mu);
    hold_cv.wait(lk, [&] { return !hold; });
    hook(config, begin);
  };
  const std::filesystem::path file = dir.write("app.json", R"({"a": 1})");
  auto manager = std::make_unique<ConfigManager>(mo);
  ASSERT_TRUE(manager->register_untyped("app").ok());
  FileSourceOptions fo;
  fo.path = file;
  fo.debounce.quiet = std::chrono::milliseconds(10);
  ASSERT_TRUE(manager->add_source("app", make_file_source(fo).value()).ok());
  notifier->ready(*manager);

  const std::string g = std::to_string(manager->snapshot("app").value()->generation());
  std::optional<std::string> ready =
      systemd.wait_for([](const std::string& m) { return m.starts_with("READY=1"); });
  ASSERT_TRUE(ready);
  EXPECT_EQ(*ready, "READY=1\nSTATUS=app: generation " + g + ", 1 of 1 sources ok");
  EXPECT_TRUE(systemd.wait_for([](const std::string& m) { return m == "WATCHDOG=1"; }));

  // A change: RELOADING=1, then READY=1 and the new STATUS (either order:
  // they come from the update and the dispatch thread).
  testing::write_file(file, R"({"a": 2})");
  EXPECT_TRUE(systemd.wait_for([](const std::string& m) { return m == "RELOADING=1"; }));
  bool saw_ready = false;
  bool saw_status = false;
  ASSERT_TRUE(systemd.wait_for([&](const std::string& m) {
    saw_ready = saw_ready || m == "READY=1";
    saw_status = saw_status || m.starts_with("STATUS=app: generation ");
    return saw_ready && saw_status;
  }));

  // A stuck update thread withholds the watchdog ping; it resumes after.
  {
    std::lock_guard<std::mutex> lk(hold_mu);
    hold = true;
  }
  testing::write_file(file, R"({"a": 3})");
  ASSERT_TRUE(wait_until([&] { return !manager->responsive(std::chrono::milliseconds(50)); }));
  (void)systemd.wait_for([](const std::string&) { return false; }, std::chrono::milliseconds(300));
  EXPECT_FALSE(systemd.wait_for([](const std::string& m) { return m == "WATCHDOG=1"; },
                                std::chrono::milliseconds(600)));
  {
    std::lock_guard<std::mutex> lk(hold_mu);
    hold = false;
  }
  hold_cv.notify_all();
  EXPECT_TRUE(systemd.wait_for([](const std::string& m) { return m == "WATCHDOG=1"; }));

  notifier.reset();
  EXPECT_TRUE(systemd.wait_for([](const std::string& m) { return m == "STOPPING=1"; }));
}

TEST(SystemdNotifierTest, NothingOutsideSystemd) {
  testing::ScopedEnv socket_env("NOTIFY_SOCKET", std::nullopt);
  EXPECT_EQ(SystemdNotifier::from_environment(), nullptr);
}

}  // namespace
}  // namespace liveconf
