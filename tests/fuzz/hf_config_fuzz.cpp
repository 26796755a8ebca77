// HF config.json of every architecture (the seeds hold one per preset): the keys the engine reads,
// their types and ranges.
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "model/model_config.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const auto json = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return;  // not JSON: io::read_json_file refuses it before this parser
  fuzz::refuse_or_accept([&] { model::config_from_hf(json, "config.json"); });
}

}  // namespace

MOE_FUZZ_TARGET(hf_config, run)
