// The admin endpoint under load (issue 13): CLIENTS threads poll /metrics and
// /status as fast as they can (libcurl, keep-alive) while CHANGES file saves
// are applied one after the other, each waited for until it is published.
// Reports: changes published, requests served and failed, the read path
// (Reader<T>::get()) before and during the load in the same run, and the
// serving process's RSS and fds before, during and after.
//
// The clients run in a child process (this binary again, `--clients`), so the
// RSS and fds measured are the server's alone: 200 client threads with their
// own malloc arenas would otherwise be most of what is measured.
//
//   ./build/release/bench/admin_load_bench [CLIENTS=200] [CHANGES=1000]
//
// Exits 1 if a change was not published, a request failed, or fds or the
// trimmed RSS did not come back to where they were, so it also
// works as a check (scripts/admin_load.sh runs the full size, five rounds).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <malloc.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <time.h>
#include <unistd.h>
#include <vector>

#include <curl/curl.h>

#include "liveconf/admin.hpp"
#include "liveconf/liveconf.hpp"

namespace {

struct Cfg {
  int timeout = 30;
  bool enabled = true;
};

void liveconf_describe(liveconf::Describer<Cfg>& d) {
  d.field("timeout", &Cfg::timeout);
  d.field("enabled", &Cfg::enabled);
}

std::size_t open_fds() {
  const auto fds = std::filesystem::directory_iterator("/proc/self/fd");
  return static_cast<std::size_t>(std::distance(begin(fds), end(fds))) - 1;  // less its own
}

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0;
  long resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}

double thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// ns per Reader::get() over `ms` milliseconds, median of 5 slices.
double read_ns(liveconf::Reader<Cfg>& reader, int ms) {
  std::vector<double> slices;
  for (int s = 0; s < 5; ++s) {
    // This thread's CPU time, not wall time: with hundreds of client threads
    // on two cores the reader is descheduled often, and that is not the cost
    // of a read.
    std::uint64_t n = 0;
    long sum = 0;
    const double start = thread_cpu_ns();
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms / 5);
    while (std::chrono::steady_clock::now() < end) {
      for (int i = 0; i < 1000; ++i) {
        sum += reader.get().timeout;
      }
      n += 1000;
    }
    const double took = thread_cpu_ns() - start;
    volatile long sink = sum;  // the reads are not optimised away
    (void)sink;
    slices.push_back(took / static_cast<double>(n));
  }
  std::sort(slices.begin(), slices.end());
  return slices[2];
}

std::size_t write_body(char*, std::size_t size, std::size_t n, void*) { return size * n; }

// The client process: `clients` threads poll until stdin closes, then it
// prints "SERVED FAILED SECONDS" on stdout (after "started" once its
// threads run).
int run_clients(int clients, const std::string& base) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> served{0};
  std::atomic<std::uint64_t> failed{0};
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      CURL* curl = curl_easy_init();
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &write_body);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
      const std::string urls[2] = {base + "/metrics", base + "/status"};
      for (int i = c; !stop.load(std::memory_order_relaxed); ++i) {
        curl_easy_setopt(curl, CURLOPT_URL, urls[i % 2].c_str());
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK) {
          curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        }
        (status == 200 ? served : failed).fetch_add(1, std::memory_order_relaxed);
      }
      curl_easy_cleanup(curl);
    });
  }
  std::printf("started\n");
  std::fflush(stdout);
  char byte = 0;
  while (::read(STDIN_FILENO, &byte, 1) > 0) {
  }
  stop = true;
  for (std::thread& t : threads) {
    t.join();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu %llu %f\n", static_cast<unsigned long long>(served.load()),
              static_cast<unsigned long long>(failed.load()), seconds);
  curl_global_cleanup();
  return 0;
}

// Starts the client process with a pipe to its stdin (closed to stop it) and
// one from its stdout (its counts).
struct ClientProcess {
  pid_t pid = -1;
  int stop_fd = -1;
  int result_fd = -1;
};

