// `liveconf pin|unpin|rollback --admin ADDR --admin-token FILE`: asks a running
// admin endpoint (liveconf watch --admin ... --journal DIR, or any program
// serving liveconf::admin with pin hooks) to serve a stored generation, to go
// back to its sources, or to serve the generation before the current one.
#include <cstdio>
#include <string>

#include "liveconf/format.hpp"

#include "cli/admin_client.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"

namespace liveconf::cli {
namespace {

// RFC 3986 percent-encoding of a query value.
std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace

int run_pin_command(std::string_view action, const PinCommandOptions& o) {
  if (o.admin_token.empty()) {
    return usage(Error(ErrorCode::kValidation,
                       std::string(action) + " changes what is served: give --admin-token FILE"));
  }
  std::string path = "/" + std::string(action) + "/" + query_escape(o.config);
  std::string query;
  auto add = [&](std::string_view key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + query_escape(value);
  };
  if (o.generation != 0) {
    add("generation", std::to_string(o.generation));
  }
  if (!o.ttl.empty()) {
    add("ttl", o.ttl);
  }
  if (!o.reason.empty()) {
    add("reason", o.reason);
  }
  Result<std::string> body = admin_request(o.admin, path + query, o.admin_token, /*post=*/true);
  if (!body) {
    return fail(body.error());
  }
  if (o.format == "json") {
    std::printf("%s", body->c_str());
    return kExitOk;
  }
  Result<Value> v = find_format("json")->parse(*body, ParseOptions{});
  const Value* generation = v ? v->find_member("generation") : nullptr;
  const Value* pinned = v ? v->find_member("pinned_generation") : nullptr;
  std::string line = o.config + ": ";
  if (action == "unpin") {
    line += "unpinned; the sources are served";
  } else {
    line += "pinned";
    if (pinned != nullptr && pinned->is_int()) {
      line += " to the content of generation " + std::to_string(pinned->as_int());
    }
  }
  if (generation != nullptr && generation->is_int()) {
    line += " (now generation " + std::to_string(generation->as_int()) + ")";
  }
  std::printf("%s\n", line.c_str());
  return kExitOk;
}

}  // namespace liveconf::cli
