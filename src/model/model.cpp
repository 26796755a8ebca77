// Loading and saving whole models in both file formats.
#include "model/model.h"

#include <filesystem>
#include <fstream>
#include <optional>

#include "core/error.h"
#include "core/output_file.h"
#include "io/gguf.h"
#include "io/hf_checkpoint.h"
#include "model/quant_scales.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_files.h"

namespace moe::model {

namespace fs = std::filesystem;

std::string latest_checkpoint(const std::string& dir) {
  const fs::path pointer = fs::path(dir) / "latest";
  if (!fs::exists(pointer)) return "";
  std::ifstream in(pointer);
  std::string name;
  std::getline(in, name);
  const fs::path checkpoint = fs::path(dir) / name;
  MOE_CHECK(!name.empty() && fs::is_directory(checkpoint) && fs::exists(checkpoint / "train_state.json"), FormatError,
            pointer.string(), ": names '", name, "', which is not a checkpoint");
  return checkpoint.string();
}

std::string model_path(const std::string& path) {
  if (!fs::is_directory(path) || fs::exists(fs::path(path) / "config.json")) return path;
  const std::string checkpoint = latest_checkpoint(path);
  MOE_CHECK(!checkpoint.empty(), IoError, path,
            ": holds no model (no config.json) and no checkpoint ('latest' missing)");
  return checkpoint;
}

Model load_model(const std::string& requested) {
  const std::string path = model_path(requested);
  Model model;
  model.path = path;
  if (fs::is_directory(path)) {
    io::HfCheckpoint checkpoint = io::load_hf_checkpoint(path);
    model.format = FileFormat::kHf;
    model.config = config_from_hf(checkpoint.config, (fs::path(path) / "config.json").string());
    check_quantization_config(checkpoint.config, (fs::path(path) / "config.json").string());
    attach_scales(checkpoint.tensors, path);
    model.weights = weights_from_hf(model.config, checkpoint.tensors, path);
    model.vocab = tokenizer::load_hf_vocab(path);
    model.name = fs::path(path).lexically_normal().filename().string();
    if (model.name.empty()) model.name = fs::path(path).lexically_normal().parent_path().filename().string();
  } else {
    MOE_CHECK(fs::exists(path), IoError, path, ": no such file or directory");
    io::GgufFile file = io::GgufFile::open(path);
    model.format = FileFormat::kGguf;
    model.config = config_from_gguf(file.metadata(), path);
    model.weights = weights_from_gguf(model.config, file.tensors(), path);
    model.vocab = tokenizer::vocab_from_gguf(file.metadata(), path);
    model.name = file.metadata().get_string("general.name").value_or(fs::path(path).stem().string());
  }
  MOE_CHECK(static_cast<int64_t>(model.vocab.tokens.size()) <= model.config.vocab_size, FormatError, path,
            ": tokenizer has ", model.vocab.tokens.size(), " tokens but the model's vocab_size is ",
            model.config.vocab_size);
  return model;
}

FileFormat format_for_path(const std::string& out) {
  return fs::path(out).extension() == ".gguf" ? FileFormat::kGguf : FileFormat::kHf;
}

namespace {

// llama.cpp's llama_ftype for the dtype of the expert weights (the bulk of the file).
int64_t gguf_file_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1;
    case DType::kQ4_0:
      return 2;
    case DType::kQ8_0:
      return 7;
    case DType::kBF16:
      return 32;
    case DType::kQ4_K:
      return 15;  // Q4_K_M
    case DType::kQ6_K:
      return 18;
    case DType::kQ5_K:
      return 17;  // Q5_K_M
    case DType::kQ3_K:
      return 12;  // Q3_K_M
    case DType::kQ2_K:
      return 10;
    case DType::kI8:
    case DType::kF8_E4M3:
      break;  // never in GGUF (save_model refuses them)
  }
  return 0;
}

const char* torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return "float16";
    case DType::kBF16:
      return "bfloat16";
    default:
      return "float32";
  }
}

}  // namespace

