// Sampler: picks the next token from logits: greedy at temperature 0, else temperature, top-k and
// top-p (nucleus) sampling with a seeded generator.
#pragma once

#include <cstdint>
#include <span>

#include "core/random.h"

namespace moe::runtime {

struct SamplerOptions {
  float temperature = 0.8f;  // <= 0: greedy
  int64_t top_k = 40;        // 0: all tokens
  float top_p = 0.95f;       // 1: no nucleus cut
  uint64_t seed = 0;
  void validate() const;  // throws UsageError naming --temp, --top-k or --top-p
};

class Sampler {
 public:
  explicit Sampler(SamplerOptions options) : options_(options), rng_(options.seed) {}
  int32_t sample(std::span<const float> logits);

 private:
  SamplerOptions options_;
  Rng rng_;
};

// Index of the largest value; ties go to the lowest index.
int32_t argmax(std::span<const float> values);

}  // namespace moe::runtime
