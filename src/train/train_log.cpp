// Formatting of training progress lines and JSON-lines log records.
#include "train/train_log.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "runtime/train_log_fields.h"

namespace moe::train {
namespace {

std::string duration(double seconds) {
  const long long s = std::llround(std::max(0.0, seconds));
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, s / 60 % 60);
  else
    std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  return text;
}

}  // namespace

std::string progress_line(const StepRecord& r) {
  char text[320];
  const int width = static_cast<int>(std::to_string(r.train_iters).size());
  std::snprintf(text, sizeof text,
                "step %*lld/%lld | loss %.4f (lm %.4f aux %.4f z %.4f) | grad %.3f | lr %.2e | "
                "%.0f tok/s | ETA %s",
                width, static_cast<long long>(r.step), static_cast<long long>(r.train_iters), r.loss, r.lm_loss,
                r.aux_loss, r.z_loss, r.grad_norm, r.lr, r.tokens_per_s, duration(r.seconds_left).c_str());
  std::string line = text;
  if (r.dropped_tokens > 0) line += " | dropped " + std::to_string(r.dropped_tokens);
  if (r.eval_loss) {
    std::snprintf(text, sizeof text, " | eval loss %.4f (ppl %.2f)", *r.eval_loss, std::exp(*r.eval_loss));
    line += text;
  }
  return line;
}

nlohmann::json step_json(const StepRecord& r) {
  namespace key = runtime::train_log_fields;
  nlohmann::json line = {{key::kStep, r.step},
                         {key::kLoss, r.loss},
                         {key::kLmLoss, r.lm_loss},
                         {key::kAuxLoss, r.aux_loss},
                         {key::kZLoss, r.z_loss},
                         {key::kGradNorm, r.grad_norm},
                         {key::kLr, r.lr},
                         {key::kTokensPerS, r.tokens_per_s},
                         {key::kExpertTokens, r.expert_tokens},
                         {key::kDroppedTokens, r.dropped_tokens}};
  if (r.eval_loss) line[key::kEvalLoss] = *r.eval_loss;
  return line;
}

nlohmann::json resume_json(int64_t step, const std::string& checkpoint) {
  namespace key = runtime::train_log_fields;
  return {{key::kEvent, key::kResumeEvent}, {key::kStep, step}, {key::kResumeFrom, checkpoint}};
}

TrainLogFile::TrainLogFile(const std::string& path, bool append) : path_(path) {
  std::FILE* file = std::fopen(path.c_str(), append ? "a" : "w");
  MOE_CHECK(file != nullptr, IoError, path, ": cannot open the training log (", std::strerror(errno), ")");
  file_.reset(file, [](std::FILE* f) { std::fclose(f); });
}

void TrainLogFile::write(const nlohmann::json& line) {
  const std::string text = line.dump() + "\n";
  MOE_CHECK(std::fwrite(text.data(), 1, text.size(), file_.get()) == text.size() && std::fflush(file_.get()) == 0,
            IoError, path_, ": cannot write the training log (", std::strerror(errno), ")");
}

}  // namespace moe::train
