// Request, event and completion bytes: fields in declaration order, optionals behind a flag byte.
#include "runtime/request_codec.h"

#include <cstring>
#include <string>

namespace moe::runtime {

namespace {

template <typename T>
void append_optional(std::vector<std::byte>& out, const std::optional<T>& value) {
  io::append<uint8_t>(out, value ? 1 : 0);
  if (value) io::append(out, *value);
}

template <typename T>
std::optional<T> read_optional(io::ByteReader& in, const char* what) {
  const auto present = in.read<uint8_t>(what);
  MOE_CHECK(present <= 1, FormatError, in.source(), ": ", what, ": flag byte ", int{present}, " is neither 0 nor 1");
  if (present == 0) return std::nullopt;
  return in.read<T>(what);
}

void append_logprob(std::vector<std::byte>& out, const TokenLogprob& value) {
  io::append(out, value.token);
  io::append(out, value.logprob);
}

TokenLogprob read_logprob(io::ByteReader& in) {
  TokenLogprob value;
  value.token = in.read<int32_t>("logprob token");
  value.logprob = in.read<float>("logprob");
  return value;
}

template <typename T>
void check_count(io::ByteReader& in, uint64_t n, const char* what) {
  MOE_CHECK(n <= static_cast<uint64_t>(in.remaining()) / sizeof(T), FormatError, in.source(), ": ", n, " ", what,
            " claimed but ", in.remaining(), " bytes remain");
}

}  // namespace

void append_tokens(std::vector<std::byte>& out, const std::vector<int32_t>& tokens) {
  io::append<uint64_t>(out, tokens.size());
  const auto* bytes = reinterpret_cast<const std::byte*>(tokens.data());
  out.insert(out.end(), bytes, bytes + tokens.size() * sizeof(int32_t));
}

std::vector<int32_t> read_tokens(io::ByteReader& in) {
  const auto n = in.read<uint64_t>("token count");
  check_count<int32_t>(in, n, "tokens");
  const std::byte* bytes = in.take(n * sizeof(int32_t), "tokens");
  std::vector<int32_t> tokens(n);
  std::memcpy(tokens.data(), bytes, n * sizeof(int32_t));
  return tokens;
}

void append_request(std::vector<std::byte>& out, const Request& request) {
  io::append(out, request.id);
  append_tokens(out, request.prompt);
  io::append(out, request.n_predict);
  io::append(out, request.sampler.temperature);
  io::append(out, request.sampler.top_k);
  io::append(out, request.sampler.top_p);
  io::append(out, request.sampler.min_p);
  io::append(out, request.sampler.presence_penalty);
  io::append(out, request.sampler.frequency_penalty);
  io::append(out, request.sampler.repetition_penalty);
  io::append<uint64_t>(out, request.sampler.logit_bias.size());
  for (const auto& [token, bias] : request.sampler.logit_bias) {
    io::append(out, token);
    io::append(out, bias);
  }
  io::append(out, request.sampler.seed);
  io::append<uint8_t>(out, request.stop_at_eos ? 1 : 0);
  io::append(out, request.prefill_chunk);
  append_optional(out, request.score_from);
  append_optional(out, request.logprobs);
}

Request read_request(io::ByteReader& in) {
  Request request;
  request.id = in.read<uint64_t>("request id");
  request.prompt = read_tokens(in);
  request.n_predict = in.read<int64_t>("n_predict");
  request.sampler.temperature = in.read<float>("temperature");
  request.sampler.top_k = in.read<int64_t>("top_k");
  request.sampler.top_p = in.read<float>("top_p");
  request.sampler.min_p = in.read<float>("min_p");
  request.sampler.presence_penalty = in.read<float>("presence_penalty");
  request.sampler.frequency_penalty = in.read<float>("frequency_penalty");
  request.sampler.repetition_penalty = in.read<float>("repetition_penalty");
  const auto n_bias = in.read<uint64_t>("logit_bias count");
  check_count<std::pair<int32_t, float>>(in, n_bias, "logit biases");
  for (uint64_t i = 0; i < n_bias; ++i) {
    const auto token = in.read<int32_t>("logit_bias token");
    request.sampler.logit_bias.emplace_back(token, in.read<float>("logit_bias"));
  }
  request.sampler.seed = in.read<uint64_t>("seed");
  request.stop_at_eos = in.read<uint8_t>("stop_at_eos") != 0;
  request.prefill_chunk = in.read<int64_t>("prefill_chunk");
  request.score_from = read_optional<int64_t>(in, "score_from");
  request.logprobs = read_optional<int64_t>(in, "logprobs");
  return request;
}

void append_completion(std::vector<std::byte>& out, const Completion& completion) {
  io::append(out, completion.id);
  io::append(out, completion.reason);
  append_tokens(out, completion.prompt);
  append_tokens(out, completion.tokens);
}

Completion read_completion(io::ByteReader& in) {
  Completion completion;
  completion.id = in.read<uint64_t>("completion id");
  const auto reason = in.read<uint8_t>("finish reason");
  MOE_CHECK(reason <= static_cast<uint8_t>(FinishReason::kEos), FormatError, in.source(), ": finish reason ",
            int{reason}, " is not one of length (0), eos (1)");
  completion.reason = static_cast<FinishReason>(reason);
  completion.prompt = read_tokens(in);
  completion.tokens = read_tokens(in);
  return completion;
}

void append_event(std::vector<std::byte>& out, const Event& event) {
  io::append(out, event.id);
  append_optional(out, event.token);
  io::append_string(out, event.piece);
  io::append<uint64_t>(out, event.nll.size());
  for (const double nll : event.nll) io::append(out, nll);
  io::append<uint8_t>(out, event.logprobs ? 1 : 0);
  if (event.logprobs) {
    append_logprob(out, event.logprobs->chosen);
    io::append<uint64_t>(out, event.logprobs->top.size());
    for (const TokenLogprob& top : event.logprobs->top) append_logprob(out, top);
  }
  io::append<uint8_t>(out, event.completion ? 1 : 0);
  if (event.completion) append_completion(out, *event.completion);
}

Event read_event(io::ByteReader& in) {
  Event event;
  event.id = in.read<uint64_t>("event id");
  event.token = read_optional<int32_t>(in, "token");
  event.piece = std::string(in.read_string("piece"));
  const auto n_nll = in.read<uint64_t>("nll count");
  check_count<double>(in, n_nll, "scores");
  for (uint64_t i = 0; i < n_nll; ++i) event.nll.push_back(in.read<double>("nll"));
  if (in.read<uint8_t>("logprobs flag") != 0) {
    Logprobs& logprobs = event.logprobs.emplace();
    logprobs.chosen = read_logprob(in);
    const auto n_top = in.read<uint64_t>("top logprobs count");
    check_count<TokenLogprob>(in, n_top, "top logprobs");
    for (uint64_t i = 0; i < n_top; ++i) logprobs.top.push_back(read_logprob(in));
  }
  if (in.read<uint8_t>("completion flag") != 0) event.completion = read_completion(in);
  return event;
}

}  // namespace moe::runtime
