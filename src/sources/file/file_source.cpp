// File sources: one file, or a conf.d directory whose files merge in lexical
// order. load() reads whole files through one open descriptor (so a rename
// mid-read cannot mix two versions), hashes the bytes (XXH3: the layer
// version, and the reason an identical re-save publishes nothing), and parses
// only bytes it has not parsed before. In a directory, a file whose stat
// stamp (device, inode, size, mtime, ctime) is what it was when read, and
// whose ctime was then well in the past, is not read again; and when the
// watcher named the entries that changed since the last load (inotify does,
// for plain files of the directory), the directory is not even listed: only
// those entries are looked at again.
#include "sources/file/file_source.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <xxhash.h>

#include "base/mutex.hpp"
#include "sources/env/env_names.hpp"
#include "sources/file/read_file.hpp"
#include "watch/inotify/inotify_watcher.hpp"
#include "watch/poll/poll_watcher.hpp"
#include "watch/watcher_factory.hpp"

namespace liveconf {
namespace {
namespace fs = std::filesystem;
using detail::FileRead;
using detail::io_error;
using detail::Mutex;
using detail::MutexLock;
using detail::read_file;

// DB__PASSWORD=x -> db.password (FileSourceOptions::env_style_keys).
Value env_style(const Value& tree) {
  Value out = Value::object();
  out.set_origin(tree.origin());
  for (const auto& [key, value] : tree.as_object()) {
    out.set(detail::env_name_to_path(key), value);
  }
  return out;
}

class FileSource final : public Source {
 public:
  FileSource(FileSourceOptions options, detail::FileSourceHooks hooks)
      : options_(std::move(options)),
        hooks_(std::move(hooks)),
        name_(options_.name.empty() ? "file:" + options_.path.string() : options_.name) {}

  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] Debounce debounce() const noexcept override { return options_.debounce; }

  [[nodiscard]] Result<SourceLoad> load() override {
    // A source is a file or a directory for good: whichever it was when first
    // found. A file later replaced by a directory (or the reverse) is an
    // error that keeps the last good layers, not a different kind of source
    // whose (empty) directory would silently drop the file's keys.
    struct stat st {};
    if (::stat(options_.path.c_str(), &st) == 0) {
      const bool is_dir = S_ISDIR(st.st_mode);
      if (!kind_) {
        kind_ = is_dir ? Kind::kDirectory : Kind::kFile;
      }
      if (is_dir && *kind_ == Kind::kFile) {
        return io_error(options_.path, name_, 0, "is a directory, expected a file");
      }
      if (!is_dir && *kind_ == Kind::kDirectory) {
        return io_error(options_.path, name_, 0,
                        "is no longer a directory (this source reads a conf.d directory)");
      }
    }
    if (kind_ == Kind::kDirectory) {
      return load_directory();
    }
    Result<Layer> layer = load_file(options_.path, name_);
    if (!layer) {
      if (layer.error().code() == ErrorCode::kNotFound && options_.optional) {
        return SourceLoad{{}, SourceState::kMissing, std::nullopt};
      }
      return std::move(layer).error();
    }
    SourceLoad out;
    out.layers.push_back(std::move(*layer));
    return out;
  }

  void rescan() override { pending_->add(ChangedEntries::everything()); }

  [[nodiscard]] bool busy() const override {
    return watcher_ != nullptr && watcher_->busy(watched_path());
  }

  [[nodiscard]] Result<WatchHandle> watch(std::function<void()> changed) override {
    if (options_.watch == WatchMode::kNone) {
      return WatchHandle();
    }
    const fs::path path = watched_path();
    watcher_ = detail::make_watcher_with_syscalls(path, options_.watch, options_.watcher,
                                                  hooks_.inotify_syscalls.get());
    Result<WatchHandle> handle =
        watcher_->watch_entries(path, [pending = pending_, changed](const ChangedEntries& entries) {
          pending->add(entries);
          changed();
        });
    if (handle || options_.watch == WatchMode::kPoll) {
      return handle;
    }
    // inotify could not arm (ENOSPC: the watch limit): poll instead, and say so.
    watcher_ = detail::poll_instead(options_.watcher, path, handle.error().message());
    return watcher_->watch(path, std::move(changed));
  }

