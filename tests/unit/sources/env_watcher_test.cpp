// EnvironmentWatcher, the seed's class: (old, new) per variable, one call per
// poll for a multi-variable watch, throwing callbacks isolated, set_env
// notifying at once, plain setenv seen by polling (BEHAVIOUR.md item 30).
#include <atomic>
#include <cstdlib>
#include <mutex>

#include <gtest/gtest.h>

#include "liveconf/clock.hpp"
#include "liveconf/env.hpp"

#include "sources/env/environment.hpp"
#include "testutil/recorders.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf {
namespace {

using testing::ScopedEnv;
using testing::wait_until;
using namespace std::chrono_literals;

using Recorder = testing::EnvCallLog;

TEST(EnvironmentWatcherTest, ManualPollReportsOldAndNew) {
  ScopedEnv a("EW_A", "1");
  ScopedEnv b("EW_B", std::nullopt);
  EnvironmentWatcher w(1h);
  Recorder r;
  w.watch_var("EW_A", r.callback());
  w.watch_var("EW_B", r.callback());
  EXPECT_EQ(w.poll(), 0u);
  EXPECT_EQ(r.count(), 0u);
  ASSERT_TRUE(set_env("EW_A", "2").ok());
  ASSERT_TRUE(set_env("EW_B", "").ok());
  EXPECT_EQ(w.poll(), 2u);
  ASSERT_EQ(r.count(), 2u);  // two watches, one call each
  EXPECT_EQ(r.at(0).at("EW_A"), (EnvChange{"1", "2"}));
  EXPECT_EQ(r.at(1).at("EW_B"), (EnvChange{std::nullopt, ""}));  // unset -> empty is a change
  ASSERT_TRUE(unset_env("EW_A").ok());
  EXPECT_EQ(w.poll(), 1u);
  EXPECT_EQ(r.at(2).at("EW_A"), (EnvChange{"2", std::nullopt}));
  EXPECT_EQ(w.poll(), 0u);
  EXPECT_EQ(w.polls(), 4u);
}

TEST(EnvironmentWatcherTest, WatchVarsCallsOncePerPollWithEveryChange) {
  ScopedEnv a("EW_X", "1");
  ScopedEnv b("EW_Y", "1");
  ScopedEnv c("EW_Z", "1");
  EnvironmentWatcher w(1h);
  Recorder r;
  w.watch_vars({"EW_X", "EW_Y"}, r.callback());
  ASSERT_TRUE(set_env("EW_X", "2").ok());
  ASSERT_TRUE(set_env("EW_Y", "2").ok());
  ASSERT_TRUE(set_env("EW_Z", "2").ok());  // not watched
  EXPECT_EQ(w.poll(), 2u);
  ASSERT_EQ(r.count(), 1u);
  EXPECT_EQ(r.at(0).size(), 2u);
  EXPECT_EQ(r.at(0).count("EW_Z"), 0u);
}

TEST(EnvironmentWatcherTest, SetEnvNotifiesAtOnce) {
  ScopedEnv a("EW_FAST", "1");
  EnvironmentWatcher w(1h);  // the poll interval never elapses in this test
  Recorder r;
  w.watch_var("EW_FAST", r.callback());
  ASSERT_TRUE(w.start().ok());
  EXPECT_TRUE(w.running());
  ASSERT_TRUE(w.start().ok());  // a second start does nothing
  ASSERT_TRUE(set_env("EW_FAST", "2").ok());
  ASSERT_TRUE(wait_until([&] { return r.count() == 1; }));
  EXPECT_EQ(r.at(0).at("EW_FAST"), (EnvChange{"1", "2"}));
  w.stop();
  w.stop();
  EXPECT_FALSE(w.running());
}

// A plain setenv (not liveconf::set_env) is seen by the next poll. Made the
// one well-defined way (env.hpp): while no other thread reads the
// environment, so the watcher is driven by poll() on this thread instead of
// its own thread. (A plain setenv while the watcher's thread runs is the
// documented undefined behaviour; no test can make it safe.)
TEST(EnvironmentWatcherTest, PlainSetenvIsSeenByTheNextPoll) {
  ScopedEnv a("EW_PLAIN", "1");
  EnvironmentWatcher w(20ms);
  Recorder r;
  w.watch_var("EW_PLAIN", r.callback());
  EXPECT_EQ(w.poll(), 0u);
  ::setenv("EW_PLAIN", "2", 1);  // NOLINT(concurrency-mt-unsafe): no other reader now
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 1u);
  EXPECT_EQ(r.at(0).at("EW_PLAIN"), (EnvChange{"1", "2"}));
}

