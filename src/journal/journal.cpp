#include "liveconf/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <iostream>
#include <mutex>
#include <optional>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <xxhash.h>

#include "journal/codec.hpp"
#include "journal/secret_box.hpp"

namespace liveconf {
namespace {

using detail::ByteReader;
using detail::ByteWriter;
using detail::SecretBox;
using detail::TreeDecoder;
using detail::TreeEncoder;

// A segment starts with this; the digit is the format's version.
constexpr std::string_view kSegmentMagic = "LCJRNL01";
constexpr std::string_view kSegmentSuffix = ".lcj";
// Frame: fixed32 payload length, fixed64 XXH3 of the payload, the payload.
constexpr std::size_t kFrameHeader = 12;
// A record longer than this is damage, not data.
constexpr std::uint64_t kMaxRecord = 1ull << 30;

enum RecordKind : std::uint8_t { kPublish = 1 };
enum RecordFlags : std::uint8_t {
  kSecretsLeftOut = 1,
  kFirstOfProcess = 2,
  kPinned = 4,
  kReverted = 8
};
enum ChangeFlags : std::uint8_t { kHasOld = 1, kHasNew = 2, kSensitive = 4, kRestart = 8 };

std::string errno_text(int err) { return std::strerror(err); }

// Where a record is in its segment.
struct RecordPlace {
  std::uint64_t sequence = 0;
  std::uint64_t offset = 0;  // of the payload
  std::uint32_t length = 0;
};

struct Segment {
  std::filesystem::path path;
  std::uint64_t first_sequence = 0;
  std::uint64_t bytes = 0;
  // layer_key() -> the record in this segment holding that layer version's
  // content, so a restore reads its record and those, never the records in
  // between (a segment may hold tens of thousands).
  std::unordered_map<std::string, RecordPlace> layer_data;
};

// One record's place, and what history filters on.
struct IndexEntry {
  std::uint64_t sequence = 0;
  std::shared_ptr<const Segment> segment;
  std::uint64_t offset = 0;  // of the payload
  std::uint32_t length = 0;
  std::string config;
  std::uint64_t generation = 0;
};

// The fields at the head of every record.
struct RecordHead {
  std::uint8_t kind = 0;
  std::int64_t time_ms = 0;
  std::string config;
  std::uint64_t generation = 0;
  std::uint8_t flags = 0;
  // With kPinned: the snapshot's PinInfo (expires_ms -1: no expiry).
  std::uint64_t pinned_generation = 0;
  std::int64_t expires_ms = -1;
  std::string reason;
  // With kReverted: the snapshot's RevertInfo.
  std::optional<RevertInfo> revert;
};

RecordHead read_head(ByteReader& in) {
  RecordHead h;
  h.kind = in.u8();
  h.time_ms = in.svarint();
  h.config = std::string(in.str());
  h.generation = in.varint();
  h.flags = in.u8();
  if ((h.flags & kPinned) != 0) {
    h.pinned_generation = in.varint();
    h.expires_ms = in.svarint();
    h.reason = std::string(in.str());
  }
  if ((h.flags & kReverted) != 0) {
    RevertInfo r;
    r.from = in.varint();
    r.to = in.varint();
    r.reason = std::string(in.str());
    const std::uint64_t n = in.varint();
    for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
      r.quarantined.emplace_back(in.str());
    }
    h.revert = std::move(r);
  }
  return h;
}

// Up to the year 2255: system_clock counts nanoseconds in 64 bits, so a
// damaged record's time would overflow the conversion.
constexpr std::int64_t kMaxTimeMs = 9'000'000'000'000;

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// Paths as their segments: exact for any key (dots, backslashes, empty keys).
void write_path(ByteWriter& out, const KeyPath& path) {
  out.varint(path.size());
  for (const std::string& segment : path.segments()) {
    out.str(segment);
  }
}

KeyPath read_path(ByteReader& in) {
  std::vector<std::string> segments;
  for (std::uint64_t i = 0, n = in.varint(); i < n && in.ok(); ++i) {
    segments.emplace_back(in.str());
  }
  return KeyPath::from_segments(std::move(segments));
}

std::string layer_key(std::string_view config, std::string_view name, std::string_view version) {
  std::string k;
  k.reserve(config.size() + name.size() + version.size() + 2);
  k.append(config).push_back('\0');
  k.append(name).push_back('\0');
  k.append(version);
  return k;
}

std::string segment_name(std::uint64_t first_sequence) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(first_sequence));
  return std::string(buf) + std::string(kSegmentSuffix);
}

