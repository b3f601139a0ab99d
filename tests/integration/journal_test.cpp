// The journal (issue 14): one record per publish, exact restores (values and
// origins), secrets sealed or left out and never on disk in plaintext,
// rotation under a size cap, torn tails cut, one writer per directory, and
// 500 kill -9 of a process writing at full speed.
#include "liveconf/journal.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <random>
#include <signal.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/source.hpp"
#include "liveconf/store.hpp"

#include "testutil/process.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kMarker = "JOURNALSECRETQZ";

fs::path make_key(const TempDir& tmp) { return write_key_file(tmp / "journal.key"); }

JournalOptions options_for(const fs::path& dir, const fs::path& key = {}) {
  JournalOptions o;
  o.dir = dir;
  o.key_file = key;
  o.sync = JournalSync::kNone;
  o.log = [](LogLevel, std::string_view) {};
  return o;
}

ManagerOptions manager_options(Journal& journal) {
  ManagerOptions mo;
  mo.log = [](LogLevel, std::string_view) {};
  mo.on_publish = journal.publish_hook();
  return mo;
}

// A config read from a real file (origins with file:line:col), with a
// secret, changed through the file and through update().
struct Fixture {
  explicit Fixture(Journal& journal, const fs::path& file) : manager(manager_options(journal)) {
    RegisterOptions ro;
    ro.sensitive.emplace_back("db.password");
    ro.first_generation = journal.next_generation("app");
    EXPECT_TRUE(manager.register_untyped("app", ro).ok());
    FileSourceOptions fo;
    fo.path = file;
    fo.debounce.quiet = 1ms;
    EXPECT_TRUE(manager.add_source("app", make_file_source(fo).value()).ok());
  }
  SnapshotPtr now() const { return manager.snapshot("app").value(); }
  ConfigManager manager;
};

std::string file_text(int timeout, std::string_view password) {
  return "{\n  \"timeout\": " + std::to_string(timeout) + ",\n  \"db\": {\"host\": \"h\", " +
         "\"password\": \"" + std::string(password) + "\"}\n}\n";
}

// Writes `text` to `file` and waits until the manager serves `timeout`.
void save_and_wait(const TempDir& tmp, const fs::path& file, const Fixture& f, int timeout,
                   std::string_view password) {
  const fs::path temp = tmp / ".app.json.tmp";
  write_file(temp, file_text(timeout, password));
  fs::rename(temp, file);
  ASSERT_TRUE(wait_until([&] {
    const SnapshotPtr s = f.now();  // held: the node below lives in it
    const Value* v = s->find("timeout");
    return v != nullptr && v->is_int() && v->as_int() == timeout;
  })) << "timeout "
      << timeout << " never served";
}

// Same values and, node by node, the same origins.
void expect_same_tree(const Value& a, const Value& b, const std::string& where) {
  ASSERT_EQ(a, b) << where;
  EXPECT_EQ(a.origin().to_string(), b.origin().to_string()) << where;
  if (a.is_object()) {
    for (const auto& [key, member] : a.as_object()) {
      expect_same_tree(member, *b.find_member(key), where + "." + key);
    }
  } else if (a.is_array()) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      expect_same_tree(a.as_array()[i], b.as_array()[i], where + "[" + std::to_string(i) + "]");
    }
  }
}

