// Whole-text parsing of configuration values: from_chars for numbers (no locale, no trailing text).
#include "core/config_text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

#include "core/error.h"

namespace moe {

namespace {

// The whole text as one T (no sign or space around it but the number's own), or ConfigError.
template <typename T>
T parse_whole(const std::string& text, const std::string& where, const char* what) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  MOE_CHECK(ec == std::errc() && ptr == end && !text.empty(), ConfigError, where, " must be ", what, ", got '", text,
            "'");
  return value;
}

}  // namespace

int64_t parse_config_int(const std::string& text, const std::string& where) {
  return parse_whole<int64_t>(text, where, "an integer");
}

double parse_config_number(const std::string& text, const std::string& where) {
  return parse_whole<double>(text, where, "a number");
}

bool parse_config_bool(const std::string& text, const std::string& where) {
  std::string value = text;
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  if (value == "true" || value == "yes" || value == "on" || value == "1") return true;
  if (value == "false" || value == "no" || value == "off" || value == "0") return false;
  throw ConfigError(detail::concat(where, " must be true or false, got '", text, "'"));
}

std::string config_number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

bool is_config_null(const std::string& text) {
  return text == "null" || text == "~" || text == "None" || text == "none";
}

}  // namespace moe