// A poll reuses the last poll's answer for every environ entry whose bytes did
// not change; these pin what that must still see.
TEST(EnvironmentWatcherTest, APutenvBufferChangedInPlaceIsSeen) {
  static char buffer[] = "EW_PUT=aaaa";  // putenv keeps this very buffer in environ
  ASSERT_EQ(::putenv(buffer), 0);
  EnvironmentWatcher w(1h);
  Recorder r;
  w.watch_var("EW_PUT", r.callback());
  EXPECT_EQ(w.poll(), 0u);
  buffer[7] = 'b';  // same pointer, new bytes
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 1u);
  EXPECT_EQ(r.at(0).at("EW_PUT"), (EnvChange{"aaaa", "baaa"}));
  EXPECT_EQ(w.poll(), 0u);
  ASSERT_TRUE(unset_env("EW_PUT").ok());
}

TEST(EnvironmentWatcherTest, AWatchAddedAfterPollsSeesVariablesThatDidNotChange) {
  ScopedEnv a("EW_EARLY", "1");
  ScopedEnv b("EW_LATE", "x");
  EnvironmentWatcher w(1h);
  Recorder r;
  w.watch_var("EW_EARLY", r.callback());
  EXPECT_EQ(w.poll(), 0u);
  EXPECT_EQ(w.poll(), 0u);
  w.watch_var("EW_LATE", r.callback());  // its environ entry is unchanged since the last poll
  EXPECT_EQ(w.poll(), 0u) << "an unchanged, newly watched variable was reported as unset";
  ASSERT_TRUE(set_env("EW_LATE", "y").ok());
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 1u);
  EXPECT_EQ(r.at(0).at("EW_LATE"), (EnvChange{"x", "y"}));
}

TEST(EnvironmentWatcherTest, EntriesMovingInEnvironAreNotMistakenForChanges) {
  // unsetenv shifts every later entry down one position.
  ScopedEnv a("EW_M1", "1");
  ScopedEnv b("EW_M2", "2");
  ScopedEnv c("EW_M3", "3");
  EnvironmentWatcher w(1h);
  Recorder r;
  w.watch_vars({"EW_M2", "EW_M3"}, r.callback());
  EXPECT_EQ(w.poll(), 0u);
  ASSERT_TRUE(unset_env("EW_M1").ok());
  EXPECT_EQ(w.poll(), 0u);
  ASSERT_TRUE(unset_env("EW_M2").ok());
  ASSERT_TRUE(set_env("EW_M1", "again").ok());
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 1u);
  EXPECT_EQ(r.at(0).at("EW_M2"), (EnvChange{"2", std::nullopt}));
  EXPECT_EQ(w.poll(), 0u);
}

// environ replaced by hand (execve can hand a process duplicate names): the
// first entry of a name is getenv's answer, whichever position it moves to.
class HandMadeEnviron {
 public:
  explicit HandMadeEnviron(std::vector<char*> entries) : entries_(std::move(entries)) {
    entries_.push_back(nullptr);
    detail::MutexLock lk(detail::env_mutex());
    saved_ = environ;
    environ = entries_.data();
  }
  ~HandMadeEnviron() {
    detail::MutexLock lk(detail::env_mutex());
    environ = saved_;
  }
  HandMadeEnviron(const HandMadeEnviron&) = delete;
  HandMadeEnviron& operator=(const HandMadeEnviron&) = delete;
  void set(std::size_t i, char* entry) {
    detail::MutexLock lk(detail::env_mutex());
    entries_.at(i) = entry;
  }

 private:
  std::vector<char*> entries_;
  char** saved_ = nullptr;
};

