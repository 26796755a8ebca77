// .npy reading: the magic, the header's Python-dict text (descr, fortran_order, shape), the body.
#include "io/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/printable.h"

namespace moe::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MOE_CHECK(in.good(), IoError, path, ": cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The text after `'key':` in the header dict, up to the next comma outside parentheses.
std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  const size_t at = header.find("'" + key + "'");
  MOE_CHECK(at != std::string::npos, FormatError, path, ": .npy header has no '", key, "'");
  size_t start = header.find(':', at) + 1;
  while (start < header.size() && header[start] == ' ') ++start;
  size_t end = start;
  int depth = 0;
  while (end < header.size() && !(depth == 0 && (header[end] == ',' || header[end] == '}'))) {
    depth += header[end] == '(' ? 1 : header[end] == ')' ? -1 : 0;
    ++end;
  }
  return header.substr(start, end - start);
}

}  // namespace

bool is_npy_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[kMagicSize] = {};
  in.read(magic, kMagicSize);
  return in.gcount() == static_cast<std::streamsize>(kMagicSize) && std::memcmp(magic, kMagic, kMagicSize) == 0;
}

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_all(path);
  MOE_CHECK(bytes.size() >= 10 && bytes.compare(0, kMagicSize, kMagic, kMagicSize) == 0, FormatError, path,
            ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  MOE_CHECK(major >= 1 && major <= 3, FormatError, path, ": .npy version ", major, " unknown");
  const size_t length_bytes = major == 1 ? 2 : 4;
  MOE_CHECK(bytes.size() >= 8 + length_bytes, FormatError, path, ": truncated .npy header");
  size_t header_length = 0;
  for (size_t i = 0; i < length_bytes; ++i)
    header_length |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  const size_t body = 8 + length_bytes + header_length;
  MOE_CHECK(bytes.size() >= body, FormatError, path, ": truncated .npy header");
  const std::string header = bytes.substr(8 + length_bytes, header_length);

  const std::string descr = header_value(header, "descr", path);
  const bool f4 = descr == "'<f4'", f8 = descr == "'<f8'";
  MOE_CHECK(f4 || f8, FormatError, path, ": .npy dtype ", printable(descr),
            " (expected little-endian float32 '<f4' or float64 '<f8')");
  MOE_CHECK(header_value(header, "fortran_order", path) == "False", FormatError, path,
            ": .npy array in Fortran order (save a C-order array)");
  NpyArray array;
  const std::string shape = header_value(header, "shape", path);
  // The extents' product is checked against the body's size before anything is allocated.
  const int64_t element = f4 ? 4 : 8;
  const auto body_elements = static_cast<int64_t>((bytes.size() - body) / element);
  int64_t count = 1;
  bool too_many = false;
  for (size_t pos = shape.find_first_of("0123456789"); pos != std::string::npos;
       pos = shape.find_first_of("0123456789", pos)) {
    const size_t end = std::min(shape.find_first_not_of("0123456789", pos), shape.size());
    int64_t extent = 0;
    for (size_t i = pos; i < end && !too_many; ++i)
      too_many = __builtin_mul_overflow(extent, 10, &extent) || __builtin_add_overflow(extent, shape[i] - '0', &extent);
    too_many = too_many || __builtin_mul_overflow(count, extent, &count);
    MOE_CHECK(!too_many, FormatError, path, ": .npy shape ", printable(shape),
              " has more elements than int64 can count");
    array.shape.push_back(extent);
    pos = end;
  }
  MOE_CHECK((bytes.size() - body) % element == 0 && count == body_elements, FormatError, path, ": .npy body holds ",
            bytes.size() - body, " bytes, shape ", printable(shape), " needs ", count, " x ", element);
  array.values.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    if (f4) {
      float value;
      std::memcpy(&value, bytes.data() + body + i * 4, 4);
      array.values[i] = value;
    } else {
      std::memcpy(&array.values[i], bytes.data() + body + i * 8, 8);
    }
  }
  return array;
}

}  // namespace moe::io