std::uint32_t read_fixed32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

std::uint64_t read_fixed64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

Result<std::string> read_whole(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error(ErrorCode::kIo, "journal " + path.string() + ": " + errno_text(errno));
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Error(ErrorCode::kIo, "journal " + path.string() + ": " + errno_text(err));
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

// A record's layers and changes, decoded.
struct DecodedLayer {
  LayerVersion version;
  std::optional<std::string_view> data;  // encoded tree, when this record carries it
};

struct DecodedRecord {
  RecordHead head;
  std::vector<KeyPath> sensitive;
  MergePolicies policies;
  std::vector<DecodedLayer> layers;
  std::vector<Change> changes;
};

}  // namespace

Value RestoredGeneration::tree() const {
  return merge_layers(std::span<const Layer>(layers), policies);
}

struct Journal::Impl {
  JournalOptions options;
  std::optional<SecretBox> box;
  int lock_fd = -1;

  mutable std::mutex mu;
  std::deque<std::shared_ptr<Segment>> segments;  // oldest first
  std::deque<IndexEntry> index;                   // by sequence
  std::uint64_t next_sequence = 1;
  std::unordered_map<std::string, std::uint64_t> last_generation;
  JournalStats counters;

  // The segment this process appends to, opened at its first record.
  int active_fd = -1;
  std::shared_ptr<Segment> active;
  std::unordered_set<std::string> written_layers;  // layer_key()s whose data is in `active`
  std::unordered_set<std::string> configs_seen;    // configs recorded by this process

  ~Impl() {
    if (active_fd >= 0) {
      ::close(active_fd);
    }
    if (lock_fd >= 0) {
      ::close(lock_fd);
    }
  }

  void log(LogLevel level, const std::string& message) const {
    if (options.log) {
      options.log(level, message);
    } else {
      std::cerr << "liveconf: journal: " << message << '\n';
    }
  }

  std::uint64_t total_bytes() const {
    std::uint64_t n = 0;
    for (const auto& s : segments) {
      n += s->bytes;
    }
    return n;
  }

  // Where the good frames of a segment end, and whether what follows is a
  // torn tail (the last frame reaches the end of the file: a write cut
  // short) rather than damage in the middle.
  struct ScanEnd {
    std::uint64_t good = 0;
    bool torn_tail = true;
  };

  // Reads the frames of `seg`, indexing each record.
  Result<ScanEnd> scan(const std::shared_ptr<Segment>& seg) {
    Result<std::string> data = read_whole(seg->path);
    if (!data) {
      return std::move(data).error();
    }
    const std::string& bytes = *data;
    if (bytes.size() < kSegmentMagic.size() ||
        std::string_view(bytes).substr(0, kSegmentMagic.size()) != kSegmentMagic) {
      return ScanEnd{0, true};
    }
    std::uint64_t pos = kSegmentMagic.size();
    std::uint64_t sequence = seg->first_sequence;
    bool torn_tail = true;
    while (pos + kFrameHeader <= bytes.size()) {
      const std::uint32_t length = read_fixed32(bytes.data() + pos);
      const std::uint64_t sum = read_fixed64(bytes.data() + pos + 4);
      if (length == 0 || length > kMaxRecord || pos + kFrameHeader + length > bytes.size()) {
        break;
      }
      const std::string_view payload(bytes.data() + pos + kFrameHeader, length);
      ByteReader in(payload);
      RecordHead head = read_head(in);
      if (XXH3_64bits(payload.data(), payload.size()) != sum || !in.ok()) {
        torn_tail = pos + kFrameHeader + length == bytes.size();
        break;
      }
      if (head.kind == kPublish) {
        std::uint64_t& last = last_generation[head.config];
        last = std::max(last, head.generation);
        TreeDecoder trees(nullptr, TreeDecoder::Secrets::kMask);
        if (Result<DecodedRecord> d = decode(payload, trees, false)) {
          for (const DecodedLayer& l : d->layers) {
            if (l.data) {
              seg->layer_data.insert_or_assign(
                  layer_key(head.config, l.version.name, l.version.version),
                  RecordPlace{sequence, pos + kFrameHeader, length});
            }
          }
        }
      }
      index.push_back(IndexEntry{sequence, seg, pos + kFrameHeader, length, std::move(head.config),
                                 head.generation});
      ++sequence;
      pos += kFrameHeader + length;
    }
    next_sequence = std::max(next_sequence, sequence);
    return ScanEnd{pos, torn_tail};
  }