 private:
  [[nodiscard]] fs::path watched_path() const {
    return options_.path.is_absolute() ? options_.path : fs::absolute(options_.path);
  }

  Result<SourceLoad> load_directory() {
    const ChangedEntries changed = pending_->take();
    const std::string prefix = (options_.path / "").string();
    if (!changed.all && listed_) {
      Result<SourceLoad> out = load_entries(prefix, changed.names);
      if (!out) {
        listed_.reset();  // whatever was half-done, the next load lists it all
      }
      return out;
    }
    Result<SourceLoad> out = list_directory(prefix);
    if (!out) {
      listed_.reset();
    }
    return out;
  }

  // Whether a directory entry's name is one the source reads.
  [[nodiscard]] bool readable_name(std::string_view fname) const {
    // Not hidden files, editors' swap files, Kubernetes' ..data; not backups
    // (app.yaml~), notes or anything without a known format.
    return !fname.empty() && fname.front() != '.' &&
           (!options_.format.empty() || format_for_path(fname) != nullptr);
  }

  // The last loaded listing with the named entries looked at again: each is
  // added, read again or dropped as it now is. The others keep their cached
  // layers (an event would have named them had they changed), but for a
  // file with other names (a hard link, writable from elsewhere without an
  // event here), whose stamp is checked.
  Result<SourceLoad> load_entries(const std::string& prefix,
                                  const std::vector<std::string>& names) {
    // Out of listed_ while it is edited: a load that fails or throws half-way
    // leaves none, and the next one lists the directory.
    std::vector<std::string> listing = std::move(*listed_);
    listed_.reset();
    std::string full = prefix;
    for (const std::string& name : names) {
      full.resize(prefix.size());
      full += name;
      struct stat st {};
      const bool present =
          readable_name(name) && ::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode);
      auto at = std::lower_bound(listing.begin(), listing.end(), name);
      const bool listed = at != listing.end() && *at == name;
      if (present && !listed) {
        listing.insert(at, name);
      } else if (!present && listed) {
        listing.erase(at);
        cache_.erase(full);  // its parsed tree is not kept once it is gone
      }
    }
    // The file at `path` is still the one `cached` was read from, settled then.
    auto unchanged = [](const std::string& path, const auto& cached) {
      struct stat st {};
      return cached.settled && ::stat(path.c_str(), &st) == 0 &&
             detail::FileStamp::of(st) == cached.stamp;
    };
    SourceLoad out;
    out.layers.reserve(listing.size());
    for (auto name = listing.begin(); name != listing.end();) {
      full.resize(prefix.size());
      full += *name;
      if (!std::binary_search(names.begin(), names.end(), *name)) {
        auto it = cache_.find(full);
        if (it == cache_.end()) {
          return list_directory(prefix);  // not read before: cannot happen, but list to be sure
        }
        if (it->second.stamp.links <= 1 || unchanged(full, it->second)) {
          out.layers.push_back(it->second.layer);
          ++name;
          continue;
        }
      }
      Result<Layer> layer = load_file(full, "file:" + full);
      if (!layer) {
        if (layer.error().code() == ErrorCode::kNotFound) {
          cache_.erase(full);
          name = listing.erase(name);  // removed since: its event is on its way
          continue;
        }
        return std::move(layer).error();
      }
      out.layers.push_back(std::move(*layer));
      ++name;
    }
    listed_ = std::move(listing);
    return out;
  }

