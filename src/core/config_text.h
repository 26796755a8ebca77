// Values of configuration keys written as text (YAML scalars, command-line flags), each parsed whole,
// with errors that name `where` ("train.yaml: key 'x'" or "--x").
#pragma once

#include <cstdint>
#include <string>

namespace moe {

// ConfigError "<where> must be an integer, got '<text>'" unless the whole text is one.
int64_t parse_config_int(const std::string& text, const std::string& where);
// ConfigError "<where> must be a number, got '<text>'".
double parse_config_number(const std::string& text, const std::string& where);
// true / yes / on / 1 or false / no / off / 0, any case; else ConfigError.
bool parse_config_bool(const std::string& text, const std::string& where);
// A number as configuration files write it back (the shortest of "%g"-like forms: 0.01, 1e-05).
std::string config_number_text(double value);
// YAML's and Python's spellings of "unset": null, ~, None, none.
bool is_config_null(const std::string& text);

}  // namespace moe
