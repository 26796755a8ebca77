// Gradient reduction, norm, AdamW over shards and the gather of updated shards.
#include "train/distributed_optimizer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "train/param_chunks.h"

namespace moe::train {
namespace {

int64_t total_size(const std::vector<ParamRef>& params) {
  int64_t n = 0;
  for (const ParamRef& p : params) n += static_cast<int64_t>(p.value.size());
  return n;
}

// Shard r of n of `total` elements: [total * r / n, total * (r + 1) / n).
int64_t shard_bound(int64_t total, int r, int n) { return total * r / n; }

}  // namespace

DistributedOptimizer::Part DistributedOptimizer::make_part(std::vector<ParamRef> params, parallel::Communicator* group,
                                                           const AdamWConfig& config, bool distributed) {
  const int64_t total = total_size(params);
  const int n = group->size(), r = group->rank();
  const int64_t begin = distributed ? shard_bound(total, r, n) : 0;
  const int64_t end = distributed ? shard_bound(total, r + 1, n) : total;
  AdamW adam(params, config, begin, end);
  return Part{std::move(params), group, std::move(adam), {}};
}

DistributedOptimizer::DistributedOptimizer(TrainModel& net, TrainGroups& groups, const AdamWConfig& config,
                                           bool distributed, ThreadPool* pool)
    : groups_(&groups),
      pool_(pool),
      distributed_(distributed),
      dense_(make_part(net.params(ParamStore::Part::kDense), groups.world, config, distributed)),
      split_(make_part(net.params(ParamStore::Part::kSplit), &groups.dp, config, distributed)),
      experts_(make_part(net.params(ParamStore::Part::kExperts), &groups.expert_dp, config, distributed)) {}

void DistributedOptimizer::reduce(Part& part) {
  if (part.group->size() == 1) return;
  // One sum over the concatenation, in rank order (every rank gets the same bits). The
  // distributed optimizer needs only its shard of it: a reduce-scatter, whose slices are the
  // shards; the other elements keep this rank's own unsummed gradients, which nothing reads.
  part.flat.resize(part.adam.total_elements());
  int64_t offset = 0;
  for (const ParamRef& p : part.params) {
    std::copy(p.grad.begin(), p.grad.end(), part.flat.begin() + offset);
    offset += static_cast<int64_t>(p.grad.size());
  }
  const int64_t n = static_cast<int64_t>(part.flat.size());
  const MaybeScopedPhase timer(times_, Phase::kComm);
  if (distributed_)
    part.group->reduce_scatter_sum(part.flat.data(), n);
  else
    part.group->allreduce_sum(part.flat.data(), n);
  for_each_overlap(part.params, part.adam.begin(), part.adam.end(),
                   [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t at) {
                     std::copy(part.flat.begin() + at + lo, part.flat.begin() + at + hi, p.grad.begin() + lo);
                   });
}

double DistributedOptimizer::reduce_gradients() {
  // Every gradient element is counted once: each rank adds the squares of its shard of each
  // part's group (the other TP ranks hold other blocks, the other EP ranks other experts).
  double sum = 0;
  for (Part* part : parts()) {
    reduce(*part);
    const int64_t total = part->adam.total_elements();
    const int r = part->group->rank(), n = part->group->size();
    sum += gradient_sum_squares(part->params, shard_bound(total, r, n), shard_bound(total, r + 1, n), pool_);
  }
  const MaybeScopedPhase timer(times_, Phase::kComm);
  groups_->world->allreduce_sum(&sum, 1);
  return std::sqrt(sum);
}

void DistributedOptimizer::scale_gradients(float factor) {
  for (Part* part : parts())
    for_param_chunks(pool_, 0, part->adam.total_elements(), [&](int64_t, int64_t begin, int64_t end) {
      for_each_overlap(part->params, begin, end, [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t) {
        for (int64_t i = lo; i < hi; ++i) p.grad[i] *= factor;
      });
    });
}

void DistributedOptimizer::gather(Part& part) {
  if (part.group->size() == 1) return;
  const int64_t begin = part.adam.begin(), end = part.adam.end();
  std::vector<float> mine(end - begin);
  for_each_overlap(part.params, begin, end, [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t offset) {
    std::copy(p.value.begin() + lo, p.value.begin() + hi, mine.begin() + (offset + lo - begin));
  });
  std::vector<int64_t> counts;
  {
    const MaybeScopedPhase timer(times_, Phase::kComm);
    part.group->allgatherv(mine.data(), static_cast<int64_t>(mine.size()), part.flat, counts);
  }
  int64_t offset = 0;
  for (const ParamRef& p : part.params) {
    std::copy(part.flat.begin() + offset, part.flat.begin() + offset + static_cast<int64_t>(p.value.size()),
              p.value.begin());
    offset += static_cast<int64_t>(p.value.size());
  }
}

void DistributedOptimizer::step(double lr) {
  for (Part* part : parts()) {
    part->adam.step(lr, pool_);
    if (distributed_) gather(*part);
  }
}

std::vector<MomentPiece> DistributedOptimizer::moments() const {
  std::vector<MomentPiece> pieces;
  for (const Part* part : parts()) {
    AdamW& adam = const_cast<AdamW&>(part->adam);  // the moments are only read
    const int64_t begin = adam.begin();
    for_each_overlap(part->params, begin, adam.end(), [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t offset) {
      const int64_t at = offset + lo - begin;
      pieces.push_back({p.name, lo,
                        std::vector<float>(adam.exp_avg().begin() + at, adam.exp_avg().begin() + at + (hi - lo)),
                        std::vector<float>(adam.exp_avg_sq().begin() + at, adam.exp_avg_sq().begin() + at + (hi - lo)),
                        p.slice.describe()});
    });
  }
  return pieces;
}

void DistributedOptimizer::load_moments(const std::vector<MomentPiece>& pieces, int64_t steps,
                                        const std::string& source) {
  std::map<std::string, std::vector<const MomentPiece*>> by_name;
  for (const MomentPiece& piece : pieces) by_name[piece.name].push_back(&piece);
  for (Part* part : parts()) {
    const int64_t begin = part->adam.begin();
    for_each_overlap(part->params, begin, part->adam.end(),
                     [&](const ParamRef& p, int64_t lo, int64_t hi, int64_t offset) {
                       // The saved moments laid out over the full tensor, whatever blocks and ranges wrote them.
                       int64_t full_size = 1;
                       for (int64_t d : p.slice.full_shape) full_size *= d;
                       std::vector<float> m(full_size), v(full_size);
                       std::vector<char> filled(full_size, 0);
                       for (const MomentPiece* piece : by_name[p.name]) {
                         const TensorSlice saved =
                             TensorSlice::parse(piece->slice, p.slice.full_shape, source + ": '" + p.name + "'");
                         for (int64_t j = 0; j < static_cast<int64_t>(piece->exp_avg.size()); ++j) {
                           const int64_t at = saved.full_index(piece->offset + j);
                           MOE_CHECK(at < full_size, FormatError, source, ": moments of '", p.name, "' beyond its ",
                                     full_size, " elements");
                           m[at] = piece->exp_avg[j];
                           v[at] = piece->exp_avg_sq[j];
                           filled[at] = 1;
                         }
                       }
                       for (int64_t i = lo; i < hi; ++i) {
                         const int64_t at = p.slice.full_index(i);
                         MOE_CHECK(filled[at], FormatError, source, ": the optimizer state lacks moments of '", p.name,
                                   "' elements [", lo, ", ", hi, ")");
                         part->adam.exp_avg()[offset + i - begin] = m[at];
                         part->adam.exp_avg_sq()[offset + i - begin] = v[at];
                       }
                     });
    part->adam.set_steps(steps);
  }
}

}  // namespace moe::train