  Status open_all() {
    std::error_code ec;
    std::vector<std::pair<std::uint64_t, std::filesystem::path>> found;
    for (const auto& entry : std::filesystem::directory_iterator(options.dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() != 20 + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix)) {
        continue;
      }
      const std::string digits = name.substr(0, 20);
      if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      found.emplace_back(std::stoull(digits), entry.path());
    }
    if (ec) {
      return Error(ErrorCode::kIo, "journal " + options.dir.string() + ": " + ec.message());
    }
    std::sort(found.begin(), found.end());
    for (std::size_t i = 0; i < found.size(); ++i) {
      auto seg = std::make_shared<Segment>();
      seg->path = found[i].second;
      seg->first_sequence = std::max(found[i].first, next_sequence);
      Result<ScanEnd> end = scan(seg);
      if (!end) {
        return std::move(end).error();
      }
      const std::uint64_t good = end->good;
      const std::uint64_t size = std::filesystem::file_size(seg->path, ec);
      seg->bytes = ec ? good : size;
      if (good < seg->bytes && !end->torn_tail) {
        // Damage inside a segment (not a crash: a crash only tears the end)
        // is left for a person to look at; the records after it are skipped.
        log(LogLevel::kError, seg->path.string() + ": damaged record at byte " +
                                  std::to_string(good) + "; the records after it are skipped");
      } else if (good < seg->bytes) {
        const std::uint64_t torn = seg->bytes - good;
        counters.torn_bytes += torn;
        if (!options.read_only) {
          // A crash mid-write leaves a torn frame at the end of the segment it
          // was appending to; anything after the last good frame goes.
          if (::truncate(seg->path.c_str(), static_cast<off_t>(good)) != 0) {
            return Error(ErrorCode::kIo, "journal " + seg->path.string() +
                                             ": cannot cut its torn tail: " + errno_text(errno));
          }
          seg->bytes = good;
          log(LogLevel::kWarning, seg->path.string() + ": cut " + std::to_string(torn) +
                                      " bytes after the last complete record (a crash "
                                      "mid-write)");
        }
      }
      if (!options.read_only && seg->bytes <= kSegmentMagic.size() &&
          seg->first_sequence == next_sequence) {
        // No record in it (a process stopped, or was killed, right after
        // starting it): it goes, so its name is free for the next segment.
        (void)::unlink(seg->path.c_str());
        continue;
      }
      segments.push_back(std::move(seg));
    }
    return ok_status();
  }

  Result<std::string> read_payload(const IndexEntry& e) const {
    const int fd = ::open(e.segment->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Error(ErrorCode::kNotFound,
                   "journal record " + std::to_string(e.sequence) + " was rotated out");
    }
    std::string out(e.length, '\0');
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n =
          ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(e.offset + done));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        ::close(fd);
        return Error(ErrorCode::kIo, "journal " + e.segment->path.string() + ": short read");
      }
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return out;
  }

  // Decodes a record; layer data stays encoded (a view into `payload`).
  static Result<DecodedRecord> decode(std::string_view payload, TreeDecoder& trees,
                                      bool with_changes) {
    DecodedRecord r;
    ByteReader in(payload);
    r.head = read_head(in);
    if (r.head.time_ms < 0 || r.head.time_ms > kMaxTimeMs || r.head.expires_ms < -1 ||
        r.head.expires_ms > kMaxTimeMs) {
      return Error(ErrorCode::kParse, "journal record: time out of range");
    }
    if (!trees.read_origins(in)) {
      return Error(ErrorCode::kParse, "journal record: " + trees.error());
    }
    for (std::uint64_t i = 0, n = in.varint(); i < n && in.ok(); ++i) {
      r.sensitive.push_back(read_path(in));
    }
    for (std::uint64_t i = 0, n = in.varint(); i < n && in.ok(); ++i) {
      KeyPath path = read_path(in);
      MergePolicy policy;
      const std::uint8_t strategy = in.u8();
      if (strategy > static_cast<std::uint8_t>(MergeStrategy::kMergeByKey)) {
        return Error(ErrorCode::kParse, "journal record: unknown merge strategy");
      }
      policy.strategy = static_cast<MergeStrategy>(strategy);
      policy.key = std::string(in.str());
      r.policies.set(std::move(path), std::move(policy));
    }
    for (std::uint64_t i = 0, n = in.varint(); i < n && in.ok(); ++i) {
      DecodedLayer l;
      l.version.name = std::string(in.str());
      l.version.priority = static_cast<int>(in.svarint());
      l.version.version = std::string(in.str());
      if (in.u8() != 0) {
        l.data = in.str();
      }
      r.layers.push_back(std::move(l));
    }
    if (with_changes) {
      for (std::uint64_t i = 0, n = in.varint(); i < n && in.ok(); ++i) {
        Change c;
        c.path = read_path(in);
        const std::uint8_t flags = in.u8();
        c.sensitive = (flags & kSensitive) != 0;
        c.restart_required = (flags & kRestart) != 0;
        if ((flags & kHasOld) != 0) {
          c.old_source = std::string(in.str());
          c.old_value = trees.decode(in);
        }
        if ((flags & kHasNew) != 0) {
          c.new_source = std::string(in.str());
          c.new_value = trees.decode(in);
        }
        if (((flags & kHasOld) != 0 && !c.old_value) || ((flags & kHasNew) != 0 && !c.new_value)) {
          return Error(ErrorCode::kParse, "journal record: " + trees.error());
        }
        r.changes.push_back(std::move(c));
      }
    }
    if (!in.ok()) {
      return Error(ErrorCode::kParse, "journal record: truncated");
    }
    return r;
  }

  static JournalRecord to_record(const IndexEntry& e, DecodedRecord&& d) {
    JournalRecord r;
    r.sequence = e.sequence;
    r.time = from_ms(d.head.time_ms);
    r.config = std::move(d.head.config);
    r.generation = d.head.generation;
    for (DecodedLayer& l : d.layers) {
      r.layers.push_back(std::move(l.version));
    }
    r.changes = std::move(d.changes);
    r.secrets_restorable = (d.head.flags & kSecretsLeftOut) == 0;
    if ((d.head.flags & kPinned) != 0) {
      PinInfo pin;
      pin.pinned_generation = d.head.pinned_generation;
      if (d.head.expires_ms >= 0) {
        pin.expires = from_ms(d.head.expires_ms);
      }
      pin.reason = std::move(d.head.reason);
      r.pin = std::move(pin);
    }
    r.revert = std::move(d.head.revert);
    return r;
  }

  // The record of `s`; `added` gets the layer_key()s whose content it holds.
  std::string encode(const SnapshotPtr& old, const Snapshot& s, std::vector<std::string>& added) {
    TreeEncoder trees(box ? &*box : nullptr);
    ByteWriter body;
    const std::vector<KeyPath>& sensitive = s.sensitive().patterns();
    body.varint(sensitive.size());
    for (const KeyPath& p : sensitive) {
      write_path(body, p);
    }
    const auto& policies = s.merge_policies().entries();
    body.varint(policies.size());
    for (const auto& [path, policy] : policies) {
      write_path(body, path);
      body.u8(static_cast<std::uint8_t>(policy.strategy));
      body.str(policy.key);
    }
    body.varint(s.layers().size());
    for (const auto& layer : s.layers()) {
      body.str(layer->name);
      body.svarint(layer->priority);
      body.str(layer->version);
      std::string key = layer_key(s.config_name(), layer->name, layer->version);
      // Within a segment a layer's content is written once per version; an
      // unversioned layer every time.
      if (!layer->version.empty() && written_layers.contains(key)) {
        body.u8(0);
        continue;
      }
      body.u8(1);
      ByteWriter tree;
      KeyPath path;
      trees.encode(tree, layer->data, &s.sensitive(), path);
      body.str(tree.buffer());
      added.push_back(std::move(key));
    }
    const ChangeSet changes =
        old ? diff(old->tree(), s.tree(), DiffOptions{&s.sensitive(), nullptr}) : ChangeSet();
    body.varint(changes.size());
    for (const Change& c : changes) {
      write_path(body, c.path);
      body.u8(static_cast<std::uint8_t>((c.old_value ? kHasOld : 0) | (c.new_value ? kHasNew : 0) |
                                        (c.sensitive ? kSensitive : 0) |
                                        (c.restart_required ? kRestart : 0)));
      if (c.old_value) {
        body.str(c.old_source);
        trees.encode(body, *c.old_value);
      }
      if (c.new_value) {
        body.str(c.new_source);
        trees.encode(body, *c.new_value);
      }
    }
    ByteWriter out;
    out.u8(kPublish);
    out.svarint(to_ms(s.published_at()));
    out.str(s.config_name());
    out.varint(s.generation());
    const bool first = configs_seen.insert(s.config_name()).second;
    out.u8(static_cast<std::uint8_t>((trees.left_out_secrets() ? kSecretsLeftOut : 0) |
                                     (first || !old ? kFirstOfProcess : 0) |
                                     (s.pin() ? kPinned : 0) | (s.revert() ? kReverted : 0)));
    if (const std::optional<PinInfo>& pin = s.pin()) {
      out.varint(pin->pinned_generation);
      out.svarint(pin->expires ? to_ms(*pin->expires) : -1);
      out.str(pin->reason);
    }
    if (const std::optional<RevertInfo>& revert = s.revert()) {
      out.varint(revert->from);
      out.varint(revert->to);
      out.str(revert->reason);
      out.varint(revert->quarantined.size());
      for (const std::string& q : revert->quarantined) {
        out.str(q);
      }
    }
    trees.write_origins(out);
    out.buffer().append(body.buffer());
    return std::move(out.buffer());
  }

  Status start_segment() {
    auto seg = std::make_shared<Segment>();
    int fd = -1;
    // A name taken by a file this process did not index (one put there by
    // hand, say) is skipped: sequences may have gaps, never duplicates.
    for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
      seg->first_sequence = next_sequence;
      seg->path = options.dir / segment_name(next_sequence);
      fd = ::open(seg->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST) {
        break;
      }
      next_sequence += fd < 0 ? 1 : 0;
    }
    if (fd < 0) {
      return Error(ErrorCode::kIo, "journal " + seg->path.string() + ": " + errno_text(errno));
    }
    if (!write_all(fd, kSegmentMagic)) {
      const int err = errno;
      ::close(fd);
      ::unlink(seg->path.c_str());
      return Error(ErrorCode::kIo, "journal " + seg->path.string() + ": " + errno_text(err));
    }
    if (options.sync == JournalSync::kEveryRecord) {
      (void)::fdatasync(fd);
      fsync_dir(options.dir);
    }
    if (active_fd >= 0) {
      ::close(active_fd);
    }
    seg->bytes = kSegmentMagic.size();
    active_fd = fd;
    active = seg;
    segments.push_back(std::move(seg));
    written_layers.clear();
    return ok_status();
  }

  // Deletes the oldest segments while the journal is over its cap.
  void rotate() {
    while (segments.size() > 1 && total_bytes() > options.max_bytes) {
      std::shared_ptr<Segment> oldest = segments.front();
      if (::unlink(oldest->path.c_str()) != 0 && errno != ENOENT) {
        log(LogLevel::kError, oldest->path.string() + ": cannot delete it: " + errno_text(errno));
        return;
      }
      segments.pop_front();
      while (!index.empty() && index.front().segment == oldest) {
        index.pop_front();
      }
    }
  }

  Status append(const SnapshotPtr& old, const Snapshot& s) {
    if (options.read_only) {
      return Error(ErrorCode::kValidation, "journal opened read-only");
    }
    if (active_fd < 0 || active->bytes >= options.segment_bytes) {
      if (Status st = start_segment(); !st.ok()) {
        return st;
      }
    }
    std::vector<std::string> added;
    const std::string payload = encode(old, s, added);
    if (payload.size() > kMaxRecord) {
      return Error(ErrorCode::kValidation, "journal record of " + s.config_name() + " generation " +
                                               std::to_string(s.generation()) + " is over 1 GiB");
    }
    ByteWriter frame;
    const auto length = static_cast<std::uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) {
      frame.u8(static_cast<std::uint8_t>(length >> (8 * i)));
    }
    frame.fixed64(XXH3_64bits(payload.data(), payload.size()));
    frame.buffer().append(payload);
    if (!write_all(active_fd, frame.buffer())) {
      const int err = errno;
      // No torn frame stays in the middle of the segment: what was written
      // of this one goes, and the next record starts where it started.
      (void)::ftruncate(active_fd, static_cast<off_t>(active->bytes));
      return Error(ErrorCode::kIo, "journal " + active->path.string() + ": " + errno_text(err));
    }
    if (options.sync == JournalSync::kEveryRecord && ::fdatasync(active_fd) != 0) {
      return Error(ErrorCode::kIo,
                   "journal " + active->path.string() + ": fdatasync: " + errno_text(errno));
    }
    const RecordPlace place{next_sequence++, active->bytes + kFrameHeader, length};
    for (std::string& k : added) {
      written_layers.insert(k);
      active->layer_data.insert_or_assign(std::move(k), place);
    }
    index.push_back(
        IndexEntry{place.sequence, active, place.offset, length, s.config_name(), s.generation()});
    active->bytes += frame.buffer().size();
    std::uint64_t& last = last_generation[s.config_name()];
    last = std::max(last, s.generation());
    ++counters.written;
    rotate();
    return ok_status();
  }
};

