// .npy reading: float32/float64 arrays in C order, and every malformed header refused with a
// FormatError naming the file, before anything is allocated for the claimed shape.
#include "io/npy.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "io_test_util.h"

namespace moe::io {
namespace {

using testing::tmp_path;

// A version 1.0 .npy file with header dict `dict` and `body` after it.
std::string write_npy(const std::string& name, const std::string& dict, const std::string& body) {
  std::string header = dict;
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  const std::string path = tmp_path(name);
  std::ofstream(path, std::ios::binary) << bytes << header << body;
  return path;
}

std::string floats(std::initializer_list<float> values) {
  std::string body;
  for (float value : values) body.append(reinterpret_cast<const char*>(&value), 4);
  return body;
}

TEST(Npy, ReadsFloat32InCOrder) {
  const NpyArray array = read_npy(
      write_npy("ok.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", floats({1, 2, 3, 4})));
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(array.values, (std::vector<double>{1, 2, 3, 4}));
}

TEST(Npy, RefusesShapesTheBodyDoesNotHold) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  // These threw std::out_of_range (from std::stoll) or overflowed int64 before the size check.
  for (const char* shape :
       {"(99999999999999999999999,)", "(4294967296, 4294967296, 16)", "(1152921504606846976,)", "(3,)", "(0,)"}) {
    const std::string path = write_npy("shape.npy", dict + shape + ", }", floats({1, 2}));
    try {
      read_npy(path);
      ADD_FAILURE() << shape << " was accepted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("shape.npy: .npy"), std::string::npos) << e.what();
    }
  }
}

TEST(Npy, EscapesTheDtypeItQuotes) {
  const std::string path =
      write_npy("dtype.npy", "{'descr': '<f\n\xff', 'fortran_order': False, 'shape': (1,), }", floats({1}));
  try {
    read_npy(path);
    FAIL() << "accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(".npy dtype '<f\\x0a\\xff'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace moe::io
