// UTF-8 decoding and encoding, the Unicode classes the pre-tokenizers test (\p{L}, \p{N}, \s), and
// GPT-2's byte <-> printable code point mapping used by byte-level BPE vocabularies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace moe::tokenizer {

struct CodepointRange {
  uint32_t first, last;  // inclusive
};

// Generated tables (unicode_tables.cpp), sorted and disjoint.
std::span<const CodepointRange> letter_ranges();
std::span<const CodepointRange> number_ranges();
std::span<const CodepointRange> whitespace_ranges();

// Stands for a byte that does not start a valid UTF-8 sequence: it is a character of its own, in
// none of the classes, so invalid input still tokenizes and round-trips byte for byte.
inline constexpr uint32_t kInvalidCodepoint = 0xFFFFFFFF;

// Length in bytes of the UTF-8 character at text[pos] (1 for an invalid byte).
size_t utf8_char_len(std::string_view text, size_t pos);
// The code point at text[pos] and its length, kInvalidCodepoint for an invalid byte.
uint32_t utf8_decode(std::string_view text, size_t pos, size_t& len);
void utf8_append(std::string& out, uint32_t cpt);

bool is_letter(uint32_t cpt);
bool is_number(uint32_t cpt);
bool is_whitespace(uint32_t cpt);

// GPT-2's bytes_to_unicode: byte b -> one printable code point, as UTF-8.
const std::string& byte_to_unicode(uint8_t byte);
// Inverse, for one code point; false when cpt is not the image of any byte.
bool unicode_to_byte(uint32_t cpt, uint8_t& byte);

}  // namespace moe::tokenizer
