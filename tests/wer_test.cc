#include "tests/wer.h"

#include "gtest/gtest.h"

namespace voxgate::testing {
namespace {

TEST(WerTest, CountsEachKindOfError) {
  const WordErrors errors =
      CountWordErrors("the cat sat on the mat", "The cat sat on a mat today");
  EXPECT_EQ(errors.substitutions, 1);
  EXPECT_EQ(errors.deletions, 0);
  EXPECT_EQ(errors.insertions, 1);
  EXPECT_EQ(errors.reference_words, 6);
  const WordErrors dropped = CountWordErrors("go forward ten meters", "go ten");
  EXPECT_EQ(dropped.deletions, 2);
  EXPECT_EQ(dropped.errors(), 2);
  EXPECT_EQ(CountWordErrors("Hello, world!", "hello world").errors(), 0);
}

}  // namespace
}  // namespace voxgate::testing
