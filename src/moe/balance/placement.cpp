// Placement tables, their checks, the rank-load model and the JSON placement file.
#include "moe/balance/placement.h"

#include <algorithm>
#include <cerrno>

#include "core/error.h"
#include "core/output_file.h"
#include "io/json_file.h"

namespace moe::balance {

void Placement::validate(const std::string& where) const {
  MOE_CHECK(num_experts >= 1, ConfigError, where, ": num_experts must be >= 1, got ", num_experts);
  MOE_CHECK(ranks >= 1, ConfigError, where, ": ranks must be >= 1, got ", ranks);
  MOE_CHECK(num_slots >= num_experts, ConfigError, where, ": num_slots (", num_slots, ") must be >= num_experts (",
            num_experts, ")");
  MOE_CHECK(num_slots % ranks == 0, ConfigError, where, ": num_slots (", num_slots, ") must be divisible by ranks (",
            ranks, ")");
  MOE_CHECK(!layers.empty(), ConfigError, where, ": no layers");
  for (size_t layer_idx = 0; layer_idx < layers.size(); ++layer_idx) {
    const LayerPlacement& layer = layers[layer_idx];
    const std::string at = detail::concat(where, ": layer ", layer_idx);
    MOE_CHECK(static_cast<int64_t>(layer.phy2log.size()) == num_slots, ConfigError, at, ": phy2log has ",
              layer.phy2log.size(), " slots, expected num_slots = ", num_slots);
    MOE_CHECK(static_cast<int64_t>(layer.logcnt.size()) == num_experts, ConfigError, at, ": logcnt has ",
              layer.logcnt.size(), " entries, expected num_experts = ", num_experts);
    MOE_CHECK(static_cast<int64_t>(layer.log2phy.size()) == num_experts, ConfigError, at, ": log2phy has ",
              layer.log2phy.size(), " rows, expected num_experts = ", num_experts);
    std::vector<int64_t> counted(num_experts, 0);
    for (int64_t slot = 0; slot < num_slots; ++slot) {
      const int64_t expert = layer.phy2log[slot];
      MOE_CHECK(expert >= 0 && expert < num_experts, ConfigError, at, ": slot ", slot, " holds expert ", expert,
                ", outside [0, ", num_experts, ")");
      ++counted[expert];
    }
    for (int64_t expert = 0; expert < num_experts; ++expert)
      MOE_CHECK(counted[expert] >= 1, ConfigError, at, ": expert ", expert, " has no slot");
    const size_t width = layer.log2phy[0].size();
    for (int64_t expert = 0; expert < num_experts; ++expert) {
      const std::string at_expert = detail::concat(at, ": expert ", expert);
      MOE_CHECK(layer.logcnt[expert] == counted[expert], ConfigError, at_expert, ": logcnt says ", layer.logcnt[expert],
                " replicas but phy2log gives it ", counted[expert]);
      const std::vector<int64_t>& row = layer.log2phy[expert];
      MOE_CHECK(row.size() == width, ConfigError, at_expert, ": log2phy row has ", row.size(),
                " entries, the first row ", width);
      MOE_CHECK(static_cast<int64_t>(row.size()) >= counted[expert], ConfigError, at_expert, ": log2phy row has ",
                row.size(), " entries for ", counted[expert], " replicas");
      for (int64_t replica = 0; replica < static_cast<int64_t>(row.size()); ++replica) {
        const int64_t slot = row[replica];
        if (replica >= counted[expert]) {
          MOE_CHECK(slot == -1, ConfigError, at_expert, ": log2phy entry ", replica, " must be -1 (padding after ",
                    counted[expert], " replicas), got ", slot);
          continue;
        }
        MOE_CHECK(slot >= 0 && slot < num_slots && layer.phy2log[slot] == expert, ConfigError, at_expert,
                  ": log2phy lists slot ", slot, ", which phy2log does not give it");
        MOE_CHECK(std::find(row.begin(), row.begin() + replica, slot) == row.begin() + replica, ConfigError, at_expert,
                  ": log2phy lists slot ", slot, " twice");
      }
    }
  }
}

LayerPlacement layer_from_phy2log(std::vector<int64_t> phy2log, int64_t num_experts, int64_t width) {
  LayerPlacement layer;
  layer.logcnt.assign(num_experts, 0);
  for (int64_t expert : phy2log) {
    MOE_ASSERT(expert >= 0 && expert < num_experts);
    ++layer.logcnt[expert];
  }
  const int64_t max_count = *std::max_element(layer.logcnt.begin(), layer.logcnt.end());
  MOE_ASSERT(width == 0 || width >= max_count);
  layer.log2phy.assign(num_experts, std::vector<int64_t>(width == 0 ? max_count : width, -1));
  std::vector<int64_t> filled(num_experts, 0);
  for (int64_t slot = 0; slot < static_cast<int64_t>(phy2log.size()); ++slot)
    layer.log2phy[phy2log[slot]][filled[phy2log[slot]]++] = slot;
  layer.phy2log = std::move(phy2log);
  return layer;
}

void pad_log2phy(Placement& placement) {
  int64_t width = 1;
  for (const LayerPlacement& layer : placement.layers)
    for (int64_t count : layer.logcnt) width = std::max(width, count);
  for (LayerPlacement& layer : placement.layers)
    for (std::vector<int64_t>& row : layer.log2phy) {
      std::erase(row, -1);  // padding is only ever at the end
      row.resize(width, -1);
    }
}

Placement identity_placement(int64_t n_layers, int64_t num_experts, int64_t num_slots, int64_t ranks) {
  Placement placement;
  placement.num_slots = num_slots;
  placement.num_experts = num_experts;
  placement.ranks = ranks;
  std::vector<int64_t> phy2log(num_slots);
  for (int64_t slot = 0; slot < num_slots; ++slot) phy2log[slot] = slot % num_experts;
  placement.layers.assign(n_layers, layer_from_phy2log(phy2log, num_experts));
  pad_log2phy(placement);
  return placement;
}

std::vector<double> rank_loads(const Placement& placement, int64_t layer, std::span<const double> expert_load) {
  const LayerPlacement& table = placement.layers.at(layer);
  MOE_ASSERT(static_cast<int64_t>(expert_load.size()) == placement.num_experts);
  std::vector<double> loads(placement.ranks, 0.0);
  for (int64_t slot = 0; slot < placement.num_slots; ++slot) {
    const int64_t expert = table.phy2log[slot];
    loads[placement.rank_of_slot(slot)] += expert_load[expert] / static_cast<double>(table.logcnt[expert]);
  }
  return loads;
}

double max_mean_ratio(std::span<const double> loads) {
  double total = 0.0, max_load = 0.0;
  for (double load : loads) {
    total += load;
    max_load = std::max(max_load, load);
  }
  if (total <= 0.0) return 1.0;
  return max_load / (total / static_cast<double>(loads.size()));
}

int64_t changed_slots(const LayerPlacement& before, const LayerPlacement& after) {
  MOE_ASSERT(before.phy2log.size() == after.phy2log.size());
  int64_t changed = 0;
  for (size_t slot = 0; slot < before.phy2log.size(); ++slot) changed += before.phy2log[slot] != after.phy2log[slot];
  return changed;
}

nlohmann::json placement_to_json(const Placement& placement) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerPlacement& layer : placement.layers)
    layers.push_back({{"phy2log", layer.phy2log}, {"logcnt", layer.logcnt}, {"log2phy", layer.log2phy}});
  return {{"num_experts", placement.num_experts},
          {"num_slots", placement.num_slots},
          {"ranks", placement.ranks},
          {"layers", std::move(layers)}};
}

