// The journal's reader on damaged or hostile records. The input is one or
// more record payloads separated by the byte sequence "\xff\xfe\xfd"; each
// is framed with its true length and checksum (so the fuzzer reaches the
// record decoder instead of stopping at the checksum) into a segment file,
// which a read-only Journal then opens. Properties:
//  - opening, listing and restoring never crash, hang or allocate without
//    bound, whatever the payloads hold (lengths, counts, tags, depths);
//  - every record listed restores or fails with an error (never kInternal),
//    masked (no key needed) and unmasked (with a key the records were not
//    sealed with, unless the fuzzer found it).
// Seeds: real records cut from journals written by journal_test.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <xxhash.h>

#include "liveconf/journal.hpp"

#include "fuzz_common.hpp"

namespace {

using namespace liveconf;

void put_fixed(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out.push_back(static_cast<char>(v >> (8 * i)));
  }
}

const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = std::filesystem::temp_directory_path() /
                              ("liveconf-journal-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    const std::filesystem::path key = d / "key";
    std::ofstream(key) << std::string(64, 'c');
    std::filesystem::permissions(
        key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string segment = "LCJRNL01";
  constexpr std::string_view kSeparator = "\xff\xfe\xfd";
  for (std::size_t b = 0; b <= input.size();) {
    std::size_t e = input.find(kSeparator, b);
    if (e == std::string_view::npos) {
      e = input.size();
    }
    const std::string_view payload = input.substr(b, e - b);
    if (!payload.empty()) {
      put_fixed(segment, payload.size(), 4);
      put_fixed(segment, XXH3_64bits(payload.data(), payload.size()), 8);
      segment.append(payload);
    }
    b = e + kSeparator.size();
  }
  const std::filesystem::path& dir = scratch_dir();
  std::ofstream(dir / "00000000000000000001.lcj", std::ios::binary | std::ios::trunc) << segment;

  JournalOptions o;
  o.dir = dir;
  o.key_file = dir / "key";
  o.read_only = true;
  o.log = [](LogLevel, std::string_view) {};
  Result<std::unique_ptr<Journal>> journal = Journal::open(o);
  LIVECONF_FUZZ_CHECK(journal.ok(), journal.error().to_string());
  for (const JournalRecord& r : (*journal)->records()) {
    for (const bool masked : {true, false}) {
      Result<RestoredGeneration> g = (*journal)->restore(r.config, r.generation, masked);
      if (!g) {
        LIVECONF_FUZZ_CHECK(g.error().code() != ErrorCode::kInternal, g.error().to_string());
        continue;
      }
      (void)g->tree();
    }
  }
  return 0;
}
