// Deterministic random numbers (SplitMix64 + Box-Muller): the same seed gives the same values on
// every machine and compiler, unlike <random>'s distributions.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace moe {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Advances the state as n calls of next_u64 would (uniform takes one, normal two), so a range of
  // draws can start at any position.
  void skip(uint64_t n) { state_ += n * 0x9e3779b97f4a7c15ull; }
  // Uniform in [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller; one value per call, the pair's second discarded for simplicity).
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

// Seed derived from a base seed and a name (FNV-1a), so each tensor's values do not depend on
// the order in which tensors are generated.
inline uint64_t derive_seed(uint64_t seed, std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return seed * 0x9e3779b97f4a7c15ull ^ hash;
}

}  // namespace moe
