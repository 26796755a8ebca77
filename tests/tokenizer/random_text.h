// Seeded random valid UTF-8 for the tokenizer tests: ASCII, whitespace runs, Latin, CJK, emoji,
// combining marks and any other code point. Leaves out '<' (so no special token's text appears)
// and U+2581 (SentencePiece's space symbol, which no SPM tokenizer can round-trip).
#pragma once

#include <iterator>
#include <random>
#include <string>

#include "tokenizer/unicode.h"

namespace moe::tokenizer {

inline std::string random_utf8(std::mt19937& rng, int n_chars) {
  // Drawn uniformly: ASCII three times as often as each other source.
  const CodepointRange sources[] = {
      {0x20, 0x7E},       {0x20, 0x7E}, {0x20, 0x7E},  // ASCII
      {0xA0, 0x24F},                                   // Latin-1, Latin Extended
      {0x4E00, 0x9FFF},                                // CJK
      {0x1F300, 0x1FAFF},                              // emoji
      {0x300, 0x36F},                                  // combining marks
      {0x0, 0x1F},                                     // control characters, NUL included
      {0x80, 0x10FFFF},                                // anything
      {0x0, 0x0},                                      // whitespace, below
  };
  const uint32_t whitespace[] = {' ', '\n', '\t', '\r'};
  auto pick = [&](uint32_t first, uint32_t last) { return std::uniform_int_distribution<uint32_t>(first, last)(rng); };
  std::string out;
  for (int k = 0; k < n_chars; ++k) {
    const uint32_t source = pick(0, std::size(sources) - 1);
    uint32_t cpt =
        source + 1 == std::size(sources) ? whitespace[pick(0, 3)] : pick(sources[source].first, sources[source].last);
    if ((cpt >= 0xD800 && cpt <= 0xDFFF) || cpt == '<' || cpt == 0x2581) cpt = 'x';
    utf8_append(out, cpt);
  }
  return out;
}

}  // namespace moe::tokenizer
