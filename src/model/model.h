// Model: config + weights + vocabulary, loaded from an HF directory or a GGUF file (memory-mapped),
// and saved to either form.
#pragma once

#include <string>

#include "model/model_config.h"
#include "model/weights.h"
#include "tokenizer/vocab.h"

namespace moe::model {

enum class FileFormat { kHf, kGguf };

struct Model {
  std::string name;  // general.name in GGUF; the preset or directory name otherwise
  std::string path;
  FileFormat format = FileFormat::kHf;
  ModelConfig config;
  ModelWeights weights;
  tokenizer::Vocab vocab;
};

// A directory is an HF checkpoint, or a training `save` directory standing for its latest
// checkpoint (model_path); a file must be GGUF. Errors name the file and the problem.
Model load_model(const std::string& path);
// The model a path names: itself, or for a directory without config.json that holds a `latest`
// file (a training `save` directory, train/checkpoint.h) the checkpoint `latest` names, as
// Megatron's --load reads it. IoError when such a directory has no `latest`.
std::string model_path(const std::string& path);
// The checkpoint directory `dir`/latest names ("iter_0000100" -> dir/iter_0000100), "" when `dir`
// has no `latest` file; FormatError when it names no checkpoint (no train_state.json there).
std::string latest_checkpoint(const std::string& dir);
// Writes `model` as an HF directory (config.json, safetensors, tokenizer files) or one GGUF file.
// Nothing is left behind on failure: a new directory is written under a temporary name and renamed
// once complete; in an existing one, and for a GGUF file, each file is written to a temporary and
// renamed (core/output_file.h).
void save_model(const Model& model, const std::string& out, FileFormat format);
// The format an --out path implies: ".gguf" suffix -> GGUF, else HF directory.
FileFormat format_for_path(const std::string& out);

// Sizes for `moe info` and the benchmarks.
struct ModelSizes {
  int64_t total_params = 0;
  int64_t active_params = 0;  // per token: attention, router, shared expert, k routed experts, output
  int64_t output_params = 0;  // the LM head's (a prompt computes the last token's logits only)
  int64_t total_bytes = 0;
  int64_t decode_bytes_per_token = 0;  // weight bytes one decode step reads
  // KV cache bytes per token over all layers with an f32 cache: MLA's latent cache (the engine's
  // default) for MLA models; kv_bytes_decompressed is every head's k and v (GQA: the same figure).
  int64_t kv_bytes_per_token = 0;
  int64_t kv_bytes_decompressed = 0;
};
ModelSizes model_sizes(const Model& model);
// The first routed expert (of the first MoE layer): the bulk of the weights, its dtype and
// quantization the model's.
const ExpertWeights& first_expert(const ModelWeights& weights);

}  // namespace moe::model
