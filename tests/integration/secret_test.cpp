// Secrets (issue 7, item 6): one test drives every error path and output of
// the library with secret values set to markers, and fails if a marker shows
// up anywhere: log messages at every level (the manager's log sink and the
// default one on stderr), source events, status, errors returned by update(),
// change sets delivered to subscribers over time (the change history),
// pending restart changes, warnings, explain, export in every format and the
// environment binding report. (The CLI's outputs: CliSecretTest.)
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "liveconf/bind.hpp"
#include "liveconf/env.hpp"
#include "liveconf/source.hpp"
#include "liveconf/store.hpp"

#include "testutil/save_patterns.hpp"
#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Markers: text no message would contain by chance. kPin is a secret number.
constexpr std::string_view kMarker = "QZSECRETQZ";
constexpr std::string_view kPin = "73919";

struct Creds {
  std::string user = "svc";
  std::string password;
  int pin = 0;
};

void liveconf_describe(Describer<Creds>& d) {
  d.field("user", &Creds::user);
  d.field("password", &Creds::password)
      .sensitive()
      .check([](const std::string& p) { return p.find(' ') == std::string::npos; },
             "must not contain spaces");
  d.field("pin", &Creds::pin).sensitive().range(0, 9999);
}

struct SecretCfg {
  std::string name = "app";
  Creds db;
  std::string api_key;
  int timeout = 1;
};

void liveconf_describe(Describer<SecretCfg>& d) {
  d.name("SecretCfg");
  d.field("name", &SecretCfg::name);
  d.field("db", &SecretCfg::db);
  d.field("api_key", &SecretCfg::api_key).sensitive().restart_required().env("SECRET_TEST_API_KEY");
  d.field("timeout", &SecretCfg::timeout);
}

// Everything the library said, from every channel.
class Transcript {
 public:
  void add(std::string where, std::string text) {
    std::lock_guard<std::mutex> lk(mu_);
    entries_.emplace_back(std::move(where), std::move(text));
  }
  ManagerOptions options() {
    ManagerOptions o;
    o.log = [this](LogLevel level, std::string_view m) {
      add("log level " + std::to_string(static_cast<int>(level)), std::string(m));
    };
    o.on_source_event = [this](const SourceEvent& e) {
      add("source event", e.source + " " + std::string(source_state_name(e.state)) + " " +
                              (e.error ? e.error->to_string() : std::string()));
    };
    return o;
  }
  ChangeFn recorder() {
    return [this](const SnapshotPtr&, const SnapshotPtr& now, const ChangeSet& changes) {
      for (const Change& c : changes) {
        add("change", c.to_string());
        add("change old", c.old_value ? c.old_value->to_display_string() : "");
        add("change new", c.new_value ? c.new_value->to_display_string() : "");
      }
      for (const Change& c : now->pending_restart()) {
        add("pending restart",
            c.to_string() + " " + (c.new_value ? c.new_value->to_display_string() : ""));
      }
      for (const Error& w : now->warnings()) {
        add("warning", w.to_string());
      }
    };
  }
  // Every entry that contains a marker, with where it came from.
  [[nodiscard]] std::string leaks() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::string out;
    for (const auto& [where, text] : entries_) {
      if (text.find(kMarker) != std::string::npos || text.find(kPin) != std::string::npos) {
        out += where + ": " + text + "\n";
      }
    }
    return out;
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard<std::mutex> lk(mu_);
    return entries_.size();
  }
  [[nodiscard]] std::size_t count(std::string_view where) const {
    std::lock_guard<std::mutex> lk(mu_);
    std::size_t n = 0;
    for (const auto& e : entries_) {
      n += e.first.rfind(where, 0) == 0 ? 1 : 0;
    }
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> entries_;
};

void add_status(Transcript& t, const SourceStatus& s) {
  t.add("source status", s.name + " " + (s.last_error ? s.last_error->to_string() : ""));
}

std::string m(std::string_view suffix = {}) { return std::string(kMarker) + std::string(suffix); }

