// `liveconf watch --admin`, `liveconf status` and systemd notification from
// the real binary; a real Prometheus server (Debian's `prometheus`) scraping it.
#include <fcntl.h>
#include <filesystem>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <regex>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "integration/cli_runner.hpp"
#include "testutil/http_client.hpp"
#include "testutil/process.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::CliOptions;
using testing::http_get;
using testing::run_cli;
using testing::TempDir;
using testing::wait_until;
using testing::WatchProcess;

// The address `liveconf watch --admin` printed on stderr, once it has.
std::string admin_address(const WatchProcess& watch) {
  std::string address;
  EXPECT_TRUE(wait_until([&] {
    std::smatch m;
    const std::string err = watch.err();
    if (std::regex_search(err, m, std::regex("admin endpoint on (\\S+)"))) {
      address = m[1];
      return true;
    }
    return false;
  })) << watch.err();
  return address;
}

bool is_json_line_of(const std::string& line, const std::string& event) {
  return line.find("\"event\":\"" + event + "\"") != std::string::npos;
}

TEST(CliAdminTest, WatchServesTheEndpointAndStatusPrintsIt) {
  TempDir dir;
  const auto file = dir.write("app.json", R"({"port": 1, "db": {"password": "marker-pw"}})");
  const std::string sock = "unix:" + (dir / "admin.sock").string();
  WatchProcess watch({"watch", "--file", file.string(), "--secret", "db.password", "--format",
                      "json", "--admin", sock});
  std::optional<std::string> loaded =
      watch.wait_line([](const std::string& l) { return is_json_line_of(l, "loaded"); });
  ASSERT_TRUE(loaded);
  ASSERT_EQ(admin_address(watch), sock);
  // The events' "snapshot" is the generation /status reports.
  auto status_generation = [&] {
    Result<Value> v = find_format("json")->parse(http_get(sock, "/status").body, ParseOptions{});
    return v ? v->find_member("configs")->as_array()[0].find_member("generation")->as_int() : -1;
  };
  auto snapshot_of = [](const std::string& line) {
    Result<Value> v = find_format("json")->parse(line, ParseOptions{});
    return v ? v->find_member("snapshot")->as_int() : -2;
  };
  EXPECT_EQ(snapshot_of(*loaded), status_generation());

  testing::CliResult text = run_cli({"status", "--admin", sock});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("config cli (untyped): generation"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("file:" + file.string()), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" ok "), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("\033["), std::string::npos);  // not a terminal: no colour

  // A refused change: the event stream, /status and `status` agree.
  testing::write_file(file, R"({"port": 3, "db": {"password": "marker-pw"}})");
  std::optional<std::string> changed =
      watch.wait_line([](const std::string& l) { return is_json_line_of(l, "changed"); });
  ASSERT_TRUE(changed);
  EXPECT_EQ(snapshot_of(*changed), status_generation());
  testing::write_file(file, "{\"port\": 2,\n \"db\": }");
  std::optional<std::string> refused =
      watch.wait_line([](const std::string& l) { return is_json_line_of(l, "error"); });
  ASSERT_TRUE(refused);
  EXPECT_EQ(snapshot_of(*refused), status_generation());
  ASSERT_TRUE(wait_until([&] {
    return run_cli({"status", "--admin", sock}).out.find(" error ") != std::string::npos;
  }));
  testing::CliResult json = run_cli({"status", "--admin", sock, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0);
  Result<Value> v = find_format("json")->parse(json.out, ParseOptions{});
  ASSERT_TRUE(v.ok()) << json.out;
  const Value& src = v->find_member("configs")->as_array()[0].find_member("sources")->as_array()[0];
  EXPECT_EQ(src.find_member("state")->as_string(), "error");
  EXPECT_NE(src.find_member("last_error")->find_member("message")->as_string().find("app.json:2:8"),
            std::string::npos)
      << json.out;
  EXPECT_EQ(json.out.find("marker-pw"), std::string::npos);

  // Colour on a terminal, unless NO_COLOR.
  CliOptions tty;
  tty.stdout_tty = true;
  tty.env = {"TERM=xterm"};
  EXPECT_NE(run_cli({"status", "--admin", sock}, tty).out.find("\033[31m"), std::string::npos);
  tty.env.push_back("NO_COLOR=1");
  EXPECT_EQ(run_cli({"status", "--admin", sock}, tty).out.find("\033["), std::string::npos);

  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait_exit(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "admin.sock"));
  testing::CliResult gone = run_cli({"status", "--admin", sock});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("admin endpoint " + sock), std::string::npos) << gone.err;
}

