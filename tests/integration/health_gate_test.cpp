// Health-gated apply (issue 14; BEHAVIOUR.md item 54): a generation that fails its health check
// within the bake time is reverted to the last one that passed, within bake +
// one probe interval; the content that caused it is quarantined (a touch does
// not apply it again) until it changes; new good content is applied; the
// subscribers see exactly two diffs (the apply and the revert). Real files,
// real inotify. LIVECONF_HEALTH_TRIALS sets the number of trials (200 here;
// scripts/health_gate.sh runs 1,000 and prints the revert latencies).
#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/health.hpp"
#include "liveconf/source.hpp"
#include "liveconf/store.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int trials_from_env(int fallback) {
  const char* v = std::getenv("LIVECONF_HEALTH_TRIALS");
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

std::string app_text(int level, bool poison, int salt = 0) {
  return "{\"level\": " + std::to_string(level) + ", \"poison\": " + (poison ? "true" : "false") +
         ", \"salt\": " + std::to_string(salt) + "}\n";
}

// An atomic save (what deploy tools do), so no half-written file is read.
void save(const TempDir& tmp, const fs::path& file, const std::string& text) {
  const fs::path temp = tmp / ".app.json.tmp";
  write_file(temp, text);
  fs::rename(temp, file);
}

// Healthy unless "poison" is true.
Status poison_check(const Snapshot& s) {
  const Value* p = s.find("poison");
  if (p != nullptr && p->is_bool() && p->as_bool()) {
    return Error(ErrorCode::kUnavailable, "poison is set");
  }
  return ok_status();
}

// A manager with config "app" read from a real file, and a subscriber that
// keeps every snapshot it is called with.
struct Fixture {
  explicit Fixture(const std::string& initial) {
    file = tmp.write("app.json", initial);
    ManagerOptions mo;
    mo.log = [](LogLevel, std::string_view) {};
    manager = std::make_unique<ConfigManager>(std::move(mo));
    EXPECT_TRUE(manager->register_untyped("app").ok());
    FileSourceOptions fo;
    fo.path = file;
    fo.debounce.quiet = 1ms;
    EXPECT_TRUE(manager->add_source("app", make_file_source(fo).value()).ok());
    first = manager->snapshot("app").value()->generation();
    sub = manager
              ->subscribe("app", "",
                          [this](const SnapshotPtr&, const SnapshotPtr& current, const ChangeSet&) {
                            std::lock_guard<std::mutex> lk(mu);
                            seen.push_back(current);
                          })
              .value();
  }
  [[nodiscard]] SnapshotPtr served() const { return manager->snapshot("app").value(); }
  [[nodiscard]] ConfigStatus status() const { return manager->status("app").value(); }
  [[nodiscard]] std::vector<SnapshotPtr> calls() {
    std::lock_guard<std::mutex> lk(mu);
    return seen;
  }

  TempDir tmp;
  fs::path file;
  std::unique_ptr<ConfigManager> manager;
  std::uint64_t first = 0;  // the generation served once the file is loaded
  std::mutex mu;
  std::vector<SnapshotPtr> seen;
  std::optional<Subscription> sub;
};

std::int64_t level_of(const Snapshot& s) {
  const Value* v = s.find("level");
  return v != nullptr && v->is_int() ? v->as_int() : -1;
}

