#include "cli/printer.hpp"

#include <cstdio>
#include <ctime>
#include <iostream>
#include <unistd.h>

#include "liveconf/env.hpp"

namespace liveconf::cli {

bool stdout_wants_color() {
  if (::isatty(STDOUT_FILENO) == 0 || !get_env("NO_COLOR").value_or("").empty()) {
    return false;
  }
  return get_env("TERM").value_or("dumb") != "dumb";
}

namespace {

// Leaves as "path = value  (origin)" lines, for the text format.
void flatten(const Value& v, KeyPath& path,
             std::vector<std::pair<std::string, const Value*>>& out) {
  if (v.is_object() && !v.as_object().empty()) {
    for (const auto& [key, child] : v.as_object()) {
      path.push_back(key);
      flatten(child, path, out);
      path.pop_back();
    }
    return;
  }
  out.emplace_back(path.to_string(), &v);
}

std::string where(const Value& v) {
  const std::string loc = v.origin().location();
  return loc.empty() ? v.origin().source() : loc;
}

}  // namespace

std::string json_text(const Value& v) { return v.to_display_string(); }

std::string plain_text(const Value& v) {
  return v.is_string() ? std::string(v.as_string()) : json_text(v);
}

std::string format_error(const Error& e) {
  std::string out;
  const std::string loc = e.origin().location();
  if (!loc.empty()) {
    out = loc + ": ";
  }
  out += e.message();
  if (!e.path().empty()) {
    out += " at " + e.path().to_string();
  }
  if (!e.detail().empty()) {
    out += ", " + e.detail();
  }
  return out;
}

std::string paint(std::string_view text, const char* code, bool color) {
  if (!color) {
    return std::string(text);
  }
  return std::string("\033[") + code + "m" + std::string(text) + "\033[0m";
}

std::string Printer::paint(std::string_view text, const char* code) const {
  return cli::paint(text, code, color_);
}

std::string changes_json(std::span<const Change> changes) {
  std::string out = "[";
  for (const Change& c : changes) {
    out += out.size() == 1 ? "{" : ",{";
    out += R"("path":)" + json_text(Value(c.path.to_string()));
    if (c.old_value) {
      out += R"(,"old":)" + json_text(*c.old_value);
    }
    if (c.new_value) {
      out += R"(,"new":)" + json_text(*c.new_value);
    }
    if (c.old_value) {
      out += R"(,"old_source":)" + json_text(Value(c.old_source));
    }
    if (c.new_value) {
      out += R"(,"new_source":)" + json_text(Value(c.new_source));
    }
    out += "}";
  }
  return out + "]";
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const auto secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm utc{};
  ::gmtime_r(&secs, &utc);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms.count() % 1000));
  return std::string(buf, n) + frac;
}

std::string change_line(const Change& c, bool color) {
  std::string line;
  if (!c.old_value) {
    line = paint("+ ", "32", color) + c.path.to_string() + " = " + json_text(*c.new_value);
  } else if (!c.new_value) {
    line = paint("- ", "31", color) + c.path.to_string() + " (was " + json_text(*c.old_value) + ")";
  } else {
    line = paint("~ ", "33", color) + c.path.to_string() + ": " + json_text(*c.old_value) + " -> " +
           json_text(*c.new_value);
  }
  if (c.sensitive) {
    line += " (secret changed)";
  }
  if (c.new_value) {
    line += "  " + paint("(" + where(*c.new_value) + ")", "2", color);
  } else {
    line += "  " + paint("(removed from " + c.old_source + ")", "2", color);
  }
  return line;
}

void Printer::write_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void Printer::loaded(std::uint64_t generation, std::uint64_t snapshot, const Value& config,
                     const std::vector<std::string>& sources) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    write_line(R"({"event":"loaded","generation":)" + std::to_string(generation) +
               R"(,"snapshot":)" + std::to_string(snapshot) + R"(,"config":)" + json_text(config) +
               "}");
    return;
  }
  std::string names;
  for (const std::string& s : sources) {
    names += (names.empty() ? "" : ", ") + s;
  }
  write_line(paint("loaded", "1;32") + " generation " + std::to_string(generation) + " from " +
             (names.empty() ? std::string("defaults") : names));
  std::vector<std::pair<std::string, const Value*>> leaves;
  KeyPath path;
  flatten(config, path, leaves);
  for (const auto& [key, v] : leaves) {
    write_line("  " + key + " = " + json_text(*v) + "  " + paint("(" + where(*v) + ")", "2"));
  }
}

void Printer::changed(std::uint64_t generation, std::uint64_t snapshot, const ChangeSet& changes,
                      const Value& config) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    std::string line = R"({"event":"changed","generation":)" + std::to_string(generation) +
                       R"(,"snapshot":)" + std::to_string(snapshot) + R"(,"changes":)" +
                       changes_json(changes.changes()) + R"(,"config":)" + json_text(config) + "}";
    write_line(line);
    return;
  }
  write_line(paint("changed", "1;33") + " generation " + std::to_string(generation) + ": " +
             std::to_string(changes.size()) + (changes.size() == 1 ? " change" : " changes"));
  for (const Change& c : changes) {
    write_line("  " + change_line(c, color_));
  }
}