TEST(JournalTest, RecordsEveryPublishAndRestoresEachExactly) {
  TempDir tmp;
  const fs::path key = make_key(tmp);
  auto journal = Journal::open(options_for(tmp / "journal", key)).value();
  const fs::path file = tmp.write("app.json", file_text(1, kMarker));
  std::vector<SnapshotPtr> seen;
  {
    Fixture f(*journal, file);
    seen.push_back(f.now());
    for (int i = 2; i <= 6; ++i) {
      save_and_wait(tmp, file, f, i, std::string(kMarker) + std::to_string(i));
      seen.push_back(f.now());
    }
    Value over = Value::object();
    over["extra"] = "x";
    ASSERT_TRUE(f.manager.update("app", over).ok());
    seen.push_back(f.now());
  }
  // Every publish has its record, newest first, generations 1..N in order.
  const std::vector<JournalRecord> records = journal->records("app");
  ASSERT_GE(records.size(), seen.size());
  for (std::size_t i = 0; i + 1 < records.size(); ++i) {
    EXPECT_EQ(records[i].generation, records[i + 1].generation + 1);
    EXPECT_GT(records[i].sequence, records[i + 1].sequence);
  }
  EXPECT_EQ(records.front().generation, seen.back()->generation());
  // The newest record's changes: "extra" appeared, from the override layer.
  ASSERT_EQ(records.front().changes.size(), 1u);
  EXPECT_EQ(records.front().changes[0].path.to_string(), "extra");
  EXPECT_EQ(records.front().changes[0].new_source, "override");
  // A file change: old -> new with its source; the secret change is masked.
  // (seen[0] is the file's first load; seen[1] the first save.)
  const JournalRecord& saved = records[seen.back()->generation() - seen[1]->generation()];
  ASSERT_EQ(saved.generation, seen[1]->generation());
  bool saw_timeout = false;
  for (const Change& c : saved.changes) {
    if (c.path.to_string() == "timeout") {
      saw_timeout = true;
      EXPECT_EQ(c.old_value->as_int(), 1);
      EXPECT_EQ(c.new_value->as_int(), 2);
      EXPECT_EQ(c.new_source, "file:" + file.string());
    }
    if (c.path.to_string() == "db.password") {
      EXPECT_TRUE(c.sensitive);
      EXPECT_EQ(c.new_value->as_string(), "***");
    }
  }
  EXPECT_TRUE(saw_timeout);
  // Each generation restores to the published tree: values, origins, layers.
  for (const SnapshotPtr& s : seen) {
    Result<RestoredGeneration> r = journal->restore("app", s->generation());
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    expect_same_tree(r->tree(), s->tree(), "generation " + std::to_string(s->generation()));
    ASSERT_EQ(r->record.layers.size(), s->layer_versions().size());
    for (std::size_t i = 0; i < r->layers.size(); ++i) {
      EXPECT_EQ(r->layers[i].name, s->layers()[i]->name);
      EXPECT_EQ(r->layers[i].version, s->layers()[i]->version);
    }
    // Masked, no key needed: the secret reads "***", the rest is the same.
    Result<RestoredGeneration> m = journal->restore("app", s->generation(), /*masked=*/true);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->tree().find("db.password")->as_string(), "***");
    EXPECT_EQ(*m->tree().find("timeout"), *s->tree().find("timeout"));
  }
  EXPECT_EQ(journal->restore("app", 999).error().code(), ErrorCode::kNotFound);
  // The secret is nowhere on disk, though each of its values was restored.
  EXPECT_EQ(all_bytes(tmp / "journal").find(kMarker), std::string::npos);
}

TEST(JournalTest, WithoutAKeySecretsAreLeftOutAndCannotBeRestored) {
  TempDir tmp;
  auto journal = Journal::open(options_for(tmp / "journal")).value();
  const fs::path file = tmp.write("app.json", file_text(1, kMarker));
  {
    Fixture f(*journal, file);
    save_and_wait(tmp, file, f, 2, kMarker);
  }
  EXPECT_EQ(all_bytes(tmp / "journal").find(kMarker), std::string::npos);
  const std::vector<JournalRecord> records = journal->records("app");
  ASSERT_FALSE(records.empty());
  EXPECT_FALSE(records.front().secrets_restorable);
  Result<RestoredGeneration> r = journal->restore("app", records.front().generation);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kValidation);
  EXPECT_NE(r.error().message().find("left out"), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().message().find(kMarker), std::string::npos);
  Result<RestoredGeneration> m = journal->restore("app", records.front().generation, true);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->tree().find("timeout")->as_int(), 2);
  EXPECT_EQ(m->tree().find("db.password")->as_string(), "***");
}