TEST(SecretTest, NoMarkerInAnyLogLevelErrorDiffExplainExportOrHistory) {
  TempDir dir;
  Transcript t;
  const fs::path app = dir.write(
      "app.yaml", "db:\n  password: " + m("a") + "\n  pin: 1234\napi_key: " + m("k") + "\n");
  const fs::path key_file = dir.write("api-key", m("file") + "\n");
  ScopedEnv pin_env("SEC_DB__PIN", std::nullopt);
  ScopedEnv key_env("SECRET_TEST_API_KEY_FILE", key_file.string());

  ::testing::internal::CaptureStderr();
  {
    ConfigManager manager(t.options());
    ASSERT_TRUE(manager.register_config<SecretCfg>("s").ok());
    Result<Subscription> sub = manager.subscribe("s", KeyPath(), t.recorder());
    ASSERT_TRUE(sub);
    FileSourceOptions fo;
    fo.path = app;
    fo.debounce = Debounce{10ms, 500ms};
    ASSERT_TRUE(manager.add_source("s", make_file_source(fo).value()).ok());
    EnvSourceOptions eo;
    eo.prefix = "SEC";
    eo.priority = -10;  // under the file: the file's api_key changes are seen
    eo.poll_interval = 50ms;
    ASSERT_TRUE(manager.add_source("s", make_env_source(eo).value()).ok());
    auto settle = [&](const std::function<bool()>& done) { ASSERT_TRUE(wait_until(done)); };
    auto password = [&] { return manager.get<SecretCfg>("s").value()->db.password; };
    auto failures = [&] { return manager.status("s").value().failures; };
    auto source_error_count = [&](std::string_view name) {
      std::size_t n = 0;
      const ConfigStatus st = manager.status("s").value();
      for (const SourceStatus& s : st.sources) {
        if (s.name == name && s.state == SourceState::kError) {
          add_status(t, s);
          n = s.loads;
        }
      }
      return n;
    };

    // A secret that changes (the diff, the change history), and a
    // restart-required secret that changes (a pending change).
    atomic_save(app, "db:\n  password: " + m("b") + "\n  pin: 4321\napi_key: " + m("k2") + "\n");
    settle([&] { return password() == m("b"); });

    // Refused by a validator: the value has a space.
    std::uint64_t before = failures();
    atomic_save(app, "db:\n  password: \"" + m("c") + " with space\"\n");
    settle([&] { return failures() > before; });
    // Wrong types: a list for a string secret, text and an out-of-range number for a secret int.
    for (const std::string& bad :
         {"db:\n  password: [" + m("d") + "]\n", "db:\n  pin: " + m("e") + "\n",
          "db:\n  pin: " + std::string(kPin) + "\n"}) {
      before = failures();
      atomic_save(app, bad);
      settle([&] { return failures() > before; });
    }
    // Syntax errors on the line that holds the secret, in every format.
    const std::map<std::string, std::string> broken = {
        {"broken.yaml", "db:\n  password: \"" + m("f") + "\n"},
        {"broken.json", "{\"db\": {\"password\": \"" + m("g") + "}"},
        {"broken.toml", "[db]\npassword = \"" + m("h") + "\n"},
        {"broken2.toml", "[db]\npassword = " + m("i") + "\n"},
        {"broken.ini", "[db]\npassword " + m("j") + "\n"},
        {"broken.env", "DB__PASSWORD=\"" + m("l") + "\n"},
    };
    for (const auto& [name, text] : broken) {
      FileSourceOptions b;
      b.path = dir.write(name, text);
      Result<std::unique_ptr<Source>> src = make_file_source(b);
      ASSERT_TRUE(src);
      const Status st = manager.add_source("s", std::move(*src));
      EXPECT_FALSE(st.ok()) << name;
      t.add("add_source " + name, st.to_string());
    }
    // An unknown key next to the secret: a warning naming the key, never its
    // value. (A misspelt key is not known to be secret, so its value does
    // show in diffs: the value here is not a marker.)
    atomic_save(app, "db:\n  password: " + m("b") + "\n  passwrod: plain-typo-value\n");
    settle([&] { return t.count("warning") >= 1; });
    EXPECT_EQ(t.leaks(), "");

    // The environment: a secret int of the wrong type, then the report.
    ASSERT_TRUE(set_env("SEC_DB__PIN", m("n")).ok());
    settle([&] { return source_error_count("env:SEC") > 0; });
    EnvSourceOptions report_options = eo;
    report_options.schema = &schema_of<SecretCfg>();
    t.add("env report", env_report(report_options).to_string());
    ASSERT_TRUE(unset_env("SEC_DB__PIN").ok());

    // Runtime overrides refused with secret values.
    Value over = Value::object();
    over.set(KeyPath("db.password"), Value(m("o") + " x"));
    t.add("update", manager.update("s", over).to_string());
    over = Value::object();
    over.set(KeyPath("db.pin"), Value(m("p")));
    t.add("update", manager.update("s", over).to_string());

    // What operators read.
    for (const char* path : {"db.password", "db.pin", "api_key", "db"}) {
      t.add("explain", manager.explain("s", KeyPath(path)).value().to_string());
    }
    for (const char* format : {"json", "yaml", "toml"}) {
      ExportOptions eo2;
      eo2.format = format;
      t.add("export", manager.export_config("s", eo2).value());
    }
    const ConfigStatus st = manager.status("s").value();
    t.add("status", st.last_error ? st.last_error->to_string() : "");
    for (const SourceStatus& s : st.sources) {
      add_status(t, s);
    }
  }
  // A manager with the default log sink (stderr), through the same failure.
  {
    ConfigManager plain;
    ASSERT_TRUE(plain.register_config<SecretCfg>("s").ok());
    Value over = Value::object();
    over.set(KeyPath("db.password"), Value(m("q") + " x"));
    EXPECT_FALSE(plain.update("s", over).ok());
  }
  t.add("stderr", ::testing::internal::GetCapturedStderr());

  // The test saw the paths it meant to: refusals, changes, pending restarts.
  EXPECT_GE(t.count("log level"), 8u);
  EXPECT_GE(t.count("change"), 2u);
  EXPECT_GE(t.count("pending restart"), 1u);
  EXPECT_GE(t.count("source event"), 1u);
  EXPECT_GE(t.count("warning"), 1u);
  EXPECT_GE(t.count("source status"), 1u);
  EXPECT_EQ(t.leaks(), "") << "secret markers leaked (above)";
}

}  // namespace
}  // namespace liveconf::testing