TEST(CliAdminTest, BadAdminAddressesAreUsageErrors) {
  TempDir dir;
  const auto file = dir.write("app.json", R"({"a": 1})");
  testing::CliResult remote = run_cli({"watch", "--file", file.string(), "--admin", "0.0.0.0:0"});
  EXPECT_NE(remote.exit_code, 0);
  EXPECT_NE(remote.err.find("--admin-allow-remote"), std::string::npos) << remote.err;
  testing::CliResult token = run_cli({"watch", "--file", file.string(), "--admin", "127.0.0.1:0",
                                      "--admin-token", (dir / "none").string()});
  EXPECT_NE(token.exit_code, 0);
  EXPECT_NE(token.err.find("admin token file"), std::string::npos) << token.err;
}

TEST(CliAdminTest, WatchTellsSystemdItIsReady) {
  TempDir dir;
  const auto file = dir.write("app.json", R"({"a": 1})");
  const std::filesystem::path notify = dir / "notify";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", notify.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  auto next = [&]() -> std::optional<std::string> {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) {
      return std::nullopt;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n < 0 ? std::nullopt
                 : std::optional<std::string>(std::string(buf, static_cast<std::size_t>(n)));
  };
  CliOptions o;
  o.env = {"NOTIFY_SOCKET=" + notify.string()};
  {
    WatchProcess watch({"watch", "--file", file.string()}, o);
    std::optional<std::string> ready = next();
    ASSERT_TRUE(ready);
    EXPECT_TRUE(ready->starts_with("READY=1\nSTATUS=cli: generation ")) << *ready;
    testing::write_file(file, R"({"a": 2})");
    std::optional<std::string> m = next();
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, "RELOADING=1");
    watch.signal(SIGTERM);
    EXPECT_EQ(watch.wait_exit(), 0);
  }
  bool stopping = false;
  while (!stopping) {
    std::optional<std::string> m = next();
    if (!m) {
      break;
    }
    stopping = *m == "STOPPING=1";
  }
  EXPECT_TRUE(stopping);
  ::close(fd);
}

// A free loopback port (bound, read, released: good enough for a test).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(CliAdminTest, ARealPrometheusScrapesTheGenerationAfterAChange) {
  const char* prometheus = "/usr/bin/prometheus";
  if (!std::filesystem::exists(prometheus)) {
    GTEST_SKIP() << "prometheus not installed (Debian package prometheus; scripts/install-deps.sh)";
  }
  TempDir dir;
  const auto file = dir.write("app.json", R"({"a": 1})");
  WatchProcess watch(
      {"watch", "--file", file.string(), "--format", "json", "--admin", "127.0.0.1:0"});
  ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_json_line_of(l, "loaded"); }));
  const std::string target = admin_address(watch);
  const std::string web = "127.0.0.1:" + std::to_string(free_port());
  const auto config = dir.write("prometheus.yml",
                                "global:\n  scrape_interval: 1s\n"
                                "scrape_configs:\n  - job_name: liveconf\n"
                                "    static_configs:\n      - targets: ['" +
                                    target + "']\n");
  const std::filesystem::path log = dir / "prometheus.log";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(log_fd, 0);
  testing::ChildSpec spec;
  spec.argv = {prometheus, "--config.file=" + config.string(),
               "--storage.tsdb.path=" + (dir / "data").string(), "--web.listen-address=" + web,
               "--log.level=warn"};
  const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  spec.stdin_fd = null_in;
  spec.stdout_fd = log_fd;
  spec.stderr_fd = log_fd;
  std::string error;
  const pid_t pid = testing::spawn_child(spec, error);
  ::close(log_fd);
  ::close(null_in);
  ASSERT_GT(pid, 0) << error;
  struct Killer {
    pid_t pid;
    ~Killer() {
      ::kill(pid, SIGKILL);
      (void)testing::reap_blocking(pid);
    }
  } killer{pid};
  auto server_log = [&] { return testing::read_file(log).value_or(""); };
  auto generation_seen = [&](long expected) {
    testing::HttpReply r = http_get(web, "/api/v1/query?query=liveconf_config_generation");
    return r.status == 200 &&
           r.body.find(",\"" + std::to_string(expected) + "\"]") != std::string::npos;
  };
  auto generation_now = [&] {
    Result<Value> v = find_format("json")->parse(http_get(target, "/status").body, ParseOptions{});
    return v ? v->find_member("configs")->as_array()[0].find_member("generation")->as_int() : -1;
  };
  const long g0 = static_cast<long>(generation_now());
  ASSERT_TRUE(wait_until([&] { return generation_seen(g0); }, std::chrono::seconds(60)))
      << server_log();
  testing::write_file(file, R"({"a": 2})");
  ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_json_line_of(l, "changed"); }));
  const long g1 = static_cast<long>(generation_now());
  EXPECT_GT(g1, g0);
  EXPECT_TRUE(wait_until([&] { return generation_seen(g1); }, std::chrono::seconds(30)))
      << server_log();
}

}  // namespace
}  // namespace liveconf
