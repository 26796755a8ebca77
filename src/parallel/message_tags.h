// Every MPI message tag of moe.cpp, with who sends it. Point-to-point calls take a MessageTag, so
// no tag is a bare number, and they refuse the tags of the communicator's own all-to-alls, so a
// stray message cannot be taken for all-to-all traffic.
#pragma once

#include <string_view>

namespace moe::parallel {

enum class MessageTag : int {
  // model/transformer.cpp: pipeline stage s sends a micro-batch's hidden rows (f32, tokens x H)
  // to stage s + 1.
  kPipelineActivations = 17,
  // moe/balance/online_balancer.cpp: one expert's packed weights (bytes) moving between two ranks
  // of an EP group while a layer switches placement.
  kExpertWeights = 18,
  // serve/engine_ranks.cpp: after each step of a server, every rank's events (bytes: a count,
  // then the events) to rank 0, which answers the HTTP clients.
  kStepEvents = 19,
  // parallel/communicator.cpp, alltoallv: each peer's element count, ahead of its data.
  kAllToAllCounts = 32000,
  // parallel/communicator.cpp, alltoallv: the elements, in messages of at most max_message each.
  kAllToAllData = 32001,
};

// True for the tags only the communicator's collectives use; point to point refuses them.
constexpr bool is_collective_tag(MessageTag tag) {
  return tag == MessageTag::kAllToAllCounts || tag == MessageTag::kAllToAllData;
}

// The tag's name without its k, for error messages ("pipeline activations").
constexpr std::string_view tag_name(MessageTag tag) {
  switch (tag) {
    case MessageTag::kPipelineActivations:
      return "pipeline activations";
    case MessageTag::kExpertWeights:
      return "expert weights";
    case MessageTag::kStepEvents:
      return "step events";
    case MessageTag::kAllToAllCounts:
      return "all-to-all counts";
    case MessageTag::kAllToAllData:
      return "all-to-all data";
  }
  return "unknown";
}

}  // namespace moe::parallel
