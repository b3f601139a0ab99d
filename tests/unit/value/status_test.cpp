#include "liveconf/status.hpp"

#include <string>

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

TEST(StatusTest, ValueOnErrorThrowsBadResultAccessCarryingTheError) {
  Result<int> bad = Error(ErrorCode::kNotFound, "no port", {}, KeyPath("server.port"));
  try {
    (void)bad.value();
    FAIL() << "value() on an error did not throw";
  } catch (const BadResultAccess& e) {
    EXPECT_EQ(e.error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(e.error().message(), "no port");
    EXPECT_EQ(e.error().path(), KeyPath("server.port"));
    EXPECT_EQ(std::string(e.what()), "no port at server.port");
  }
  // Every accessor that reaches for the value goes through the same check.
  const Result<int>& cref = bad;
  EXPECT_THROW((void)cref.value(), BadResultAccess);
  EXPECT_THROW((void)std::move(bad).value(), BadResultAccess);
  Result<std::string> text = Error(ErrorCode::kType, "expected string");
  EXPECT_THROW((void)*text, BadResultAccess);
  EXPECT_THROW((void)text->size(), BadResultAccess);
}

TEST(StatusTest, BadResultAccessIsAStdExceptionAndCopiesShareTheError) {
  BadResultAccess original(Error(ErrorCode::kIo, "cannot read"));
  BadResultAccess copy = original;
  EXPECT_EQ(&copy.error(), &original.error());
  const std::exception& base = copy;
  EXPECT_EQ(std::string(base.what()), "cannot read");
}

TEST(StatusTest, ValueOnValueDoesNotThrow) {
  Result<std::string> good = std::string("x");
  EXPECT_EQ(good.value(), "x");
  EXPECT_EQ(good->size(), 1u);
  EXPECT_EQ(std::move(good).value(), "x");
}

TEST(StatusDeathTest, ErrorOnValueAborts) {
  Result<int> good = 5;
  EXPECT_DEATH((void)good.error(), "Result::error\\(\\) called on a Result that holds a value");
  EXPECT_DEATH((void)std::move(good).error(), "holds a value");
}

}  // namespace
}  // namespace liveconf
