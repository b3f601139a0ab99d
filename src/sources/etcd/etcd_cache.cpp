#include "sources/etcd/etcd_cache.hpp"

#include <utility>

namespace liveconf::detail {

EtcdCache::EtcdCache(std::filesystem::path file, std::string identity)
    : file_(std::move(file)), identity_(std::move(identity)) {}

Result<std::unique_ptr<EtcdCache>> EtcdCache::open(const EtcdSourceOptions& options,
                                                   std::string identity) {
  if (options.cache_file.empty()) {
    return std::unique_ptr<EtcdCache>();
  }
  if (options.cache_key_file.empty()) {
    return Error(ErrorCode::kValidation,
                 "etcd source: cache_file " + options.cache_file.string() +
                     " needs cache_key_file (the cache is always encrypted)");
  }
#ifdef LIVECONF_ETCD_CACHE
  Result<LayerCache> cache = LayerCache::create(options.cache_file, options.cache_key_file);
  if (!cache) {
    return Error(cache.error().code(), "etcd source cache: " + cache.error().message());
  }
  std::unique_ptr<EtcdCache> out(new EtcdCache(options.cache_file, std::move(identity)));
  Result<std::optional<CachedLayer>> initial = cache->read(out->identity_);
  if (initial) {
    out->initial_ = std::move(*initial);
  } else {
    out->refusal_ = std::move(initial).error();
  }
  MutexLock lk(out->mu_);
  if (out->initial_) {
    out->stats_.revision = out->initial_->revision;
    out->written_version_ = out->initial_->layer.version;
  } else if (out->refusal_) {
    out->stats_.error = out->refusal_->message();
  }
  out->cache_.emplace(std::move(*cache));
  return out;
#else
  (void)identity;
  return Error(ErrorCode::kValidation,
               "etcd source: cache_file needs liveconf::journal (libsodium), and this build has "
               "none (LIVECONF_WITH_JOURNAL=OFF)");
#endif
}

EtcdCache::~EtcdCache() {
  {
    MutexLock lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
}

void EtcdCache::submit(std::shared_ptr<const Layer> layer, std::int64_t revision) {
  {
    MutexLock lk(mu_);
    if (stopping_ || layer->version == written_version_) {
      return;  // the file already holds this content (the cache served at start)
    }
    pending_ = std::move(layer);
    pending_revision_ = revision;
    if (!writer_.joinable()) {
      writer_ = std::thread([this] { run(); });
    }
  }
  cv_.notify_all();
}

EtcdCache::Stats EtcdCache::stats() const {
  MutexLock lk(mu_);
  return stats_;
}

void EtcdCache::run() {
  for (;;) {
    std::shared_ptr<const Layer> layer;
    std::int64_t revision = 0;
    {
      MutexLock lk(mu_);
      lk.wait(cv_, [this]() LIVECONF_REQUIRES(mu_) { return pending_ != nullptr || stopping_; });
      if (pending_ == nullptr) {
        return;  // stopping, and nothing left to write
      }
      layer = std::move(pending_);
      pending_ = nullptr;
      revision = pending_revision_;
    }
    Status written = ok_status();
#ifdef LIVECONF_ETCD_CACHE
    written = cache_->write(identity_, revision, *layer);
#endif
    MutexLock lk(mu_);
    if (written.ok()) {
      ++stats_.writes;
      stats_.revision = revision;
      stats_.error.clear();
      written_version_ = layer->version;
    } else {
      stats_.error = written.error().message();
    }
  }
}

}  // namespace liveconf::detail
