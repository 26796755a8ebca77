// `moe bench --moe-layer`: times one training MoE layer (train::moe_forward / moe_backward) on
// random data of a given shape, so users can size a configuration.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace moe::cli {

struct MoeLayerBenchOptions {
  bool enabled = false;             // --moe-layer
  int64_t hidden = 1024;            // --hidden
  int64_t ffn = 2816;               // --ffn
  int64_t experts = 8;              // --experts
  int64_t topk = 2;                 // --topk
  std::string tokens = "512,2048";  // --tokens
  bool backward = false;            // --backward
  bool bf16 = false;                // --bf16: expert GEMMs in bf16 mode
  uint64_t seed = 1;
};

// Adds --moe-layer and its options to `moe bench`.
void add_moe_layer_options(CLI::App* cmd, const std::shared_ptr<MoeLayerBenchOptions>& options);
// One row per (threads, tokens): a table or JSON lines. `threads` and `repetitions` are
// `moe bench`'s -t and -r.
void run_moe_layer_bench(const MoeLayerBenchOptions& options, const std::vector<int>& threads, int repetitions,
                         bool json);

}  // namespace moe::cli
