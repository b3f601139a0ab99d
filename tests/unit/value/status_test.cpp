#include "liveconf/status.hpp"

#include <gtest/gtest.h>

namespace liveconf {
namespace {

TEST(StatusTest, OkAndErrorStates) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.to_string(), "ok");
  Status bad = Error(ErrorCode::kIo, "cannot read");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kIo);
  Status copy = bad;
  EXPECT_EQ(copy.error().message(), "cannot read");
}

TEST(StatusTest, ErrorSentenceNamesPathOriginAndDetail) {
  auto info = std::make_shared<OriginInfo>();
  info->source = "file:/etc/app";
  info->file = "config.yaml";
  Error e(ErrorCode::kType, "expected integer", Origin(info, 12, 9), KeyPath("server.port"),
          "got string \"80a\"");
  EXPECT_EQ(e.to_string(),
            "expected integer at server.port (config.yaml:12:9, layer \"file:/etc/app\"), got "
            "string \"80a\"");
  e.prefix_path("root");
  EXPECT_EQ(e.path().to_string(), "root.server.port");
  EXPECT_EQ(error_code_name(ErrorCode::kValidation), "validation");
}

TEST(StatusTest, ResultHoldsValueOrError) {
  Result<int> good = 5;
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(*good, 5);
  EXPECT_TRUE(good.status().ok());
  Result<int> bad = Error(ErrorCode::kNotFound, "missing");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(bad.status().error().message(), "missing");
}

}  // namespace
}  // namespace liveconf