ClientProcess spawn_clients(int clients, const std::string& base) {
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    std::exit(2);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  const std::string count = std::to_string(clients);
  char* argv[] = {const_cast<char*>("admin_load_bench"), const_cast<char*>("--clients"),
                  const_cast<char*>(count.c_str()), const_cast<char*>(base.c_str()), nullptr};
  ClientProcess child;
  if (posix_spawn(&child.pid, "/proc/self/exe", &actions, nullptr, argv, environ) != 0) {
    std::perror("posix_spawn");
    std::exit(2);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  child.stop_fd = in[1];
  child.result_fd = out[0];
  // Wait for its threads to be running, so the changes happen under load.
  char c = 0;
  while (::read(child.result_fd, &c, 1) == 1 && c != '\n') {
  }
  return child;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--clients") {
    return run_clients(std::atoi(argv[2]), argv[3]);
  }
  const int clients = argc > 1 ? std::atoi(argv[1]) : 200;
  const int changes = argc > 2 ? std::atoi(argv[2]) : 1000;

  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("liveconf-admin-load-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / "app.json";
  std::ofstream(file) << R"({"timeout": 0})";

  liveconf::ManagerOptions mo;
  mo.log = [](liveconf::LogLevel, std::string_view) {};
  liveconf::ConfigManager manager(mo);
  liveconf::Config<Cfg> app = manager.register_config<Cfg>("app").value();
  liveconf::FileSourceOptions fo;
  fo.path = file;
  fo.debounce.quiet = std::chrono::milliseconds(1);
  if (!app.add_source(liveconf::make_file_source(fo).value()).ok()) {
    return 2;
  }
  liveconf::AdminOptions ao;
  ao.log = [](liveconf::LogLevel, std::string_view) {};
  std::unique_ptr<liveconf::AdminServer> server = liveconf::AdminServer::start(manager, ao).value();
  liveconf::Reader<Cfg> reader = app.reader();

  const std::size_t fds_before = open_fds();
  const double rss_before = rss_mib();
  const double read_before = read_ns(reader, 1000);

  const std::string base = "http://" + server->address();
  ClientProcess client = spawn_clients(clients, base);

  // The changes, each waited for; the read path measured meanwhile.
  double read_during = 0;
  liveconf::Reader<Cfg> measured = app.reader();  // a Reader is one thread's
  std::thread measure([&] { read_during = read_ns(measured, 2000); });
  int published = 0;
  double rss_during = 0;
  std::size_t fds_during = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= changes; ++i) {
    const std::filesystem::path temp = dir / ".app.json.tmp";
    std::ofstream(temp) << R"({"timeout": )" << i << "}";
    std::filesystem::rename(temp, file);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reader.get().timeout != i && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // a poll, not a wait for time
    }
    published += reader.get().timeout == i ? 1 : 0;
    if (i == changes / 2) {
      rss_during = rss_mib();
      fds_during = open_fds();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  measure.join();
  ::close(client.stop_fd);
  unsigned long long served = 0;
  unsigned long long failed = 0;
  double client_seconds = 0;
  {
    std::string text;
    char buf[256];
    ssize_t n = 0;
    while ((n = ::read(client.result_fd, buf, sizeof buf)) > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(client.result_fd);
    int wstatus = 0;
    ::waitpid(client.pid, &wstatus, 0);
    if (std::sscanf(text.c_str(), "%llu %llu %lf", &served, &failed, &client_seconds) != 3) {
      std::fprintf(stderr, "the client process reported nothing (status %d)\n", wstatus);
      return 2;
    }
  }
  // Connections the server still holds close as their clients went away.
  const auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (open_fds() > fds_before && std::chrono::steady_clock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::size_t fds_after = open_fds();
  const double rss_after = rss_mib();
  // What the allocator keeps as its high-water mark is not a leak: trimmed,
  // the heap goes back to what it was before the load if nothing is held.
  ::malloc_trim(0);
  const double rss_trimmed = rss_mib();

  std::printf("admin load: %d clients polling /metrics and /status, %d changes\n", clients,
              changes);
  std::printf("  changes published: %d of %d in %.1f s\n", published, changes, seconds);
  std::printf("  requests served: %llu (%.0f/s), failed: %llu\n", served,
              static_cast<double>(served) / client_seconds, failed);
  std::printf(
      "  read path Reader::get() (thread CPU time): %.2f ns before, %.2f ns during (ratio %.2f)\n",
      read_before, read_during, read_during / read_before);
  std::printf("  RSS MiB: %.1f before, %.1f during, %.1f after, %.1f after malloc_trim\n",
              rss_before, rss_during, rss_after, rss_trimmed);
  std::printf("  fds: %zu before, %zu during, %zu after\n", fds_before, fds_during, fds_after);
  server.reset();
  std::filesystem::remove_all(dir);
  // 2 MiB of slack: the allocator's bins and the metric families' label
  // sets (created on the first scrape) are not a leak.
  const bool rss_back = rss_trimmed <= rss_before + 2.0;
  return published == changes && failed == 0 && fds_after <= fds_before && rss_back ? 0 : 1;
}
