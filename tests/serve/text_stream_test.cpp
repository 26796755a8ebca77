// TextStream: pieces that split UTF-8 characters or stop strings concatenate to the text of the
// whole, invalid bytes become U+FFFD as Python's decoder writes them, and text after a stop string
// is never returned.
#include "serve/text_stream.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace moe::serve {
namespace {

// The text of `pieces` pushed one by one.
std::string streamed(TextStream& stream, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& piece : pieces) out += stream.push(piece);
  return out;
}

TEST(Utf8Decoder, HoldsACharacterSplitAcrossPieces) {
  Utf8Decoder decoder;
  EXPECT_EQ(decoder.push("a\xE2\x82"), "a");  // the first two bytes of the euro sign
  EXPECT_EQ(decoder.push("\xAC!"), "\xE2\x82\xAC!");
  EXPECT_EQ(decoder.finish(), "");
}

TEST(Utf8Decoder, ReplacesMaximalInvalidSubparts) {
  // Python: b"\xE2\x82A\x80\xF0\x9F\x98\xC0\xAF".decode("utf-8", "replace") == "\ufffdA\ufffd\ufffd\ufffd\ufffd"
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(sanitize_utf8("\xE2\x82"
                          "A\x80\xF0\x9F\x98\xC0\xAF"),
            r + "A" + r + r + r + r);
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), r + r + r);  // a surrogate: E0..9F only after ED
  EXPECT_EQ(sanitize_utf8("ok \xF0\x9F\x98\x80"), "ok \xF0\x9F\x98\x80");
  Utf8Decoder decoder;
  EXPECT_EQ(decoder.push("x\xF0\x9F"), "x");
  EXPECT_EQ(decoder.finish(), r);  // cut short at the end
}

TEST(TextStream, PiecesConcatenateToTheWhole) {
  const std::vector<std::string> pieces = {" The", " caf", "\xC3", "\xA9", " is", " \xE2\x82", "\xAC", "5"};
  TextStream stream({});
  std::string text = streamed(stream, pieces);
  text += stream.finish();
  EXPECT_EQ(text,
            " The caf\xC3\xA9 is \xE2\x82\xAC"
            "5");
}

TEST(TextStream, StopStringAcrossPiecesEndsTheText) {
  TextStream stream({"END", "zz"});
  EXPECT_EQ(stream.push("hello E"), "hello ");  // "E" may begin "END"
  EXPECT_EQ(stream.push("N"), "");
  EXPECT_FALSE(stream.stopped());
  EXPECT_EQ(stream.push("D and more"), "");
  EXPECT_TRUE(stream.stopped());
  EXPECT_EQ(stream.push("later"), "");
  EXPECT_EQ(stream.finish(), "");
}

TEST(TextStream, HeldTextIsReleasedWhenItCannotMatch) {
  TextStream stream({"END"});
  EXPECT_EQ(stream.push("a E"), "a ");
  EXPECT_EQ(stream.push("NX"), "ENX");
  EXPECT_EQ(stream.push("EN"), "");
  EXPECT_EQ(stream.finish(), "EN");  // generation ended: the held text goes out
}

TEST(TextStream, EarliestStopStringWins) {
  TextStream stream({"world", "lo w"});
  EXPECT_EQ(stream.push("hello world"), "hel");
  EXPECT_TRUE(stream.stopped());
}

}  // namespace
}  // namespace moe::serve
