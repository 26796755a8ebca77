// Placement tables: validation errors (each message), the JSON file round trip, the rank-load
// model, and the two load-statistics forms with their errors.
#include "moe/balance/placement.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "moe/balance/load_stats.h"

namespace moe::balance {
namespace {

std::string tmp_path(const std::string& name) {
  std::filesystem::create_directories(MOE_TEST_TMP);
  return std::string(MOE_TEST_TMP) + "/" + name;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// 4 experts on 6 slots, 2 ranks: experts 0 and 2 twice.
Placement small_placement() {
  Placement p;
  p.num_experts = 4;
  p.num_slots = 6;
  p.ranks = 2;
  p.layers.push_back(layer_from_phy2log({0, 1, 2, 0, 3, 2}, 4));
  p.layers.push_back(layer_from_phy2log({3, 2, 1, 0, 1, 1}, 4));
  pad_log2phy(p);
  return p;
}

template <typename ErrorType>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ErrorType& e) {
    return e.what();
  }
  return "no error";
}

TEST(Placement, TablesFromPhy2log) {
  const Placement p = small_placement();
  EXPECT_EQ(p.layers[0].logcnt, (std::vector<int64_t>{2, 1, 2, 1}));
  // Padded to the largest count over both layers (3: expert 1 of layer 1).
  EXPECT_EQ(p.layers[0].log2phy[0], (std::vector<int64_t>{0, 3, -1}));
  EXPECT_EQ(p.layers[0].log2phy[3], (std::vector<int64_t>{4, -1, -1}));
  EXPECT_EQ(p.layers[1].log2phy[1], (std::vector<int64_t>{2, 4, 5}));
  EXPECT_EQ(p.rank_of_slot(2), 0);
  EXPECT_EQ(p.rank_of_slot(3), 1);
  EXPECT_NO_THROW(p.validate("p.json"));
}

TEST(Placement, IdentityAndRankLoads) {
  const Placement p = identity_placement(1, 4, 6, 2);
  EXPECT_EQ(p.layers[0].phy2log, (std::vector<int64_t>{0, 1, 2, 3, 0, 1}));
  const std::vector<double> load{40, 20, 10, 30};
  // Rank 0: 40/2 + 20/2 + 10 = 40; rank 1: 30 + 20 + 10 = 60; mean 50.
  const std::vector<double> loads = rank_loads(p, 0, load);
  EXPECT_EQ(loads, (std::vector<double>{40, 60}));
  EXPECT_DOUBLE_EQ(max_mean_ratio(loads), 1.2);
  EXPECT_EQ(max_mean_ratio(std::vector<double>{0, 0}), 1.0);
  EXPECT_EQ(changed_slots(p.layers[0], small_placement().layers[0]), 3);
}

TEST(Placement, JsonFileRoundTrip) {
  const Placement p = small_placement();
  const std::string path = tmp_path("placement_round_trip.json");
  write_placement_file(path, p);
  const Placement back = read_placement_file(path);
  EXPECT_EQ(back.num_experts, 4);
  EXPECT_EQ(back.num_slots, 6);
  EXPECT_EQ(back.ranks, 2);
  ASSERT_EQ(back.layers.size(), 2u);
  for (size_t layer = 0; layer < 2; ++layer) {
    EXPECT_EQ(back.layers[layer].phy2log, p.layers[layer].phy2log);
    EXPECT_EQ(back.layers[layer].logcnt, p.layers[layer].logcnt);
    EXPECT_EQ(back.layers[layer].log2phy, p.layers[layer].log2phy);
  }
  EXPECT_EQ(placement_to_json(back), placement_to_json(p));
  // The file is plain JSON with the documented keys.
  std::ifstream in(path);
  const nlohmann::json value = nlohmann::json::parse(in);
  EXPECT_EQ(value["layers"][1]["phy2log"], nlohmann::json({3, 2, 1, 0, 1, 1}));
}

TEST(Placement, ValidateNamesFileLayerAndExpert) {
  auto message = [](Placement p) { return error_of<ConfigError>([&] { p.validate("p.json"); }); };
  Placement p = small_placement();
  p.num_slots = 3;
  p.num_experts = 4;
  EXPECT_EQ(message(p), "p.json: num_slots (3) must be >= num_experts (4)");
  p = small_placement();
  p.ranks = 4;
  EXPECT_EQ(message(p), "p.json: num_slots (6) must be divisible by ranks (4)");
  p = small_placement();
  p.ranks = 0;
  EXPECT_EQ(message(p), "p.json: ranks must be >= 1, got 0");
  p = small_placement();
  p.num_experts = 0;
  EXPECT_EQ(message(p), "p.json: num_experts must be >= 1, got 0");
  p = small_placement();
  p.layers.clear();
  EXPECT_EQ(message(p), "p.json: no layers");
  p = small_placement();
  p.layers[1].phy2log.pop_back();
  EXPECT_EQ(message(p), "p.json: layer 1: phy2log has 5 slots, expected num_slots = 6");
  p = small_placement();
  p.layers[1].logcnt.pop_back();
  EXPECT_EQ(message(p), "p.json: layer 1: logcnt has 3 entries, expected num_experts = 4");
  p = small_placement();
  p.layers[1].log2phy.pop_back();
  EXPECT_EQ(message(p), "p.json: layer 1: log2phy has 3 rows, expected num_experts = 4");
  p = small_placement();
  p.layers[0].phy2log[5] = 7;
  EXPECT_EQ(message(p), "p.json: layer 0: slot 5 holds expert 7, outside [0, 4)");
  p = small_placement();
  p.layers[0].phy2log[4] = 0;  // expert 3 loses its only slot
  EXPECT_EQ(message(p), "p.json: layer 0: expert 3 has no slot");
  p = small_placement();
  p.layers[0].logcnt[2] = 1;
  EXPECT_EQ(message(p), "p.json: layer 0: expert 2: logcnt says 1 replicas but phy2log gives it 2");
  p = small_placement();
  p.layers[0].log2phy[2].push_back(-1);
  EXPECT_EQ(message(p), "p.json: layer 0: expert 2: log2phy row has 4 entries, the first row 3");
  p = small_placement();
  for (auto& row : p.layers[1].log2phy) row.resize(2, -1);
  EXPECT_EQ(message(p), "p.json: layer 1: expert 1: log2phy row has 2 entries for 3 replicas");
  p = small_placement();
  p.layers[0].log2phy[1][1] = 5;
  EXPECT_EQ(message(p), "p.json: layer 0: expert 1: log2phy entry 1 must be -1 (padding after 1 replicas), got 5");
  p = small_placement();
  p.layers[0].log2phy[0][1] = 1;
  EXPECT_EQ(message(p), "p.json: layer 0: expert 0: log2phy lists slot 1, which phy2log does not give it");
  p = small_placement();
  p.layers[0].log2phy[0][1] = 0;
  EXPECT_EQ(message(p), "p.json: layer 0: expert 0: log2phy lists slot 0 twice");
}

TEST(Placement, FileErrorsNameTheFile) {
  const std::string missing = tmp_path("nowhere.json");
  std::filesystem::remove(missing);
  EXPECT_NE(error_of<IoError>([&] { read_placement_file(missing); }).find("nowhere.json: cannot open"),
            std::string::npos);
  const std::string bad = tmp_path("bad_placement.json");
  write_text(bad, "{\"num_experts\": 4,");
  EXPECT_NE(error_of<FormatError>([&] { read_placement_file(bad); }).find("bad_placement.json: not valid JSON"),
            std::string::npos);
  auto format_message = [](const nlohmann::json& value) {
    return error_of<FormatError>([&] { placement_from_json(value, "p.json"); });
  };
  nlohmann::json good = placement_to_json(small_placement());
  EXPECT_EQ(format_message(nlohmann::json::array()), "p.json: expected a JSON object");
  nlohmann::json v = good;
  v.erase("ranks");
  EXPECT_EQ(format_message(v), "p.json: missing key 'ranks'");
  v = good;
  v["num_slots"] = "six";
  EXPECT_EQ(format_message(v), "p.json: 'num_slots' must be an integer");
  v = good;
  v["layers"] = 3;
  EXPECT_EQ(format_message(v), "p.json: 'layers' must be an array");
  v = good;
  v["layers"][0] = 3;
  EXPECT_EQ(format_message(v), "p.json: layer 0: expected an object");
  v = good;
  v["layers"][1].erase("logcnt");
  EXPECT_EQ(format_message(v), "p.json: layer 1: missing key 'logcnt'");
  v = good;
  v["layers"][1]["phy2log"][2] = 1.5;
  EXPECT_EQ(format_message(v), "p.json: layer 1: 'phy2log' must be an array of integers");
  v = good;
  v["layers"][0]["log2phy"] = 1;
  EXPECT_EQ(format_message(v), "p.json: layer 0: 'log2phy' must be an array of arrays");
  v = good;
  v["layers"][0]["log2phy"][3] = 4;
  EXPECT_EQ(format_message(v), "p.json: layer 0: 'log2phy' row must be an array of integers");
  // Well-formed JSON, inconsistent tables: validate()'s ConfigError.
  v = good;
  v["layers"][0]["logcnt"][0] = 5;
  EXPECT_EQ(error_of<ConfigError>([&] { placement_from_json(v, "p.json"); }),
            "p.json: layer 0: expert 0: logcnt says 5 replicas but phy2log gives it 2");
}

TEST(LoadStats, ReadsBothForms) {
  const std::string plain = tmp_path("stats_plain.json");
  write_text(plain, "[[1, 2.5, 3], [4, 5, 0]]");
  const LoadMatrix a = read_load_matrix(plain);
  EXPECT_EQ(a.n_layers, 2);
  EXPECT_EQ(a.n_experts, 3);
  EXPECT_EQ(a.values, (std::vector<double>{1, 2.5, 3, 4, 5, 0}));
  EXPECT_EQ(a.layer(1)[1], 5);
  const std::string recorded = tmp_path("stats_recorded.json");
  write_text(recorded, R"({"expert_tokens": [[1, 2.5, 3], [4, 5, 0]], "tokens": 100})");
  EXPECT_EQ(read_load_matrix(recorded).values, a.values);
}

TEST(LoadStats, ErrorsNameFileLayerAndExpert) {
  auto message = [](const std::string& text) {
    return error_of<FormatError>([&] { load_matrix_from_json(nlohmann::json::parse(text), "s.json"); });
  };
  EXPECT_EQ(message(R"({"tokens": 3})"),
            "s.json: expected a [layers][experts] array or an object with 'expert_tokens'");
  EXPECT_EQ(message("[]"), "s.json: expected a non-empty [layers][experts] array of numbers");
  EXPECT_EQ(message("3"), "s.json: expected a non-empty [layers][experts] array of numbers");
  EXPECT_EQ(message("[[1, 2], 3]"), "s.json: layer 1: expected a non-empty array of expert loads");
  EXPECT_EQ(message("[[1, 2], [3]]"), "s.json: layer 1 has 1 experts, layer 0 has 2");
  EXPECT_EQ(message(R"([[1, "x"]])"), "s.json: layer 0, expert 1: load must be a number, got \"x\"");
  EXPECT_EQ(message("[[1, 2], [3, -4]]"), "s.json: layer 1, expert 1: load must be finite and >= 0, got -4");
  const std::string missing = tmp_path("no_stats.json");
  std::filesystem::remove(missing);
  EXPECT_NE(error_of<IoError>([&] { read_load_matrix(missing); }).find("no_stats.json: cannot open"),
            std::string::npos);
  const std::string bad = tmp_path("bad_stats.json");
  write_text(bad, "[[1, 2");
  EXPECT_NE(error_of<FormatError>([&] { read_load_matrix(bad); }).find("bad_stats.json: not valid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace moe::balance
