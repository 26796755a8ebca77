// --profile output: per rank, the seconds of each forward phase, the share spent communicating,
// and the peak resident memory; plus the maximum over ranks. Collective over `world`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/phase_timer.h"
#include "moe/balance/online_balancer.h"
#include "parallel/communicator.h"

namespace moe::runtime {

// Peak resident set size of this process so far.
int64_t peak_rss_bytes();
// The columns of inference's table (the forward pass's phases) and of training's (every phase).
std::vector<Phase> inference_phases();
std::vector<Phase> training_phases();
// The table of `columns` on rank 0 (empty elsewhere): a row per rank (and their maximum), seconds
// per phase, the total of the columns and comm's share of it.
std::string profile_table(parallel::Communicator& world, const PhaseTimes& times,
                          const std::vector<Phase>& columns = inference_phases());
// "peak RSS per rank: 0: 1234 MiB, 1: 1180 MiB" on rank 0 (empty elsewhere).
std::string rss_line(parallel::Communicator& world);
// What a command prints at its end on rank 0: the profile table when asked, and the RSS line
// when asked or when running on several ranks. Collective.
std::string run_report(parallel::Communicator& world, const PhaseTimes& times, bool profile);
// Online EPLB's layer moves, one line per rank on rank 0: each move's step, layer, slots changed,
// bytes received and sent, and stall. Empty without a balancer (the same on every rank). Collective.
std::string balancer_report(parallel::Communicator& world, const balance::OnlineBalancer* balancer);

}  // namespace moe::runtime
