#include "sources/file/file_source.hpp"

#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <functional>

#include <gtest/gtest.h>

#include "liveconf/source.hpp"
#include "liveconf/store.hpp"

#include "sources/file/read_file.hpp"
#include "testutil/configs.hpp"
#include "testutil/recorders.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::TempDir;
using testing::wait_until;

FileSourceOptions options_for(const std::filesystem::path& p) {
  FileSourceOptions o;
  o.path = p;
  o.priority = 10;
  o.debounce = Debounce{std::chrono::milliseconds(20), std::chrono::milliseconds(200)};
  return o;
}

TEST(FileSourceTest, LoadsAFileWithVersionAndPositions) {
  TempDir dir;
  auto path = dir.write("app.json", "{\n  \"port\": 8080\n}\n");
  auto src = make_file_source(options_for(path));
  ASSERT_TRUE(src);
  Result<SourceLoad> load = (*src)->load();
  ASSERT_TRUE(load) << load.error().to_string();
  ASSERT_EQ(load->layers.size(), 1u);
  const Layer& l = load->layers[0];
  EXPECT_EQ(l.name, "file:" + path.string());
  EXPECT_EQ(l.priority, 10);
  EXPECT_EQ(l.version.rfind("xxh3:", 0), 0u);
  EXPECT_EQ(l.data.find("port")->origin().to_string(),
            path.string() + ":2:11, layer \"file:" + path.string() + "\"");
}

TEST(FileSourceTest, MissingRequiredIsNotFoundAndOptionalIsMissing) {
  TempDir dir;
  auto required = make_file_source(options_for(dir / "nope.yaml"));
  Result<SourceLoad> r = (*required)->load();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().to_string().find("nope.yaml"), std::string::npos);
  FileSourceOptions o = options_for(dir / "nope.yaml");
  o.optional = true;
  Result<SourceLoad> opt = (*make_file_source(o))->load();
  ASSERT_TRUE(opt);
  EXPECT_EQ(opt->state, SourceState::kMissing);
  EXPECT_TRUE(opt->layers.empty());
}

TEST(FileSourceTest, ErrorsNameFileLineAndColumn) {
  TempDir dir;
  auto path = dir.write("bad.yaml", "a: 1\nb: [1, 2\n");
  Result<SourceLoad> r = (*make_file_source(options_for(path)))->load();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kParse);
  EXPECT_EQ(r.error().origin().file(), path.string());
  EXPECT_GT(r.error().origin().line(), 0u);
  auto scalar = dir.write("scalar.json", "42");
  EXPECT_NE(
      (*make_file_source(options_for(scalar)))->load().error().message().find("mapping/object"),
      std::string::npos);
  std::filesystem::create_directory(dir / "adir.json");
  FileSourceOptions d = options_for(dir / "adir.json");
  d.format = "json";
  // A directory is a conf.d source, not an error: it has no files.
  EXPECT_TRUE((*make_file_source(d))->load());
  EXPECT_FALSE(make_file_source(FileSourceOptions{}));
  FileSourceOptions unknown = options_for(path);
  unknown.format = "xml";
  EXPECT_FALSE(make_file_source(unknown));
}

TEST(FileSourceTest, DirectoryMergesKnownFilesInLexicalOrder) {
  TempDir dir;
  dir.write("20-b.yaml", "x: 2\n");
  dir.write("10-a.json", "{\"x\": 1, \"y\": 1}");
  dir.write("30-c.toml", "z = 3\n");
  dir.write("README.txt", "not config");
  dir.write("20-b.yaml~", "x: 99\n");
  dir.write(".hidden.json", "{\"x\": 100}");
  Result<SourceLoad> r = (*make_file_source(options_for(dir.path())))->load();
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->layers.size(), 3u);
  EXPECT_EQ(r->layers[0].name, "file:" + (dir / "10-a.json").string());
  EXPECT_EQ(r->layers[2].name, "file:" + (dir / "30-c.toml").string());
  Value merged = merge_layers(r->layers, {});
  EXPECT_EQ(merged.find("x")->as_int(), 2);
  EXPECT_EQ(merged.find("y")->as_int(), 1);
  EXPECT_EQ(merged.find("z")->as_int(), 3);
}

