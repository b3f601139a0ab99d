#include "testutil/etcd_server.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <utility>

#include "liveconf/env.hpp"

#include "testutil/process.hpp"

namespace liveconf::testing {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A first start that cannot bind its freshly picked ports (another process
// took one between our probe and etcd's bind) tries new ports this many times.
constexpr int kPortAttempts = 5;
// A later start reuses its ports; their previous owner is gone, but give the
// kernel this long to release them before giving up.
constexpr milliseconds kRebindTimeout{5000};
constexpr milliseconds kRebindPause{50};
// Between /health probes while etcd starts (each probe is one short connection).
constexpr milliseconds kProbeInterval{10};
constexpr milliseconds kProbeTimeout{500};

// A file descriptor closed on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::optional<fs::path> find_binary(const char* env_name, const char* name) {
  // Through liveconf::get_env: env watchers in other tests may touch the environment.
  if (const std::optional<std::string> set = get_env(env_name); set && !set->empty()) {
    if (!is_executable_file(*set)) {
      return std::nullopt;
    }
    return fs::absolute(*set);
  }
  const std::string path = get_env("PATH").value_or("");
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) {
      end = path.size();
    }
    const std::string dir = path.substr(begin, end - begin);
    const fs::path candidate = (dir.empty() ? fs::path(".") : fs::path(dir)) / name;
    if (is_executable_file(candidate)) {
      return fs::absolute(candidate);
    }
    begin = end + 1;
  }
  return std::nullopt;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) {
      out += ' ';
    }
    out += w;
  }
  return out;
}

bool has_flag(const std::vector<std::string>& args, std::string_view flag) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == flag || (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=');
  });
}

// The last `max_lines` lines of `text`.
std::string last_lines(std::string_view text, std::size_t max_lines) {
  if (max_lines == 0) {
    return {};
  }
  // Walk back over `max_lines` line ends, not counting the one that ends the text.
  std::size_t begin = text.ends_with('\n') ? text.size() - 1 : text.size();
  std::size_t lines = 0;
  while (begin > 0) {
    if (text[begin - 1] == '\n' && ++lines == max_lines) {
      break;
    }
    --begin;
  }
  return std::string(text.substr(begin));
}

std::string read_from(const fs::path& path, std::uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {};
  }
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uintmax_t file_size_or_zero(const fs::path& path) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

// ---- Networking ----------------------------------------------------------------

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool poll_until(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) {
      return true;
    }
    if (r < 0 && errno != EINTR) {
      return false;
    }
  }
}

// A minimal HTTP/1.0 GET to 127.0.0.1:port: the whole response (the server
// closes the connection after it), or nullopt on any error or at the timeout.
// A paused server still accepts (the kernel completes the handshake), hence
// the deadline on every step.
std::optional<std::string> http_get(std::uint16_t port, std::string_view path,
                                    milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!sock.valid()) {
    return std::nullopt;
  }
  const sockaddr_in addr = loopback(port);
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS || !poll_until(sock.get(), POLLOUT, deadline)) {
      return std::nullopt;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      return std::nullopt;
    }
  }
  const std::string request = "GET " + std::string(path) +
                              " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!poll_until(sock.get(), POLLOUT, deadline)) {
        return std::nullopt;
      }
    } else if (n < 0 && errno != EINTR) {
      return std::nullopt;
    }
  }
  std::string response;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
    if (n > 0) {
      response.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      return response;
    } else if (errno == EAGAIN) {
      if (!poll_until(sock.get(), POLLIN, deadline)) {
        return std::nullopt;
      }
    } else if (errno != EINTR) {
      return std::nullopt;
    }
  }
}

bool healthy(std::uint16_t port) {
  const std::optional<std::string> response = http_get(port, "/health", kProbeTimeout);
  return response && response->starts_with("HTTP/1.") &&
         response->find("\"health\":\"true\"") != std::string::npos;
}

// ---- etcdctl output ------------------------------------------------------------