TEST(HealthGateTest, B54_RevertsWithinBakePlusIntervalQuarantinesAndAppliesNewContent) {
  constexpr auto kBake = 200ms;
  constexpr auto kInterval = 20ms;
  Fixture f(app_text(0, false));
  std::mutex events_mu;
  std::vector<HealthEvent> events;
  HealthGateOptions options;
  options.checks.push_back({"poison", poison_check});
  options.bake = kBake;
  options.interval = kInterval;
  options.on_event = [&](const HealthEvent& e) {
    std::lock_guard<std::mutex> lk(events_mu);
    events.push_back(e);
  };
  auto gate = HealthGate::start(*f.manager, "app", std::move(options)).value();

  const int trials = trials_from_env(200);
  std::vector<double> latencies_ms;
  for (int i = 1; i <= trials; ++i) {
    SCOPED_TRACE("trial " + std::to_string(i));
    // New good content is applied, and passes its bake.
    save(f.tmp, f.file, app_text(i, false));
    ASSERT_TRUE(wait_until([&] {
      const SnapshotPtr s = f.served();
      return level_of(*s) == i && f.status().healthy_generation == s->generation();
    })) << "good content "
        << i << " was not applied and baked";
    const SnapshotPtr good = f.served();
    const std::size_t calls_before = f.calls().size();

    // Bad content: applied, fails its first probe, reverted.
    const std::string bad = app_text(i, true, i);
    save(f.tmp, f.file, bad);
    ASSERT_TRUE(wait_until([&] {
      const SnapshotPtr s = f.served();
      return s->revert() && s->revert()->from > good->generation();
    })) << "the poisoned generation was not reverted";
    const SnapshotPtr reverted = f.served();
    EXPECT_EQ(reverted->revert()->to, good->generation());
    EXPECT_EQ(reverted->revert()->quarantined, std::vector<std::string>{"file:" + f.file.string()});
    EXPECT_NE(reverted->revert()->reason.find("poison is set"), std::string::npos);
    EXPECT_EQ(reverted->tree(), good->tree());

    // Exactly two diffs: the apply and the revert.
    ASSERT_TRUE(wait_until([&] { return f.calls().size() >= calls_before + 2; }));
    const std::vector<SnapshotPtr> calls = f.calls();
    ASSERT_EQ(calls.size(), calls_before + 2);
    const SnapshotPtr& applied = calls[calls_before];
    EXPECT_EQ(applied->generation(), reverted->revert()->from);
    EXPECT_TRUE(applied->find("poison")->as_bool());
    EXPECT_EQ(calls[calls_before + 1], reverted);
    const auto took = reverted->published_at() - applied->published_at();
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(took).count());
    EXPECT_LE(took, kBake + kInterval)
        << "reverted after " << std::chrono::duration<double, std::milli>(took).count() << " ms";

    // A touch (the same content saved again) is loaded and not applied.
    const std::uint64_t loads = f.status().sources.at(0).loads;
    save(f.tmp, f.file, bad);
    ASSERT_TRUE(wait_until([&] { return f.status().sources.at(0).loads > loads; }));
    const ConfigStatus st = f.status();
    EXPECT_EQ(st.generation, reverted->generation());
    EXPECT_EQ(st.sources.at(0).state, SourceState::kError);
    ASSERT_TRUE(st.sources.at(0).last_error.has_value());
    EXPECT_NE(st.sources.at(0).last_error->message().find("not applied again"), std::string::npos);
    EXPECT_EQ(f.calls().size(), calls_before + 2);
  }
  save(f.tmp, f.file, app_text(trials + 1, false));
  ASSERT_TRUE(wait_until([&] { return level_of(*f.served()) == trials + 1; }));
  EXPECT_EQ(f.status().rollbacks.by_health, static_cast<std::uint64_t>(trials));
  EXPECT_EQ(gate->status().reverts, static_cast<std::uint64_t>(trials));
  {
    std::lock_guard<std::mutex> lk(events_mu);
    EXPECT_EQ(
        std::count_if(events.begin(), events.end(),
                      [](const HealthEvent& e) { return e.kind == HealthEvent::Kind::kReverted; }),
        trials);
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf(
      "health gate: %d reverts; publish to revert: median %.1f ms, p99 %.1f ms, max %.1f "
      "ms (bound: bake %lld + interval %lld ms)\n",
      trials, latencies_ms[latencies_ms.size() / 2],
      latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)],
      latencies_ms.back(), static_cast<long long>(kBake.count()),
      static_cast<long long>(kInterval.count()));
}

