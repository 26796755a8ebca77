// printable: text that came from a file or a request, made safe to print in a one-line message.
#pragma once

#include <string>
#include <string_view>

namespace moe {

// `text` with valid UTF-8 kept as is and every control byte (newlines included), DEL and byte that
// is not part of valid UTF-8 written as \xNN, so that a message stays one line of UTF-8.
std::string printable(std::string_view text);

}  // namespace moe