Journal::Journal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Journal::~Journal() = default;

Result<std::unique_ptr<Journal>> Journal::open(JournalOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  JournalOptions& o = impl->options;
  if (o.dir.empty()) {
    return Error(ErrorCode::kValidation, "journal: no directory given");
  }
  o.segment_bytes = std::max<std::uint64_t>(1, std::min(o.segment_bytes, o.max_bytes / 4));
  if (!o.key_file.empty()) {
    Result<SecretBox> box = SecretBox::from_key_file(o.key_file);
    if (!box) {
      return std::move(box).error();
    }
    impl->box.emplace(std::move(*box));
  }
  std::error_code ec;
  if (o.read_only) {
    if (!std::filesystem::is_directory(o.dir, ec)) {
      return Error(ErrorCode::kNotFound, "no journal at " + o.dir.string());
    }
  } else {
    if (!std::filesystem::exists(o.dir, ec)) {
      std::filesystem::create_directories(o.dir, ec);
      if (ec) {
        return Error(ErrorCode::kIo, "journal " + o.dir.string() + ": " + ec.message());
      }
      std::filesystem::permissions(o.dir, std::filesystem::perms::owner_all, ec);
    }
    const std::filesystem::path lock = o.dir / "LOCK";
    impl->lock_fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (impl->lock_fd < 0) {
      return Error(ErrorCode::kIo, "journal " + lock.string() + ": " + errno_text(errno));
    }
    if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
      return Error(ErrorCode::kIo, "journal " + o.dir.string() +
                                       " is being written by another process (" + lock.string() +
                                       " is locked)");
    }
  }
  if (Status st = impl->open_all(); !st.ok()) {
    return st.error();
  }
  return std::unique_ptr<Journal>(new Journal(std::move(impl)));
}