// A directory source reads again only what may have changed: a file whose
// stat stamp is the one it had when read, and whose last change was settled
// then, is not opened.
class CountingOpens {
 public:
  std::shared_ptr<const detail::FileSyscalls> syscalls() {
    auto s = std::make_shared<detail::FileSyscalls>();
    s->open = [this](const char* path, int flags) {
      opens_.fetch_add(1);
      return ::open(path, flags);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    };
    return s;
  }
  int take() { return opens_.exchange(0); }

 private:
  std::atomic<int> opens_{0};
};

TEST(FileSourceTest, DirectoryReadsAgainOnlyFilesWhoseStampChanged) {
  TempDir dir;
  dir.write("10-a.json", "{\"a\": 1}");
  dir.write("20-b.json", "{\"b\": 1}");
  dir.write("30-c.json", "{\"c\": 1}");
  CountingOpens opens;
  // Every file counts as settled at once (the real rule wants its last
  // change a few seconds old).
  auto src = detail::make_file_source_with_hooks(
      options_for(dir.path()),
      {.file_syscalls = opens.syscalls(), .settled_after = -std::chrono::hours(1)});
  ASSERT_TRUE(src);
  ASSERT_TRUE((*src)->load());
  EXPECT_EQ(opens.take(), 3);
  ASSERT_TRUE((*src)->load());
  EXPECT_EQ(opens.take(), 0) << "unchanged, settled files were read again";
  dir.write("20-b.json", "{\"b\": 22}");  // another size
  Result<SourceLoad> r = (*src)->load();
  ASSERT_TRUE(r);
  EXPECT_EQ(opens.take(), 1);
  EXPECT_EQ(merge_layers(r->layers, {}).find("b")->as_int(), 22);
  // Replaced by a rename: another inode, read again even at the same size.
  dir.write("tmp", "{\"a\": 9}");
  std::filesystem::rename(dir / "tmp", dir / "10-a.json");
  r = (*src)->load();
  ASSERT_TRUE(r);
  EXPECT_EQ(opens.take(), 1);
  EXPECT_EQ(merge_layers(r->layers, {}).find("a")->as_int(), 9);
}

// A file removed from the directory is forgotten: the source keeps no parsed
// tree of it (a conf.d directory whose files come and go would otherwise grow
// the process for as long as the source lives). The tree's origin info lives
// exactly as long as some node of the tree does.
TEST(FileSourceTest, DirectoryForgetsTheTreesOfRemovedFiles) {
  TempDir dir;
  dir.write("10-a.json", "{\"a\": 1}");
  dir.write("20-b.json", "{\"b\": 1}");
  auto src = detail::make_file_source_with_hooks(options_for(dir.path()),
                                                 {.settled_after = -std::chrono::hours(1)});
  ASSERT_TRUE(src);
  std::weak_ptr<const OriginInfo> b_info;
  {
    Result<SourceLoad> r = (*src)->load();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->layers.size(), 2u);
    b_info = r->layers[1].data.origin().info();
  }
  ASSERT_FALSE(b_info.expired()) << "the source no longer caches a file it read";
  ASSERT_TRUE((*src)->load());
  EXPECT_FALSE(b_info.expired()) << "an unchanged file's tree must stay cached";
  std::filesystem::remove(dir / "20-b.json");
  Result<SourceLoad> r = (*src)->load();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->layers.size(), 1u);
  EXPECT_TRUE(b_info.expired()) << "the removed file's tree is still held";
}

// Symlinked files in a directory (readdir says DT_LNK) are read through the
// link; links to directories and dangling links are skipped.
TEST(FileSourceTest, DirectoryFollowsSymlinkedFilesAndSkipsTheRest) {
  TempDir dir;
  TempDir elsewhere;
  elsewhere.write("real.json", "{\"linked\": 7}");
  std::filesystem::create_directory(elsewhere / "sub.json");
  dir.write("10-a.json", "{\"a\": 1}");
  std::filesystem::create_symlink(elsewhere / "real.json", dir / "20-link.json");
  std::filesystem::create_symlink(elsewhere / "sub.json", dir / "30-dir.json");
  std::filesystem::create_symlink(elsewhere / "absent.json", dir / "40-dangling.json");
  std::filesystem::create_directory(dir / "50-subdir.json");
  auto src = make_file_source(options_for(dir.path()));
  ASSERT_TRUE(src);
  for (int round = 0; round < 2; ++round) {  // the second load takes the cached path
    Result<SourceLoad> r = (*src)->load();
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->layers.size(), 2u);
    EXPECT_EQ(r->layers[1].name, "file:" + (dir / "20-link.json").string());
    EXPECT_EQ(merge_layers(r->layers, {}).find("linked")->as_int(), 7);
  }
}

