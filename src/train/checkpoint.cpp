// Writing checkpoints crash-safely (temporary directory, fsync, rename, fsync; `latest` last) and
// reading them.
#include "train/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "core/output_file.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "parallel/fault_injection.h"

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

void write_optimizer_state(const std::string& path, const OptimizerMoments& moments) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> metadata{{"steps", std::to_string(moments.steps)}};
  for (const MomentPiece& piece : moments.pieces) {
    const int64_t n = static_cast<int64_t>(piece.exp_avg.size());
    tensors.emplace_back("exp_avg." + piece.name, Tensor::from_f32({n}, piece.exp_avg));
    tensors.emplace_back("exp_avg_sq." + piece.name, Tensor::from_f32({n}, piece.exp_avg_sq));
    metadata["offset." + piece.name] = std::to_string(piece.offset);
    if (!piece.slice.empty()) metadata["slice." + piece.name] = piece.slice;
  }
  io::write_safetensors(path, tensors, metadata);
}

// Renames the complete checkpoint `tmp` to `final_path`. An older save of the same iteration (a run
// resumed from an earlier checkpoint redoes it; `latest` may name it) is swapped out atomically
// (RENAME_EXCHANGE), so that `final_path` is never missing, then removed.
void publish(const fs::path& tmp, const fs::path& final_path) {
  if (!fs::exists(final_path)) {
    fs::rename(tmp, final_path);
    return;
  }
  MOE_CHECK(::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_EXCHANGE) == 0, IoError,
            final_path.string(), ": cannot replace the older checkpoint: ", std::strerror(errno));
  fs::remove_all(tmp);  // now the older one
}

// Removes what killed runs left in the checkpoint directory: "<name>.tmp.<pid>" entries (checkpoints
// and `latest` being written) whose process no longer exists.
void remove_abandoned_temporaries(const std::string& dir) {
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const int64_t owner = temporary_owner(entry.path().filename().string());
    if (owner <= 0 || owner == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;  // its writer still runs
    std::error_code error;
    fs::remove_all(entry.path(), error);
  }
}

}  // namespace

void save_checkpoint(const std::string& dir, const model::Model* model, const TrainState& state,
                     const OptimizerMoments& moments, parallel::Communicator& world) {
  const bool lead = world.rank() == 0;
  const std::string name = iteration_name(state.iteration);
  const fs::path final_path = fs::path(dir) / name;
  int64_t pid = ::getpid();  // rank 0's: names the temporary directory on every rank
  world.broadcast(&pid, sizeof pid, 0);
  const fs::path tmp = fs::path(dir) / (name + ".tmp." + std::to_string(pid));
  std::error_code error;
  if (lead) {
    MOE_ASSERT(model != nullptr);
    fs::create_directories(dir, error);
    MOE_CHECK(!error, IoError, dir, ": cannot create the checkpoint directory (", error.message(), ")");
    remove_abandoned_temporaries(dir);
    fs::remove_all(tmp, error);
    fs::create_directories(tmp / "optimizer", error);
    MOE_CHECK(!error, IoError, tmp.string(), ": cannot create (", error.message(), ")");
  }
  world.barrier();
  try {
    write_optimizer_state(optimizer_file(tmp.string(), world.world_rank()), moments);
    parallel::fault_point("checkpoint_write");
    world.barrier();
    if (lead) {
      model::save_model(*model, tmp.string(), model::FileFormat::kHf);
      io::write_json_file(
          (tmp / "train_state.json").string(),
          {{"iteration", state.iteration}, {"consumed_samples", state.consumed_samples}, {"extra", state.extra}});
      sync_directory((tmp / "optimizer").string());
      sync_directory(tmp.string());
      publish(tmp, final_path);
      sync_directory(dir);
    }
  } catch (const fs::filesystem_error& e) {
    if (lead) fs::remove_all(tmp, error);
    throw IoError(detail::concat(final_path.string(), ": ", e.code().message()));
  } catch (...) {
    if (lead) fs::remove_all(tmp, error);
    throw;
  }
  if (lead) {  // only now, and atomically (OutputFile), does latest name the new checkpoint
    OutputFile latest((fs::path(dir) / "latest").string());
    latest.write(name.data(), name.size());
    latest.write("\n", 1);
    latest.commit();
  }
  world.barrier();  // every rank sees the new checkpoint once this returns
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

OptimizerMoments load_optimizer_moments(const std::string& checkpoint) {
  const fs::path folder = fs::path(checkpoint) / "optimizer";
  std::vector<std::string> files;
  if (fs::is_directory(folder))
    for (const fs::directory_entry& entry : fs::directory_iterator(folder))
      if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
  MOE_CHECK(!files.empty(), FormatError, folder.string(), ": no optimizer state (rank_*.safetensors)");
  std::sort(files.begin(), files.end());
  OptimizerMoments moments;
  for (const std::string& path : files) {
    const io::SafetensorsFile file = io::SafetensorsFile::open(path);
    try {
      moments.steps = std::stoll(file.metadata().at("steps"));
      for (const auto& [key, value] : file.metadata()) {
        if (key.rfind("offset.", 0) != 0) continue;
        const std::string name = key.substr(7);
        const auto slice = file.metadata().find("slice." + name);
        MomentPiece piece{name, std::stoll(value), file.tensors().at("exp_avg." + name).to_f32(),
                          file.tensors().at("exp_avg_sq." + name).to_f32(),
                          slice != file.metadata().end() ? slice->second : ""};
        MOE_CHECK(piece.exp_avg.size() == piece.exp_avg_sq.size(), FormatError, path, ": moments of '", name,
                  "' differ in size");
        moments.pieces.push_back(std::move(piece));
      }
    } catch (const std::out_of_range&) {
      throw FormatError(detail::concat(path,
                                       ": not an optimizer state of moe train (steps, offset.<name>, "
                                       "exp_avg.<name>, exp_avg_sq.<name>)"));
    } catch (const std::invalid_argument&) {
      throw FormatError(detail::concat(path, ": metadata that is not a number"));
    }
  }
  return moments;
}

}  // namespace moe::train