TEST(HealthGateTest, ARevertGoesBackPastEveryUnbakedGeneration) {
  Fixture f(app_text(1, false));
  HealthGateOptions options;
  // Level 3 is bad; level 2 is fine but never finishes its (long) bake.
  options.checks.push_back({"level", [](const Snapshot& s) -> Status {
                              return level_of(s) == 3
                                         ? Status(Error(ErrorCode::kUnavailable, "level 3"))
                                         : ok_status();
                            }});
  options.bake = 300ms;
  options.interval = 10ms;
  auto gate = HealthGate::start(*f.manager, "app", std::move(options)).value();
  ASSERT_TRUE(wait_until([&] { return f.status().healthy_generation == f.first; }));
  // The healthy generation's bake is over; now a longer one cannot end before
  // level 3 arrives: level 2 is published and level 3 follows at once.
  save(f.tmp, f.file, app_text(2, false));
  ASSERT_TRUE(wait_until([&] { return level_of(*f.served()) == 2; }));
  save(f.tmp, f.file, app_text(3, false));
  ASSERT_TRUE(wait_until([&] { return f.served()->revert().has_value(); }));
  const SnapshotPtr s = f.served();
  EXPECT_EQ(s->revert()->to, f.first);
  EXPECT_EQ(s->revert()->from, f.first + 2);
  EXPECT_EQ(level_of(*s), 1);
  EXPECT_EQ(f.status().healthy_generation, s->generation());
}

TEST(HealthGateTest, AFirstGenerationThatFailsHasNothingToGoBackTo) {
  Fixture f(app_text(1, true));
  std::mutex mu;
  std::vector<HealthEvent> events;
  HealthGateOptions options;
  options.checks.push_back({"poison", poison_check});
  options.bake = 50ms;
  options.interval = 10ms;
  options.on_event = [&](const HealthEvent& e) {
    std::lock_guard<std::mutex> lk(mu);
    events.push_back(e);
  };
  auto gate = HealthGate::start(*f.manager, "app", std::move(options)).value();
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard<std::mutex> lk(mu);
    return !events.empty();
  }));
  {
    std::lock_guard<std::mutex> lk(mu);
    ASSERT_EQ(events[0].kind, HealthEvent::Kind::kRevertFailed);
    EXPECT_NE(events[0].reason.find("no generation has passed its health bake"), std::string::npos)
        << events[0].reason;
  }
  EXPECT_EQ(f.served()->generation(), f.first);  // still served: there is nothing else
  // A good change afterwards is baked and becomes the healthy generation.
  save(f.tmp, f.file, app_text(2, false));
  ASSERT_TRUE(wait_until([&] { return f.status().healthy_generation == f.first + 1; }));
}

TEST(HealthGateTest, FailFromAnOutsideObserverRevertsTheBakingGeneration) {
  Fixture f(app_text(1, false));
  HealthGateOptions options;
  options.checks.push_back({"always", [](const Snapshot&) { return ok_status(); }});
  options.bake = 60s;  // never ends in this test
  options.interval = 10ms;
  auto gate = HealthGate::start(*f.manager, "app", std::move(options)).value();
  // Nothing is healthy yet: failing generation 1 reverts nothing.
  ASSERT_TRUE(wait_until([&] { return gate->baking() == f.first; }));
  Result<std::uint64_t> none = gate->fail(0, "the service exited");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::kFailedPrecondition);
  // Not baking: nothing to fail.
  Result<std::uint64_t> idle = gate->fail(0, "again");
  ASSERT_FALSE(idle.ok());
  EXPECT_EQ(idle.error().code(), ErrorCode::kFailedPrecondition);

  ASSERT_TRUE(f.manager->mark_healthy("app", f.first).ok());
  save(f.tmp, f.file, app_text(2, false));
  ASSERT_TRUE(wait_until([&] { return gate->baking() == f.first + 1; }));
  Result<std::uint64_t> r = gate->fail(f.first + 1, "the service exited with status 3");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const SnapshotPtr s = f.served();
  EXPECT_EQ(s->generation(), *r);
  EXPECT_EQ(level_of(*s), 1);
  EXPECT_EQ(s->revert()->reason, "the service exited with status 3");
}