  Result<SourceLoad> list_directory(const std::string& prefix) {
    if (!directory_settled_after_) {
      // Once per directory rather than once per file read.
      struct statfs fs {};
      if (::statfs(options_.path.c_str(), &fs) == 0) {
        directory_settled_after_ =
            detail::settled_after_for_filesystem(static_cast<std::int64_t>(fs.f_type));
      }
    }
    // readdir and fstatat on the open directory, not directory_iterator and
    // stat(path): no path object per entry, and no walk of the whole path
    // per stat (a change in a 100-file directory lists and stats them all).
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(options_.path.c_str()), &::closedir);
    if (dir == nullptr) {
      return io_error(options_.path, name_, errno, "cannot list directory");
    }
    const int dfd = ::dirfd(dir.get());
    std::string full = prefix;  // prefix + the entry's name, reused
    struct Listed {
      std::string name;
      std::optional<detail::FileStamp> stamp;  // set for a file read before
    };
    std::vector<Listed> files;
    while (true) {
      errno = 0;
      const dirent* entry = ::readdir(dir.get());
      if (entry == nullptr) {
        if (errno != 0) {
          return io_error(options_.path, name_, errno, "cannot list directory");
        }
        break;
      }
      const std::string_view fname(entry->d_name);
      if (!readable_name(fname)) {
        continue;
      }
      // A file read before needs its stamp (is it still the same?); a new
      // one is read anyway, and readdir's file type says whether it is a file
      // (a stat only for symlinks, or where the filesystem does not say).
      full.resize(prefix.size());
      full += fname;
      std::optional<detail::FileStamp> stamp;
      if (cache_.count(full) != 0 || entry->d_type == DT_LNK || entry->d_type == DT_UNKNOWN) {
        struct stat st {};
        if (::fstatat(dfd, entry->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) {
          continue;  // gone since listed, a directory, a dangling symlink
        }
        stamp = detail::FileStamp::of(st);
      } else if (entry->d_type != DT_REG) {
        continue;
      }
      files.push_back(Listed{std::string(fname), stamp});
    }
    dir.reset();
    // All names share this directory's prefix, so byte order of the names
    // is path order.
    std::sort(files.begin(), files.end(),
              [](const Listed& a, const Listed& b) { return a.name < b.name; });
    SourceLoad out;
    std::vector<std::string> loaded;
    loaded.reserve(files.size());
    for (const Listed& f : files) {
      full.resize(prefix.size());
      full += f.name;
      // One file of many changed: the others, settled and with the same
      // stamp, are not read again (see FileRead::settled).
      if (auto it = cache_.find(full);
          f.stamp && it != cache_.end() && it->second.settled && it->second.stamp == *f.stamp) {
        out.layers.push_back(it->second.layer);
        loaded.push_back(f.name);
        continue;
      }
      Result<Layer> layer = load_file(full, "file:" + full);
      if (!layer) {
        if (layer.error().code() == ErrorCode::kNotFound) {
          continue;  // removed while we listed
        }
        return std::move(layer).error();
      }
      out.layers.push_back(std::move(*layer));
      loaded.push_back(f.name);
    }
    // Forget files that are gone (or no longer files): their parsed trees
    // would otherwise stay in memory for as long as the source lives.
    if (cache_.size() > out.layers.size()) {
      std::unordered_set<std::string_view> present;
      present.reserve(out.layers.size());
      for (const Layer& l : out.layers) {
        present.insert(std::string_view(l.name).substr(5));  // after "file:"
      }
      std::erase_if(cache_, [&](const auto& kv) { return present.count(kv.first) == 0; });
    }
    listed_ = std::move(loaded);
    return out;
  }

  Result<Layer> load_file(const fs::path& path, const std::string& layer_name) {
    Result<FileRead> read =
        read_file(path, layer_name, options_.parse.max_bytes, hooks_.file_syscalls.get(),
                  hooks_.settled_after ? hooks_.settled_after : directory_settled_after_);
    if (!read) {
      return std::move(read).error();
    }
    if (auto it = cache_.find(path.string());
        it != cache_.end() && it->second.layer.version == read->version) {
      it->second.stamp = read->stamp;
      it->second.settled = read->settled;
      return it->second.layer;  // same bytes: no parse
    }
    const Format* format =
        options_.format.empty() ? format_for_path(path.string()) : find_format(options_.format);
    if (format == nullptr) {
      return io_error(
          path, layer_name, 0,
          "unknown format" + (options_.format.empty() ? std::string(" (by extension; set a format)")
                                                      : " \"" + options_.format + "\""));
    }
    ParseOptions parse = options_.parse;
    parse.origin = make_file_origin(layer_name, path.string());
    Result<Value> tree = format->parse(read->bytes, parse);
    if (!tree) {
      return std::move(tree).error();
    }
    if (!tree->is_object()) {
      return Error(ErrorCode::kParse,
                   "the top level of a config file must be a mapping/object, not " +
                       std::string(tree->type_name()),
                   tree->origin());
    }
    if (options_.env_style_keys) {
      *tree = env_style(*tree);
    }
    Layer layer{layer_name, options_.priority, std::move(*tree), std::move(read->version)};
    cache_[path.string()] = CachedFile{layer, read->stamp, read->settled};  // shares the tree
    return layer;
  }