TEST(EnvironmentWatcherTest, DuplicateNamesFollowGetenvAsEntriesMove) {
  char first[] = "EW_DUP=first";
  char second[] = "EW_DUP=second";
  char five[] = "EW_DUP=five";
  char other[] = "EW_OTHER=x";
  char malformed[] = "=no-name";
  HandMadeEnviron env({first, second, malformed});
  EnvironmentWatcher w(1h);
  Recorder r;
  w.watch_var("EW_DUP", r.callback());
  EXPECT_EQ(w.poll(), 0u);
  env.set(0, other);  // the second entry is now the first of its name
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 1u);
  EXPECT_EQ(r.at(0).at("EW_DUP"), (EnvChange{"first", "second"}));
  env.set(0, five);  // a new first, in front of the unchanged "second"
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 2u);
  EXPECT_EQ(r.at(1).at("EW_DUP"), (EnvChange{"second", "five"}));
  env.set(0, other);  // "second", unchanged in its place all along, is the answer again
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 3u);
  EXPECT_EQ(r.at(2).at("EW_DUP"), (EnvChange{"five", "second"}));
  env.set(1, malformed);  // gone
  EXPECT_EQ(w.poll(), 1u);
  ASSERT_EQ(r.count(), 4u);
  EXPECT_EQ(r.at(3).at("EW_DUP"), (EnvChange{"second", std::nullopt}));
  EXPECT_EQ(w.poll(), 0u);
}

TEST(EnvironmentWatcherTest, ThrowingCallbackIsReportedAndOthersRun) {
  ScopedEnv a("EW_T", "1");
  std::mutex mu;
  std::vector<std::string> errors;
  EnvironmentWatcherOptions o;
  o.poll_interval = 1h;
  o.on_error = [&](std::string_view m) {
    std::lock_guard<std::mutex> lk(mu);
    errors.emplace_back(m);
  };
  EnvironmentWatcher w(o);
  Recorder r;
  w.watch_var("EW_T", [](const EnvChanges&) { throw std::runtime_error("boom"); });
  w.watch_var("EW_T", r.callback());
  ASSERT_TRUE(set_env("EW_T", "secret-value").ok());
  EXPECT_EQ(w.poll(), 1u);
  EXPECT_EQ(r.count(), 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("EW_T"), std::string::npos);
  EXPECT_NE(errors[0].find("boom"), std::string::npos);
  EXPECT_EQ(errors[0].find("secret-value"), std::string::npos);
  // It is called again next time.
  ASSERT_TRUE(set_env("EW_T", "3").ok());
  w.poll();
  EXPECT_EQ(errors.size(), 2u);
}

TEST(EnvironmentWatcherTest, PrefixWatchSeesVariablesAppearAndGo) {
  EnvironmentWatcher w(1h);
  Recorder r;
  w.watch_prefix("EWP_", r.callback());
  ScopedEnv a("EWP_ONE", "1");
  EXPECT_EQ(w.poll(), 1u);
  EXPECT_EQ(r.at(0).at("EWP_ONE"), (EnvChange{std::nullopt, "1"}));
  ASSERT_TRUE(unset_env("EWP_ONE").ok());
  w.poll();
  EXPECT_EQ(r.at(1).at("EWP_ONE"), (EnvChange{"1", std::nullopt}));
}

TEST(EnvironmentWatcherTest, UnwatchAndStopFromInsideCallbacks) {
  ScopedEnv a("EW_U", "1");
  EnvironmentWatcher w(1h);
  std::atomic<int> calls{0};
  EnvironmentWatcher::WatchId id = 0;
  id = w.watch_var("EW_U", [&](const EnvChanges&) {
    ++calls;
    w.unwatch(id);  // from its own callback: returns at once
  });
  ASSERT_TRUE(w.start().ok());
  ASSERT_TRUE(set_env("EW_U", "2").ok());
  ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
  ASSERT_TRUE(set_env("EW_U", "3").ok());
  EXPECT_EQ(w.poll(), 0u);  // nothing is watched any more
  EXPECT_EQ(calls.load(), 1);

  auto inner = std::make_unique<EnvironmentWatcher>(1h);
  std::atomic<bool> stopped{false};
  inner->watch_var("EW_U", [&](const EnvChanges&) {
    inner->stop();  // does not wait for itself
    stopped = true;
  });
  ASSERT_TRUE(inner->start().ok());
  ASSERT_TRUE(set_env("EW_U", "4").ok());
  ASSERT_TRUE(wait_until([&] { return stopped.load(); }));
  EXPECT_FALSE(inner->running());
  inner.reset();
}

