// Helpers shared by the model tests: a scratch path and the logits of a fixed prompt.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace moe::model::testing {

inline std::string tmp_path(const std::string& name) {
  std::filesystem::create_directories(MOE_TEST_TMP);
  return std::string(MOE_TEST_TMP) + "/" + name;
}

// Logits of every position of a fixed 6-token prompt, in one process with 2 threads.
inline std::vector<float> prompt_logits(const Model& model) {
  ThreadPool pool(2);
  Transformer transformer(model, pool);
  KvCache cache = transformer.make_cache(6);
  std::vector<float> logits;
  transformer.forward(std::vector<int32_t>{1, 20, 300, 4, 55, 6}, cache, logits, true);
  return logits;
}

}  // namespace moe::model::testing