// The first integer after `"name":` in a JSON text (etcdctl's -w json output
// is flat enough for this).
std::optional<std::int64_t> json_int(std::string_view json, std::string_view name) {
  const std::string needle = "\"" + std::string(name) + "\":";
  const std::size_t at = json.find(needle);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t pos = at + needle.size();
  std::int64_t value = 0;
  bool digits = false;
  while (pos < json.size() && json[pos] >= '0' && json[pos] <= '9') {
    value = value * 10 + (json[pos] - '0');
    digits = true;
    ++pos;
  }
  return digits ? std::optional<std::int64_t>(value) : std::nullopt;
}

// Go's duration syntax, in whole milliseconds.
std::string go_duration(milliseconds d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

// ---- EtcdServer ----------------------------------------------------------------

std::optional<fs::path> EtcdServer::etcd_binary() { return find_binary("LIVECONF_ETCD", "etcd"); }

std::optional<fs::path> EtcdServer::etcdctl_binary() {
  return find_binary("LIVECONF_ETCDCTL", "etcdctl");
}

std::optional<std::string> EtcdServer::missing_binaries() {
  std::string missing;
  for (const auto& [env_name, name, found] :
       {std::tuple{"LIVECONF_ETCD", "etcd", etcd_binary().has_value()},
        std::tuple{"LIVECONF_ETCDCTL", "etcdctl", etcdctl_binary().has_value()}}) {
    if (found) {
      continue;
    }
    const std::optional<std::string> set = get_env(env_name);
    missing += (set && !set->empty())
                   ? std::string("$") + env_name + "=" + *set + " is not an executable file; "
                   : std::string("'") + name + "' is not on PATH (or set $" + env_name + "); ";
  }
  if (missing.empty()) {
    return std::nullopt;
  }
  return "this test needs a real etcd server and etcdctl (v3.4 or later): " + missing +
         "install them (Debian: apt-get install etcd-server etcd-client) or exclude the tests "
         "labelled needs-etcd (ctest -LE needs-etcd)";
}

EtcdServer::EtcdServer(fs::path dir, EtcdOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

EtcdServer::~EtcdServer() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);  // kills a stopped process too; the SIGCONT is for tidiness
  if (paused_) {
    ::kill(pid_, SIGCONT);
  }
  (void)reap_blocking(pid_);
}

std::string EtcdServer::endpoint() const {
  return client_port_ == 0 ? std::string() : "127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdServer::url() const {
  return client_port_ == 0 ? std::string() : "http://" + endpoint();
}

std::string EtcdServer::log_tail(std::size_t max_lines) const {
  // Only the end of the file: a long test may have logged a lot.
  constexpr std::uintmax_t kMaxBytes = 16 * 1024;
  const std::uintmax_t size = file_size_or_zero(log_path());
  return last_lines(read_from(log_path(), size > kMaxBytes ? size - kMaxBytes : 0), max_lines);
}

void EtcdServer::append_log_note(std::string_view note) const {
  std::ofstream log(log_path(), std::ios::binary | std::ios::app);
  log << "=== EtcdServer: " << note << " ===\n";
}