TEST(EnvironmentWatcherTest, DestructorStops) {
  ScopedEnv a("EW_D", "1");
  std::atomic<int> calls{0};
  std::uint64_t polls_at_destruction = 0;
  {
    EnvironmentWatcher w(1ms);
    w.watch_var("EW_D", [&](const EnvChanges&) { ++calls; });
    ASSERT_TRUE(w.start().ok());
    ASSERT_TRUE(wait_until([&] { return w.polls() > 3; }));
    // The thread polls: a change now is seen (the watcher works) ...
    ASSERT_TRUE(set_env("EW_D", "2").ok());
    ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }));
    polls_at_destruction = w.polls();
  }
  // ... and after the destructor returns, nothing runs: a change made now
  // is never reported, however long we give a thread that might still poll.
  ASSERT_TRUE(set_env("EW_D", "3").ok());
  EnvironmentWatcher other(1ms);  // a second watcher's polls measure the passing time
  std::atomic<int> other_calls{0};
  other.watch_var("EW_D", [&](const EnvChanges&) { ++other_calls; });
  ASSERT_TRUE(other.start().ok());
  ASSERT_TRUE(set_env("EW_D", "4").ok());
  ASSERT_TRUE(wait_until([&] { return other_calls.load() >= 1 && other.polls() > 20; }));
  EXPECT_EQ(calls.load(), 1) << "a callback ran after the destructor returned";
  EXPECT_GT(polls_at_destruction, 3u);
}

}  // namespace
}  // namespace liveconf

namespace liveconf {
namespace {

TEST(EnvironmentWatcherTest, UpdateEnvChangesSeveralVariablesInOnePoll) {
  testing::ScopedEnv a("EW_M1", "1");
  testing::ScopedEnv b("EW_M2", "1");
  EnvironmentWatcher w(std::chrono::hours(1));
  testing::EnvCallLog r;
  w.watch_vars({"EW_M1", "EW_M2"}, r.callback());
  ASSERT_TRUE(w.start().ok());
  ASSERT_TRUE(update_env({{"EW_M1", "2"}, {"EW_M2", std::nullopt}}).ok());
  ASSERT_TRUE(testing::wait_until([&] { return r.count() == 1; }));
  EXPECT_EQ(r.at(0).size(), 2u);
  EXPECT_EQ(r.at(0).at("EW_M2"), (EnvChange{"1", std::nullopt}));
  // poll() from inside a callback returns at once instead of deadlocking.
  std::atomic<int> inner{-1};
  w.watch_var("EW_M1", [&](const EnvChanges&) { inner = static_cast<int>(w.poll()); });
  ASSERT_TRUE(set_env("EW_M1", "5").ok());
  ASSERT_TRUE(testing::wait_until([&] { return inner.load() == 0; }));
  // Invalid input changes nothing.
  EXPECT_FALSE(update_env({{"EW_M1", "3"}, {"BAD=NAME", "x"}}).ok());
  EXPECT_EQ(get_env("EW_M1"), "5");
}

}  // namespace
}  // namespace liveconf

namespace liveconf {
namespace {

// The poll interval follows the watcher's clock: with an hour-long interval,
// polls happen only because the test moves a ManualClock.
TEST(EnvironmentWatcherTest, CreateStartsAWatcherWhosePollsFollowItsClock) {
  auto clock = std::make_shared<ManualClock>();
  Result<std::unique_ptr<EnvironmentWatcher>> w =
      EnvironmentWatcher::create(EnvironmentWatcherOptions{.poll_interval = 1h, .clock = clock});
  ASSERT_TRUE(w) << w.error().to_string();
  EXPECT_TRUE((*w)->running());
  const std::uint64_t before = (*w)->polls();
  EXPECT_TRUE(wait_until([&] {
    clock->advance(1h);
    return (*w)->polls() >= before + 2;
  }));
  (*w)->stop();
  (*w)->stop();  // idempotent
  EXPECT_FALSE((*w)->running());
}

}  // namespace
}  // namespace liveconf