std::function<void(const SnapshotPtr&, const SnapshotPtr&)> Journal::publish_hook() {
  return [this](const SnapshotPtr& old, const SnapshotPtr& current) { (void)record(old, current); };
}

Status Journal::record(const SnapshotPtr& old, const SnapshotPtr& current) {
  if (!current) {
    return Error(ErrorCode::kValidation, "journal: nothing to record");
  }
  std::lock_guard<std::mutex> lk(impl_->mu);
  Status st = impl_->append(old, *current);
  if (!st.ok()) {
    ++impl_->counters.failures;
    impl_->log(LogLevel::kError, "generation " + std::to_string(current->generation()) + " of " +
                                     current->config_name() +
                                     " not recorded: " + st.error().message());
  }
  return st;
}

std::vector<JournalRecord> Journal::records(std::string_view config, std::size_t limit) const {
  std::vector<IndexEntry> wanted;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    for (auto it = impl_->index.rbegin(); it != impl_->index.rend(); ++it) {
      if (limit != 0 && wanted.size() >= limit) {
        break;
      }
      if (config.empty() || it->config == config) {
        wanted.push_back(*it);
      }
    }
  }
  std::vector<JournalRecord> out;
  for (const IndexEntry& e : wanted) {
    Result<std::string> payload = impl_->read_payload(e);
    if (!payload) {
      continue;  // rotated out since
    }
    TreeDecoder trees(nullptr, TreeDecoder::Secrets::kMask);
    Result<DecodedRecord> d = Impl::decode(*payload, trees, true);
    if (d) {
      out.push_back(Impl::to_record(e, std::move(*d)));
    }
  }
  return out;
}