TEST(JournalTest, AnotherKeyCannotUnsealAndABadKeyFileIsRefused) {
  TempDir tmp;
  const fs::path key = make_key(tmp);
  {
    auto journal = Journal::open(options_for(tmp / "journal", key)).value();
    Fixture f(*journal, tmp.write("app.json", file_text(1, kMarker)));
  }
  TempDir other;
  auto journal = Journal::open(options_for(tmp / "journal", make_key(other))).value();
  // (Generation 1 is the registration, before the file: no secret in it.)
  Result<RestoredGeneration> r = journal->restore("app", journal->next_generation("app") - 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("another key"), std::string::npos) << r.error().message();
  journal.reset();

  // Readable by others: refused, like ssh refuses such a key.
  fs::permissions(key, fs::perms::group_read, fs::perm_options::add);
  Result<std::unique_ptr<Journal>> open = Journal::open(options_for(tmp / "journal", key));
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message().find("chmod 600"), std::string::npos);
  // Neither 32 bytes nor 64 hex digits: refused, and the content is not echoed.
  const fs::path bad = tmp / "bad.key";
  write_file(bad, "QZnotakeyQZ");
  fs::permissions(bad, fs::perms::owner_read | fs::perms::owner_write);
  open = Journal::open(options_for(tmp / "journal", bad));
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().message().find("QZnotakeyQZ"), std::string::npos);
  // 64 hex digits work.
  const fs::path hex = tmp / "hex.key";
  write_file(hex, std::string(64, 'a') + "\n");
  fs::permissions(hex, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_TRUE(Journal::open(options_for(tmp / "journal", hex)).ok());
}

TEST(JournalTest, GenerationsContinueAcrossRestartsAndOneWriterAtATime) {
  TempDir tmp;
  const fs::path file = tmp.write("app.json", file_text(1, "p"));
  std::uint64_t last = 0;
  {
    auto journal = Journal::open(options_for(tmp / "journal")).value();
    // A second writer is refused while the first holds the directory.
    Result<std::unique_ptr<Journal>> second = Journal::open(options_for(tmp / "journal"));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code(), ErrorCode::kIo);
    EXPECT_NE(second.error().message().find("another process"), std::string::npos);
    // A reader is not.
    JournalOptions ro = options_for(tmp / "journal");
    ro.read_only = true;
    EXPECT_TRUE(Journal::open(ro).ok());
    Fixture f(*journal, file);
    save_and_wait(tmp, file, f, 2, "p");
    last = f.now()->generation();
  }
  auto journal = Journal::open(options_for(tmp / "journal")).value();
  EXPECT_EQ(journal->next_generation("app"), last + 1);
  Fixture f(*journal, file);
  // The registration is generation last + 1, the file's load the next.
  EXPECT_EQ(f.now()->generation(), last + 2);
  const std::vector<JournalRecord> records = journal->records("app");
  ASSERT_EQ(records.size(), last + 2);
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].generation, last + 2 - i);
  }
  EXPECT_EQ(journal->next_generation("other"), 1u);
}

TEST(JournalTest, RotationKeepsTheJournalUnderItsCap) {
  TempDir tmp;
  JournalOptions o = options_for(tmp / "journal");
  o.max_bytes = 256 << 10;
  o.segment_bytes = 32 << 10;
  auto journal = Journal::open(o).value();
  ConfigManager manager(manager_options(*journal));
  ASSERT_TRUE(manager.register_untyped("app").ok());
  for (int i = 0; i < 3000; ++i) {
    Value data = Value::object();
    data["n"] = i;
    data["pad"] = std::string(200, 'p');
    ASSERT_TRUE(manager.update("app", data).ok());
  }
  const JournalStats st = journal->stats();
  EXPECT_EQ(st.written, 3001u);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_LE(st.bytes, o.max_bytes + o.segment_bytes);
  std::uint64_t on_disk = 0;
  for (const auto& e : fs::directory_iterator(tmp / "journal")) {
    on_disk += e.path().extension() == ".lcj" ? fs::file_size(e.path()) : 0;
  }
  EXPECT_EQ(on_disk, st.bytes);
  EXPECT_LT(st.records, 3001u);  // the oldest went
  const std::uint64_t newest = manager.snapshot("app").value()->generation();
  Result<RestoredGeneration> r = journal->restore("app", newest);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->tree().find("n")->as_int(), 2999);
  EXPECT_EQ(journal->restore("app", 1).error().code(), ErrorCode::kNotFound);
  // The oldest record still listed restores (its layers' content is in its segment).
  const std::vector<JournalRecord> all = journal->records("app");
  ASSERT_EQ(all.size(), st.records);
  Result<RestoredGeneration> oldest = journal->restore("app", all.back().generation);
  ASSERT_TRUE(oldest.ok()) << oldest.error().to_string();
}

