// ParallelEngine: what one rank needs to run a model under a parallel layout: the communicators of
// its Mapping, its Shard and Transformer, and which requests it serves. Requests go round-robin to
// the data-parallel replicas and, under attention DP, to the ranks of the TP group; every rank of a
// replica steps together (collectives), ranks without work joining with empty batches.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/transformer.h"
#include "parallel/communicator.h"
#include "parallel/mapping.h"

namespace moe::runtime {

class ParallelEngine {
 public:
  // load_balancer: Wide-EP expert slots (and online EPLB), checked by check_layout first.
  ParallelEngine(const model::Model& model, const parallel::Mapping& mapping, parallel::Communicator& world,
                 ThreadPool& pool, bool check_dispatch,
                 const std::optional<parallel::MoeLoadBalancerConfig>& load_balancer = std::nullopt);
  ~ParallelEngine();

  model::Transformer& transformer() { return *transformer_; }
  const parallel::Mapping& mapping() const { return mapping_; }
  parallel::Communicator& world() { return world_; }
  // The places a request can go: the data-parallel replicas times, under attention DP, the ranks
  // of a TP group. Slot s is replica s % dp and, under attention DP, TP rank (s / dp) % tp.
  int n_slots() const;
  // Whether this rank computes the requests placed in `slot`.
  bool serves_slot(int slot) const;
  // Whether this rank computes request `index` (of the whole job): round robin over the slots.
  bool serves(uint64_t index) const { return serves_slot(static_cast<int>(index % n_slots())); }
  // Whether this rank reports the results of the requests it serves (one rank per request).
  bool reports() const;
  // True while any rank of this replica still has work; every rank of the replica calls it.
  bool any_active(bool local_active);

 private:
  const parallel::Mapping mapping_;
  parallel::Communicator& world_;
  parallel::Communicator attention_, moe_ep_, moe_tp_, pipeline_, replica_;
  std::unique_ptr<model::Transformer> transformer_;
};

// The layout's ShardLayout (attention TP size and rank, MoE split, pipeline stage).
model::ShardLayout shard_layout(const parallel::Mapping& mapping, const model::ModelWeights& weights);
// Checks the model against the mapping and the expert slots (every rank, before any weight is read).
void check_layout(const parallel::Mapping& mapping, const model::ModelConfig& config,
                  const model::ModelWeights& weights,
                  const std::optional<parallel::MoeLoadBalancerConfig>& load_balancer = std::nullopt);

// Every rank's bytes, in rank order, on every rank.
std::vector<std::vector<std::byte>> all_gather_bytes(parallel::Communicator& group, std::span<const std::byte> mine);
// Every rank's string, in rank order, on every rank.
std::vector<std::string> all_gather_strings(parallel::Communicator& group, const std::string& mine);

}  // namespace moe::runtime
