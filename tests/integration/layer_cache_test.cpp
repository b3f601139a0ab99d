// The sealed layer cache behind the etcd source's offline boot (issue 15;
// BEHAVIOUR.md items 55 and 56): what is written reads back exactly, with its
// origins; nothing in the file is readable without the key; every flipped
// byte, every truncation, another key and another source's cache are refused.
#include "journal/layer_cache.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "liveconf/format.hpp"

#include "testutil/temp_dir.hpp"

namespace liveconf::testing {
namespace {

namespace fs = std::filesystem;
using detail::CachedLayer;
using detail::LayerCache;

constexpr std::string_view kMarker = "CACHESECRETQZ";

Layer sample_layer() {
  ParseOptions po;
  po.origin = make_file_origin("etcd:/app/", "/app/config.json");
  Result<Value> data = find_format("json")->parse(
      "{\"db\": {\"host\": \"db1\", \"port\": 5432, \"password\": \"" + std::string(kMarker) +
          "\"},\n \"ratio\": 0.25, \"tags\": [\"a\", null, true]}",
      po);
  EXPECT_TRUE(data) << data.error().to_string();
  return Layer{"etcd:/app/", 10, std::move(*data), "etcd:42:5"};
}

TEST(LayerCacheTest, ReadsBackExactlyWithOriginsAndHoldsNoPlaintext) {
  TempDir tmp;
  const fs::path key = write_key_file(tmp / "cache.key");
  LayerCache cache = LayerCache::create(tmp / "app.cache", key).value();
  EXPECT_FALSE(cache.read("etcd prefix /app/").value().has_value()) << "no file: no cache";

  const Layer layer = sample_layer();
  ASSERT_TRUE(cache.write("etcd prefix /app/", 42, layer).ok());
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "app.cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string bytes = all_bytes(tmp / "app.cache");
  EXPECT_EQ(bytes.find(kMarker), std::string::npos);
  EXPECT_EQ(bytes.find("db1"), std::string::npos);
  EXPECT_EQ(bytes.find("password"), std::string::npos);

  std::optional<CachedLayer> back = cache.read("etcd prefix /app/").value();
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->identity, "etcd prefix /app/");
  EXPECT_EQ(back->revision, 42);
  EXPECT_EQ(back->layer.name, layer.name);
  EXPECT_EQ(back->layer.priority, 10);
  EXPECT_EQ(back->layer.version, "etcd:42:5");
  EXPECT_TRUE(back->layer.data == layer.data);
  const Value* port = back->layer.data.find(KeyPath("db.port"));
  ASSERT_NE(port, nullptr);
  const Value* port_then = layer.data.find(KeyPath("db.port"));
  EXPECT_EQ(port->origin().to_string(), port_then->origin().to_string());
  EXPECT_NE(port->origin().to_string().find(":1:"), std::string::npos)
      << port->origin().to_string();
  const auto age = std::chrono::system_clock::now() - back->written;
  EXPECT_LT(age, std::chrono::minutes(1));
}

TEST(LayerCacheTest, EveryFlippedByteAndEveryTruncationIsRefused) {
  TempDir tmp;
  const fs::path key = write_key_file(tmp / "cache.key");
  const fs::path file = tmp / "app.cache";
  LayerCache cache = LayerCache::create(file, key).value();
  ASSERT_TRUE(cache.write("etcd prefix /app/", 7, sample_layer()).ok());
  const std::string good = *read_file(file);
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    write_file(file, bad);
    Result<std::optional<CachedLayer>> r = cache.read("etcd prefix /app/");
    ASSERT_FALSE(r.ok()) << "byte " << i << " flipped and still read";
    EXPECT_EQ(r.error().code(), ErrorCode::kValidation);
    EXPECT_NE(r.error().message().find(file.string()), std::string::npos);
    EXPECT_NE(r.error().message().find("refused"), std::string::npos);
  }
  for (std::size_t n = 0; n < good.size(); ++n) {
    write_file(file, std::string_view(good).substr(0, n));
    ASSERT_FALSE(cache.read("etcd prefix /app/").ok()) << "truncated to " << n << " bytes";
  }
  write_file(file, good);
  EXPECT_TRUE(cache.read("etcd prefix /app/").ok());
}

TEST(LayerCacheTest, AnotherKeyOrAnotherSourceIsRefusedAndBadKeysAreClearErrors) {
  TempDir tmp;
  const fs::path file = tmp / "app.cache";
  LayerCache cache = LayerCache::create(file, write_key_file(tmp / "a.key")).value();
  ASSERT_TRUE(cache.write("etcd prefix /app/", 7, sample_layer()).ok());

  LayerCache other = LayerCache::create(file, write_key_file(tmp / "b.key")).value();
  Result<std::optional<CachedLayer>> r = other.read("etcd prefix /app/");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("another key"), std::string::npos) << r.error().message();

  r = cache.read("etcd prefix /other/");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("written for etcd prefix /app/"), std::string::npos)
      << r.error().message();

  write_file(file, "{\"not\": \"a cache\"}");
  r = cache.read("etcd prefix /app/");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not a liveconf cache"), std::string::npos);

  // The key file: missing, or readable by others.
  EXPECT_FALSE(LayerCache::create(file, tmp / "none.key").ok());
  const fs::path open_key = write_key_file(tmp / "open.key");
  fs::permissions(open_key, fs::perms::others_read, fs::perm_options::add);
  Result<LayerCache> loose = LayerCache::create(file, open_key);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message().find("chmod 600"), std::string::npos);
}

}  // namespace
}  // namespace liveconf::testing
