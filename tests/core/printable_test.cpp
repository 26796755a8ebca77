// printable: messages that quote file bytes stay one line of valid UTF-8.
#include "core/printable.h"

#include <gtest/gtest.h>

namespace moe {
namespace {

TEST(Printable, KeepsTextAndValidUtf8) {
  EXPECT_EQ(printable("model.layers.0 'q_proj' [1, 2]"), "model.layers.0 'q_proj' [1, 2]");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80");
}

TEST(Printable, EscapesControlBytesAndInvalidUtf8) {
  EXPECT_EQ(printable(std::string("a\nb\tc\0d\x7f", 8)), "a\\x0ab\\x09c\\x00d\\x7f");
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(printable("\xc3"), "\\xc3");                             // truncated sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a UTF-16 surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("\xe2\x96x"), "\\xe2\\x96x");
}

}  // namespace
}  // namespace moe