TEST(JournalTest, ATornTailIsCutByAWriterAndSkippedByAReader) {
  TempDir tmp;
  const fs::path dir = tmp / "journal";
  std::uint64_t records = 0;
  {
    auto journal = Journal::open(options_for(dir)).value();
    ConfigManager manager(manager_options(*journal));
    ASSERT_TRUE(manager.register_untyped("app").ok());
    for (int i = 0; i < 5; ++i) {
      Value data = Value::object();
      data["n"] = i;
      ASSERT_TRUE(manager.update("app", data).ok());
    }
    records = journal->stats().records;
  }
  fs::path segment;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".lcj") {
      segment = e.path();
    }
  }
  ASSERT_FALSE(segment.empty());
  // Half a frame at the end: what a crash mid-write leaves.
  const std::uintmax_t good = fs::file_size(segment);
  {
    std::ofstream out(segment, std::ios::app | std::ios::binary);
    const char half[] = {40, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    out.write(half, sizeof half);
  }
  JournalOptions ro = options_for(dir);
  ro.read_only = true;
  {
    auto reader = Journal::open(ro).value();
    EXPECT_EQ(reader->stats().records, records);
    EXPECT_EQ(reader->stats().torn_bytes, 14u);
    EXPECT_EQ(fs::file_size(segment), good + 14);  // a reader changes nothing
  }
  std::vector<std::string> logged;
  JournalOptions wo = options_for(dir);
  wo.log = [&](LogLevel, std::string_view m) { logged.emplace_back(m); };
  auto writer = Journal::open(wo).value();
  EXPECT_EQ(writer->stats().records, records);
  EXPECT_EQ(fs::file_size(segment), good);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("cut 14 bytes"), std::string::npos) << logged[0];
  EXPECT_TRUE(writer->restore("app", records).ok());
}

