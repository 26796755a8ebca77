// Testing hook for fault injection: MOE_FAULT_AT=<phase>[@<rank>] makes the process of that world
// rank (every rank without @) print "moe: fault injection: rank R killed at <phase>" and raise
// SIGKILL on itself the first time it reaches the phase, as if killed from outside at that moment.
// Phases: load (model files read, shards not yet built), prefill and decode (before a forward step
// of `moe run` / `moe serve`), eplb_move (an online EPLB layer move in flight), train_step (after a
// step's forward and backward, before the gradient reduction) and checkpoint_write (the rank's
// optimizer file written in the temporary checkpoint, before it is complete). Unset: nothing.
#pragma once

#include <string_view>

namespace moe::parallel {

// Throws UsageError when MOE_FAULT_AT is set to an unknown phase or a bad rank.
void fault_point(std::string_view phase);

}  // namespace moe::parallel