void save_model(const Model& model, const std::string& out, FileFormat format) {
  const DType bulk = first_expert(model.weights).gate.dtype();
  if (format == FileFormat::kGguf) {
    MOE_CHECK(!is_scaled_8bit(bulk), FormatError, out, ": GGUF has no ", dtype_info(bulk).name,
              " type (llama.cpp has none); write an HF directory instead");
    io::GgufWriter writer;
    writer.metadata().set_string("general.architecture", gguf_arch_name(model.config.arch));
    writer.metadata().set_string("general.name", model.name.empty() ? fs::path(out).stem().string() : model.name);
    writer.metadata().set_int("general.file_type", gguf_file_type(bulk));
    config_to_gguf(model.config, writer.metadata());
    tokenizer::vocab_to_gguf(model.vocab, writer.metadata());
    for (const auto& [name, tensor] : weights_to_gguf(model.config, model.weights)) writer.add_tensor(name, tensor);
    writer.write(out);
    return;
  }
  NamedTensors tensors = weights_to_hf(model.config, model.weights);
  for (const auto& [name, tensor] : tensors)
    MOE_CHECK(tensor.dtype() == DType::kF32 || tensor.dtype() == DType::kF16 || tensor.dtype() == DType::kBF16 ||
                  is_scaled_8bit(tensor.dtype()),
              FormatError, out, ": tensor '", name, "' is ", dtype_info(tensor.dtype()).name,
              ", which safetensors cannot hold; write a .gguf instead");
  nlohmann::json config = config_to_hf(model.config);
  config["torch_dtype"] = torch_dtype_name(bulk);
  if (nlohmann::json quantization = quantization_config(tensors); !quantization.is_null())
    config["quantization_config"] = std::move(quantization);
  tensors = with_scale_tensors(tensors);
  config["bos_token_id"] = model.vocab.bos_id;
  config["eos_token_id"] = model.vocab.eos_id;
  // A new directory appears only when complete; into an existing one each file is replaced whole.
  std::optional<OutputDirectory> staged;
  if (!fs::exists(out)) staged.emplace(out);
  const std::string dir = staged ? staged->staging() : out;
  io::write_hf_checkpoint(dir, config, tensors);
  tokenizer::write_hf_tokenizer(model.vocab, dir);
  if (staged) staged->commit();
}

const ExpertWeights& first_expert(const ModelWeights& weights) {
  for (const LayerWeights& l : weights.layers)
    if (!l.experts.empty()) return l.experts.front();
  throw Error("internal error: a model without routed experts");
}

ModelSizes model_sizes(const Model& model) {
  const ModelConfig& c = model.config;
  ModelSizes sizes;
  auto add = [&](const Tensor& t, bool active) {
    if (t.empty()) return;
    sizes.total_params += t.numel();
    sizes.total_bytes += t.nbytes();
    if (active) sizes.active_params += t.numel();
  };
  const ModelWeights& w = model.weights;
  add(w.token_embd, false);
  add(w.output_norm, true);
  if (!c.tie_embeddings) add(w.output, true);
  if (c.tie_embeddings) sizes.active_params += w.output.numel();  // the LM head multiplies the embedding
  sizes.output_params = w.output.numel();
  int64_t active_bytes = w.output.nbytes() + w.output_norm.nbytes() + w.token_embd.row_bytes();
  sizes.active_params += c.hidden_size;  // one embedding row
  for (const LayerWeights& l : w.layers) {
    for (const Tensor* t : {&l.attn_norm,
                            &l.wq,
                            &l.wk,
                            &l.wv,
                            &l.wo,
                            &l.bq,
                            &l.bk,
                            &l.bv,
                            &l.q_norm,
                            &l.k_norm,
                            &l.wq_a,
                            &l.q_a_norm,
                            &l.wkv_a,
                            &l.kv_a_norm,
                            &l.wkv_b,
                            &l.ffn_norm,
                            &l.router,
                            &l.router_bias,
                            &l.dense.gate,
                            &l.dense.up,
                            &l.dense.down,
                            &l.shared_expert.gate,
                            &l.shared_expert.up,
                            &l.shared_expert.down,
                            &l.shared_expert_gate}) {
      add(*t, true);
      if (!t->empty()) active_bytes += t->nbytes();
    }
    int64_t expert_params = 0, expert_bytes = 0;
    for (const ExpertWeights& e : l.experts) {
      for (const Tensor* t : {&e.gate, &e.up, &e.down}) add(*t, false);
      expert_params = e.gate.numel() + e.up.numel() + e.down.numel();
      expert_bytes = e.gate.nbytes() + e.up.nbytes() + e.down.nbytes();
    }
    if (l.experts.empty()) continue;  // a dense layer
    sizes.active_params += c.moe().router.top_k * expert_params;
    active_bytes += c.moe().router.top_k * expert_bytes;
  }
  sizes.decode_bytes_per_token = active_bytes;
  const AttentionSpec& a = c.attention();
  // Decompressed MLA pads each head's v to the k width (transformer_mla.cpp).
  sizes.kv_bytes_decompressed = c.n_layers() * 2 * a.n_kv_heads * a.head_dim * 4;
  sizes.kv_bytes_per_token =
      a.kind == AttentionKind::kMla ? c.n_layers() * (a.kv_lora_rank + a.rope_dim) * 4 : sizes.kv_bytes_decompressed;
  return sizes;
}

}  // namespace moe::model
