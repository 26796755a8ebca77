// Requests, events and completions as bytes, for moving them between ranks (a server's rank 0
// hands requests to the ranks that compute them and collects their events). Every reader is a
// bounds-checked io::ByteReader: a short or foreign buffer is a FormatError, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/byte_io.h"
#include "runtime/session.h"

namespace moe::runtime {

void append_tokens(std::vector<std::byte>& out, const std::vector<int32_t>& tokens);
std::vector<int32_t> read_tokens(io::ByteReader& in);

void append_request(std::vector<std::byte>& out, const Request& request);
Request read_request(io::ByteReader& in);

void append_completion(std::vector<std::byte>& out, const Completion& completion);
Completion read_completion(io::ByteReader& in);

void append_event(std::vector<std::byte>& out, const Event& event);
Event read_event(io::ByteReader& in);

}  // namespace moe::runtime
