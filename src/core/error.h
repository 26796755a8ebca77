// Typed exceptions that carry their context (file, tensor, option), and the MOE_CHECK macro.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace moe {

// Base of every error moe.cpp throws on purpose; the CLI prints what() on one line and exits 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FormatError : public Error {  // a file that is truncated, foreign or mis-shaped
 public:
  using Error::Error;
};
class IoError : public Error {  // a file that cannot be opened, read or written
 public:
  using Error::Error;
};
class ConfigError : public Error {  // a config key, value or model architecture we cannot accept
 public:
  using Error::Error;
};
class UsageError : public Error {  // a command-line option that is missing or invalid
 public:
  using Error::Error;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace moe

// Throws ErrorType with the concatenated message parts when cond is false.
#define MOE_CHECK(cond, ErrorType, ...)                               \
  do {                                                                \
    if (!(cond)) throw ErrorType(::moe::detail::concat(__VA_ARGS__)); \
  } while (0)

// Our own invariants (a bug in moe.cpp, not bad input).
#define MOE_ASSERT(cond)                                                                                     \
  do {                                                                                                       \
    if (!(cond))                                                                                             \
      throw ::moe::Error(::moe::detail::concat("internal error: ", #cond, " at ", __FILE__, ":", __LINE__)); \
  } while (0)