// Rollback through the journal pins the previous generation's content; the
// pin is journaled with the publish, so a restarted process pins again (for
// what remains of its TTL), and unpin publishes the sources.
TEST(JournalTest, ARollbackPinSurvivesARestart) {
  TempDir tmp;
  const fs::path key = make_key(tmp);
  auto update = [](ConfigManager& m, int n) {
    Value v = Value::object();
    v["n"] = n;
    v["password"] = std::string(kMarker);
    ASSERT_TRUE(m.update("app", v).ok());
  };
  RegisterOptions ro;
  ro.sensitive.emplace_back("password");
  std::uint64_t bad = 0;
  {
    auto journal = Journal::open(options_for(tmp / "journal", key)).value();
    ConfigManager manager(manager_options(*journal));
    ro.first_generation = journal->next_generation("app");
    ASSERT_TRUE(manager.register_untyped("app", ro).ok());
    update(manager, 1);
    update(manager, 2);
    bad = manager.snapshot("app").value()->generation();
    ASSERT_TRUE(journal->rollback(manager, "app").ok());
    SnapshotPtr s = manager.snapshot("app").value();
    EXPECT_EQ(s->find("n")->as_int(), 1);
    EXPECT_EQ(s->find("password")->as_string(), kMarker);  // unsealed
    EXPECT_EQ(s->generation(), bad + 1);
    ASSERT_TRUE(s->pin().has_value());
    EXPECT_EQ(s->pin()->pinned_generation, bad - 1);
    EXPECT_EQ(s->pin()->reason, "rollback");
    // Behind the pin, the sources move on.
    update(manager, 3);
    EXPECT_EQ(manager.snapshot("app").value()->find("n")->as_int(), 1);
    const std::vector<JournalRecord> newest = journal->records("app", 1);
    ASSERT_TRUE(newest.front().pin.has_value());
    EXPECT_EQ(newest.front().generation, bad + 1);
  }
  // A new process: the pin comes back before anything else is published.
  auto journal = Journal::open(options_for(tmp / "journal", key)).value();
  Result<std::optional<RestoredGeneration>> recorded = journal->recorded_pin("app");
  ASSERT_TRUE(recorded.ok()) << recorded.error().to_string();
  ASSERT_TRUE(recorded->has_value());
  ConfigManager manager(manager_options(*journal));
  ro.first_generation = journal->next_generation("app");
  ASSERT_TRUE(manager.register_untyped("app", ro).ok());
  update(manager, 4);
  ASSERT_TRUE(Journal::repin(manager, "app", **recorded).ok());
  SnapshotPtr s = manager.snapshot("app").value();
  EXPECT_EQ(s->find("n")->as_int(), 1);
  ASSERT_TRUE(s->pin().has_value());
  EXPECT_EQ(s->pin()->pinned_generation, bad - 1);
  ASSERT_TRUE(manager.status("app").value().pin.has_value());
  // unpin: what the sources say now.
  ASSERT_TRUE(manager.unpin("app").ok());
  EXPECT_EQ(manager.snapshot("app").value()->find("n")->as_int(), 4);
  EXPECT_FALSE(journal->records("app", 1).front().pin.has_value());
  Result<std::optional<RestoredGeneration>> none = journal->recorded_pin("app");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(all_bytes(tmp / "journal").find(kMarker), std::string::npos);
}

TEST(JournalTest, AHealthRevertIsRecordedAndCountedApartFromOperatorRollbacks) {
  TempDir tmp;
  auto journal = Journal::open(options_for(tmp / "journal", make_key(tmp))).value();
  const fs::path file = tmp.write("app.json", file_text(1, kMarker));
  Fixture f(*journal, file);
  const std::uint64_t healthy = f.now()->generation();
  ASSERT_TRUE(f.manager.mark_healthy("app", healthy).ok());
  save_and_wait(tmp, file, f, 2, kMarker);
  const std::uint64_t bad = f.now()->generation();
  Result<std::uint64_t> reverted = f.manager.revert("app", RevertOptions{bad, "probe failed"});
  ASSERT_TRUE(reverted.ok()) << reverted.error().to_string();
  const std::vector<JournalRecord> newest = journal->records("app", 1);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].generation, *reverted);
  ASSERT_TRUE(newest[0].revert.has_value());
  EXPECT_EQ(newest[0].revert->from, bad);
  EXPECT_EQ(newest[0].revert->to, healthy);
  EXPECT_EQ(newest[0].revert->reason, "probe failed");
  EXPECT_EQ(newest[0].revert->quarantined, std::vector<std::string>{"file:" + file.string()});
  // An operator's rollback is counted apart.
  const Status rolled = journal->rollback(f.manager, "app", healthy);
  ASSERT_TRUE(rolled.ok()) << rolled.to_string();
  const ConfigStatus st = f.manager.status("app").value();
  EXPECT_EQ(st.rollbacks.by_health, 1u);
  EXPECT_EQ(st.rollbacks.by_operator, 1u);
}

TEST(JournalTest, AnExpiredPinIsNotReappliedAfterARestart) {
  TempDir tmp;
  {
    auto journal = Journal::open(options_for(tmp / "journal")).value();
    ConfigManager manager(manager_options(*journal));
    ASSERT_TRUE(manager.register_untyped("app").ok());
    Value v = Value::object();
    v["n"] = 1;
    ASSERT_TRUE(manager.update("app", v).ok());
    PinOptions po;
    po.ttl = 50ms;
    ASSERT_TRUE(journal->pin(manager, "app", 1, po).ok());
    ASSERT_TRUE(journal->records("app", 1).front().pin->expires.has_value());
  }
  auto journal = Journal::open(options_for(tmp / "journal")).value();
  // The manager that set it is gone; its expiry (recorded as a time) passes.
  EXPECT_TRUE(wait_until([&] {
    Result<std::optional<RestoredGeneration>> r = journal->recorded_pin("app");
    return r.ok() && !r->has_value();
  }));
}