bool EtcdServer::pick_ports(std::string& error) {
  // Both sockets stay bound until both ports are known, so they differ. Closed
  // without listen(), they leave no TIME_WAIT behind; etcd binds right after.
  Fd socks[2];
  std::uint16_t ports[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    socks[i] = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr = loopback(0);
    socklen_t len = sizeof addr;
    if (!socks[i].valid() ||
        ::bind(socks[i].get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(socks[i].get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      error = errno_text("picking a free loopback port");
      return false;
    }
    ports[i] = ntohs(addr.sin_port);
  }
  client_port_ = ports[0];
  peer_port_ = ports[1];
  return true;
}

EtcdServer::Launch EtcdServer::launch(const fs::path& etcd, Clock::time_point deadline,
                                      std::string& error) {
  const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  const std::pair<const char*, std::string> flags[] = {
      {"--name", "liveconf-test"},
      {"--data-dir", data_dir().string()},
      {"--listen-client-urls", client},
      {"--advertise-client-urls", client},
      {"--listen-peer-urls", peer},
      {"--initial-advertise-peer-urls", peer},
      {"--initial-cluster", "liveconf-test=" + peer},
      {"--log-level", "warn"},
      {"--logger", "zap"},
      {"--log-outputs", "stderr"},
      // A single member never needs its peers, but a restarted one still waits
      // out an election timeout (1-2 s at the default 1000 ms) before it leads
      // and reports healthy; at 100 ms a restart takes about 150 ms.
      {"--heartbeat-interval", "10"},
      {"--election-timeout", "100"},
  };
  ChildSpec spec;
  spec.argv = {etcd.string()};
  for (const auto& [flag, value] : flags) {
    spec.argv.emplace_back(flag);
    spec.argv.push_back(value);
  }
  spec.argv.insert(spec.argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  // An explicit environment: etcd reads every ETCD_* variable as a flag, and
  // the developer's own must not reach the test server.
  if (const std::optional<std::string> path = get_env("PATH")) {
    spec.env.push_back("PATH=" + *path);
  }

  ++starts_;
  append_log_note("start #" + std::to_string(starts_) + ": " + join(spec.argv));
  launch_log_offset_ = file_size_or_zero(log_path());
  Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd log(::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!null_in.valid() || !log.valid()) {
    error = errno_text("open /dev/null or " + log_path().string());
    return Launch::kSpawnFailed;
  }
  spec.stdin_fd = null_in.get();
  spec.stdout_fd = log.get();
  spec.stderr_fd = log.get();
  pid_ = spawn_child(spec, error);
  if (pid_ < 0) {
    pid_ = -1;
    return Launch::kSpawnFailed;
  }
  paused_ = false;

  for (;;) {
    if (const std::optional<int> code = wait_pid(pid_, Clock::now())) {
      last_exit_code_ = *code;
      pid_ = -1;
      error = "etcd exited with status " + std::to_string(*code) + " before it was healthy";
      return Launch::kExited;
    }
    if (healthy(client_port_)) {
      return Launch::kHealthy;
    }
    if (Clock::now() >= deadline) {
      error = "etcd was not healthy (GET " + url() + "/health) within " +
              std::to_string(options_.start_timeout.count()) + " ms";
      stop(SIGKILL);
      return Launch::kTimedOut;
    }
    std::this_thread::sleep_for(kProbeInterval);
  }
}

::testing::AssertionResult EtcdServer::start() {
  if (running()) {
    return ::testing::AssertionFailure() << "etcd is already running (pid " << pid_ << ")";
  }
  const std::optional<fs::path> etcd = etcd_binary();
  if (!etcd) {
    return ::testing::AssertionFailure() << *missing_binaries();
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    return ::testing::AssertionFailure() << "cannot create " << dir_ << ": " << ec.message();
  }

  const Clock::time_point begin = Clock::now();
  const Clock::time_point deadline = begin + options_.start_timeout;
  const bool reuse_ports = client_port_ != 0;
  std::string error;
  for (int attempt = 1;; ++attempt) {
    if (!reuse_ports && !pick_ports(error)) {
      return ::testing::AssertionFailure() << error;
    }
    const Launch outcome = launch(*etcd, deadline, error);
    if (outcome == Launch::kHealthy) {
      return ::testing::AssertionSuccess();
    }
    const bool bind_failed =
        outcome == Launch::kExited &&
        read_from(log_path(), launch_log_offset_).find("address already in use") !=
            std::string::npos;
    if (bind_failed && !reuse_ports && attempt < kPortAttempts) {
      continue;  // someone took a port between our probe and etcd's bind: new ports
    }
    if (bind_failed && reuse_ports && Clock::now() - begin < kRebindTimeout) {
      std::this_thread::sleep_for(kRebindPause);  // the old owner's socket is not gone yet
      continue;
    }
    return ::testing::AssertionFailure()
           << error << " (attempt " << attempt << "); the end of " << log_path() << ":\n"
           << log_tail();
  }
}

::testing::AssertionResult EtcdServer::restart() {
  stop(SIGTERM);
  return start();
}

int EtcdServer::stop(int signal) {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, signal);
  if (paused_) {
    ::kill(pid_, SIGCONT);  // a stopped process acts on nothing but SIGKILL until continued
    paused_ = false;
  }
  std::optional<int> code = wait_pid(pid_, Clock::now() + kStopTimeout);
  if (!code) {
    append_log_note("no exit " + std::to_string(kStopTimeout.count()) + " ms after signal " +
                    std::to_string(signal) + "; sending SIGKILL");
    ::kill(pid_, SIGKILL);
    code = reap_blocking(pid_);
  }
  pid_ = -1;
  last_exit_code_ = *code;
  return *code;
}

bool EtcdServer::running() {
  if (pid_ <= 0) {
    return false;
  }
  if (const std::optional<int> code = wait_pid(pid_, Clock::now())) {
    last_exit_code_ = *code;
    pid_ = -1;
    paused_ = false;
    return false;
  }
  return true;
}

bool EtcdServer::pause() {
  if (!running()) {
    ADD_FAILURE() << "EtcdServer::pause(): etcd is not running";
    return false;
  }
  ::kill(pid_, SIGSTOP);
  // Wait for the kernel's report, so the next request surely meets a stopped server.
  const Clock::time_point deadline = Clock::now() + kStopTimeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG | WUNTRACED);
    if (r == pid_ && WIFSTOPPED(status)) {
      paused_ = true;
      return true;
    }
    if (r == pid_) {
      last_exit_code_ = exit_code_of(status);
      pid_ = -1;
      ADD_FAILURE() << "EtcdServer::pause(): etcd exited; the end of its log:\n" << log_tail();
      return false;
    }
    if ((r < 0 && errno != EINTR) || Clock::now() >= deadline) {
      ADD_FAILURE() << "EtcdServer::pause(): etcd did not stop";
      return false;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
}

bool EtcdServer::resume() {
  if (!running()) {
    ADD_FAILURE() << "EtcdServer::resume(): etcd is not running";
    return false;
  }
  if (!paused_) {
    return true;
  }
  ::kill(pid_, SIGCONT);
  paused_ = false;
  const Clock::time_point deadline = Clock::now() + kStopTimeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG | WCONTINUED);
    if (r == pid_ && WIFCONTINUED(status)) {
      return true;
    }
    if (r == pid_) {
      last_exit_code_ = exit_code_of(status);
      pid_ = -1;
      ADD_FAILURE() << "EtcdServer::resume(): etcd exited; the end of its log:\n" << log_tail();
      return false;
    }
    if ((r < 0 && errno != EINTR) || Clock::now() >= deadline) {
      ADD_FAILURE() << "EtcdServer::resume(): etcd did not continue";
      return false;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
}

// ---- etcdctl -------------------------------------------------------------------

CtlResult EtcdServer::ctl(const std::vector<std::string>& args, std::string_view stdin_text,
                          milliseconds timeout) const {
  CtlResult result;
  const std::optional<fs::path> etcdctl = etcdctl_binary();
  if (!etcdctl) {
    result.err = *missing_binaries();
    return result;
  }
  std::vector<std::string> all_args = ctl_args_;
  all_args.insert(all_args.end(), args.begin(), args.end());
  if (client_port_ == 0 && !has_flag(all_args, "--endpoints")) {
    result.err = "EtcdServer::ctl(): etcd was never started, so it has no endpoint";
    return result;
  }
  // etcdctl's own deadline comes first, so a slow server yields its error
  // message rather than our kill; the dial timeout must fit in it as well.
  const milliseconds command_timeout =
      std::max(timeout - std::min(milliseconds(1000), timeout / 4), milliseconds(1));
  ChildSpec spec;
  spec.argv = {etcdctl->string()};
  if (!has_flag(all_args, "--endpoints")) {
    spec.argv.push_back("--endpoints=" + url());
  }
  if (!has_flag(all_args, "--command-timeout")) {
    spec.argv.push_back("--command-timeout=" + go_duration(command_timeout));
  }
  if (!has_flag(all_args, "--dial-timeout")) {
    spec.argv.push_back("--dial-timeout=" +
                        go_duration(std::min(command_timeout, milliseconds(2000))));
  }
  spec.argv.insert(spec.argv.end(), all_args.begin(), all_args.end());
  // Explicit: no ETCDCTL_ENDPOINTS, ETCDCTL_USER, ... from the developer's shell.
  spec.env = {"ETCDCTL_API=3"};
  if (const std::optional<std::string> path = get_env("PATH")) {
    spec.env.push_back("PATH=" + *path);
  }

  // stdin is a memfd holding the whole text: no writer to keep alive, no
  // SIGPIPE if etcdctl exits without reading it.
  Fd in(::memfd_create("etcdctl-stdin", MFD_CLOEXEC));
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (!in.valid() || ::pipe2(out, O_CLOEXEC) != 0) {
    result.err = errno_text("memfd_create or pipe2");
    return result;
  }
  Fd out_r(out[0]);
  Fd out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) {
    result.err = errno_text("pipe2");
    return result;
  }
  Fd err_r(err[0]);
  Fd err_w(err[1]);
  for (std::size_t done = 0; done < stdin_text.size();) {
    const ssize_t n = ::write(in.get(), stdin_text.data() + done, stdin_text.size() - done);
    if (n < 0 && errno != EINTR) {
      result.err = errno_text("write memfd");
      return result;
    }
    done += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  ::lseek(in.get(), 0, SEEK_SET);
  spec.stdin_fd = in.get();
  spec.stdout_fd = out_w.get();
  spec.stderr_fd = err_w.get();

  const Clock::time_point deadline = Clock::now() + timeout;
  std::string spawn_error;
  const pid_t pid = spawn_child(spec, spawn_error);
  out_w.reset();
  err_w.reset();
  if (pid < 0) {
    result.err = spawn_error;
    return result;
  }

  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                     {err_open ? err_r.get() : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      result.timed_out = true;  // cannot watch it any more: treat as hung
      break;
    }
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  std::optional<int> code;
  if (!result.timed_out) {
    code = wait_pid(pid, deadline);  // its pipes closed; the exit follows at once
    result.timed_out = !code.has_value();
  }
  if (result.timed_out) {
    ::kill(pid, SIGKILL);
    (void)reap_blocking(pid);
    result.err +=
        "\n[EtcdServer::ctl: etcdctl killed after " + std::to_string(timeout.count()) + " ms]";
    return result;
  }
  result.exit_code = *code;
  return result;
}

std::optional<std::string> EtcdServer::check_ctl(const std::vector<std::string>& args,
                                                 const std::source_location& where) const {
  const CtlResult r = ctl(args);
  if (r.ok()) {
    return r.out;
  }
  ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
      << "etcdctl " << join(args) << " against " << url() << " failed (exit " << r.exit_code
      << (r.timed_out ? ", timed out" : "") << "):\n"
      << r.err;
  return std::nullopt;
}

bool EtcdServer::put(std::string_view key, std::string_view value,
                     std::source_location where) const {
  // "--" so a key or value starting with '-' is not read as a flag.
  return check_ctl({"put", "--", std::string(key), std::string(value)}, where).has_value();
}

std::optional<std::string> EtcdServer::get(std::string_view key, std::source_location where) const {
  // --print-value-only prints nothing for a missing key and "VALUE\n" otherwise
  // (raw bytes, so any value round-trips).
  std::optional<std::string> out =
      check_ctl({"get", "--print-value-only", "--", std::string(key)}, where);
  if (!out || out->empty()) {
    return std::nullopt;
  }
  out->pop_back();
  return out;
}

bool EtcdServer::del(std::string_view key, bool prefix, std::source_location where) const {
  std::vector<std::string> args = {"del"};
  if (prefix) {
    args.emplace_back("--prefix");
  }
  args.emplace_back("--");
  args.emplace_back(key);
  return check_ctl(args, where).has_value();
}

std::optional<std::int64_t> EtcdServer::revision(std::source_location where) const {
  const std::optional<std::string> out = check_ctl({"endpoint", "status", "-w", "json"}, where);
  if (!out) {
    return std::nullopt;
  }
  // [{"Endpoint":"...","Status":{"header":{...,"revision":N,...},...}}]
  const std::size_t header = out->find("\"header\":");
  std::optional<std::int64_t> rev =
      header == std::string::npos ? std::nullopt : json_int(out->substr(header), "revision");
  if (!rev) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "no header.revision in etcdctl endpoint status -w json:\n"
        << *out;
  }
  return rev;
}

bool EtcdServer::compact(std::int64_t revision, std::source_location where) const {
  return check_ctl({"compaction", std::to_string(revision)}, where).has_value();
}

}  // namespace liveconf::testing