  enum class Kind : std::uint8_t { kFile, kDirectory };

  FileSourceOptions options_;
  detail::FileSourceHooks hooks_;
  std::string name_;
  std::optional<Kind> kind_;  // set by the first load that finds the path
  std::shared_ptr<Watcher> watcher_;
  // The entries the watcher named since the last load (its callback runs on
  // the watcher's thread; load() takes them on the update thread).
  class PendingEntries {
   public:
    void add(const ChangedEntries& entries) {
      MutexLock lk(mu_);
      signalled_ = true;
      if (changed_.all || entries.all ||
          changed_.names.size() + entries.names.size() > kMaxNamedEntries) {
        changed_ = ChangedEntries::everything();
        return;
      }
      changed_.names.insert(changed_.names.end(), entries.names.begin(), entries.names.end());
    }
    // What changed since the last take(), names sorted; everything when no
    // event came (a load that no watcher asked for: the first, a retry, a
    // resync, a source that is not watched lists the directory).
    ChangedEntries take() {
      MutexLock lk(mu_);
      ChangedEntries out = signalled_ ? std::move(changed_) : ChangedEntries::everything();
      changed_ = ChangedEntries{};
      signalled_ = false;
      std::sort(out.names.begin(), out.names.end());
      out.names.erase(std::unique(out.names.begin(), out.names.end()), out.names.end());
      return out;
    }

   private:
    // Past this many entries, listing the directory costs no more.
    static constexpr std::size_t kMaxNamedEntries = 256;
    Mutex mu_;
    ChangedEntries changed_ LIVECONF_GUARDED_BY(mu_);
    bool signalled_ LIVECONF_GUARDED_BY(mu_) = false;
  };
  std::shared_ptr<PendingEntries> pending_ = std::make_shared<PendingEntries>();
  // The names (in order) of the directory's files the last load read; unset
  // before the first load and after a failed one (the next lists it all).
  std::optional<std::vector<std::string>> listed_;
  // Last parsed layer per file; load() runs on one thread (the update thread).
  struct CachedFile {
    Layer layer;
    detail::FileStamp stamp;  // when read
    bool settled = false;     // see FileRead::settled
  };
  std::unordered_map<std::string, CachedFile> cache_;  // by path
  // A directory's filesystem's settle time (files in it are assumed to live
  // on it; Kubernetes' ..data symlinks stay within the volume).
  std::optional<std::chrono::nanoseconds> directory_settled_after_;
};

}  // namespace

std::string_view source_state_name(SourceState state) noexcept {
  switch (state) {
    case SourceState::kOk:
      return "ok";
    case SourceState::kMissing:
      return "missing";
    case SourceState::kStale:
      return "stale";
    case SourceState::kError:
      return "error";
  }
  return "unknown";
}

namespace detail {

Result<std::unique_ptr<Source>> make_file_source_with_hooks(FileSourceOptions options,
                                                            FileSourceHooks hooks) {
  if (options.path.empty()) {
    return Error(ErrorCode::kValidation, "a file source needs a path");
  }
  if (!options.format.empty() && find_format(options.format) == nullptr) {
    return Error(ErrorCode::kValidation, "unknown format \"" + options.format + "\"");
  }
  return std::unique_ptr<Source>(
      std::make_unique<FileSource>(std::move(options), std::move(hooks)));
}

}  // namespace detail

Result<std::unique_ptr<Source>> make_file_source(FileSourceOptions options) {
  return detail::make_file_source_with_hooks(std::move(options), {});
}

}  // namespace liveconf
