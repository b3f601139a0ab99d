// Test helpers that replay how real programs save files, as the exact
// sequences of POSIX calls those programs make (observed with strace on
// Debian 12), plus helpers to run real programs and count open descriptors.
//
// Every helper throws std::runtime_error (naming the call and errno) when a
// call fails, so a broken scenario fails the test instead of passing vacuously.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace liveconf::testing {

// --- Save patterns ------------------------------------------------------------------------------

/// Atomic save (os.replace, deploy tools): write `<dir>/<temp_name>` (default
/// ".<name>.tmp<pid>"), fsync, close, rename over `target`.
void atomic_save(const std::filesystem::path& target, std::string_view content,
                 std::string_view temp_name = {});

/// In-place save (shell `>`, many editors): open(O_WRONLY|O_CREAT|O_TRUNC), write, close.
void write_in_place(const std::filesystem::path& target, std::string_view content);

/// A slow in-place writer: open(O_TRUNC), write each chunk with `gap` between
/// chunks (the sleeping is the writer's behaviour, not synchronisation), close.
void slow_write_in_place(const std::filesystem::path& target,
                         const std::vector<std::string>& chunks, std::chrono::milliseconds gap);

/// vim's default save (backupcopy=auto, writebackup), as strace shows for vim 9.0:
/// open("4913", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW) + close + unlink (a probe that
/// the directory is writable), rename(target, target~), open(target,
/// O_WRONLY|O_CREAT), write, fsync, close, restore permissions (IN_ATTRIB),
/// unlink(target~).
void vim_save(const std::filesystem::path& target, std::string_view content);
/// The same sequence with the new file written in `chunks`, `gap` apart (a
/// large file on a slow disk): the target name is missing, then incomplete.
void vim_save(const std::filesystem::path& target, const std::vector<std::string>& chunks,
              std::chrono::milliseconds gap);

/// Emacs' first save of a buffer: lock symlink ".#name", rename(target,
/// target~), open(target, O_WRONLY|O_CREAT|O_TRUNC), write, close, unlink the
/// lock, chmod.
void emacs_first_save(const std::filesystem::path& target, std::string_view content);

/// Emacs' later saves in the same session: lock, in-place O_TRUNC write,
/// close, unlock, chmod.
void emacs_later_save(const std::filesystem::path& target, std::string_view content);

/// JetBrains "safe write": write "name___jb_tmp___", rename(target,
/// "name___jb_old___"), rename(tmp, target), unlink old.
void jetbrains_safe_write(const std::filesystem::path& target, std::string_view content);

/// The save patterns above that take (target, content), by number, for
/// randomised tests: 0 atomic, 1 in place, 2 vim, 3 JetBrains, 4 emacs (a
/// later save), 5 delete + create. A missing target is created (atomically
/// for an even `pattern`, else in place): vim and emacs expect one to exist.
inline constexpr int kSavePatterns = 6;
/// Saves with pattern `pattern` (0 .. kSavePatterns-1); returns its name.
std::string save_with_pattern(const std::filesystem::path& target, std::string_view content,
                              int pattern);

/// The Kubernetes AtomicWriter (pkg/volume/util/atomic_writer.go) for a
/// ConfigMap/Secret volume `dir`:
///   1. mkdir "..YYYY_MM_DD_hh_mm_ss.NNNNNNNNN" and write every file in it;
///   2. symlink("..<new ts dir>", "..data_tmp");
///   3. rename("..data_tmp", "..data");
///   4. for each key, symlink("..data/<key>", "<key>") unless it exists;
///   5. remove keys that disappeared; remove the old timestamped directory.
/// No event ever names a key's user-visible path after the first write.
class KubernetesAtomicWriter {
 public:
  explicit KubernetesAtomicWriter(std::filesystem::path volume_dir);
  /// Publishes `payload` (key -> content) with the sequence above.
  void write(const std::map<std::string, std::string>& payload);
  /// The timestamped directory ..data points to now.
  [[nodiscard]] std::filesystem::path current_data_dir() const;

 private:
  std::filesystem::path dir_;
  int counter_ = 0;
};

// --- Programs and descriptors -------------------------------------------------------------------

/// True when `program` is an executable found on $PATH.
[[nodiscard]] bool program_available(std::string_view program);

/// A child process started with posix_spawnp; stdin from /dev/null, stdout and
/// stderr to `output` (or /dev/null). The destructor kills it if still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {},
               const std::filesystem::path& output = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Waits for the exit; returns the exit status, 128+signal when killed by a
  /// signal, or nullopt when `timeout` passed (the child is then killed).
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
};

/// Runs a program to completion (see ChildProcess); returns its exit status,
/// or -1 on timeout.
int run_program(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {},
                const std::filesystem::path& output = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Entries of /proc/self/fd.
[[nodiscard]] std::size_t count_open_fds();
/// Entries of /proc/self/fd that are inotify instances ("anon_inode:inotify").
[[nodiscard]] std::size_t count_inotify_fds();
/// Kernel inotify watches held by this process: the "inotify wd:" lines of
/// /proc/self/fdinfo/N for every inotify descriptor. Unlike a backend's own
/// count, this sees watches the backend forgot without inotify_rm_watch.
[[nodiscard]] std::size_t count_kernel_inotify_watches();

}  // namespace liveconf::testing
