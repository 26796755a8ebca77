// Helpers for the io tests: temporary paths, whole files as bytes, and a builder of little-endian
// byte sequences for files written by hand from the format specifications.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace moe::io::testing {

inline std::string tmp_path(const std::string& name) {
  std::filesystem::create_directories(MOE_TEST_TMP);
  return (std::filesystem::path(MOE_TEST_TMP) / name).string();
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Appends little-endian values, as the file formats store them.
class Bytes {
 public:
  Bytes& u8(uint8_t value) { return put(value); }
  Bytes& u16(uint16_t value) { return put(value); }
  Bytes& u32(uint32_t value) { return put(value); }
  Bytes& i32(int32_t value) { return put(value); }
  Bytes& u64(uint64_t value) { return put(value); }
  Bytes& f32(float value) { return put(value); }
  Bytes& raw(const std::string& text) {
    data_.insert(data_.end(), text.begin(), text.end());
    return *this;
  }
  Bytes& str(const std::string& text) { return u64(text.size()).raw(text); }  // GGUF string
  Bytes& zeros(size_t n) {
    data_.insert(data_.end(), n, 0);
    return *this;
  }
  Bytes& pad_to(size_t alignment) { return zeros((alignment - data_.size() % alignment) % alignment); }
  size_t size() const { return data_.size(); }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  template <typename T>
  Bytes& put(T value) {
    uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    data_.insert(data_.end(), bytes, bytes + sizeof(T));
    return *this;
  }
  std::vector<uint8_t> data_;
};

}  // namespace moe::io::testing
