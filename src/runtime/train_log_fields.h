// The training log's JSON keys, written by train/train_log.cpp and read by train_log_reader.cpp:
// one definition, so that the writer and the reader (and `moe plot`) cannot drift apart.
#pragma once

namespace moe::runtime::train_log_fields {

// A step line: one object per logged step.
inline constexpr char kStep[] = "step";
inline constexpr char kLoss[] = "loss";  // lm_loss + the router losses
inline constexpr char kLmLoss[] = "lm_loss";
inline constexpr char kAuxLoss[] = "aux_loss";
inline constexpr char kZLoss[] = "z_loss";
inline constexpr char kGradNorm[] = "grad_norm";
inline constexpr char kLr[] = "lr";
inline constexpr char kTokensPerS[] = "tokens_per_s";
inline constexpr char kExpertTokens[] = "expert_tokens";  // [layer][expert] tokens routed in the step
inline constexpr char kDroppedTokens[] = "dropped_tokens";
inline constexpr char kEvalLoss[] = "eval_loss";  // only on steps that evaluated

// An event line (not a step): {"event": "resume", "step": N, "from": CHECKPOINT}.
inline constexpr char kEvent[] = "event";
inline constexpr char kResumeEvent[] = "resume";
inline constexpr char kResumeFrom[] = "from";

}  // namespace moe::runtime::train_log_fields