// 500 (LIVECONF_JOURNAL_CRASH_TRIALS) kill -9 of journal_writer at random
// points. After each, the journal opens, lists every record the writer had
// reported written (and at most one more), and its newest generation
// restores intact: n equals its generation, the secret unseals.
TEST(JournalTest, SurvivesKillNineAtAnyPoint) {
  const char* env = std::getenv("LIVECONF_JOURNAL_CRASH_TRIALS");
  const int trials = env != nullptr ? std::atoi(env) : 500;
  TempDir tmp;
  const fs::path key = make_key(tmp);
  const fs::path dir = tmp / "journal";
  std::mt19937 rng(std::random_device{}());
  std::uint64_t checked = 0;
  for (int trial = 0; trial < trials; ++trial) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ChildSpec spec;
    spec.argv = {LIVECONF_JOURNAL_WRITER, dir.string(), key.string()};
    spec.stdin_fd = null_fd;
    spec.stdout_fd = out[1];
    spec.stderr_fd = STDERR_FILENO;
    std::string error;
    const pid_t pid = spawn_child(spec, error);
    ::close(out[1]);
    ::close(null_fd);
    ASSERT_GT(pid, 0) << error;
    // Kill once the journal has grown by a random amount: mid-write, often.
    auto size_of = [&] {
      std::uint64_t n = 0;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        n += e.path().extension() == ".lcj" ? fs::file_size(e.path(), ec) : 0;
      }
      return n;
    };
    const std::uint64_t start = size_of();
    const std::uint64_t grow = 1 + rng() % (48 << 10);
    EXPECT_TRUE(wait_until([&] { return size_of() > start + grow || size_of() < start; }, 20s))
        << "trial " << trial << ": the writer wrote nothing";
    ::kill(pid, SIGKILL);
    reap_blocking(pid);
    std::string printed;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) {
      printed.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    std::uint64_t last_reported = 0;
    for (std::size_t b = 0, e = 0; (e = printed.find('\n', b)) != std::string::npos; b = e + 1) {
      last_reported = std::stoull(printed.substr(b, e - b));
    }

    JournalOptions ro = options_for(dir, key);
    ro.read_only = true;
    Result<std::unique_ptr<Journal>> reader = Journal::open(ro);
    ASSERT_TRUE(reader.ok()) << "trial " << trial << ": " << reader.error().to_string();
    const std::vector<JournalRecord> records = (*reader)->records("app");
    ASSERT_FALSE(records.empty()) << "trial " << trial;
    // Newest first, one generation apart: no record lost in the middle.
    for (std::size_t i = 0; i + 1 < records.size(); ++i) {
      ASSERT_EQ(records[i].generation, records[i + 1].generation + 1) << "trial " << trial;
    }
    const std::uint64_t newest = records.front().generation;
    ASSERT_GE(newest, last_reported) << "trial " << trial << ": a reported record is missing";
    if (last_reported != 0) {  // it may have written one more than it could report
      ASSERT_LE(newest, last_reported + 1) << "trial " << trial;
    }
    Result<RestoredGeneration> r = (*reader)->restore("app", newest);
    ASSERT_TRUE(r.ok()) << "trial " << trial << ": " << r.error().to_string();
    const Value tree = r->tree();
    if (const Value* v = tree.find("n")) {
      ASSERT_EQ(static_cast<std::uint64_t>(v->as_int()), newest) << "trial " << trial;
    }
    ASSERT_EQ(tree.find("db.password")->as_string(), "CRASHSECRETMARKER");
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<std::uint64_t>(trials));
  EXPECT_EQ(all_bytes(dir).find("CRASHSECRETMARKER"), std::string::npos);
}

}  // namespace
}  // namespace liveconf::testing