TEST(FileSourceTest, AFileChangedJustNowIsReadAgainEvenWithAnEqualStamp) {
  // Two writes of the same size within one timestamp tick can leave the stamp
  // as it was: a file changed that recently is never trusted by its stamp.
  TempDir dir;
  const auto path = dir.write("10-a.json", "{\"a\": 1}");
  Result<detail::FileRead> fresh =
      detail::read_file(path, "file:a", 1024, nullptr, std::chrono::hours(1));
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->settled) << "a file written within the margin counted as settled";
  EXPECT_EQ(detail::settled_after_for_filesystem(0xEF53), std::chrono::milliseconds(100));
  EXPECT_EQ(detail::settled_after_for_filesystem(0x6969), std::chrono::seconds(3));  // NFS
  EXPECT_TRUE(detail::read_file(path, "file:a", 1024, nullptr, -std::chrono::hours(1))->settled);

  CountingOpens opens;
  // Nothing counts as settled within the hour: every load reads again.
  auto src = detail::make_file_source_with_hooks(
      options_for(dir.path()),
      {.file_syscalls = opens.syscalls(), .settled_after = std::chrono::hours(1)});
  ASSERT_TRUE(src);
  for (int i = 2; i <= 5; ++i) {
    Result<SourceLoad> r = (*src)->load();  // unchanged since the last load, but not settled
    ASSERT_TRUE(r);
    dir.write("10-a.json", "{\"a\": " + std::to_string(i) + "}");  // same size
    r = (*src)->load();
    ASSERT_TRUE(r);
    EXPECT_EQ(merge_layers(r->layers, {}).find("a")->as_int(), i);
  }
  EXPECT_EQ(opens.take(), 8) << "a file changed just now was trusted by its stamp";
}

// A directory source watched by inotify, with a count of its signals and a
// load() that returns the merged tree.
class WatchedDirectory {
 public:
  WatchedDirectory(const std::filesystem::path& dir, detail::FileSourceHooks hooks) {
    FileSourceOptions o = options_for(dir);
    o.watch = WatchMode::kInotify;
    source_ = std::move(detail::make_file_source_with_hooks(o, std::move(hooks)).value());
    handle_ = source_->watch([this] { ++signals_; }).value();
  }
  [[nodiscard]] int signals() const { return signals_.load(); }
  Source& source() { return *source_; }
  Value load() {
    Result<SourceLoad> r = source_->load();
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? merge_layers(r->layers, {}) : Value();
  }

 private:
  std::unique_ptr<Source> source_;
  std::atomic<int> signals_{0};
  WatchHandle handle_;  // last: cancelled before the rest goes
};

