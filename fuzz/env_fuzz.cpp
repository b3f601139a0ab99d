// The environment binding (env.hpp): variables named from a fixed set of
// plausible names get values from the input, then load_env, env_report and
// from_dict<testing::EnvConfig> run with the EnvConfig schema and without one.
//
// Input: byte 0 picks the prefix ("FZ", "FZ_" or none, the last for the typed
// run only: an untyped config needs a prefix); the rest is split at NUL bytes
// (an environment value cannot hold one) into at most 12 records, each a name
// index (first byte, modulo the 31 names; the seeds use index + 62, which is
// printable) and a value (the rest).
//
// File references are confined: values starting with file:// and the values
// of *_FILE variables are rewritten to one of two files this target writes
// (or to a missing one), so the fuzzer never reads arbitrary files (a FIFO
// would hang it). Values of secret fields carry a marker (with a byte that is
// stripped from every other value), and the secret file's content too.
//
// Properties:
//  - update_env accepts the variables; load_env fails only with kIo,
//    kValidation or kParse, and otherwise gives an object;
//  - env_report's bindings are sorted by variable; every bound variable has a
//    non-empty path, and (when load_env succeeded) that path is in the tree;
//  - typed: when load_env succeeded but from_dict fails, the report is not ok
//    (the failure is pinned on a variable);
//  - typed: a secret's value appears in no report line, message or error;
//  - untyped without a prefix is refused with kValidation.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "liveconf/bind.hpp"
#include "liveconf/env.hpp"

#include "fuzz_common.hpp"
#include "testutil/configs.hpp"

namespace {

using namespace liveconf;

struct Name {
  std::string_view suffix;  // after the prefix, or the whole name when explicit
  bool explicit_name;       // a schema's own name (no prefix)
  bool secret;              // sets a sensitive field of EnvConfig
  bool file_ref;            // NAME_FILE: the value is a path
};

constexpr std::array<Name, 31> kNames = {{
    {"DEBUG", false, false, false},
    {"SMALL", false, false, false},
    {"RATIO", false, false, false},
    {"TIMEOUT", false, false, false},
    {"HOSTS", false, false, false},
    {"PORTS", false, false, false},
    {"LABELS", false, false, false},
    {"LABELS__TEAM", false, false, false},
    {"LABELS__X_Y", false, false, false},
    {"REPLICAS", false, false, false},
    {"REPLICAS__R1", false, false, false},
    {"REPLICAS__R1__PORT", false, false, false},
    {"REPLICAS__R1__PASSWORD", false, true, false},
    {"DB", false, false, false},
    {"DB__HOST", false, false, false},
    {"DB__PORT", false, false, false},
    {"DB__PASSWORD", false, true, false},
    {"DB__PASSWORD_FILE", false, true, true},
    {"API_KEY", false, true, false},
    {"LOG_LEVEL", false, false, false},
    {"EXTRA", false, false, false},
    {"EXTRA__A", false, false, false},
    {"UNKNOWN", false, false, false},
    {"DB___PORT", false, false, false},  // empty segment
    {"DB_PORT", false, false, false},    // a typo: gets a suggestion
    {"HOSTS__0", false, false, false},   // lists are set whole
    {"DEBUG_FILE", false, false, true},
    {"db__port", false, false, false},  // lower case
    {"_", false, false, false},
    {"SERVICE_API_KEY", true, true, false},
    {"SERVICE_API_KEY_FILE", true, true, true},
}};

constexpr std::string_view kPrefixes[] = {"FZ", "FZ_", ""};

// Only appended to secrets: every other value has its '\x01' bytes replaced.
constexpr std::string_view kMarker = "\x01s3cr3t\x01";

std::string full_name(const Name& n, std::string_view prefix) {
  if (n.explicit_name) {
    return std::string(n.suffix);
  }
  // Without a prefix, the typed config reads the derived names bare.
  return prefix.empty() ? std::string(n.suffix) : "FZ_" + std::string(n.suffix);
}

struct Files {
  std::filesystem::path dir;
  std::filesystem::path plain;
  std::filesystem::path secret;
  std::filesystem::path missing;
};

// Leaked on purpose: the atexit handler that removes the directory runs after
// static destructors registered later, so a static Files would be gone by then.
const Files& files() {
  static const Files* const f = [] {
    auto* out = new Files();  // NOLINT(cppcoreguidelines-owning-memory)
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "liveconf-env-fuzz-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::abort();
    }
    out->dir = tmpl;
    out->plain = out->dir / "plain";
    out->secret = out->dir / "secret";
    out->missing = out->dir / "missing";
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(files().dir, ec);
    });
    return out;
  }();
  return *f;
}

