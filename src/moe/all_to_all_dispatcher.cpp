// Local permutation, then the expert exchange out and back, then the local combine.
#include "moe/all_to_all_dispatcher.h"

namespace moe {

AllToAllDispatcher::AllToAllDispatcher(parallel::Communicator& group, int64_t n_experts, bool check_dispatch)
    : exchange_(group, n_experts, check_dispatch), local_(n_experts) {}

void AllToAllDispatcher::dispatch(const float* hidden, int64_t hidden_size, const Routing& routing,
                                  ExpertBatch& batch) {
  // Rows grouped by global expert = grouped by (peer, local expert): ready to send.
  local_.dispatch(hidden, hidden_size, routing, sent_);
  exchange_.plan(sent_.expert_offsets, plan_);
  exchange_.dispatch(plan_, sent_.rows.data(), hidden_size, batch.rows);
  batch.hidden_size = hidden_size;
  batch.expert_offsets.assign(plan_.offsets.begin(), plan_.offsets.end());
  stats_.rows_sent.assign(plan_.send_rows.begin(), plan_.send_rows.end());
  stats_.rows_received.assign(plan_.recv_rows.begin(), plan_.recv_rows.end());
  stats_.comm = exchange_.comm_times();
}

void AllToAllDispatcher::combine(const ExpertBatch& batch, const float* expert_out, const Routing& routing,
                                 float* output) {
  exchange_.combine(plan_, expert_out, batch.hidden_size, returned_);
  stats_.comm = exchange_.comm_times();
  // `returned_` is in send order, which is the local permutation's row order.
  local_.combine(sent_, returned_.data(), routing, output);
}

}  // namespace moe