// Watched by inotify, a directory source looks again only at the entries
// the watcher named: nothing counts as settled here, so a load that listed
// the directory would open every file. A load no event asked for, and an
// event that cannot name its entry (a symlinked file's target edited), list
// it all.
TEST(FileSourceTest, AWatchedDirectoryReadsOnlyTheEntriesTheWatcherNamed) {
  TempDir dir;
  TempDir elsewhere;
  dir.write("10-a.json", "{\"a\": 1}");
  dir.write("20-b.json", "{\"b\": 1}");
  dir.write("30-c.json", "{\"c\": 1}");
  elsewhere.write("real.json", "{\"linked\": 7}");
  CountingOpens opens;
  WatchedDirectory src(dir.path(),
                       {.file_syscalls = opens.syscalls(), .settled_after = std::chrono::hours(1)});
  auto load = [&] { return src.load(); };
  // Runs `change`, waits for the watcher, loads; returns the opens it took.
  auto after = [&](const std::function<void()>& change, Value& merged) {
    const int before = src.signals();
    change();
    EXPECT_TRUE(wait_until([&] { return src.signals() > before; })) << "no signal";
    opens.take();
    merged = load();
    return opens.take();
  };
  Value merged = load();
  EXPECT_EQ(opens.take(), 3);
  merged = load();
  EXPECT_EQ(opens.take(), 3) << "a load no watcher asked for must list the directory";

  EXPECT_EQ(after([&] { dir.write("20-b.json", "{\"b\": 2}"); }, merged), 1);
  EXPECT_EQ(merged.find("b")->as_int(), 2);
  EXPECT_EQ(merged.find("a")->as_int(), 1);
  const int renamed = after(
      [&] {
        elsewhere.write("new.json", "{\"d\": 4}");
        std::filesystem::rename(elsewhere / "new.json", dir / "40-d.json");
      },
      merged);
  EXPECT_EQ(renamed, 1);
  EXPECT_EQ(merged.find("d")->as_int(), 4);
  EXPECT_EQ(after([&] { std::filesystem::remove(dir / "10-a.json"); }, merged), 0);
  EXPECT_EQ(merged.find("a"), nullptr) << "a removed file still served";
  EXPECT_EQ(after([&] { dir.write("notes.txt", "not config"); }, merged), 0);
  EXPECT_EQ(merged.as_object().size(), 3u);
  const int linked =
      after([&] { std::filesystem::create_symlink(elsewhere / "real.json", dir / "50-link.json"); },
            merged);
  EXPECT_EQ(linked, 1);
  EXPECT_EQ(merged.find("linked")->as_int(), 7);
  // The target's event names no entry of the directory: everything is read.
  EXPECT_EQ(after([&] { elsewhere.write("real.json", "{\"linked\": 8}"); }, merged), 4);
  EXPECT_EQ(merged.find("linked")->as_int(), 8);
  EXPECT_EQ(merged.find("b")->as_int(), 2);
  EXPECT_EQ(merged.find("c")->as_int(), 1);
  EXPECT_EQ(merged.find("d")->as_int(), 4);

  // A rescan (the manager's recovery) lists it all, whatever was named.
  const int before = src.signals();
  dir.write("20-b.json", "{\"b\": 3}");
  ASSERT_TRUE(wait_until([&] { return src.signals() > before; }));
  src.source().rescan();
  opens.take();
  merged = load();
  EXPECT_EQ(opens.take(), 4) << "a load after rescan() trusted the watcher's names";
  EXPECT_EQ(merged.find("b")->as_int(), 3);
}

// What changes a directory's files without an event naming them is still
// seen: a hard link written through its other name (its stamp is checked at
// the next load), and a symlink to a directory that becomes a file (its way
// is watched, and its event names no entry: everything is listed).
TEST(FileSourceTest, AWatchedDirectorySeesChangesNoEventNames) {
  TempDir dir;
  TempDir elsewhere;
  dir.write("10-a.json", "{\"a\": 1}");
  elsewhere.write("shared.json", "{\"shared\": 1}");
  std::filesystem::create_hard_link(elsewhere / "shared.json", dir / "20-hard.json");
  std::filesystem::create_directory(elsewhere / "thing");
  std::filesystem::create_symlink(elsewhere / "thing", dir / "30-thing.json");
  WatchedDirectory src(dir.path(), {.settled_after = -std::chrono::hours(1)});
  auto load = [&] { return src.load(); };
  Value merged = load();
  EXPECT_EQ(merged.find("shared")->as_int(), 1);
  EXPECT_EQ(merged.find("thing"), nullptr);

  testing::write_file(elsewhere / "shared.json", "{\"shared\": 22}");  // in place: the same inode
  int before = src.signals();
  dir.write("10-a.json", "{\"a\": 2}");
  ASSERT_TRUE(wait_until([&] { return src.signals() > before; }));
  merged = load();
  EXPECT_EQ(merged.find("a")->as_int(), 2);
  EXPECT_EQ(merged.find("shared")->as_int(), 22) << "the hard link's new content was missed";

  before = src.signals();
  std::filesystem::remove(elsewhere / "thing");
  testing::write_file(elsewhere / "thing", "{\"thing\": 3}");
  ASSERT_TRUE(wait_until([&] { return src.signals() > before; }))
      << "a link's directory that became a file gave no signal";
  ASSERT_TRUE(wait_until([&] {
    merged = load();
    const Value* thing = merged.find("thing");
    return thing != nullptr && thing->as_int() == 3;
  }));
}

