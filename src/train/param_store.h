// ParamStore: the fp32 parameters of a model and their gradients, one buffer pair per HF tensor
// name (what an HF checkpoint directory holds), plus a model::ModelWeights whose tensors are f32
// views of those buffers, so the training code reaches each parameter by role. Under expert
// parallelism a store holds only its EP rank's experts: the other experts' views stay empty.
// Under tensor parallelism it holds its TP rank's block of the attention projections and of the
// shared expert (q/k/v and gate/up by output rows, o and down by input columns, as Megatron's
// column- and row-parallel linears split them); their views have the block's shape.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/thread_pool.h"

#include "model/model_config.h"
#include "model/weights.h"
#include "train/adamw.h"

namespace moe::train {

// Which experts and which tensor-parallel block a store holds.
struct ParamShard {
  int64_t first_expert = 0, n_experts = -1;  // experts [first, first + n) of each layer (n < 0: all)
  int tp_rank = 0, tp_size = 1;              // this rank's block of the split matrices
};

class ParamStore {
 public:
  // Zero-filled parameters for `config`, whose q/k rows must be in HF's rotate-half layout
  // (rope_style kNeox). A tied output matrix is the embedding's parameter. ConfigError when
  // tp_size does not divide the heads, the kv heads or the shared expert's width, or the model
  // normalises q/k over the whole projection (which TP would split).
  explicit ParamStore(const model::ModelConfig& config, const ParamShard& shard = {});
  ParamStore(const ParamStore&) = delete;
  ParamStore& operator=(const ParamStore&) = delete;

  // Every role as an f32 view of its parameter's value.
  const model::ModelWeights& views() const { return views_; }
  // The gradient buffer of the parameter behind a view from views().
  float* grad(const Tensor& view);
  // In HF file order, under HF names; weight decay off for biases and 1-D tensors (norms), as
  // Megatron-Core has it.
  // kDense: the dense parameters every TP rank holds whole; kSplit: the TP-split ones (none when
  // tp_size is 1); kExperts: the routed experts'.
  enum class Part { kAll, kDense, kSplit, kExperts };
  std::vector<ParamRef> params(Part part = Part::kAll);
  void zero_grad();
  // Norm weights 1, biases 0, everything else N(0, std) drawn from (seed, tensor name) over the
  // full tensor (a TP block takes its part of the same draws); on `pool` in chunks that start the
  // stream at their first element (Rng::skip), so the values do not depend on the pool.
  void init_random(uint64_t seed, double std, ThreadPool* pool = nullptr);
  // Values from HF-named full tensors of any dtype (dequantised); every held parameter must be
  // present with its full shape, else FormatError naming `source` and the tensor.
  void load(const model::NamedTensors& tensors, const std::string& source);
  // The held values (TP blocks as blocks) as owning f32 tensors under their HF names, in file order.
  model::NamedTensors named_tensors() const;
  // The TP block of the parameter called `name` (whole for unsplit ones and unknown names).
  TensorSlice slice(const std::string& name) const;

 private:
  struct Param {
    std::string name;
    std::vector<int64_t> shape;  // of the held block
    TensorSlice slice;           // where the block sits in the full tensor
    std::vector<float> value, grad;
    bool expert = false;  // a routed expert's matrix
  };
  enum class Kind { kDense, kExpert, kRows, kCols };  // kRows/kCols: TP-split that way
  Tensor add(std::vector<int64_t> full_shape, Kind kind = Kind::kDense);

  model::ModelConfig config_;
  ParamShard shard_;
  std::deque<Param> storage_;  // stable addresses for the views
  std::vector<Param*> order_;  // HF file order
  std::unordered_map<const float*, Param*> by_value_;
  model::ModelWeights views_;
};

}  // namespace moe::train
