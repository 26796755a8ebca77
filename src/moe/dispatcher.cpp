// Local dispatch: the shared token permutation, its rows handed to the experts as a batch.
#include "moe/dispatcher.h"

namespace moe {

void LocalDispatcher::dispatch(const float* hidden, int64_t hidden_size, const Routing& routing, ExpertBatch& batch) {
  plan_permutation(routing.expert_ids, routing.n_tokens, routing.top_k, n_experts_, perm_);
  batch.hidden_size = hidden_size;
  batch.expert_offsets.assign(perm_.offsets.begin(), perm_.offsets.end());
  batch.rows.resize(perm_.n_rows() * hidden_size);
  permute_forward(batch.rows.data(), hidden, perm_, hidden_size, pool_);
}

void LocalDispatcher::combine(const ExpertBatch& batch, const float* expert_out, const Routing& routing,
                              float* output) {
  combine_forward(output, expert_out, routing.weights, perm_, batch.hidden_size, pool_);
}

}  // namespace moe