std::uint64_t Journal::next_generation(std::string_view config) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  auto it = impl_->last_generation.find(std::string(config));
  return it == impl_->last_generation.end() ? 1 : it->second + 1;
}

Result<RestoredGeneration> Journal::restore(std::string_view config, std::uint64_t generation,
                                            bool masked) const {
  // The record, then the records of its segment that hold the content of
  // the layers it did not write itself (found once the record is read).
  std::vector<IndexEntry> chain;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    auto it = std::find_if(impl_->index.rbegin(), impl_->index.rend(), [&](const IndexEntry& e) {
      return e.config == config && e.generation == generation;
    });
    if (it == impl_->index.rend()) {
      return Error(ErrorCode::kNotFound, "generation " + std::to_string(generation) + " of " +
                                             std::string(config) + " is not in the journal");
    }
    chain.push_back(*it);
  }
  const std::string where =
      "generation " + std::to_string(generation) + " of " + std::string(config);
  const SecretBox* box = impl_->box ? &*impl_->box : nullptr;
  const auto mode = masked ? TreeDecoder::Secrets::kMask : TreeDecoder::Secrets::kUnseal;

  RestoredGeneration out;
  std::vector<std::optional<Value>> data;
  std::size_t missing = 0;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    Result<std::string> payload = impl_->read_payload(chain[i]);
    if (!payload) {
      return Error(payload.error().code(), where + ": " + payload.error().message());
    }
    TreeDecoder trees(box, mode);
    Result<DecodedRecord> d = Impl::decode(*payload, trees, i == 0);
    if (!d) {
      return Error(ErrorCode::kParse, where + ": " + d.error().message());
    }
    if (i == 0) {
      for (const DecodedLayer& l : d->layers) {
        out.layers.push_back(Layer{l.version.name, l.version.priority, Value(), l.version.version});
      }
      data.resize(out.layers.size());
      missing = out.layers.size();
      out.policies = d->policies;
      for (KeyPath& p : d->sensitive) {
        out.sensitive.add(std::move(p));
      }
    }
    for (const DecodedLayer& l : d->layers) {
      if (!l.data) {
        continue;
      }
      for (std::size_t k = 0; k < out.layers.size(); ++k) {
        if (data[k] || out.layers[k].name != l.version.name ||
            out.layers[k].version != l.version.version) {
          continue;
        }
        ByteReader in(*l.data);
        data[k] = trees.decode(in);
        if (!data[k]) {
          return Error(trees.error().find("secret") != std::string::npos ? ErrorCode::kValidation
                                                                         : ErrorCode::kParse,
                       where + ": " + trees.error());
        }
        --missing;
      }
    }
    if (i == 0) {
      out.record = Impl::to_record(chain[0], std::move(*d));
      std::vector<RecordPlace> places;
      {
        std::lock_guard<std::mutex> lk(impl_->mu);
        for (std::size_t k = 0; k < out.layers.size(); ++k) {
          if (data[k]) {
            continue;
          }
          auto p = chain[0].segment->layer_data.find(
              layer_key(config, out.layers[k].name, out.layers[k].version));
          if (p != chain[0].segment->layer_data.end() && p->second.sequence < chain[0].sequence &&
              std::none_of(places.begin(), places.end(), [&](const RecordPlace& q) {
                return q.sequence == p->second.sequence;
              })) {
            places.push_back(p->second);
          }
        }
      }
      for (const RecordPlace& p : places) {
        chain.push_back(
            IndexEntry{p.sequence, chain[0].segment, p.offset, p.length, std::string(config), 0});
      }
    }
    if (missing == 0) {
      break;
    }
  }
  if (missing != 0) {
    return Error(ErrorCode::kParse, where + ": the content of " + std::to_string(missing) +
                                        " of its layers is missing from the journal");
  }
  for (std::size_t k = 0; k < out.layers.size(); ++k) {
    out.layers[k].data = std::move(*data[k]);
  }
  return out;
}

