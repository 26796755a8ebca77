// EngineRanks: the session on every rank of a server, stepped together and driven by rank 0.
// Rank 0 (the HTTP side) calls run() with a StepPlan: the plan is broadcast, every rank adds the
// admitted requests of the slots it serves and drops the cancelled ones, all step together when
// the plan says so, and the reporting ranks send their events to rank 0. Every other rank calls
// follow(), which does the same until a plan says stop. One process: run() is the local session.
#pragma once

#include <vector>

#include "runtime/session.h"
#include "serve/metrics.h"
#include "serve/step_plan.h"

namespace moe::serve {

class EngineRanks {
 public:
  explicit EngineRanks(runtime::Session& session) : session_(session) {}

  int n_slots() const { return session_.n_slots(); }
  bool distributed() const { return session_.world().size() > 1; }

  // Rank 0: applies `plan` on every rank; after a step, `events` holds every reporting rank's,
  // and `figures` the engine's figures when the plan collects them. Under MPI an exception here
  // ends every rank (the ranks would otherwise wait on each other).
  void run(const StepPlan& plan, std::vector<runtime::Event>& events, EngineFigures* figures = nullptr);
  // Every rank but 0: applies rank 0's plans until one says stop.
  void follow();

 private:
  StepPlan exchange_plan(const StepPlan* plan);  // the broadcast; plan is null off rank 0
  void apply(const StepPlan& plan);
  void gather_events(std::vector<runtime::Event>& events);  // after a step
  EngineFigures collect_figures();                          // collective; complete on rank 0

  runtime::Session& session_;
};

}  // namespace moe::serve