void write_file(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

struct Run {
  std::string_view prefix;
  const Schema* schema;
};

void check_run(const Run& run, bool secrets_set) {
  EnvSourceOptions options;
  options.prefix = std::string(run.prefix);
  options.schema = run.schema;
  options.watch = false;
  const bool typed = run.schema != nullptr;
  const std::string mode =
      std::string(typed ? "typed" : "untyped") + ", prefix \"" + std::string(run.prefix) + "\"";

  Result<Value> tree = load_env(options);
  if (!typed && run.prefix.empty()) {
    LIVECONF_FUZZ_CHECK(!tree && tree.error().code() == ErrorCode::kValidation, mode);
    return;
  }
  if (tree) {
    LIVECONF_FUZZ_CHECK(tree->is_object(), mode + ": " + fuzz::show(*tree));
  } else {
    const ErrorCode code = tree.error().code();
    LIVECONF_FUZZ_CHECK(
        code == ErrorCode::kIo || code == ErrorCode::kValidation || code == ErrorCode::kParse,
        mode + ": " + tree.error().to_string());
  }

  const EnvReport report = env_report(options);
  const std::string report_text = report.to_string();
  LIVECONF_FUZZ_CHECK(std::is_sorted(report.bindings.begin(), report.bindings.end(),
                                     [](const EnvBinding& a, const EnvBinding& b) {
                                       return a.variable < b.variable;
                                     }),
                      mode + ":\n" + report_text);
  for (const EnvBinding& b : report.bindings) {
    if (b.state != EnvBindingState::kBound) {
      continue;
    }
    LIVECONF_FUZZ_CHECK(!b.path.empty(), mode + ": " + b.variable + "\n" + report_text);
    if (tree) {
      LIVECONF_FUZZ_CHECK(
          tree->find(b.path) != nullptr,
          mode + ": " + b.variable + " -> " + b.path.to_string() + " not in " + fuzz::show(*tree));
    }
  }

  std::string leaks = report_text;
  for (const EnvBinding& b : report.bindings) {
    leaks += b.message + "\n" + b.suggestion + "\n";
  }
  if (!tree) {
    leaks += tree.error().to_string() + "\n" + tree.error().detail() + "\n";
  }
  if (tree) {
    BindReport bind;
    const Result<testing::EnvConfig> config = from_dict<testing::EnvConfig>(*tree, {}, &bind);
    if (typed && !config) {
      LIVECONF_FUZZ_CHECK(!report.ok(), mode + ": from_dict failed (" + config.error().to_string() +
                                            ") but the report is ok:\n" + report_text);
    }
    for (const std::vector<Error>* list : {&bind.errors, &bind.warnings}) {
      for (const Error& e : *list) {
        leaks += e.to_string() + "\n" + e.detail() + "\n";
      }
    }
  }
  if (typed && secrets_set) {
    LIVECONF_FUZZ_CHECK(!contains(leaks, kMarker), mode + ": a secret is shown:\n" + leaks);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  if (text.empty() || text.size() > 8192) {
    return 0;
  }
  const std::string_view prefix = kPrefixes[static_cast<unsigned char>(text[0]) % 3];
  const Files& f = files();

  // Every name of every prefix starts unset, so nothing leaks between inputs.
  std::map<std::string, std::optional<std::string>> changes;
  for (const Name& n : kNames) {
    for (const std::string_view p : kPrefixes) {
      changes[full_name(n, p)] = std::nullopt;
    }
  }

  bool secrets_set = false;
  bool files_used = false;
  std::string plain_content;
  std::size_t records = 0;
  std::size_t start = 1;
  while (start < text.size() && records < 12) {
    std::size_t end = text.find('\0', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view record = text.substr(start, end - start);
    start = end + 1;
    if (record.empty()) {
      continue;
    }
    ++records;
    const Name& n = kNames[static_cast<unsigned char>(record[0]) % kNames.size()];
    std::string value(record.substr(1));
    std::replace(value.begin(), value.end(), '\x01', '?');
    if (records == 1) {
      plain_content = value;
    }
    const std::filesystem::path& target =
        value.size() % 4 == 3 ? f.missing : (n.secret ? f.secret : f.plain);
    if (n.file_ref) {
      value = target.string();
      files_used = true;
    } else if (value.starts_with("file://")) {
      value = "file://" + target.string();
      files_used = true;
    } else if (n.secret) {
      value += kMarker;
    }
    secrets_set = secrets_set || n.secret;
    changes[full_name(n, prefix)] = std::move(value);
  }
  if (files_used) {
    write_file(f.plain, plain_content);
    write_file(f.secret, plain_content + std::string(kMarker));
  }

  const Status st = update_env(changes);
  LIVECONF_FUZZ_CHECK(st.ok(), st.to_string());

  check_run(Run{prefix, &schema_of<testing::EnvConfig>()}, secrets_set);
  check_run(Run{prefix, nullptr}, secrets_set);
  return 0;
}
