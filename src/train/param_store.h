// ParamStore: the fp32 parameters of a model and their gradients, one buffer pair per HF tensor
// name (what an HF checkpoint directory holds), plus a model::ModelWeights whose tensors are f32
// views of those buffers, so the training code reaches each parameter by role. Under expert
// parallelism a store holds only its EP rank's experts: the other experts' views stay empty.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/model_config.h"
#include "model/weights.h"
#include "train/adamw.h"

namespace moe::train {

class ParamStore {
 public:
  // Zero-filled parameters for `config`, whose q/k rows must be in HF's rotate-half layout
  // (rope_style kNeox). A tied output matrix is the embedding's parameter. Experts
  // [first_expert, first_expert + n_experts) of each layer are held (n_experts < 0: all).
  explicit ParamStore(const model::ModelConfig& config, int64_t first_expert = 0, int64_t n_experts = -1);
  ParamStore(const ParamStore&) = delete;
  ParamStore& operator=(const ParamStore&) = delete;

  // Every role as an f32 view of its parameter's value.
  const model::ModelWeights& views() const { return views_; }
  // The gradient buffer of the parameter behind a view from views().
  float* grad(const Tensor& view);
  // In HF file order, under HF names; weight decay off for biases and 1-D tensors (norms), as
  // Megatron-Core has it.
  enum class Part { kAll, kDense, kExperts };  // kDense: all but the routed experts
  std::vector<ParamRef> params(Part part = Part::kAll);
  void zero_grad();
  // Norm weights 1, biases 0, everything else N(0, std) drawn from (seed, tensor name).
  void init_random(uint64_t seed, double std);
  // Values from HF-named tensors of any dtype (dequantised); every held parameter must be present
  // with its shape, else FormatError naming `source` and the tensor.
  void load(const model::NamedTensors& tensors, const std::string& source);
  // The values as owning f32 tensors under their HF names, in file order.
  model::NamedTensors named_tensors() const;

 private:
  struct Param {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> value, grad;
    bool expert = false;  // a routed expert's matrix
  };
  Tensor add(std::vector<int64_t> shape, bool expert = false);

  model::ModelConfig config_;
  std::deque<Param> storage_;   // stable addresses for the views
  std::vector<Param*> order_;   // HF file order
  std::unordered_map<const float*, Param*> by_value_;
  model::ModelWeights views_;
};

}  // namespace moe::train
