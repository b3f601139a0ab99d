// The etcd source's offline cache (EtcdSourceOptions::cache_file): read once
// when the source is made, written by a thread of its own after each revision
// the config takes in (Source::applied runs on the update thread, which must
// not wait for a disk). Only the newest layer waits to be written: a burst of
// revisions costs one write per finished write, not one per revision.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "liveconf/etcd.hpp"

#include "base/mutex.hpp"
#include "journal/layer_cache.hpp"

namespace liveconf::detail {

class EtcdCache {
 public:
  /// Null when `options` asks for no cache. Errors: kValidation (no key file,
  /// or a build without liveconf::journal), the key file's own errors. A cache
  /// file that cannot be trusted is not an error here: refusal() says why.
  [[nodiscard]] static Result<std::unique_ptr<EtcdCache>> open(const EtcdSourceOptions& options,
                                                               std::string identity);
  ~EtcdCache();  // writes what is pending, then joins the writer
  EtcdCache(const EtcdCache&) = delete;
  EtcdCache& operator=(const EtcdCache&) = delete;

  /// What the file held when opened; nullopt if absent or refused.
  [[nodiscard]] const std::optional<CachedLayer>& initial() const noexcept { return initial_; }
  /// Why the file found at open was not used.
  [[nodiscard]] const std::optional<Error>& refusal() const noexcept { return refusal_; }
  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

  /// Queues `layer` (the content at `revision`) to be written; a layer still
  /// waiting is replaced. Never blocks on the disk.
  void submit(std::shared_ptr<const Layer> layer, std::int64_t revision);

  struct Stats {
    std::int64_t revision = 0;  // the revision the file holds
    std::uint64_t writes = 0;
    std::string error;  // the newest write's failure, or the refusal at open
  };
  [[nodiscard]] Stats stats() const;

 private:
  EtcdCache(std::filesystem::path file, std::string identity);
  void run();

  std::filesystem::path file_;
  std::string identity_;
  std::optional<CachedLayer> initial_;
  std::optional<Error> refusal_;
#ifdef LIVECONF_ETCD_CACHE
  std::optional<LayerCache> cache_;
#endif

  mutable Mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const Layer> pending_ LIVECONF_GUARDED_BY(mu_);
  std::int64_t pending_revision_ LIVECONF_GUARDED_BY(mu_) = 0;
  std::string written_version_ LIVECONF_GUARDED_BY(mu_);  // the layer version the file holds
  bool stopping_ LIVECONF_GUARDED_BY(mu_) = false;
  Stats stats_ LIVECONF_GUARDED_BY(mu_);
  std::thread writer_;  // started by the first submit()
};

}  // namespace liveconf::detail
