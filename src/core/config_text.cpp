// Whole-text parsing of configuration values: from_chars for numbers (no locale, no trailing text).
#include "core/config_text.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/error.h"

namespace moe {

int64_t parse_config_int(const std::string& text, const std::string& where) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  MOE_CHECK(ec == std::errc() && ptr == end && !text.empty(), ConfigError, where, " must be an integer, got '", text,
            "'");
  return value;
}

double parse_config_number(const std::string& text, const std::string& where) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  MOE_CHECK(ec == std::errc() && ptr == end && !text.empty(), ConfigError, where, " must be a number, got '", text,
            "'");
  return value;
}

bool parse_config_bool(const std::string& text, const std::string& where) {
  std::string value = text;
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  if (value == "true" || value == "yes" || value == "on" || value == "1") return true;
  if (value == "false" || value == "no" || value == "off" || value == "0") return false;
  throw ConfigError(detail::concat(where, " must be true or false, got '", text, "'"));
}

bool is_config_null(const std::string& text) {
  return text == "null" || text == "~" || text == "None" || text == "none";
}

}  // namespace moe
