// EngineRanks: the plan's broadcast (size, then bytes), its application, and the events' gather
// to rank 0 (point to point, tag kStepEvents, each rank's count then its bytes).
#include "serve/engine_ranks.h"

#include <string>

#include "io/byte_io.h"
#include "parallel/communicator.h"
#include "runtime/request_codec.h"
#include "runtime/stats_file.h"

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

EngineFigures EngineRanks::collect_figures() {
  model::Transformer& transformer = session_.transformer();
  const parallel::Mapping& mapping = session_.mapping();
  EngineFigures figures;
  figures.stats =
      runtime::gather_stats(session_.world(), mapping, transformer.expert_stats(), session_.model().config.hidden_size);
  figures.layer_rank_balance = runtime::max_mean_rank_rows(figures.stats);
  // Every rank of an EP group makes the same moves: its first rank counts them.
  double counters[3] = {0, 0, 0};
  const balance::OnlineBalancer* balancer = transformer.online_balancer();
  if (balancer != nullptr && mapping.moe_ep_rank == 0 && mapping.moe_tp_rank == 0) {
    counters[0] = static_cast<double>(balancer->replans());
    counters[1] = static_cast<double>(balancer->moves().size());
    counters[2] = static_cast<double>(balancer->layers_skipped());
  }
  if (distributed()) session_.world().allreduce_sum(counters, 3);
  figures.eplb_replans = static_cast<int64_t>(counters[0]);
  figures.eplb_layer_moves = static_cast<int64_t>(counters[1]);
  figures.eplb_layers_skipped = static_cast<int64_t>(counters[2]);
  // Each slot's pool counted once, on its reporting rank (TP ranks and pipeline stages hold
  // shares of the same blocks).
  const runtime::KvCacheStats mine = session_.kv_stats();
  double kv[5] = {0, 0, 0, 0, 0};
  if (session_.reports()) {
    kv[0] = static_cast<double>(mine.blocks);
    kv[1] = static_cast<double>(mine.blocks_used);
    kv[2] = static_cast<double>(mine.preemptions);
    kv[3] = static_cast<double>(mine.prefix_queries);
    kv[4] = static_cast<double>(mine.prefix_hits);
  }
  if (distributed()) session_.world().allreduce_sum(kv, 5);
  figures.kv = {static_cast<int64_t>(kv[0]), static_cast<int64_t>(kv[1]), static_cast<int64_t>(kv[2]),
                static_cast<int64_t>(kv[3]), static_cast<int64_t>(kv[4])};
  return figures;
}

void EngineRanks::run(const StepPlan& plan, std::vector<runtime::Event>& events, EngineFigures* figures) {
  events.clear();
  if (!distributed()) {
    apply(plan);
    if (plan.step) session_.step(events);
    if (plan.collect_figures && figures != nullptr) *figures = collect_figures();
    return;
  }
  try {
    apply(exchange_plan(&plan));
    if (plan.step) {
      session_.step(events);
      gather_events(events);
    }
    if (plan.collect_figures) {
      EngineFigures collected = collect_figures();
      if (figures != nullptr) *figures = std::move(collected);
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
      if (plan.step) {
        session_.step(events);
        gather_events(events);
      }
      if (plan.collect_figures) collect_figures();
    }
  } catch (const std::exception& e) {
    session_.world().abort_all(e.what());
  }
}

}  // namespace moe::serve
