// Corpus replay for builds without libFuzzer (GCC dev/asan/tsan): runs
// LLVMFuzzerTestOneInput once over every file in the directories (and files)
// named on the command line, so ctest checks the seed corpus and every
// minimised crasher in fuzz/regressions/ on each build.
//
//   json_fuzz fuzz/corpus/json fuzz/regressions/json
//
// Files whose names start with '.' (.gitkeep) are skipped; directories are
// read recursively, in sorted order. A failing input aborts (a property check)
// or is reported by a sanitizer; the input's path is printed before it runs.
// Without a sanitizer, the address space is capped (LIVECONF_FUZZ_REPLAY_MAX_MB,
// default 1024) so that an input that explodes in memory fails instead of
// taking the machine down; sanitizer builds get the same cap from ctest
// (max_allocation_size_mb, see fuzz/CMakeLists.txt).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/resource.h>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

void cap_memory() {
  if (kSanitized) {
    return;  // sanitizers reserve terabytes of address space
  }
  std::size_t mb = 1024;
  if (const char* env = std::getenv("LIVECONF_FUZZ_REPLAY_MAX_MB"); env != nullptr) {
    mb = static_cast<std::size_t>(std::strtoull(env, nullptr, 10));
  }
  if (mb == 0) {
    return;
  }
  const rlimit limit{static_cast<rlim_t>(mb) << 20, static_cast<rlim_t>(mb) << 20};
  if (setrlimit(RLIMIT_AS, &limit) != 0) {
    std::perror("setrlimit(RLIMIT_AS)");
  }
}

bool collect(const fs::path& arg, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    out.push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) {
    std::fprintf(stderr, "replay: %s: not a file or directory\n", arg.string().c_str());
    return false;
  }
  for (fs::recursive_directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with(".")) {
      if (it->is_directory(ec)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (it->is_regular_file(ec)) {
      out.push_back(it->path());
    }
  }
  if (ec) {
    std::fprintf(stderr, "replay: %s: %s\n", arg.string().c_str(), ec.message().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  cap_memory();
  bool ok = true;
  std::size_t total = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<fs::path> inputs;
    ok = collect(argv[i], inputs) && ok;
    std::sort(inputs.begin(), inputs.end());
    for (const fs::path& input : inputs) {
      std::ifstream in(input, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "replay: cannot read %s\n", input.string().c_str());
        ok = false;
        continue;
      }
      std::fprintf(stderr, "replay: %s (%zu bytes)\n", input.string().c_str(), bytes.size());
      try {
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      } catch (const std::exception& e) {
        // libFuzzer would report an escaping exception as a crash too.
        std::fprintf(stderr, "replay: %s: uncaught exception: %s\n", input.string().c_str(),
                     e.what());
        return 1;
      }
      ++total;
    }
  }
  std::fprintf(stderr, "replay: %zu inputs, %s\n", total, ok ? "all passed" : "errors above");
  return ok ? 0 : 1;
}
