// What a training step reports: the progress line on the terminal and the JSON-lines log
// (`log_file`), with the field names of runtime/train_log_fields.h that `moe plot` reads back.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moe::train {

struct StepRecord {
  int64_t step = 0;
  int64_t train_iters = 0;
  double loss = 0, lm_loss = 0, aux_loss = 0, z_loss = 0;
  double grad_norm = 0;
  double lr = 0;
  double tokens_per_s = 0;
  double seconds_left = 0;                          // ETA
  std::vector<std::vector<int64_t>> expert_tokens;  // [layer][expert], this step's global batch
  int64_t dropped_tokens = 0;
  std::optional<double> eval_loss;
};

// "step   10/100 | loss 5.1234 (lm 5.1000 aux 0.0200 z 0.0034) | grad 1.23 | lr 1.00e-03 |
//  12345 tok/s | ETA 1m02s"
std::string progress_line(const StepRecord& record);
nlohmann::json step_json(const StepRecord& record);
// The line a resumed run appends before its first step.
nlohmann::json resume_json(int64_t step, const std::string& checkpoint);

// Appends JSON lines to a file, flushed after each line (a crash loses no logged step). A resumed
// run appends to the same log, starting with resume_json's line.
class TrainLogFile {
 public:
  TrainLogFile() = default;
  TrainLogFile(const std::string& path, bool append);  // IoError naming the path
  void write(const nlohmann::json& line);
  explicit operator bool() const { return file_ != nullptr; }

 private:
  std::string path_;
  std::shared_ptr<std::FILE> file_;
};

}  // namespace moe::train
