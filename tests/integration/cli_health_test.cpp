// `liveconf watch --health-cmd`: a rendered generation the command finds
// unhealthy is reverted ("reverted" event with from, to and the reason), the
// quarantined content is not applied again on a touch, new content is; an
// --exec child that dies during the bake counts as unhealthy too.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/cli_runner.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::run_cli;
using testing::TempDir;
using testing::WatchProcess;

bool is_event(const std::string& line, const std::string& event) {
  return line.find("\"event\":\"" + event + "\"") != std::string::npos;
}

bool has(const std::string& line, const std::string& text) {
  return line.find(text) != std::string::npos;
}

std::string app_text(int level, bool poison) {
  return "{\"level\": " + std::to_string(level) + ", \"poison\": " + (poison ? "true" : "false") +
         "}\n";
}

void save(const TempDir& dir, const std::filesystem::path& file, const std::string& text) {
  dir.write(".app.tmp", text);
  std::filesystem::rename(dir / ".app.tmp", file);
}

TEST(CliHealthTest, AnUnhealthyRenderIsRevertedAndItsContentQuarantined) {
  TempDir dir;
  const std::filesystem::path file = dir.write("app.json", app_text(1, false));
  const std::string out = (dir / "out.json").string();
  // Unhealthy when the rendered file is poisoned; LIVECONF_GENERATION must be set.
  const std::string check =
      "test -n \"$LIVECONF_GENERATION\" && ! grep -q '\"poison\": true' " + out;
  WatchProcess watch({"watch", "--file", file.string(), "--render", out, "--format", "json",
                      "--debounce", "5ms", "--health-cmd", check, "--health-bake", "300ms",
                      "--health-interval", "20ms"});
  std::optional<std::string> loaded =
      watch.wait_line([](const std::string& l) { return is_event(l, "loaded"); });
  ASSERT_TRUE(loaded);
  const std::size_t at = loaded->find("\"snapshot\":");
  ASSERT_NE(at, std::string::npos) << *loaded;
  const int first = std::stoi(loaded->substr(at + 11));
  ASSERT_TRUE(watch.wait_line([&](const std::string& l) {
    return is_event(l, "healthy") && has(l, "\"snapshot\":" + std::to_string(first) + "}");
  }));

  save(dir, file, app_text(2, true));
  ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_event(l, "changed"); }));
  std::optional<std::string> reverted =
      watch.wait_line([](const std::string& l) { return is_event(l, "reverted"); });
  ASSERT_TRUE(reverted);
  EXPECT_TRUE(
      has(*reverted, "\"from\":" + std::to_string(first + 1) + ",\"to\":" + std::to_string(first)))
      << *reverted;
  EXPECT_TRUE(has(*reverted, "--health-cmd exited with status 1")) << *reverted;
  EXPECT_TRUE(has(*reverted, "\"quarantined\":[\"file:" + file.string() + "\"]")) << *reverted;
  ASSERT_TRUE(testing::wait_until([&] {
    return testing::read_file(out).value_or("").find("\"poison\": false") != std::string::npos;
  }));

  // A touch of the quarantined content, then new content: the next
  // configuration printed is the new one, never the poisoned one again.
  save(dir, file, app_text(2, true));
  save(dir, file, app_text(3, false));
  std::optional<std::string> next = watch.wait_line([](const std::string& l) {
    return is_event(l, "changed") || is_event(l, "reverted") || is_event(l, "loaded");
  });
  ASSERT_TRUE(next);
  EXPECT_TRUE(is_event(*next, "changed")) << *next;
  EXPECT_TRUE(has(*next, "\"path\":\"level\",\"old\":1,\"new\":3")) << *next;
  EXPECT_FALSE(has(*next, "\"path\":\"poison\"")) << *next;
  ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_event(l, "healthy"); }));
  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait_exit(), 0);
}

TEST(CliHealthTest, AnExecChildThatDiesDuringTheBakeRevertsAndIsStartedAgain) {
  TempDir dir;
  const std::filesystem::path file = dir.write("app.json", app_text(1, false));
  const std::string out = (dir / "out.json").string();
  const std::string starts = (dir / "starts").string();
  // The service: dies (status 3) on a poisoned config, else runs.
  const std::string service = "echo start >> " + starts + "; grep -q '\"poison\": true' " + out +
                              " && exit 3; exec sleep 1000";
  WatchProcess watch({"watch", "--file", file.string(), "--render", out, "--format", "json",
                      "--debounce", "5ms", "--exec", service, "--health-cmd", "true",
                      "--health-bake", "500ms", "--health-interval", "50ms"});
  ASSERT_TRUE(watch.wait_line([](const std::string& l) { return is_event(l, "healthy"); }));
  save(dir, file, app_text(2, true));
  std::optional<std::string> reverted =
      watch.wait_line([](const std::string& l) { return is_event(l, "reverted"); });
  ASSERT_TRUE(reverted);
  EXPECT_TRUE(has(*reverted, "the command exited with status 3 during the health bake"))
      << *reverted;
  // Started again on the reverted (good) config: three starts, still running.
  ASSERT_TRUE(testing::wait_until([&] {
    const std::string s = testing::read_file(starts).value_or("");
    return std::count(s.begin(), s.end(), '\n') == 3;
  }));
  watch.signal(SIGTERM);
  EXPECT_EQ(watch.wait_exit(), 0);
}

TEST(CliHealthTest, HealthFlagsAreCheckedUpFront) {
  TempDir dir;
  const std::filesystem::path file = dir.write("app.json", app_text(1, false));
  testing::CliResult no_cmd = run_cli({"watch", "--file", file.string(), "--health-bake", "1s"});
  EXPECT_EQ(no_cmd.exit_code, 2) << no_cmd.err;
  EXPECT_NE(no_cmd.err.find("need --health-cmd"), std::string::npos) << no_cmd.err;
  testing::CliResult bad = run_cli(
      {"watch", "--file", file.string(), "--health-cmd", "true", "--health-interval", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--health-interval: expected a duration"), std::string::npos) << bad.err;
  testing::CliResult short_bake = run_cli({"watch", "--file", file.string(), "--health-cmd", "true",
                                           "--health-bake", "1s", "--health-interval", "2s"});
  EXPECT_EQ(short_bake.exit_code, 2);
  EXPECT_NE(short_bake.err.find("at least --health-interval"), std::string::npos) << short_bake.err;
}

}  // namespace
}  // namespace liveconf
