// Expert load statistics: tokens (or any non-negative load) per layer and expert, the balancers'
// input. Read from a plain JSON matrix [layers][experts] or from {"expert_tokens": [[...]]}, the
// form `--record-stats` files take.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moe::balance {

struct LoadMatrix {
  int64_t n_layers = 0;
  int64_t n_experts = 0;
  std::vector<double> values;  // [n_layers, n_experts]

  std::span<const double> layer(int64_t layer_idx) const {
    return {values.data() + layer_idx * n_experts, static_cast<size_t>(n_experts)};
  }
};

// Throws FormatError naming `where`, the layer and the expert for anything but a non-empty,
// rectangular matrix of finite numbers >= 0.
LoadMatrix load_matrix_from_json(const nlohmann::json& value, const std::string& where);
// Also IoError when the file cannot be read, FormatError when it is not JSON.
LoadMatrix read_load_matrix(const std::string& path);

}  // namespace moe::balance
