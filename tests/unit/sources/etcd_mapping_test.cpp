// etcd keys and values -> configuration trees (src/sources/etcd/etcd_mapping.cpp),
// and the endpoint/range helpers the gRPC code uses.
#include "sources/etcd/etcd_mapping.hpp"

#include <gtest/gtest.h>

namespace liveconf::detail {
namespace {

EtcdEntry entry(const std::string& key, const std::string& value, std::int64_t rev = 7) {
  EtcdEntry e;
  e.value = value;
  e.mod_revision = rev;
  e.parsed = etcd_parse_value(value, "etcd:/app/", key, rev, ParseOptions{});
  return e;
}

EtcdMirror mirror(std::initializer_list<std::pair<std::string, std::string>> kvs) {
  EtcdMirror m;
  for (const auto& [k, v] : kvs) {
    m[k] = entry(k, v);
  }
  return m;
}

TEST(EtcdMappingTest, PrefixGetsATrailingSlash) {
  EXPECT_EQ(etcd_tree_prefix("/app"), "/app/");
  EXPECT_EQ(etcd_tree_prefix("/app/"), "/app/");
  EXPECT_EQ(etcd_tree_prefix(""), "");
}

TEST(EtcdMappingTest, KeyPathsSplitAtSlashesAndSkipEmptySegments) {
  EXPECT_EQ(etcd_key_path("/app/db/port", "/app/").to_string(), "db.port");
  EXPECT_EQ(etcd_key_path("/app//db///port/", "/app/").to_string(), "db.port");
  EXPECT_TRUE(etcd_key_path("/app/", "/app/").empty());
  // A dot inside a key segment stays inside that segment.
  const KeyPath p = etcd_key_path("/app/a.b/c", "/app/");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "a.b");
}

TEST(EtcdMappingTest, ValuesAreJsonWhenTheWholeTextIsJsonElseStrings) {
  EXPECT_TRUE(entry("/app/a", "5432").parsed.is_int());
  EXPECT_TRUE(entry("/app/a", "1.5").parsed.is_double());
  EXPECT_TRUE(entry("/app/a", "false").parsed.is_bool());
  EXPECT_TRUE(entry("/app/a", "null").parsed.is_null());
  EXPECT_EQ(entry("/app/a", "\"x y\"").parsed.as_string(), "x y");
  EXPECT_TRUE(entry("/app/a", R"({"k": [1]})").parsed.is_object());
  EXPECT_EQ(entry("/app/a", "db.internal").parsed.as_string(), "db.internal");
  EXPECT_EQ(entry("/app/a", "{broken").parsed.as_string(), "{broken");
  EXPECT_EQ(entry("/app/a", "").parsed.as_string(), "");
  EXPECT_EQ(entry("/app/a", "8080 ").parsed.as_int(), 8080);  // JSON allows whitespace
  EXPECT_EQ(entry("/app/a", "12abc").parsed.as_string(), "12abc");
  const Value v = entry("/app/a", R"({"k": 1})", 42).parsed;
  EXPECT_EQ(v.find(KeyPath("k"))->origin().location(), "/app/a@42");
}

TEST(EtcdMappingTest, TreeFromKeysWithDeeperKeysOverridingAnAncestorsDocument) {
  const EtcdMirror m = mirror(
      {{"/app/db", R"({"host": "a", "port": 1})"}, {"/app/db/port", "2"}, {"/app/name", "svc"}});
  Result<Value> tree = etcd_build_tree(m, "/app/");
  ASSERT_TRUE(tree) << tree.error().to_string();
  EXPECT_EQ(tree->find(KeyPath("db.port"))->as_int(), 2);
  EXPECT_EQ(tree->find(KeyPath("db.host"))->as_string(), "a");
  EXPECT_EQ(tree->find(KeyPath("db.port"))->origin().remote_key(), "/app/db/port");
  EXPECT_EQ(tree->find(KeyPath("name"))->as_string(), "svc");
}

TEST(EtcdMappingTest, ADeeperKeySortedBeforeItsAncestorStillWins) {
  // "/app//db/port" sorts before "/app/db" ('/' < 'd') but names db.port:
  // the ancestor's document fills in around it (found by fuzz/etcd_fuzz).
  Result<Value> tree = etcd_build_tree(
      mirror({{"/app//db/port", "2"}, {"/app/db", R"({"host": "a", "port": 1})"}}), "/app/");
  ASSERT_TRUE(tree) << tree.error().to_string();
  EXPECT_EQ(tree->find(KeyPath("db.port"))->as_int(), 2);
  EXPECT_EQ(tree->find(KeyPath("db.host"))->as_string(), "a");
  // ...and a scalar ancestor is a conflict, whichever sorts first.
  Result<Value> bad = etcd_build_tree(mirror({{"/app//db/port", "2"}, {"/app/db", "x"}}), "/app/");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("\"/app/db\""), std::string::npos)
      << bad.error().to_string();
}