void Printer::pinned(std::uint64_t generation, std::uint64_t snapshot, const PinInfo& pin,
                     const ChangeSet& changes, const Value& config) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    write_line(R"({"event":"pinned","generation":)" + std::to_string(generation) +
               R"(,"snapshot":)" + std::to_string(snapshot) + R"(,"pinned_generation":)" +
               std::to_string(pin.pinned_generation) + R"(,"expires":)" +
               (pin.expires ? json_text(Value(iso_time(*pin.expires))) : std::string("null")) +
               R"(,"reason":)" + json_text(Value(pin.reason)) + R"(,"changes":)" +
               changes_json(changes.changes()) + R"(,"config":)" + json_text(config) + "}");
    return;
  }
  write_line(paint("pinned", "1;35") + " generation " + std::to_string(generation) +
             ": the content of generation " + std::to_string(pin.pinned_generation) +
             (pin.reason.empty() ? std::string() : " (" + pin.reason + ")") +
             (pin.expires ? ", until " + iso_time(*pin.expires) : std::string(", until unpinned")));
  for (const Change& c : changes) {
    write_line("  " + change_line(c, color_));
  }
}

std::string revert_json(const RevertInfo& r) {
  std::string q = "[";
  for (const std::string& name : r.quarantined) {
    q += (q.size() == 1 ? "" : ",") + json_text(Value(name));
  }
  return R"({"from":)" + std::to_string(r.from) + R"(,"to":)" + std::to_string(r.to) +
         R"(,"reason":)" + json_text(Value(r.reason)) + R"(,"quarantined":)" + q + "]}";
}

std::string revert_text(const RevertInfo& r) {
  std::string out = "generation " + std::to_string(r.from) + " turned unhealthy (" + r.reason +
                    "); back to the content of generation " + std::to_string(r.to);
  if (!r.quarantined.empty()) {
    out += "; quarantined until they change:";
    for (const std::string& q : r.quarantined) {
      out += " " + q;
    }
  }
  return out;
}

void Printer::reverted(std::uint64_t generation, std::uint64_t snapshot, const RevertInfo& revert,
                       const ChangeSet& changes, const Value& config) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    write_line(R"({"event":"reverted","generation":)" + std::to_string(generation) +
               R"(,"snapshot":)" + std::to_string(snapshot) + R"(,"from":)" +
               std::to_string(revert.from) + R"(,"to":)" + std::to_string(revert.to) +
               R"(,"reason":)" + json_text(Value(revert.reason)) + R"(,"revert":)" +
               revert_json(revert) + R"(,"changes":)" + changes_json(changes.changes()) +
               R"(,"config":)" + json_text(config) + "}");
    return;
  }
  write_line(paint("reverted", "1;31") + " generation " + std::to_string(generation) + ": " +
             revert_text(revert));
  for (const Change& c : changes) {
    write_line("  " + change_line(c, color_));
  }
}

void Printer::healthy(std::uint64_t snapshot) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    write_line(R"({"event":"healthy","snapshot":)" + std::to_string(snapshot) + "}");
    return;
  }
  write_line(paint("healthy", "1;32") + " snapshot " + std::to_string(snapshot) +
             " passed its health bake");
}

void Printer::unpinned(std::uint64_t generation, std::uint64_t snapshot, const ChangeSet& changes,
                       const Value& config) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    write_line(R"({"event":"unpinned","generation":)" + std::to_string(generation) +
               R"(,"snapshot":)" + std::to_string(snapshot) + R"(,"changes":)" +
               changes_json(changes.changes()) + R"(,"config":)" + json_text(config) + "}");
    return;
  }
  write_line(paint("unpinned", "1;35") + " generation " + std::to_string(generation) +
             ": the sources are served again");
  for (const Change& c : changes) {
    write_line("  " + change_line(c, color_));
  }
}

void Printer::error(std::string_view source, const Error& error, std::uint64_t generation,
                    std::uint64_t snapshot) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    write_line(R"({"event":"error","source":)" + json_text(Value(source)) + R"(,"message":)" +
               json_text(Value(format_error(error))) + R"(,"generation":)" +
               std::to_string(generation) + R"(,"snapshot":)" + std::to_string(snapshot) + "}");
    return;
  }
  std::fprintf(stderr, "liveconf: %s (%s; generation %llu keeps serving)\n",
               format_error(error).c_str(), std::string(source).c_str(),
               static_cast<unsigned long long>(generation));
  std::fflush(stderr);
}

void Printer::source_state(std::string_view source, SourceState state,
                           const std::optional<Error>& why) {
  std::lock_guard<std::mutex> lk(mu_);
  if (json_) {
    std::string line = R"({"event":"source","source":)" + json_text(Value(source)) +
                       R"(,"state":")" + std::string(source_state_name(state)) + "\"";
    if (why) {
      line += R"(,"message":)" + json_text(Value(why->to_string()));
    }
    write_line(line + "}");
    return;
  }
  std::string line = paint("source", "36") + " " + std::string(source) + ": " +
                     std::string(source_state_name(state));
  if (why) {
    line += ": " + why->to_string();
  } else if (state != SourceState::kOk) {
    line += " (its last good content keeps serving)";
  }
  write_line(line);
}

void Printer::warning(std::string_view message) {
  std::lock_guard<std::mutex> lk(mu_);
  std::fprintf(stderr, "liveconf: warning: %s\n", std::string(message).c_str());
  std::fflush(stderr);
}

}  // namespace liveconf::cli
