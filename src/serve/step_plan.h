// StepPlan: what rank 0 of a server tells every rank before a step: the requests admitted since
// the last one (each with the slot, replica or attention-DP rank, that computes it), those to drop
// (clients that left, stop strings met), whether to step, and whether to stop serving.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/session.h"

namespace moe::serve {

struct PlacedRequest {
  int slot = 0;  // Session::serves_slot decides which ranks add it
  runtime::Request request;
};

struct StepPlan {
  std::vector<PlacedRequest> admitted;
  std::vector<uint64_t> cancelled;  // request ids
  bool step = false;                // run one forward pass after applying the plan
  bool stop = false;                // the server is done: every rank leaves its loop
  bool collect_figures = false;     // after the step, gather the EngineFigures on rank 0
};

std::vector<std::byte> encode(const StepPlan& plan);
// Throws FormatError naming `source` for bytes that are not a plan.
StepPlan decode_step_plan(std::span<const std::byte> bytes, const std::string& source);

}  // namespace moe::serve
