// UTF-8 helpers, class lookups over the generated range tables, and GPT-2's byte mapping.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace moe::tokenizer {
namespace {

bool in_ranges(std::span<const CodepointRange> ranges, uint32_t cpt) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cpt,
                             [](uint32_t value, const CodepointRange& r) { return value < r.first; });
  return it != ranges.begin() && cpt <= std::prev(it)->last;
}

bool is_continuation(std::string_view text, size_t pos) {
  return pos < text.size() && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80;
}

// GPT-2 keeps the printable Latin-1 bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) as themselves and
// maps the other 68 bytes, in byte order, to U+0100, U+0101, ...
struct ByteMap {
  std::array<std::string, 256> to_unicode;
  std::array<int16_t, 324> from_unicode;  // code points below U+0144
  ByteMap() {
    from_unicode.fill(-1);
    uint32_t next_extra = 256;
    for (uint32_t byte = 0; byte < 256; ++byte) {
      bool printable = (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
      uint32_t cpt = printable ? byte : next_extra++;
      utf8_append(to_unicode[byte], cpt);
      from_unicode[cpt] = static_cast<int16_t>(byte);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

size_t utf8_char_len(std::string_view text, size_t pos) {
  size_t len = 0;
  utf8_decode(text, pos, len);
  return len;
}

uint32_t utf8_decode(std::string_view text, size_t pos, size_t& len) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  len = 1;
  if (lead < 0x80) return lead;
  size_t n_extra = 0;
  uint32_t cpt = 0;
  uint32_t min_cpt = 0;
  if ((lead & 0xE0) == 0xC0) {
    n_extra = 1, cpt = lead & 0x1F, min_cpt = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    n_extra = 2, cpt = lead & 0x0F, min_cpt = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    n_extra = 3, cpt = lead & 0x07, min_cpt = 0x10000;
  } else {
    return kInvalidCodepoint;
  }
  for (size_t k = 1; k <= n_extra; ++k) {
    if (!is_continuation(text, pos + k)) return kInvalidCodepoint;
    cpt = (cpt << 6) | (static_cast<uint8_t>(text[pos + k]) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  if (cpt < min_cpt || cpt > 0x10FFFF || (cpt >= 0xD800 && cpt <= 0xDFFF)) return kInvalidCodepoint;
  len = n_extra + 1;
  return cpt;
}

void utf8_append(std::string& out, uint32_t cpt) {
  if (cpt < 0x80) {
    out += static_cast<char>(cpt);
  } else if (cpt < 0x800) {
    out += static_cast<char>(0xC0 | (cpt >> 6));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    out += static_cast<char>(0xE0 | (cpt >> 12));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cpt >> 18));
    out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  }
}

bool is_letter(uint32_t cpt) { return in_ranges(letter_ranges(), cpt); }
bool is_number(uint32_t cpt) { return in_ranges(number_ranges(), cpt); }
bool is_whitespace(uint32_t cpt) { return in_ranges(whitespace_ranges(), cpt); }

const std::string& byte_to_unicode(uint8_t byte) { return byte_map().to_unicode[byte]; }

bool unicode_to_byte(uint32_t cpt, uint8_t& byte) {
  const auto& table = byte_map().from_unicode;
  if (cpt >= table.size() || table[cpt] < 0) return false;
  byte = static_cast<uint8_t>(table[cpt]);
  return true;
}

}  // namespace moe::tokenizer
