// Calibration pass: observers attached to copies of the weight views record input amax values.
#include "model/calibrate.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "model/transformer.h"

namespace moe::model {

namespace {

// Raises *amax to the largest |x| of every matmul input it sees.
class AmaxObserver final : public InputObserver {
 public:
  explicit AmaxObserver(float* amax) : amax_(amax) {}
  void observe(const float* x, int64_t ldx, int64_t n_rows, int64_t cols) override {
    for (int64_t t = 0; t < n_rows; ++t)
      for (int64_t c = 0; c < cols; ++c) *amax_ = std::max(*amax_, std::fabs(x[t * ldx + c]));
  }

 private:
  float* amax_;
};

void observe(Tensor& weight, float* amax) {
  if (!weight.empty()) weight = weight.with_observer(std::make_shared<AmaxObserver>(amax));
}

}  // namespace

std::vector<LayerInputRanges> calibrate_input_ranges(const Model& model, const std::vector<int32_t>& tokens,
                                                     int64_t window, ThreadPool& pool) {
  MOE_CHECK(window > 0, UsageError, "calibration window must be positive, got ", window);
  std::vector<LayerInputRanges> ranges(model.config.n_layers());
  Model observed = model;
  for (int64_t layer = 0; layer < model.config.n_layers(); ++layer) {
    LayerWeights& l = observed.weights.layers[layer];
    LayerInputRanges& r = ranges[layer];
    observe(l.wq, &r.attention);  // k and v multiply the same input
    observe(l.wo, &r.attention_output);
    for (ExpertWeights& e : l.experts) {
      observe(e.gate, &r.experts);  // up multiplies the same input
      observe(e.down, &r.experts_down);
    }
    observe(l.shared_expert.gate, &r.shared);
    observe(l.shared_expert.down, &r.shared_down);
  }
  Transformer transformer(observed, pool);
  std::vector<float> logits;
  for (size_t begin = 0; begin < tokens.size(); begin += static_cast<size_t>(window)) {
    const size_t n = std::min(tokens.size() - begin, static_cast<size_t>(window));
    KvCache cache = transformer.make_cache(static_cast<int64_t>(n));
    transformer.forward(std::span<const int32_t>(tokens.data() + begin, n), cache, logits, false);
  }
  return ranges;
}

}  // namespace moe::model
