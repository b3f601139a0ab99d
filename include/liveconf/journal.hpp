// File: liveconf/journal.hpp
//
// A Journal remembers every generation a process published: when, from which
// sources (each layer's name, priority and version), what changed (masked),
// and each layer's content, so that any generation still in the journal can
// be restored exactly (Journal::restore) and shown (`liveconf history`).
//
//   liveconf::JournalOptions jo;
//   jo.dir = "/var/lib/app/journal";
//   jo.key_file = "/etc/app/journal.key";   // 32 random bytes; optional
//   auto journal = liveconf::Journal::open(jo).value();
//   liveconf::ManagerOptions mo;
//   mo.on_publish = journal->publish_hook();  // one record per publish
//   liveconf::ConfigManager manager(mo);
//   liveconf::RegisterOptions ro;
//   ro.first_generation = journal->next_generation("app");  // continue the numbering
//
// Secrets: a value at a sensitive path is sealed with the key (libsodium's
// XSalsa20-Poly1305 secretbox, a fresh random nonce per value) or, without a
// key, left out; a generation whose secrets were left out cannot be
// restored, only shown (masked). Changes are recorded masked, as subscribers
// and logs see them. Nothing secret reaches the disk in plaintext.
//
// On disk: segment files of length+checksum framed records (docs/operations.md,
// "History"). A record is written with one write(2) and, by default, made
// durable with fdatasync(2) before the publish returns to the update thread.
// A torn tail (a crash mid-write) is cut when the journal is opened for
// writing; a reader skips it. Oldest segments are deleted once the journal is
// over `max_bytes`.
//
// Thread-safety: every method may be called from any thread (one mutex). One
// process writes a directory at a time (an flock on DIR/LOCK); any number may
// read it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/diff.hpp"
#include "liveconf/export.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/snapshot.hpp"
#include "liveconf/status.hpp"
#include "liveconf/store.hpp"

namespace liveconf {

/// When a record is made durable.
enum class JournalSync : std::uint8_t {
  kEveryRecord,  // fdatasync after each record: it survives a power loss
  kNone,         // the kernel writes it back when it likes: it survives a
                 // process crash (kill -9), not a power loss
};

struct JournalOptions {
  /// The journal's directory; created (0700) if missing.
  std::filesystem::path dir;
  /// A file holding the 32-byte key that seals secret values (raw, or 64 hex
  /// digits); it must not be readable by group or others. Empty: secret
  /// values are left out of the journal.
  std::filesystem::path key_file;
  /// The journal's size cap: oldest segments go first once it is exceeded.
  std::uint64_t max_bytes = 64ull << 20;
  /// A segment is closed and a new one started past this size (at most
  /// max_bytes / 4, so rotation frees space in steps).
  std::uint64_t segment_bytes = 4ull << 20;
  JournalSync sync = JournalSync::kEveryRecord;
  /// Open to read only: no lock, no directory created, a torn tail skipped
  /// rather than cut, record() refused. What `liveconf history` does.
  bool read_only = false;
  /// Receives errors (a write that failed) and notices (a torn tail cut).
  /// Default: stderr as "liveconf: journal: <message>".
  std::function<void(LogLevel, std::string_view)> log;
};

/// What the journal says about one published generation.
struct JournalRecord {
  std::uint64_t sequence = 0;  // position in the journal, grows by one per record
  std::chrono::system_clock::time_point time;
  std::string config;
  std::uint64_t generation = 0;
  std::vector<LayerVersion> layers;  // lowest priority first
  std::vector<Change> changes;       // from the config's previous record; secrets masked
  bool secrets_restorable = true;    // false: secret values were left out (no key)
  std::optional<PinInfo> pin;        // set when the generation was published by a pin
  std::optional<RevertInfo> revert;  // set when it was published by a health revert
};

/// A generation rebuilt from the journal.
struct RestoredGeneration {
  JournalRecord record;
  std::vector<Layer> layers;  // exactly as published (origins included)
  MergePolicies policies;
  SensitivePaths sensitive;
  /// The layers merged with `policies`: the generation's tree.
  [[nodiscard]] LIVECONF_API Value tree() const;
};

struct JournalStats {
  std::uint64_t records = 0;  // records in the journal now
  std::uint64_t bytes = 0;    // size of every segment
  std::uint64_t segments = 0;
  std::uint64_t written = 0;     // records written by this process
  std::uint64_t failures = 0;    // records this process failed to write
  std::uint64_t torn_bytes = 0;  // cut (or skipped, read-only) when opened
};

class LIVECONF_API Journal {
 public:
  /// Opens (creating if needed) the journal in options.dir. Errors: kIo
  /// (permissions, a directory another process is writing), kValidation (a
  /// bad key file).
  [[nodiscard]] static Result<std::unique_ptr<Journal>> open(JournalOptions options);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// For ManagerOptions::on_publish: records every publish. The journal must
  /// outlive the manager (or at least its last publish).
  [[nodiscard]] std::function<void(const SnapshotPtr&, const SnapshotPtr&)> publish_hook();
  /// Appends the record of `current` (`old`: the snapshot it replaced, or
  /// null). A failure is logged, counted and returned; it never touches what
  /// is served.
  Status record(const SnapshotPtr& old, const SnapshotPtr& current);

  /// The newest records first, of `config` (all if empty), at most `limit`
  /// (0: all).
  [[nodiscard]] std::vector<JournalRecord> records(std::string_view config = {},
                                                   std::size_t limit = 0) const;
  /// One past the highest generation of `config` in the journal (1 if none):
  /// RegisterOptions::first_generation for a process that continues it.
  [[nodiscard]] std::uint64_t next_generation(std::string_view config) const;
  /// The newest record of `config` with `generation`, rebuilt. With
  /// `masked`, secrets are "***" and no key is needed (for showing);
  /// without, every secret is unsealed or the call fails. Errors: kNotFound
  /// (not in the journal, or rotated out), kValidation (secrets left out or
  /// sealed with another key), kParse (a damaged record).
  [[nodiscard]] Result<RestoredGeneration> restore(std::string_view config,
                                                   std::uint64_t generation,
                                                   bool masked = false) const;
  [[nodiscard]] JournalStats stats() const;

  /// Pins `config` in `manager` to the content of `generation` (restored,
  /// secrets unsealed): ConfigManager::pin with options.pinned_generation set.
  /// The pinned publish is journaled like any other, with its pin, so a
  /// restarted process can pin again (recorded_pin). Errors: restore's, pin's.
  Status pin(ConfigManager& manager, std::string_view config, std::uint64_t generation,
             PinOptions options = {}) const;
  /// Pins the newest generation the journal holds older than the one
  /// `manager` serves (or `generation`, if not 0). The reason defaults to
  /// "rollback". kNotFound when there is none.
  Status rollback(ConfigManager& manager, std::string_view config, std::uint64_t generation = 0,
                  PinOptions options = {}) const;
  /// The pin the newest record of `config` carries, rebuilt, unless it has
  /// expired (then, or if unpinned: nullopt). A restarted process calls it
  /// before its first publish of `config` (which journals an unpinned
  /// generation) and re-applies it with repin() once the config is registered.
  [[nodiscard]] Result<std::optional<RestoredGeneration>> recorded_pin(
      std::string_view config) const;
  /// Pins `config` to `recorded` for what remains of its TTL.
  static Status repin(ConfigManager& manager, std::string_view config,
                      const RestoredGeneration& recorded);

 private:
  struct Impl;
  explicit Journal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liveconf
