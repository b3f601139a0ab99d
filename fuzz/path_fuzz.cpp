// KeyPath: the strict parser, the lenient constructor and the dotted form.
//  - KeyPath::parse either fails with kValidation or gives non-empty segments
//    whose to_string() parses back to an equal path; the lenient constructor
//    agrees with it on text it accepts;
//  - the lenient constructor never fails, and its path survives to_string()
//    and back;
//  - escape_key_segment(s) is one segment that reads back as s;
//  - child/parent/starts_with agree with each other;
//  - Value::set(p) creates what find(p) finds and erase(p) removes, and
//    neither reaches another copy of the tree (copy-on-write).
#include <cstddef>
#include <cstdint>
#include <string>

#include "liveconf/path.hpp"
#include "liveconf/status.hpp"
#include "liveconf/value.hpp"

#include "fuzz_common.hpp"

namespace {

using liveconf::KeyPath;

std::string show_path(const KeyPath& p) {
  std::string out = "{";
  for (const std::string& s : p.segments()) {
    out += "[" + s + "]";
  }
  return out + "}";
}

void check_tree_operations(const KeyPath& p) {
  liveconf::Value tree;
  tree.set(p, liveconf::Value(42));
  const liveconf::Value* found = tree.find(p);
  LIVECONF_FUZZ_CHECK(found != nullptr && found->is_int() && found->as_int() == 42,
                      show_path(p) + " in " + liveconf::fuzz::show(tree));
  // Copies share container bodies until written; a write must not reach the other copy.
  liveconf::Value copy = tree;
  copy.set(p, liveconf::Value("changed"));
  found = tree.find(p);
  LIVECONF_FUZZ_CHECK(found != nullptr && found->is_int() && found->as_int() == 42,
                      "set on a copy changed the original at " + show_path(p));
  if (!p.empty()) {
    copy = tree;
    LIVECONF_FUZZ_CHECK(copy.erase(p), show_path(p));
    LIVECONF_FUZZ_CHECK(tree.find(p) != nullptr,
                        "erase on a copy removed " + show_path(p) + " from the original");
    LIVECONF_FUZZ_CHECK(tree.erase(p), show_path(p));
    LIVECONF_FUZZ_CHECK(tree.find(p) == nullptr, show_path(p));
    LIVECONF_FUZZ_CHECK(tree.find(p.parent()) != nullptr, show_path(p));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace liveconf;
  const std::string_view text = fuzz::as_text(data, size);
  if (text.size() > 4096) {
    return 0;  // paths are short; long inputs only slow the fuzzer down
  }

  const KeyPath lenient(text);
  const KeyPath lenient_back(lenient.to_string());
  LIVECONF_FUZZ_CHECK(lenient_back == lenient, show_path(lenient) + " -> \"" + lenient.to_string() +
                                                   "\" -> " + show_path(lenient_back));

  Result<KeyPath> strict = KeyPath::parse(text);
  if (!strict) {
    LIVECONF_FUZZ_CHECK(strict.error().code() == ErrorCode::kValidation,
                        strict.error().to_string());
  } else {
    const KeyPath& p = *strict;
    LIVECONF_FUZZ_CHECK(p == lenient, show_path(p) + " vs lenient " + show_path(lenient));
    for (const std::string& segment : p.segments()) {
      LIVECONF_FUZZ_CHECK(!segment.empty(), show_path(p));
    }
    const std::string dotted = p.to_string();
    Result<KeyPath> back = KeyPath::parse(dotted);
    LIVECONF_FUZZ_CHECK(back.has_value() && *back == p,
                        show_path(p) + " -> \"" + dotted + "\" -> " +
                            (back ? show_path(*back) : back.error().to_string()));
    check_tree_operations(p);
  }

  // One segment, escaped, reads back as itself.
  if (!text.empty()) {
    const std::string escaped = escape_key_segment(text);
    Result<KeyPath> one = KeyPath::parse(escaped);
    LIVECONF_FUZZ_CHECK(
        one.has_value() && one->size() == 1 && (*one)[0] == text,
        "\"" + escaped + "\" -> " + (one ? show_path(*one) : one.error().to_string()));
  }

  // Family relations, on the lenient path (which may hold empty segments).
  const KeyPath child = lenient.child(text);
  LIVECONF_FUZZ_CHECK(child.parent() == lenient && child.starts_with(lenient) &&
                          child.size() == lenient.size() + 1 && child.back() == text,
                      show_path(child));
  LIVECONF_FUZZ_CHECK(lenient.starts_with(lenient.parent()) && lenient.starts_with(KeyPath()),
                      show_path(lenient));
  LIVECONF_FUZZ_CHECK(lenient.empty() || !lenient.parent().starts_with(lenient),
                      show_path(lenient));
  LIVECONF_FUZZ_CHECK((lenient < child) && !(child < lenient) && lenient != child,
                      show_path(lenient));
  check_tree_operations(lenient);
  return 0;
}