TEST(FileSourceTest, ShortReadsBeforeTheEndAreReadOn) {
  // A filesystem may return less than asked before the end (FUSE with
  // direct_io): only a read that reaches the size fstat gave ends the file.
  TempDir dir;
  std::string body = "{\"k\": \"";
  body += std::string(200, 'x');
  body += "\"}";
  const auto path = dir.write("a.json", body);
  auto calls = std::make_shared<detail::FileSyscalls>();
  std::atomic<int> reads{0};
  calls->read = [&reads](int fd, void* buf, std::size_t n) -> ssize_t {
    ++reads;
    return ::read(fd, buf, std::min<std::size_t>(n, 7));
  };
  Result<detail::FileRead> r = detail::read_file(path, "file:a", 1 << 20, calls.get());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->bytes, body);
  EXPECT_EQ(reads.load(), static_cast<int>((body.size() + 6) / 7));  // no extra call for EOF
}

TEST(FileSourceTest, ManagerLoadsWatchesAndKeepsLastGood) {
  TempDir dir;
  auto path = dir.write("app.json", "{\"timeout\": 5}");
  testing::SourceEventLog events;
  ConfigManager manager(events.options());
  ASSERT_TRUE(manager.register_config<testing::WatchedConfig>("w").ok());
  ASSERT_TRUE(manager.add_source("w", *make_file_source(options_for(path))).ok());
  EXPECT_EQ((*manager.get<testing::WatchedConfig>("w"))->timeout, 5);
  testing::write_file(path, "{\"timeout\": 6}");
  ASSERT_TRUE(
      wait_until([&] { return (*manager.get<testing::WatchedConfig>("w"))->timeout == 6; }));
  testing::write_file(path, "{\"timeout\": 0}");  // refused by the range validator
  ASSERT_TRUE(wait_until([&] { return events.count() > 0; }));
  EXPECT_EQ((*manager.get<testing::WatchedConfig>("w"))->timeout, 6);
  auto st = manager.status("w");
  ASSERT_EQ(st->sources.size(), 1u);
  EXPECT_EQ(st->sources[0].state, SourceState::kError);
  ASSERT_TRUE(st->sources[0].last_error.has_value());
  EXPECT_EQ(st->sources[0].last_error->message(), "must be between 1 and 3600");
  EXPECT_EQ(events.at(0).state, SourceState::kError);
  EXPECT_EQ(events.at(0).generation, 3u);  // register, add_source, timeout 6
  testing::write_file(path, "{\"timeout\": 7}");
  ASSERT_TRUE(
      wait_until([&] { return (*manager.get<testing::WatchedConfig>("w"))->timeout == 7; }));
  // status() is updated right after the publish, so wait for it too.
  EXPECT_TRUE(
      wait_until([&] { return manager.status("w")->sources[0].state == SourceState::kOk; }));
  EXPECT_EQ(manager.add_source("w", *make_file_source(options_for(path))).error().code(),
            ErrorCode::kValidation);
  ASSERT_TRUE(manager.remove_source("w", "file:" + path.string()).ok());
  EXPECT_EQ((*manager.get<testing::WatchedConfig>("w"))->timeout, 30);
}

TEST(FileSourceTest, RequiredMissingAtStartIsAnErrorAndNothingIsAdded) {
  TempDir dir;
  ConfigManager manager;
  ASSERT_TRUE(manager.register_untyped("u").ok());
  Status st = manager.add_source("u", *make_file_source(options_for(dir / "absent.json")));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(manager.status("u")->sources.empty());
}

}  // namespace
}  // namespace liveconf

namespace liveconf {
namespace {

TEST(FileSourceTest, EnvStyleKeysForDotenvFiles) {
  TempDir dir;
  auto path = dir.write("app.env", "DB__PASSWORD=x\nLog_Level=debug\n");
  FileSourceOptions o = options_for(path);
  o.env_style_keys = true;
  Result<SourceLoad> r = (*make_file_source(o))->load();
  ASSERT_TRUE(r) << r.error().to_string();
  const Value& data = r->layers[0].data;
  ASSERT_NE(data.find("db.password"), nullptr);
  EXPECT_EQ(data.find("db.password")->origin().line(), 1u);
  EXPECT_EQ(data.find("log_level")->as_string(), "debug");
  // Without the option the keys are as written.
  EXPECT_NE(
      (*make_file_source(options_for(path)))->load()->layers[0].data.find_member("DB__PASSWORD"),
      nullptr);
}

}  // namespace
}  // namespace liveconf
