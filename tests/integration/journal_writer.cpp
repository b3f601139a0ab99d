// A process that writes its journal as fast as it can, for the crash test in
// journal_test.cpp: the test kills it with SIGKILL at random points and then
// checks what the journal holds.
//
//   journal_writer DIR KEY_FILE
//
// Registers config "app" (continuing the journal's generations) with a base
// layer holding a secret, then publishes updates without pause: each sets
// "n" to the generation it publishes and "blob" to 0-4 KiB of filler, so
// records differ in size and a kill lands mid-write often. Prints each
// generation once its publish (and so its record) has returned.
#include <cstdio>
#include <random>
#include <string>

#include "liveconf/journal.hpp"
#include "liveconf/store.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: journal_writer DIR KEY_FILE\n");
    return 2;
  }
  liveconf::JournalOptions jo;
  jo.dir = argv[1];
  jo.key_file = argv[2];
  jo.max_bytes = 1 << 20;  // rotation happens under the kills too
  jo.segment_bytes = 128 << 10;
  jo.sync = liveconf::JournalSync::kNone;  // a kill -9 loses no written page
  auto journal = liveconf::Journal::open(jo);
  if (!journal) {
    std::fprintf(stderr, "%s\n", journal.error().to_string().c_str());
    return 2;
  }
  liveconf::ManagerOptions mo;
  mo.log = [](liveconf::LogLevel, std::string_view) {};
  mo.on_publish = (*journal)->publish_hook();
  liveconf::ConfigManager manager(mo);
  liveconf::RegisterOptions ro;
  ro.first_generation = (*journal)->next_generation("app");
  ro.sensitive.emplace_back("db.password");
  liveconf::Value base = liveconf::Value::object();
  base["db"]["host"] = "db.internal";
  base["db"]["password"] = "CRASHSECRETMARKER";
  ro.layers.push_back(liveconf::Layer{"base", 0, base, "v1"});
  if (!manager.register_untyped("app", ro).ok()) {
    return 2;
  }
  std::mt19937 rng(std::random_device{}());
  for (;;) {
    const std::uint64_t next = manager.snapshot("app").value()->generation() + 1;
    liveconf::Value data = liveconf::Value::object();
    data["n"] = static_cast<std::int64_t>(next);
    data["blob"] = std::string(rng() % 4096, 'x');
    if (!manager.update("app", data).ok()) {
      return 3;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(next));
    std::fflush(stdout);
  }
}