namespace {

int64_t integer_key(const nlohmann::json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  MOE_CHECK(it != object.end(), FormatError, where, ": missing key '", key, "'");
  MOE_CHECK(it->is_number_integer(), FormatError, where, ": '", key, "' must be an integer");
  return it->get<int64_t>();
}

std::vector<int64_t> integer_list(const nlohmann::json& value, const std::string& where) {
  MOE_CHECK(value.is_array(), FormatError, where, " must be an array of integers");
  std::vector<int64_t> out;
  out.reserve(value.size());
  for (const nlohmann::json& item : value) {
    MOE_CHECK(item.is_number_integer(), FormatError, where, " must be an array of integers");
    out.push_back(item.get<int64_t>());
  }
  return out;
}

}  // namespace

Placement placement_from_json(const nlohmann::json& value, const std::string& where) {
  MOE_CHECK(value.is_object(), FormatError, where, ": expected a JSON object");
  Placement placement;
  placement.num_experts = integer_key(value, "num_experts", where);
  placement.num_slots = integer_key(value, "num_slots", where);
  placement.ranks = integer_key(value, "ranks", where);
  auto layers = value.find("layers");
  MOE_CHECK(layers != value.end() && layers->is_array(), FormatError, where, ": 'layers' must be an array");
  for (size_t layer_idx = 0; layer_idx < layers->size(); ++layer_idx) {
    const nlohmann::json& item = (*layers)[layer_idx];
    const std::string at = detail::concat(where, ": layer ", layer_idx);
    MOE_CHECK(item.is_object(), FormatError, at, ": expected an object");
    for (const char* key : {"phy2log", "logcnt", "log2phy"})
      MOE_CHECK(item.contains(key), FormatError, at, ": missing key '", key, "'");
    LayerPlacement layer;
    layer.phy2log = integer_list(item["phy2log"], at + ": 'phy2log'");
    layer.logcnt = integer_list(item["logcnt"], at + ": 'logcnt'");
    MOE_CHECK(item["log2phy"].is_array(), FormatError, at, ": 'log2phy' must be an array of arrays");
    for (const nlohmann::json& row : item["log2phy"])
      layer.log2phy.push_back(integer_list(row, at + ": 'log2phy' row"));
    placement.layers.push_back(std::move(layer));
  }
  placement.validate(where);
  return placement;
}

Placement read_placement_file(const std::string& path) { return placement_from_json(io::read_json_value(path), path); }

void write_placement_file(const std::string& path, const Placement& placement) {
  placement.validate(path);
  // One line per layer table keeps the file readable for a few hundred slots.
  std::string text = "{\n  \"num_experts\": " + std::to_string(placement.num_experts) +
                     ",\n  \"num_slots\": " + std::to_string(placement.num_slots) +
                     ",\n  \"ranks\": " + std::to_string(placement.ranks) + ",\n  \"layers\": [";
  for (size_t layer_idx = 0; layer_idx < placement.layers.size(); ++layer_idx) {
    const LayerPlacement& layer = placement.layers[layer_idx];
    text += layer_idx == 0 ? "\n" : ",\n";
    text += "    {\"phy2log\": " + nlohmann::json(layer.phy2log).dump() +
            ",\n     \"logcnt\": " + nlohmann::json(layer.logcnt).dump() +
            ",\n     \"log2phy\": " + nlohmann::json(layer.log2phy).dump() + "}";
  }
  text += "\n  ]\n}\n";
  OutputFile out(path);
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace moe::balance
