// Little-endian primitives of binary formats: ByteReader, a bounds-checked cursor for parsing
// untrusted bytes (every overrun is a FormatError naming the file), and append helpers for writing.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace moe::io {

static_assert(std::endian::native == std::endian::little,
              "file formats are decoded with memcpy, which needs a little-endian host");

class ByteReader {
 public:
  // `source` (a path) starts every error message.
  ByteReader(const std::byte* data, int64_t size, std::string source)
      : data_(data), size_(size), source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  int64_t position() const { return position_; }
  int64_t remaining() const { return size_ - position_; }
  const std::byte* current() const { return data_ + position_; }

  // The next `n` bytes; `what` names them in the error if fewer are left.
  const std::byte* take(uint64_t n, std::string_view what) {
    if (n > static_cast<uint64_t>(remaining()))
      throw FormatError(detail::concat(source_, ": truncated: ", what, " needs ", n, " bytes at offset ", position_,
                                       " but only ", remaining(), " remain"));
    const std::byte* bytes = data_ + position_;
    position_ += static_cast<int64_t>(n);
    return bytes;
  }

  template <typename T>
  T read(std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }

  // A string stored as a u64 byte count followed by the bytes (GGUF's encoding).
  std::string_view read_string(std::string_view what) {
    const uint64_t length = read<uint64_t>(what);
    return {reinterpret_cast<const char*>(take(length, what)), static_cast<size_t>(length)};
  }

 private:
  const std::byte* data_;
  int64_t size_;
  int64_t position_ = 0;
  std::string source_;
};

template <typename T>
void append(std::vector<std::byte>& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

inline void append_string(std::vector<std::byte>& out, std::string_view text) {
  append<uint64_t>(out, text.size());
  const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
  out.insert(out.end(), bytes, bytes + text.size());
}

}  // namespace moe::io
