// Reading expert load statistics (both JSON forms) with errors that name the entry at fault.
#include "moe/balance/load_stats.h"

#include <cmath>

#include "core/error.h"
#include "io/json_file.h"

namespace moe::balance {

LoadMatrix load_matrix_from_json(const nlohmann::json& value, const std::string& where) {
  const nlohmann::json* rows = &value;
  if (value.is_object()) {
    auto it = value.find("expert_tokens");
    MOE_CHECK(it != value.end(), FormatError, where,
              ": expected a [layers][experts] array or an object with 'expert_tokens'");
    rows = &*it;
  }
  MOE_CHECK(rows->is_array() && !rows->empty(), FormatError, where,
            ": expected a non-empty [layers][experts] array of numbers");
  LoadMatrix matrix;
  matrix.n_layers = static_cast<int64_t>(rows->size());
  for (int64_t layer = 0; layer < matrix.n_layers; ++layer) {
    const nlohmann::json& row = (*rows)[layer];
    MOE_CHECK(row.is_array() && !row.empty(), FormatError, where, ": layer ", layer,
              ": expected a non-empty array of expert loads");
    if (layer == 0) matrix.n_experts = static_cast<int64_t>(row.size());
    MOE_CHECK(static_cast<int64_t>(row.size()) == matrix.n_experts, FormatError, where, ": layer ", layer, " has ",
              row.size(), " experts, layer 0 has ", matrix.n_experts);
    for (int64_t expert = 0; expert < matrix.n_experts; ++expert) {
      const nlohmann::json& item = row[expert];
      MOE_CHECK(item.is_number(), FormatError, where, ": layer ", layer, ", expert ", expert,
                ": load must be a number, got ", item.dump());
      const double load = item.get<double>();
      MOE_CHECK(std::isfinite(load) && load >= 0.0, FormatError, where, ": layer ", layer, ", expert ", expert,
                ": load must be finite and >= 0, got ", item.dump());
      matrix.values.push_back(load);
    }
  }
  return matrix;
}

LoadMatrix read_load_matrix(const std::string& path) { return load_matrix_from_json(io::read_json_value(path), path); }

}  // namespace moe::balance
