// The wait for whole answers and the stream's chunk provider, polling the client every 100 ms.
#include "serve/choices_answer.h"

#include <chrono>

#include "serve/api_error.h"
#include "serve/completion_response.h"

namespace moe::serve {

namespace {
// How often a waiting handler looks whether its client left.
constexpr std::chrono::milliseconds kPoll{100};
}  // namespace

ChoicesResult wait_for_choices(const ClientConnection& client, Choices& choices) {
  const int64_t n = choices.size();
  ChoicesResult result;
  result.texts.resize(n);
  result.logprobs.resize(n);
  result.reasons.resize(n);
  while (!choices.all_ended()) {
    if (client.closed()) {
      choices.cancel();
      throw ApiError(500, "the client closed the connection");
    }
    std::vector<GenerationUpdate> updates = choices.take(kPoll);
    for (int64_t index = 0; index < n; ++index) {
      GenerationUpdate& update = updates[index];
      if (update.error) {
        choices.cancel();
        throw ApiError(500, *update.error);
      }
      result.texts[index] += update.text;
      result.logprobs[index].insert(result.logprobs[index].end(), update.logprobs.begin(), update.logprobs.end());
      if (update.finish_reason) {
        result.reasons[index] = *update.finish_reason;
        result.completion_tokens += update.completion_tokens;
      }
    }
  }
  return result;
}

void stream_choices(httplib::Response& response, const ClientConnection& client, OpenStreams& streams,
                    std::shared_ptr<Choices> choices, bool include_usage, int64_t n_prompt, ChunkShapes shapes) {
  response.set_header("Cache-Control", "no-cache");
  auto completion_tokens = std::make_shared<std::vector<int64_t>>(choices->size(), 0);
  auto started = std::make_shared<bool>(false);
  const auto provider = [=](size_t, httplib::DataSink& sink) {
    std::string out;
    if (!*started) {  // at once, before the first token
      if (shapes.prelude) out = shapes.prelude();
      *started = true;
    }
    const std::vector<GenerationUpdate> updates = choices->take(out.empty() ? kPoll : std::chrono::milliseconds(0));
    bool failed = false;
    for (int64_t index = 0; index < choices->size() && !failed; ++index) {
      const GenerationUpdate& update = updates[index];
      if (update.error) {
        out += sse_event(ApiError(500, *update.error).body());
        failed = true;
      } else if (!update.text.empty() || !update.logprobs.empty() || update.finish_reason) {
        if (update.finish_reason) (*completion_tokens)[index] = update.completion_tokens;
        out += sse_event(shapes.chunk(index, update));
      }
    }
    const bool done = failed || choices->all_ended();
    if (done && !failed && include_usage) {
      int64_t total = 0;
      for (const int64_t tokens : *completion_tokens) total += tokens;
      out += sse_event(shapes.usage_chunk(usage_json(n_prompt, total)));
    }
    if (out.empty()) return !client.closed();  // nothing new: false ends a connection whose client left
    if (done) out += kSseDone;
    if (!sink.write(out.data(), out.size())) return false;
    if (done) sink.done();
    return true;
  };
  // Called when the response ends, sent or not; cancelling finished requests does nothing.
  const auto release = [choices, &streams](bool) {
    choices->cancel();
    streams.remove();
  };
  streams.add();
  response.set_chunked_content_provider("text/event-stream", provider, release);
}

}  // namespace moe::serve
