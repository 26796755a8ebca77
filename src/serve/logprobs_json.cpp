// The logprobs objects, from the sampler's Logprobs and the tokenizer's token bytes.
#include "serve/logprobs_json.h"

#include <string>

#include "serve/text_stream.h"

namespace moe::serve {

namespace {

// A token's bytes; none for an id past the tokenizer's vocabulary (a padded model vocabulary).
std::string token_bytes(const tokenizer::Tokenizer& tokenizer, int32_t id) {
  return id < tokenizer.n_vocab() ? tokenizer.token_bytes(id) : std::string();
}

int64_t code_points(const std::string& text) {
  int64_t n = 0;
  for (const char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

Json chat_token_json(const tokenizer::Tokenizer& tokenizer, const runtime::TokenLogprob& entry) {
  const std::string bytes = token_bytes(tokenizer, entry.token);
  Json byte_values = Json::array();
  for (const char c : bytes) byte_values.push_back(static_cast<unsigned char>(c));
  return {{"token", sanitize_utf8(bytes)}, {"logprob", entry.logprob}, {"bytes", byte_values}};
}

}  // namespace

Json completion_logprobs_json(std::span<const runtime::Logprobs> entries, const tokenizer::Tokenizer& tokenizer,
                              int64_t& text_offset) {
  Json tokens = Json::array(), token_logprobs = Json::array(), top_logprobs = Json::array(),
       text_offsets = Json::array();
  for (const runtime::Logprobs& entry : entries) {
    const std::string text = sanitize_utf8(token_bytes(tokenizer, entry.chosen.token));
    tokens.push_back(text);
    token_logprobs.push_back(entry.chosen.logprob);
    // Tokens of one text (lone bytes all read U+FFFD) share a key: the likelier's value, but the
    // chosen token's under its own text.
    Json top = Json::object();
    for (const runtime::TokenLogprob& candidate : entry.top) {
      const std::string key = sanitize_utf8(token_bytes(tokenizer, candidate.token));
      if (!top.contains(key)) top[key] = key == text ? entry.chosen.logprob : candidate.logprob;
    }
    if (!top.contains(text)) top[text] = entry.chosen.logprob;
    top_logprobs.push_back(std::move(top));
    text_offsets.push_back(text_offset);
    text_offset += code_points(text);
  }
  return {{"tokens", tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top_logprobs},
          {"text_offset", text_offsets}};
}

Json chat_logprobs_json(std::span<const runtime::Logprobs> entries, const tokenizer::Tokenizer& tokenizer) {
  Json content = Json::array();
  for (const runtime::Logprobs& entry : entries) {
    Json token = chat_token_json(tokenizer, entry.chosen);
    Json top = Json::array();
    for (const runtime::TokenLogprob& candidate : entry.top) top.push_back(chat_token_json(tokenizer, candidate));
    token["top_logprobs"] = std::move(top);
    content.push_back(std::move(token));
  }
  return {{"content", content}};
}

}  // namespace moe::serve
