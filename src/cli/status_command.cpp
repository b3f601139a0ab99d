// `liveconf status --admin ADDR`: reads /status from an admin endpoint (TCP
// or a Unix socket, through libcurl) and prints it for a person: one block per
// config, a table of its sources with state and age. --format json passes the
// endpoint's JSON through unchanged.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "liveconf/format.hpp"

#include "cli/admin_client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/printer.hpp"

namespace liveconf::cli {
namespace {

std::string text_of(const Value* v) {
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  return v->is_string() ? std::string(v->as_string()) : json_text(*v);
}

// "3s", "4m10s", "2h5m", "-" for never.
std::string age_text(const Value* seconds) {
  if (seconds == nullptr || !seconds->is_number()) {
    return "never";
  }
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds->as_double())));
  if (s < 60) {
    return std::to_string(s) + "s";
  }
  if (s < 3600) {
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  }
  return std::to_string(s / 3600) + "h" + std::to_string((s % 3600) / 60) + "m";
}

// The time left until the Unix time `when`: "4m10s".
std::string age_text_until(double when) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const Value left(when - now);
  return age_text(&left);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) {
    s.append(width - s.size(), ' ');
  }
  return s;
}

void print_table(const Value& status, bool color) {
  const Value* configs = status.find_member("configs");
  if (configs == nullptr || !configs->is_array()) {
    return;
  }
  auto paint = [&](const std::string& state, const std::string& text) {
    if (!color) {
      return text;
    }
    const char* code = state == "ok" ? "32" : state == "error" ? "31" : "33";
    return "\033[" + std::string(code) + "m" + text + "\033[0m";
  };
  for (const Value& c : configs->as_array()) {
    std::cout << "config " << text_of(c.find_member("name")) << " ("
              << text_of(c.find_member("type")) << "): generation "
              << text_of(c.find_member("generation")) << ", " << text_of(c.find_member("publishes"))
              << " published, " << text_of(c.find_member("failures")) << " refused\n";
    if (const Value* e = c.find_member("last_error"); e != nullptr && !e->is_null()) {
      std::cout << "  last error: " << text_of(e->find_member("message")) << "\n";
    }
    if (const Value* p = c.find_member("pending_restart"); p != nullptr && p->size() > 0) {
      for (const Value& change : p->as_array()) {
        std::cout << "  pending restart: " << text_of(&change) << "\n";
      }
    }
    if (const Value* h = c.find_member("healthy_generation");
        h != nullptr && h->is_int() && h->as_int() != 0) {
      std::cout << "  healthy: generation " << h->as_int() << " passed its health bake\n";
    }
    if (const Value* r = c.find_member("rollbacks"); r != nullptr && r->is_object()) {
      const Value* health = r->find_member("health_check");
      const Value* op = r->find_member("operator");
      if ((health != nullptr && health->is_int() && health->as_int() != 0) ||
          (op != nullptr && op->is_int() && op->as_int() != 0)) {
        std::cout << "  rollbacks: " << text_of(health) << " by the health gate, " << text_of(op)
                  << " by an operator\n";
      }
    }
    if (const Value* pin = c.find_member("pin"); pin != nullptr && pin->is_object()) {
      const Value* reason = pin->find_member("reason");
      const Value* expires = pin->find_member("expires");
      const Value* pending = pin->find_member("pending");
      std::cout << "  " << paint("stale", "pinned") << " to the content of generation "
                << text_of(pin->find_member("pinned_generation"))
                << (reason != nullptr && reason->is_string() && !reason->as_string().empty()
                        ? " (" + std::string(reason->as_string()) + ")"
                        : std::string())
                << (expires != nullptr && expires->is_number()
                        ? ", for " + age_text_until(expires->as_double()) + " more"
                        : std::string(", until unpinned"))
                << "; " << (pending != nullptr ? pending->size() : 0) << " source changes wait\n";
      if (pending != nullptr) {
        for (const Value& change : pending->as_array()) {
          std::cout << "    waiting: " << text_of(&change) << "\n";
        }
      }
    }
    const Value* sources = c.find_member("sources");
    if (sources == nullptr || sources->size() == 0) {
      continue;
    }
    std::size_t width = 6;
    for (const Value& s : sources->as_array()) {
      width = std::max(width, text_of(s.find_member("name")).size());
    }
    std::cout << "  " << pad("SOURCE", width) << "  " << pad("STATE", 8) << "  "
              << pad("LAST GOOD", 10) << "  " << pad("LOADS", 6) << "  FAILED\n";
    for (const Value& s : sources->as_array()) {
      const std::string state = text_of(s.find_member("state"));
      std::cout << "  " << pad(text_of(s.find_member("name")), width) << "  "
                << paint(state, pad(state, 8)) << "  "
                << pad(age_text(s.find_member("staleness_seconds")) + " ago", 10) << "  "
                << pad(text_of(s.find_member("loads")), 6) << "  "
                << text_of(s.find_member("failures")) << "\n";
      if (const Value* e = s.find_member("last_error"); e != nullptr && !e->is_null()) {
        std::cout << "    " << text_of(e->find_member("message")) << "\n";
      }
    }
  }
}

}  // namespace

int run_status(const StatusOptions& options) {
  Result<std::string> body = admin_request(options.admin, "/status");
  if (!body) {
    return fail(body.error());
  }
  if (options.format == "json") {
    std::cout << *body << std::flush;
    return kExitOk;
  }
  ParseOptions parse;
  parse.origin = make_file_origin("admin", options.admin + "/status");
  Result<Value> status = find_format("json")->parse(*body, parse);
  if (!status) {
    return fail(status.error());
  }
  print_table(*status, stdout_wants_color());
  return kExitOk;
}

}  // namespace liveconf::cli
