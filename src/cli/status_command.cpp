// `liveconf status --admin ADDR`: reads /status from an admin endpoint (TCP
// or a Unix socket, through libcurl) and prints it for a person: one block per
// config, a table of its sources with state and age. --format json passes the
// endpoint's JSON through unchanged.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include <curl/curl.h>

#include "liveconf/format.hpp"

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/printer.hpp"

namespace liveconf::cli {
namespace {

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// The body of GET `path` from the admin endpoint at `admin`.
Result<std::string> http_get(const std::string& admin, const std::string& path) {
  CURL* curl = ::curl_easy_init();
  if (curl == nullptr) {
    return Error(ErrorCode::kInternal, "libcurl could not start");
  }
  std::string url;
  if (admin.starts_with("unix:")) {
    ::curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, admin.substr(5).c_str());
    url = "http://localhost" + path;
  } else {
    url = "http://" + admin + path;
  }
  std::string body;
  char message[CURL_ERROR_SIZE] = {};
  ::curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  ::curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  ::curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  ::curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, message);
  ::curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  ::curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = ::curl_easy_perform(curl);
  long status = 0;
  ::curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  ::curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return Error(ErrorCode::kUnavailable,
                 "admin endpoint " + admin + ": " +
                     (message[0] != '\0' ? std::string(message) : ::curl_easy_strerror(rc)));
  }
  if (status != 200) {
    return Error(ErrorCode::kUnavailable, "admin endpoint " + admin + path + ": HTTP " +
                                              std::to_string(status) + ": " + body);
  }
  return body;
}

std::string text_of(const Value* v) {
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  return v->is_string() ? v->as_string() : json_text(*v);
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
  Result<std::string> body = http_get(options.admin, "/status");
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
