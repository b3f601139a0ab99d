// `liveconf watch --journal` and `liveconf history` (issue 14), the real
// binary: records as changes happen, history in text and JSON, --show, a
// restart continuing the generations, and no secret on disk or in output.
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "integration/cli_runner.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::run_cli;
using testing::TempDir;
using testing::WatchProcess;

constexpr std::string_view kMarker = "CLIJOURNALSECRET";

bool is_event(const std::string& line, const std::string& event) {
  return line.find("\"event\":\"" + event + "\"") != std::string::npos;
}

std::string all_bytes(const std::filesystem::path& dir) {
  std::string out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    out += e.is_regular_file() ? testing::read_file(e.path()).value_or("") : "";
  }
  return out;
}

TEST(CliJournalTest, WatchRecordsAndHistoryShowsEveryGeneration) {
  TempDir dir;
  const std::filesystem::path file = dir.write(
      "app.json", R"({"timeout": 1, "db": {"password": ")" + std::string(kMarker) + R"(1"}})");
  const std::string journal = (dir / "journal").string();
  {
    WatchProcess watch({"watch", "--file", file.string(), "--secret", "db.password", "--format",
                        "json", "--journal", journal, "--debounce", "5ms"});
    ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_event(l, "loaded"); }));
    for (int i = 2; i <= 3; ++i) {
      dir.write(".tmp", R"({"timeout": )" + std::to_string(i) + R"(, "db": {"password": ")" +
                            std::string(kMarker) + std::to_string(i) + R"("}})");
      std::filesystem::rename(dir / ".tmp", file);
      ASSERT_TRUE(watch.wait_line([&](const std::string& l) {
        return is_event(l, "changed") &&
               l.find(R"("timeout","old":)" + std::to_string(i - 1)) != std::string::npos;
      }));
    }
  }
  // Text: newest first, each change with its source; secrets masked.
  testing::CliResult text = run_cli({"history", "--journal", journal});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const std::size_t g4 = text.out.find("cli generation 4");
  const std::size_t g3 = text.out.find("cli generation 3");
  ASSERT_NE(g4, std::string::npos) << text.out;
  ASSERT_NE(g3, std::string::npos) << text.out;
  EXPECT_LT(g4, g3);
  EXPECT_NE(text.out.find("~ timeout: 2 -> 3  (" + file.string() + ":1:13)"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("sources: file:" + file.string() + "@xxh3:"), std::string::npos);
  EXPECT_EQ(text.out.find(kMarker), std::string::npos);

  // JSON, limited: the newest record only.
  testing::CliResult json =
      run_cli({"history", "--journal", journal, "--format", "json", "--limit", "1"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  Result<Value> parsed = find_format("json")->parse(json.out, ParseOptions{});
  ASSERT_TRUE(parsed.ok()) << json.out;
  ASSERT_EQ(parsed->size(), 1u);
  const Value& newest = parsed->as_array()[0];
  EXPECT_EQ(newest.find_member("generation")->as_int(), 4);
  EXPECT_EQ(newest.find_member("config")->as_string(), "cli");
  EXPECT_FALSE(newest.find_member("secrets_restorable")->as_bool());  // no --journal-key
  EXPECT_EQ(newest.find_member("layers")->as_array()[0].find_member("name")->as_string(),
            "file:" + file.string());

  // --show: the whole config of generation 3, masked.
  testing::CliResult show = run_cli({"history", "--journal", journal, "--show", "3"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("\"timeout\": 2"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"password\": \"***\""), std::string::npos) << show.out;
  testing::CliResult absent = run_cli({"history", "--journal", journal, "--show", "99"});
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_NE(absent.err.find("generation 99 of cli is not in the journal"), std::string::npos)
      << absent.err;

  // A restart continues the numbering: its load is generation 5 and 6.
  {
    WatchProcess watch({"watch", "--file", file.string(), "--secret", "db.password", "--format",
                        "json", "--journal", journal});
    std::optional<std::string> loaded =
        watch.wait_line([](const std::string& l) { return is_event(l, "loaded"); });
    ASSERT_TRUE(loaded);
    EXPECT_NE(loaded->find("\"snapshot\":6"), std::string::npos) << *loaded;
  }
  EXPECT_EQ(all_bytes(dir / "journal").find(kMarker), std::string::npos);
  testing::CliResult missing = run_cli({"history", "--journal", (dir / "nope").string()});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_NE(missing.err.find("no journal at"), std::string::npos) << missing.err;
}

// `liveconf rollback` through the admin endpoint of a `watch --journal`:
// the generation before is served ("pinned" event), a save waits behind the
// pin (status lists it), a restart pins again, `liveconf unpin` serves the
// file ("unpinned" event).
TEST(CliJournalTest, RollbackPinsThroughTheEndpointAndSurvivesARestart) {
  TempDir dir;
  const std::filesystem::path file = dir.write("app.json", R"({"timeout": 1})");
  const std::filesystem::path token = dir.write("token", "rollback-token\n");
  const std::string sock = "unix:" + (dir / "admin.sock").string();
  const std::vector<std::string> args = {"watch",
                                         "--file",
                                         file.string(),
                                         "--format",
                                         "json",
                                         "--journal",
                                         (dir / "journal").string(),
                                         "--admin",
                                         sock,
                                         "--admin-token",
                                         token.string(),
                                         "--debounce",
                                         "5ms"};
  auto save = [&](int timeout) {
    dir.write(".tmp", R"({"timeout": )" + std::to_string(timeout) + "}");
    std::filesystem::rename(dir / ".tmp", file);
  };
  const std::vector<std::string> admin = {"--admin", sock, "--admin-token", token.string()};
  auto cli = [&](std::vector<std::string> a) {
    a.insert(a.end(), admin.begin(), admin.end());
    return run_cli(a);
  };
  {
    WatchProcess watch(args);
    ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_event(l, "loaded"); }));
    save(2);
    ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_event(l, "changed"); }));
    testing::CliResult r = cli({"rollback", "--reason", "bad deploy"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("cli: pinned to the content of generation 2"), std::string::npos) << r.out;
    std::optional<std::string> pinned =
        watch.wait_line([](const std::string& l) { return is_event(l, "pinned"); });
    ASSERT_TRUE(pinned);
    EXPECT_NE(pinned->find(R"("pinned_generation":2)"), std::string::npos) << *pinned;
    EXPECT_NE(pinned->find(R"("reason":"bad deploy")"), std::string::npos) << *pinned;
    EXPECT_NE(pinned->find(R"("config":{"timeout":1})"), std::string::npos) << *pinned;
    // Behind the pin: loaded, not served, listed by status.
    save(3);
    ASSERT_TRUE(testing::wait_until([&] {
      const std::string out = run_cli({"status", "--admin", sock}).out;
      return out.find("1 source changes wait") != std::string::npos &&
             out.find("waiting: timeout: 1 -> 3") != std::string::npos;
    })) << run_cli({"status", "--admin", sock}).out;
    EXPECT_TRUE(watch.no_pending_line());
    watch.signal(SIGTERM);
    ASSERT_EQ(watch.wait_exit(), 0);
  }
  {
    WatchProcess watch(args);
    std::optional<std::string> loaded =
        watch.wait_line([](const std::string& l) { return is_event(l, "loaded"); });
    ASSERT_TRUE(loaded);
    EXPECT_NE(loaded->find(R"("config":{"timeout":1})"), std::string::npos) << *loaded;
    testing::CliResult r = cli({"unpin"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::optional<std::string> unpinned =
        watch.wait_line([](const std::string& l) { return is_event(l, "unpinned"); });
    ASSERT_TRUE(unpinned);
    EXPECT_NE(unpinned->find(R"("config":{"timeout":3})"), std::string::npos) << *unpinned;
    EXPECT_EQ(cli({"unpin"}).exit_code, 4);  // not pinned: the endpoint's 404
  }
  // history shows the pin.
  testing::CliResult h = run_cli({"history", "--journal", (dir / "journal").string()});
  EXPECT_NE(h.out.find("pinned: the content of generation 2 (bad deploy)"), std::string::npos)
      << h.out;
}

TEST(CliJournalTest, BadJournalOptionsAreUsageErrors) {
  TempDir dir;
  const std::filesystem::path file = dir.write("app.json", R"({"a": 1})");
  for (const auto& [option, value, message] :
       {std::tuple<std::string, std::string, std::string>{"--journal-max-size", "12parsecs",
                                                          "--journal-max-size"},
        {"--journal-max-size", "1KiB", "at least 64KiB"},
        {"--journal-sync", "sometimes", "--journal-sync"}}) {
    testing::CliResult r = run_cli({"watch", "--once", "--file", file.string(), "--journal",
                                    (dir / "j").string(), option, value});
    EXPECT_EQ(r.exit_code, 2) << option << " " << value;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  // A key file others may read: refused before anything is written.
  const std::filesystem::path key = dir.write("key", std::string(64, 'b'));
  std::filesystem::permissions(key, std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  testing::CliResult r = run_cli({"watch", "--once", "--file", file.string(), "--journal",
                                  (dir / "j").string(), "--journal-key", key.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace liveconf
