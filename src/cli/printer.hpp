// What `liveconf watch` prints: human text (colour only on a terminal, never
// with NO_COLOR) or the JSON-lines contract of docs/cli.md, one object per
// line, flushed at once. Secrets arrive here already masked.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "liveconf/diff.hpp"
#include "liveconf/snapshot.hpp"
#include "liveconf/source.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

namespace liveconf::cli {

/// Whether standard output is a terminal that wants colour (no-color.org: a
/// NO_COLOR that is set and not empty disables it; so does TERM=dumb).
[[nodiscard]] bool stdout_wants_color();

/// "file:line:col: message at key, detail": the stderr form of an error.
[[nodiscard]] std::string format_error(const Error& e);

class Printer {
 public:
  Printer(bool json, bool color) : json_(json), color_(color) {}

  // `generation` counts what was printed (1 = loaded); `snapshot` is the
  // library's generation of the snapshot behind it, the one the admin
  // endpoint's /status and liveconf_config_generation report.
  void loaded(std::uint64_t generation, std::uint64_t snapshot, const Value& config,
              const std::vector<std::string>& sources);
  void changed(std::uint64_t generation, std::uint64_t snapshot, const ChangeSet& changes,
               const Value& config);
  /// A pin (rollback) published `snapshot`: it serves the content of
  /// pin.pinned_generation; `changes` from what was printed before.
  void pinned(std::uint64_t generation, std::uint64_t snapshot, const PinInfo& pin,
              const ChangeSet& changes, const Value& config);
  /// The pin ended (unpin, or its TTL): the sources are served again.
  /// A health revert (Snapshot::revert): `changes` from what was printed before.
  void reverted(std::uint64_t generation, std::uint64_t snapshot, const RevertInfo& revert,
                const ChangeSet& changes, const Value& config);
  /// A generation (the library's) passed its health bake.
  void healthy(std::uint64_t snapshot);
  void unpinned(std::uint64_t generation, std::uint64_t snapshot, const ChangeSet& changes,
                const Value& config);
  /// A refused reload; `generation` and `snapshot` are the ones still served.
  void error(std::string_view source, const Error& error, std::uint64_t generation,
             std::uint64_t snapshot);
  /// `why`: the reason, for a source that starts out not ok (an etcd source
  /// serving its offline cache, an optional file that is missing).
  void source_state(std::string_view source, SourceState state,
                    const std::optional<Error>& why = std::nullopt);
  /// A warning (unknown keys): stderr in both formats.
  void warning(std::string_view message);
  [[nodiscard]] bool json() const noexcept { return json_; }

 private:
  [[nodiscard]] std::string paint(std::string_view text, const char* code) const;
  void write_line(const std::string& line);

  std::mutex mu_;
  bool json_;
  bool color_;
};

/// `text` in the ANSI colour `code` ("1;32") when `color`.
[[nodiscard]] std::string paint(std::string_view text, const char* code, bool color);
/// The changes as the JSON-lines events give them: [{"path", "old", "new",
/// "old_source", "new_source"}] (old/new absent when the key appeared/went).
[[nodiscard]] std::string changes_json(std::span<const Change> changes);
/// "2026-12-05T23:14:03.123Z".
/// {"from":..,"to":..,"reason":..,"quarantined":[..]} (history and the event stream).
[[nodiscard]] std::string revert_json(const RevertInfo& r);
/// "reverted from generation F to the content of T (reason); quarantined: ..."
[[nodiscard]] std::string revert_text(const RevertInfo& r);
[[nodiscard]] std::string iso_time(std::chrono::system_clock::time_point t);
/// One change for a person: "~ timeout: 30 -> 60  (app.json:2:14)".
[[nodiscard]] std::string change_line(const Change& c, bool color);
/// Value as compact JSON text.
[[nodiscard]] std::string json_text(const Value& v);
/// A scalar as plain text (strings unquoted), containers as JSON.
[[nodiscard]] std::string plain_text(const Value& v);

}  // namespace liveconf::cli
