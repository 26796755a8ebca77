// EngineRanks: the plan's broadcast (size, then bytes), its application, and the events' gather
// to rank 0 (point to point, tag kStepEvents, each rank's count then its bytes).
#include "serve/engine_ranks.h"

#include <string>

#include "io/byte_io.h"
#include "parallel/communicator.h"
#include "runtime/request_codec.h"

namespace moe::serve {

StepPlan EngineRanks::exchange_plan(const StepPlan* plan) {
  parallel::Communicator& world = session_.world();
  std::vector<std::byte> bytes = plan ? encode(*plan) : std::vector<std::byte>{};
  int64_t size = static_cast<int64_t>(bytes.size());
  world.broadcast(&size, sizeof size, 0);
  bytes.resize(size);
  world.broadcast(bytes.data(), size, 0);
  return plan ? *plan : decode_step_plan(bytes, "step plan from rank 0");
}

void EngineRanks::apply(const StepPlan& plan) {
  for (const uint64_t id : plan.cancelled) session_.cancel(id);
  for (const PlacedRequest& placed : plan.admitted)
    if (session_.serves_slot(placed.slot)) session_.add_request(placed.request);
}

void EngineRanks::gather_events(std::vector<runtime::Event>& events) {
  parallel::Communicator& world = session_.world();
  if (world.size() == 1) return;
  if (world.rank() != 0) {
    std::vector<std::byte> bytes;
    if (session_.reports())
      for (const runtime::Event& event : events) runtime::append_event(bytes, event);
    const auto size = static_cast<int64_t>(bytes.size());
    world.send(&size, 1, 0, parallel::MessageTag::kStepEvents);
    world.send(bytes.data(), size, 0, parallel::MessageTag::kStepEvents);
    return;
  }
  if (!session_.reports()) events.clear();
  for (int rank = 1; rank < world.size(); ++rank) {
    int64_t size = 0;
    world.recv(&size, 1, rank, parallel::MessageTag::kStepEvents);
    std::vector<std::byte> bytes(size);
    world.recv(bytes.data(), size, rank, parallel::MessageTag::kStepEvents);
    io::ByteReader in(bytes.data(), size, "events of rank " + std::to_string(rank));
    while (in.remaining() > 0) events.push_back(runtime::read_event(in));
  }
}

void EngineRanks::run(const StepPlan& plan, std::vector<runtime::Event>& events) {
  events.clear();
  if (!distributed()) {
    apply(plan);
    if (plan.step) session_.step(events);
    return;
  }
  try {
    apply(exchange_plan(&plan));
    if (plan.step) {
      session_.step(events);
      gather_events(events);
    }
  } catch (const std::exception& e) {
    session_.world().abort_all(e.what());
  }
}

void EngineRanks::follow() {
  std::vector<runtime::Event> events;
  try {
    for (;;) {
      const StepPlan plan = exchange_plan(nullptr);
      if (plan.stop) return;
      apply(plan);
      if (!plan.step) continue;
      session_.step(events);
      gather_events(events);
    }
  } catch (const std::exception& e) {
    session_.world().abort_all(e.what());
  }
}

}  // namespace moe::serve