TEST(RevertTest, RefusedWithoutAHealthyGenerationWhilePinnedOrForAnOldGeneration) {
  Fixture f(app_text(1, false));
  ConfigManager& m = *f.manager;
  Result<std::uint64_t> r = m.revert("app", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(m.mark_healthy("app", f.first + 5).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(m.mark_healthy("nope", 1).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(m.mark_healthy("app", f.first).ok());
  // Nothing newer than the healthy generation: nothing to go back to.
  EXPECT_EQ(m.revert("app", {}).error().code(), ErrorCode::kFailedPrecondition);

  save(f.tmp, f.file, app_text(2, false));
  ASSERT_TRUE(wait_until([&] { return level_of(*f.served()) == 2; }));
  EXPECT_EQ(m.revert("app", RevertOptions{f.first, "stale"}).error().code(),
            ErrorCode::kFailedPrecondition);  // no longer served
  ASSERT_TRUE(m.pin("app", {Layer{"pinned", 0, Value::object(), "p"}}).ok());
  EXPECT_EQ(m.revert("app", {}).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(m.mark_healthy("app", f.served()->generation()).error().code(),
            ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(m.unpin("app").ok());
  Result<std::uint64_t> ok = m.revert("app", RevertOptions{0, "by hand"});
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(level_of(*f.served()), 1);
  EXPECT_EQ(m.status("app")->rollbacks.by_health, 1u);
}

TEST(RevertTest, OverridesGoBackButAreNotQuarantined) {
  Fixture f(app_text(1, false));
  ConfigManager& m = *f.manager;
  ASSERT_TRUE(m.mark_healthy("app", f.first).ok());
  Value patch = Value::object();
  patch["level"] = 9;
  ASSERT_TRUE(m.update("app", patch).ok());
  ASSERT_EQ(level_of(*f.served()), 9);
  Result<std::uint64_t> r = m.revert("app", RevertOptions{0, "override broke it"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(level_of(*f.served()), 1);
  EXPECT_TRUE(f.served()->revert()->quarantined.empty());
  EXPECT_EQ(m.status("app")->sources.at(0).state, SourceState::kOk);
  // The same override again is applied: only sources are quarantined.
  ASSERT_TRUE(m.update("app", patch).ok());
  EXPECT_EQ(level_of(*f.served()), 9);
}

TEST(RevertTest, QuarantinedContentBackAfterTheFileWasMissingStaysOut) {
  Fixture f(app_text(1, false));
  ConfigManager& m = *f.manager;
  ASSERT_TRUE(m.mark_healthy("app", f.first).ok());
  save(f.tmp, f.file, app_text(2, false));
  ASSERT_TRUE(wait_until([&] { return level_of(*f.served()) == 2; }));
  Result<std::uint64_t> r = m.revert("app", RevertOptions{0, "level 2 broke it"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(level_of(*f.served()), 1);
  ASSERT_EQ(f.status().sources.at(0).state, SourceState::kError);

  // The file goes away (the source is missing, the last good content serves)
  // and comes back with the quarantined content: refused again, and said so.
  fs::remove(f.file);
  ASSERT_TRUE(wait_until([&] { return f.status().sources.at(0).state == SourceState::kMissing; }));
  save(f.tmp, f.file, app_text(2, false));
  ASSERT_TRUE(wait_until([&] { return f.status().sources.at(0).state == SourceState::kError; }));
  const ConfigStatus st = f.status();
  ASSERT_TRUE(st.sources.at(0).last_error.has_value());
  EXPECT_NE(st.sources.at(0).last_error->message().find("not applied again"), std::string::npos);
  EXPECT_EQ(st.generation, *r);
  EXPECT_EQ(level_of(*f.served()), 1);

  // Other content ends the quarantine.
  save(f.tmp, f.file, app_text(3, false));
  ASSERT_TRUE(wait_until([&] { return level_of(*f.served()) == 3; }));
  // The source's state is announced just after the publish (the update
  // thread's next step), so it is waited for, not read at once.
  EXPECT_TRUE(wait_until([&] { return f.status().sources.at(0).state == SourceState::kOk; }))
      << source_state_name(f.status().sources.at(0).state);
}

}  // namespace
}  // namespace liveconf::testing
