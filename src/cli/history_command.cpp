// `liveconf history --journal DIR`: the generations a process published,
// newest first, with their sources and changes (secrets masked); `--show GEN`
// prints one generation's whole config (masked). Opens the journal read-only,
// so it can run beside the process writing it.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>
#include <string>

#include "liveconf/journal.hpp"

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/printer.hpp"
#include "cli/render.hpp"

namespace liveconf::cli {
namespace {

std::string layers_json(const std::vector<LayerVersion>& layers) {
  std::string out = "[";
  for (const LayerVersion& l : layers) {
    out += out.size() == 1 ? "" : ",";
    out += R"({"name":)" + json_text(Value(l.name)) + R"(,"priority":)" +
           std::to_string(l.priority) + R"(,"version":)" + json_text(Value(l.version)) + "}";
  }
  return out + "]";
}

std::string record_head_json(const JournalRecord& r) {
  return R"({"sequence":)" + std::to_string(r.sequence) + R"(,"time":)" +
         json_text(Value(iso_time(r.time))) + R"(,"config":)" + json_text(Value(r.config)) +
         R"(,"generation":)" + std::to_string(r.generation) + R"(,"layers":)" +
         layers_json(r.layers) + R"(,"secrets_restorable":)" +
         (r.secrets_restorable ? "true" : "false") + R"(,"pin":)" +
         (r.pin ? R"({"pinned_generation":)" + std::to_string(r.pin->pinned_generation) +
                      R"(,"expires":)" +
                      (r.pin->expires ? json_text(Value(iso_time(*r.pin->expires)))
                                      : std::string("null")) +
                      R"(,"reason":)" + json_text(Value(r.pin->reason)) + "}"
                : std::string("null")) +
         R"(,"revert":)" + (r.revert ? revert_json(*r.revert) : std::string("null"));
}

void print_record_text(const JournalRecord& r, bool color) {
  std::printf("%s %s  %s\n", paint(r.config, "1", color).c_str(),
              paint("generation " + std::to_string(r.generation), "1;36", color).c_str(),
              iso_time(r.time).c_str());
  std::string layers;
  for (const LayerVersion& l : r.layers) {
    layers += (layers.empty() ? "" : ", ") + l.name + (l.version.empty() ? "" : "@" + l.version);
  }
  std::printf("  %s\n",
              paint("sources: " + (layers.empty() ? "(none)" : layers), "2", color).c_str());
  if (r.pin) {
    std::printf(
        "  %s\n",
        paint("pinned: the content of generation " + std::to_string(r.pin->pinned_generation) +
                  (r.pin->reason.empty() ? std::string() : " (" + r.pin->reason + ")") +
                  (r.pin->expires ? ", until " + iso_time(*r.pin->expires)
                                  : std::string(", until unpinned")),
              "1;35", color)
            .c_str());
  }
  if (r.revert) {
    std::printf("  %s\n", paint("reverted: " + revert_text(*r.revert), "1;31", color).c_str());
  }
  if (r.changes.empty()) {
    std::printf("  %s\n", paint("(no change recorded: the first publish of a process, or "
                                "only positions moved)",
                                "2", color)
                              .c_str());
  }
  for (const Change& c : r.changes) {
    std::printf("  %s\n", change_line(c, color).c_str());
  }
}

}  // namespace

Result<JournalOptions> watch_journal_options(const WatchOptions& w) {
  JournalOptions o;
  o.dir = w.journal;
  o.key_file = w.journal_key;
  if (!w.journal_max_size.empty()) {
    std::optional<std::uint64_t> bytes = parse_size(w.journal_max_size);
    if (!bytes || *bytes < (64u << 10)) {
      return Error(ErrorCode::kValidation,
                   "--journal-max-size: expected a size of at least 64KiB such as 64MiB, got \"" +
                       w.journal_max_size + "\"");
    }
    o.max_bytes = *bytes;
  }
  if (w.journal_sync == "none") {
    o.sync = JournalSync::kNone;
  } else if (w.journal_sync != "every") {
    return Error(ErrorCode::kValidation,
                 "--journal-sync: expected every or none, got \"" + w.journal_sync + "\"");
  }
  return o;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t n = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (n > (~std::uint64_t{0} - 9) / 10) {
      return std::nullopt;
    }
    n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  if (i == 0) {
    return std::nullopt;
  }
  const std::string_view unit = text.substr(i);
  int shift = 0;
  if (unit == "KiB" || unit == "K") {
    shift = 10;
  } else if (unit == "MiB" || unit == "M") {
    shift = 20;
  } else if (unit == "GiB" || unit == "G") {
    shift = 30;
  } else if (!unit.empty() && unit != "B") {
    return std::nullopt;
  }
  if (shift != 0 && n > (~std::uint64_t{0} >> shift)) {
    return std::nullopt;
  }
  return n << shift;
}

int run_history(const HistoryOptions& h) {
  JournalOptions options;
  options.dir = h.journal;
  options.key_file = h.journal_key;
  options.read_only = true;
  options.log = [](LogLevel level, std::string_view message) {
    if (level >= LogLevel::kWarning) {
      std::fprintf(stderr, "liveconf: journal: %.*s\n", static_cast<int>(message.size()),
                   message.data());
    }
  };
  Result<std::unique_ptr<Journal>> journal = Journal::open(std::move(options));
  if (!journal) {
    return fail(journal.error());
  }
  const bool json = h.format == "json";
  const bool color = !json && stdout_wants_color();
  if (h.show == 0) {
    const std::vector<JournalRecord> records = (*journal)->records(h.config, h.limit);
    if (json) {
      std::string out = "[";
      for (const JournalRecord& r : records) {
        out += out.size() == 1 ? "" : ",";
        out += record_head_json(r) + R"(,"changes":)" + changes_json(r.changes) + "}";
      }
      std::printf("%s]\n", out.c_str());
    } else if (records.empty()) {
      std::printf("no records in %s\n", h.journal.c_str());
    } else {
      for (const JournalRecord& r : records) {
        print_record_text(r, color);
      }
    }
    return kExitOk;
  }

  // --show GEN: of --config, or of the journal's only config.
  std::string config = h.config;
  if (config.empty()) {
    std::set<std::string> names;
    for (const JournalRecord& r : (*journal)->records()) {
      names.insert(r.config);
    }
    if (names.size() > 1) {
      std::string list;
      for (const std::string& n : names) {
        list += (list.empty() ? "" : ", ") + n;
      }
      return usage(Error(ErrorCode::kValidation,
                         "--show: the journal holds several configs (" + list + "); add --config"));
    }
    config = names.empty() ? std::string(kConfigName) : *names.begin();
  }
  Result<RestoredGeneration> g = (*journal)->restore(config, h.show, /*masked=*/true);
  if (!g) {
    const int code = fail(g.error());
    return g.error().code() == ErrorCode::kNotFound ? kExitAbsent : code;
  }
  Value tree = g->tree();
  mask_sensitive(tree, g->sensitive);
  Result<std::string> text = render_text(tree, "json");
  if (!text) {
    return fail(text.error());
  }
  if (json) {
    std::printf("%s,\"tree\":%s}\n", record_head_json(g->record).c_str(), json_text(tree).c_str());
  } else {
    print_record_text(g->record, color);
    std::printf("%s", text->c_str());
  }
  return kExitOk;
}

}  // namespace liveconf::cli
