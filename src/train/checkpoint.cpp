// Writing and reading checkpoints atomically (temporary directory, then rename).
#include "train/checkpoint.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/output_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"

namespace moe::train {
namespace fs = std::filesystem;
namespace {

std::string iteration_name(int64_t iteration) {
  char name[32];
  std::snprintf(name, sizeof name, "iter_%07lld", static_cast<long long>(iteration));
  return name;
}

std::string optimizer_file(const std::string& checkpoint, int rank) {
  char name[48];
  std::snprintf(name, sizeof name, "optimizer/rank_%05d.safetensors", rank);
  return (fs::path(checkpoint) / name).string();
}

void write_optimizer_state(const std::string& path, const AdamW& optimizer) {
  AdamW& state = const_cast<AdamW&>(optimizer);  // the moments are only read here
  const int64_t n = optimizer.end() - optimizer.begin();
  io::write_safetensors(path,
                        {{"exp_avg", Tensor::from_f32({n}, state.exp_avg())},
                         {"exp_avg_sq", Tensor::from_f32({n}, state.exp_avg_sq())}},
                        {{"steps", std::to_string(optimizer.steps())},
                         {"begin", std::to_string(optimizer.begin())},
                         {"end", std::to_string(optimizer.end())},
                         {"total", std::to_string(optimizer.total_elements())}});
}

}  // namespace

void save_checkpoint(const std::string& dir, const model::Model& model, const TrainState& state,
                     const AdamW& optimizer) {
  std::error_code error;
  fs::create_directories(dir, error);
  MOE_CHECK(!error, IoError, dir, ": cannot create the checkpoint directory (", error.message(), ")");
  const std::string name = iteration_name(state.iteration);
  const fs::path final_path = fs::path(dir) / name;
  const fs::path tmp = fs::path(dir) / (name + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp, error);
  fs::create_directories(tmp / "optimizer", error);
  MOE_CHECK(!error, IoError, tmp.string(), ": cannot create (", error.message(), ")");
  try {
    model::save_model(model, tmp.string(), model::FileFormat::kHf);
    io::write_json_file((tmp / "train_state.json").string(),
                        {{"iteration", state.iteration},
                         {"consumed_samples", state.consumed_samples},
                         {"extra", state.extra}});
    write_optimizer_state(optimizer_file(tmp.string(), 0), optimizer);
    // An older save of the same iteration is replaced only once the new one is complete.
    if (fs::exists(final_path)) fs::remove_all(final_path);
    fs::rename(tmp, final_path);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, error);
    throw IoError(detail::concat(final_path.string(), ": ", e.code().message()));
  } catch (...) {
    fs::remove_all(tmp, error);
    throw;
  }
  OutputFile latest((fs::path(dir) / "latest").string());
  latest.write(name.data(), name.size());
  latest.write("\n", 1);
  latest.commit();
}

std::string latest_checkpoint(const std::string& dir) {
  const fs::path pointer = fs::path(dir) / "latest";
  if (!fs::exists(pointer)) return "";
  std::ifstream in(pointer);
  std::string name;
  std::getline(in, name);
  const fs::path checkpoint = fs::path(dir) / name;
  MOE_CHECK(!name.empty() && fs::is_directory(checkpoint) &&
                fs::exists(checkpoint / "train_state.json"),
            FormatError, pointer.string(), ": names '", name, "', which is not a checkpoint");
  return checkpoint.string();
}

TrainState load_train_state(const std::string& checkpoint) {
  const std::string path = (fs::path(checkpoint) / "train_state.json").string();
  const nlohmann::json json = io::read_json_file(path);
  TrainState state;
  try {
    state.iteration = json.at("iteration");
    state.consumed_samples = json.at("consumed_samples");
    state.extra = json.value("extra", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(detail::concat(path, ": ", e.what()));
  }
  return state;
}

void load_optimizer_state(const std::string& checkpoint, AdamW& optimizer, int rank) {
  const std::string path = optimizer_file(checkpoint, rank);
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  auto meta = [&](const char* key) -> int64_t {
    const auto it = file.metadata().find(key);
    MOE_CHECK(it != file.metadata().end(), FormatError, path, ": metadata '", key, "' missing");
    return std::stoll(it->second);
  };
  MOE_CHECK(meta("begin") == optimizer.begin() && meta("end") == optimizer.end() &&
                meta("total") == optimizer.total_elements(),
            FormatError, path, ": optimizer range [", meta("begin"), ", ", meta("end"), ") of ",
            meta("total"), " parameters, this run needs [", optimizer.begin(), ", ",
            optimizer.end(), ") of ", optimizer.total_elements(), " (another model or layout?)");
  for (const auto& [name, target] : {std::pair<const char*, std::vector<float>*>{"exp_avg", &optimizer.exp_avg()},
                                     {"exp_avg_sq", &optimizer.exp_avg_sq()}}) {
    const auto it = file.tensors().find(name);
    MOE_CHECK(it != file.tensors().end(), FormatError, path, ": tensor '", name, "' missing");
    const std::vector<float> values = it->second.to_f32();
    MOE_CHECK(values.size() == target->size(), FormatError, path, ": tensor '", name, "' has ",
              values.size(), " values, expected ", target->size());
    *target = values;
  }
  optimizer.set_steps(meta("steps"));
}

}  // namespace moe::train