TEST(EtcdMappingTest, AKeyUnderAScalarIsAConflictNamingBothKeys) {
  Result<Value> tree = etcd_build_tree(mirror({{"/app/db", "x"}, {"/app/db/port", "1"}}), "/app/");
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().code(), ErrorCode::kValidation);
  EXPECT_NE(tree.error().message().find("\"/app/db\""), std::string::npos);
  EXPECT_NE(tree.error().message().find("/app/db/port"), std::string::npos);
}

TEST(EtcdMappingTest, TwoKeysForOnePathAreAConflict) {
  Result<Value> tree = etcd_build_tree(mirror({{"/app//db", "1"}, {"/app/db", "2"}}), "/app/");
  ASSERT_FALSE(tree);
  EXPECT_NE(tree.error().message().find("both set db"), std::string::npos)
      << tree.error().to_string();
}

// Found by fuzz/etcd_fuzz (fuzz/regressions/etcd/null-value-then-same-path):
// a key whose value is JSON null was taken for "not set yet", so a second
// key for the same path replaced it silently, and a deeper key turned it
// into an object.
TEST(EtcdMappingTest, AKeyWhoseValueIsNullStillSetsItsPath) {
  Result<Value> both = etcd_build_tree(mirror({{"/app/a/y", "null"}, {"/app/a/y/", "x"}}), "/app/");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message().find("both set a.y"), std::string::npos)
      << both.error().to_string();
  Result<Value> under = etcd_build_tree(mirror({{"/app/a", "null"}, {"/app/a/b", "1"}}), "/app/");
  ASSERT_FALSE(under);
  EXPECT_NE(under.error().message().find("holds a null"), std::string::npos)
      << under.error().to_string();
  Result<Value> alone = etcd_build_tree(mirror({{"/app/a", "null"}}), "/app/");
  ASSERT_TRUE(alone) << alone.error().to_string();
  ASSERT_NE(alone->find("a"), nullptr);
  EXPECT_TRUE(alone->find("a")->is_null());
}

TEST(EtcdMappingTest, ThePrefixKeyItselfMapsToNoPath) {
  Result<Value> tree = etcd_build_tree(mirror({{"/app/", "1"}}), "/app/");
  ASSERT_FALSE(tree);
  EXPECT_NE(tree.error().message().find("maps to no configuration path"), std::string::npos);
}

TEST(EtcdMappingTest, DocumentErrorsNameTheKeyRevisionAndLine) {
  EtcdEntry e;
  e.value = "a: 1\nb: [unclosed\n";
  e.mod_revision = 9;
  Result<Value> doc = etcd_parse_document(e, "etcd:/app/c.yaml", "/app/c.yaml",
                                          *find_format("yaml"), ParseOptions{});
  ASSERT_FALSE(doc);
  EXPECT_NE(doc.error().to_string().find("/app/c.yaml@9:"), std::string::npos)
      << doc.error().to_string();
}

TEST(EtcdRpcTest, PrefixEndIsThePrefixWithItsLastByteIncremented) {
  EXPECT_EQ(etcd_prefix_end("/app/"), "/app0");
  EXPECT_EQ(etcd_prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(etcd_prefix_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
  EXPECT_EQ(etcd_prefix_end(""), std::string(1, '\0'));
}

TEST(EtcdRpcTest, EndpointsBecomeGrpcTargets) {
  bool tls = false;
  EXPECT_EQ(*etcd_target("127.0.0.1:2379", tls), "127.0.0.1:2379");
  EXPECT_EQ(*etcd_target("http://10.0.0.1:2379/", tls), "10.0.0.1:2379");
  EXPECT_FALSE(tls);
  EXPECT_EQ(*etcd_target("https://etcd.internal", tls), "etcd.internal:2379");
  EXPECT_TRUE(tls);
  EXPECT_FALSE(etcd_target("unix:///run/etcd.sock", tls));
  EXPECT_FALSE(etcd_target("http://host:1/path", tls));
  Result<std::string> with_password = etcd_target("http://root:S3CRET@host:2379", tls);
  ASSERT_FALSE(with_password);
  EXPECT_EQ(with_password.error().to_string().find("S3CRET"), std::string::npos);
}

}  // namespace
}  // namespace liveconf::detail
