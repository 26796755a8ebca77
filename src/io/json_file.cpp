// Reading and atomically writing JSON files.
#include "io/json_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/output_file.h"

namespace moe::io {

nlohmann::json read_json_value(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MOE_CHECK(in.is_open(), IoError, path, ": cannot open: ", std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  MOE_CHECK(!in.bad(), IoError, path, ": cannot read: ", std::strerror(errno));
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(detail::concat(path, ": not valid JSON: ", error.what()));
  }
  return value;
}

nlohmann::json read_json_file(const std::string& path) {
  nlohmann::json value = read_json_value(path);
  MOE_CHECK(value.is_object(), FormatError, path, ": expected a JSON object");
  return value;
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  std::string text;
  try {
    text = value.dump(2) + "\n";
  } catch (const nlohmann::json::exception& error) {  // a string that is not UTF-8
    throw FormatError(detail::concat(path, ": cannot encode JSON: ", error.what()));
  }
  OutputFile out(path);
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace moe::io