Status Journal::pin(ConfigManager& manager, std::string_view config, std::uint64_t generation,
                    PinOptions options) const {
  Result<RestoredGeneration> g = restore(config, generation);
  if (!g) {
    return g.error();
  }
  options.pinned_generation = generation;
  return manager.pin(config, std::move(g->layers), std::move(options));
}

Status Journal::rollback(ConfigManager& manager, std::string_view config, std::uint64_t generation,
                         PinOptions options) const {
  if (generation == 0) {
    Result<SnapshotPtr> served = manager.snapshot(config);
    if (!served) {
      return served.error();
    }
    const std::uint64_t now = (*served)->generation();
    std::lock_guard<std::mutex> lk(impl_->mu);
    for (auto it = impl_->index.rbegin(); it != impl_->index.rend(); ++it) {
      if (it->config == config && it->generation < now) {
        generation = it->generation;
        break;
      }
    }
    if (generation == 0) {
      return Error(ErrorCode::kNotFound, "no generation of " + std::string(config) +
                                             " older than " + std::to_string(now) +
                                             " is in the journal");
    }
  }
  if (options.reason.empty()) {
    options.reason = "rollback";
  }
  options.rollback = true;
  return pin(manager, config, generation, std::move(options));
}

Result<std::optional<RestoredGeneration>> Journal::recorded_pin(std::string_view config) const {
  std::optional<IndexEntry> newest;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    for (auto it = impl_->index.rbegin(); it != impl_->index.rend(); ++it) {
      if (it->config == config) {
        newest = *it;
        break;
      }
    }
  }
  if (!newest) {
    return std::optional<RestoredGeneration>();
  }
  Result<std::string> payload = impl_->read_payload(*newest);
  if (!payload) {
    return payload.error();
  }
  ByteReader in(*payload);
  const RecordHead head = read_head(in);
  if (!in.ok() || (head.flags & kPinned) == 0 ||
      (head.expires_ms >= 0 && from_ms(head.expires_ms) <= std::chrono::system_clock::now())) {
    return std::optional<RestoredGeneration>();
  }
  Result<RestoredGeneration> g = restore(config, newest->generation);
  if (!g) {
    return g.error();
  }
  return std::optional<RestoredGeneration>(std::move(*g));
}

Status Journal::repin(ConfigManager& manager, std::string_view config,
                      const RestoredGeneration& recorded) {
  PinOptions options;
  if (recorded.record.pin) {
    options.pinned_generation = recorded.record.pin->pinned_generation;
    options.reason = recorded.record.pin->reason;
    if (recorded.record.pin->expires) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *recorded.record.pin->expires - std::chrono::system_clock::now());
      options.ttl = std::max(left, std::chrono::milliseconds(1));
    }
  }
  return manager.pin(config, recorded.layers, std::move(options));
}

JournalStats Journal::stats() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  JournalStats s = impl_->counters;
  s.records = impl_->index.size();
  s.bytes = impl_->total_bytes();
  s.segments = impl_->segments.size();
  return s;
}

}  // namespace liveconf
