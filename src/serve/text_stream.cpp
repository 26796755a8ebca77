// TextStream: UTF-8 validation by the Unicode "maximal subpart" rule (Table 3-7 of the standard) and
// stop strings held back while they may still match.
#include "serve/text_stream.h"

#include <algorithm>

namespace moe::serve {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Bytes of a character that starts with `lead`; 0 for a byte no character starts with.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `byte` may follow `lead` as the character's second byte (the ranges that exclude
// overlong forms, surrogates and code points past U+10FFFF); later bytes are 80..BF.
bool valid_second(unsigned char lead, unsigned char byte) {
  switch (lead) {
    case 0xE0:
      return byte >= 0xA0 && byte <= 0xBF;
    case 0xED:
      return byte >= 0x80 && byte <= 0x9F;
    case 0xF0:
      return byte >= 0x90 && byte <= 0xBF;
    case 0xF4:
      return byte >= 0x80 && byte <= 0x8F;
    default:
      return byte >= 0x80 && byte <= 0xBF;
  }
}

}  // namespace

std::string Utf8Decoder::push(std::string_view bytes) {
  const std::string in = pending_ + std::string(bytes);
  pending_.clear();
  std::string out;
  size_t pos = 0;
  while (pos < in.size()) {
    const auto lead = static_cast<unsigned char>(in[pos]);
    const int length = sequence_length(lead);
    if (length == 0) {
      out += kReplacement;
      ++pos;
      continue;
    }
    int valid = 1;  // bytes of the character seen and valid so far
    while (valid < length && pos + valid < in.size()) {
      const auto byte = static_cast<unsigned char>(in[pos + valid]);
      if (!(valid == 1 ? valid_second(lead, byte) : byte >= 0x80 && byte <= 0xBF)) break;
      ++valid;
    }
    if (valid == length) {
      out.append(in, pos, length);
    } else if (pos + valid == in.size()) {
      pending_ = in.substr(pos);  // may still complete
    } else {
      out += kReplacement;  // the maximal subpart
    }
    pos += valid;
  }
  return out;
}

std::string Utf8Decoder::finish() {
  const bool held = !pending_.empty();
  pending_.clear();
  return held ? std::string(kReplacement) : std::string();
}

std::string sanitize_utf8(std::string_view bytes) {
  Utf8Decoder decoder;
  std::string out = decoder.push(bytes);
  return out + decoder.finish();
}

TextStream::TextStream(std::vector<std::string> stop) : stop_(std::move(stop)) {}

std::string TextStream::push(std::string_view bytes) {
  if (stopped_) return {};
  held_ += utf8_.push(bytes);
  size_t first = std::string::npos;
  for (const std::string& stop : stop_) first = std::min(first, held_.find(stop));
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Hold the longest suffix that is the start of a stop string.
  size_t keep = 0;
  for (const std::string& stop : stop_)
    for (size_t n = std::min(stop.size() - 1, held_.size()); n > keep; --n)
      if (held_.compare(held_.size() - n, n, stop, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string TextStream::finish() {
  if (stopped_) return {};
  std::string out = held_ + utf8_.finish();  // no more bytes come that could complete a stop string
  held_.clear();
  return out;
}

}  // namespace moe::serve
