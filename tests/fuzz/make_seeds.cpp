// moe_fuzz_seeds OUT: the seed corpus of every fuzz target (OUT/<target>/), small files written by
// moe.cpp's own writers (the tiny presets' configs, 512-token vocabularies, a few small tensors),
// each checked to parse before it is kept. scripts/fuzz.sh runs it before fuzzing.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/error.h"
#include "core/quantize.h"
#include "io/gguf.h"
#include "io/json_file.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/arch/arch_table.h"
#include "model/model_config.h"
#include "model/presets.h"
#include "moe/balance/load_stats.h"
#include "moe/balance/placement.h"
#include "parallel/parallel_config.h"
#include "serve/completion_request.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/make_vocab.h"
#include "tokenizer/tokenizer.h"
#include "train/token_data.h"
#include "train/train_config.h"

namespace fs = std::filesystem;
using namespace moe;

namespace {

std::string out_dir;

std::string seed_path(const std::string& target, const std::string& name) {
  fs::create_directories(out_dir + "/" + target);
  return out_dir + "/" + target + "/" + name;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Tensor ramp(DType dtype, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t extent : shape) n *= extent;
  std::vector<float> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[i] = std::sin(static_cast<float>(i));
  const DTypeInfo& info = dtype_info(dtype);
  std::vector<std::byte> bytes(static_cast<size_t>(n / info.block_elems * info.block_bytes));
  quantize_row(dtype, values.data(), bytes.data(), n);
  return Tensor::from_bytes(dtype, std::move(shape), std::move(bytes));
}

tokenizer::Vocab vocab_of(const model::ModelConfig& config) {
  return tokenizer::make_vocab(
      config.arch == model::Arch::kMixtral ? tokenizer::Vocab::Kind::kSpm : tokenizer::Vocab::Kind::kBpe, 512);
}

void model_seeds() {
  for (const std::string& name : model::preset_names()) {
    model::ModelConfig config = model::preset_config(name);
    config.vocab_size = 512;
    const std::string json_path = seed_path("hf_config", name + ".json");
    io::write_json_file(json_path, model::config_to_hf(config));
    model::config_from_hf(io::read_json_file(json_path), json_path);
    // GGUF holds one YaRN mscale: deepseek-v2-tiny (mscale apart from mscale_all_dim) is HF only.
    const auto& yarn = config.rope_scaling;
    if (!model::arch_table(config.arch).gguf_supported || (yarn && yarn->mscale != yarn->mscale_all_dim)) continue;

    io::GgufWriter writer;
    model::config_to_gguf(config, writer.metadata());
    tokenizer::vocab_to_gguf(vocab_of(config), writer.metadata());
    writer.add_tensor("token_embd.weight", ramp(DType::kF32, {4, 8}));
    writer.add_tensor("blk.0.ffn_gate_exps.weight", ramp(DType::kQ8_0, {2, 32}));
    writer.add_tensor("output_norm.weight", ramp(DType::kF16, {8}));
    const std::string gguf_path = seed_path("gguf", name + ".gguf");
    writer.write(gguf_path);
    const io::GgufFile file = io::GgufFile::open(gguf_path);
    model::config_from_gguf(file.metadata(), gguf_path);
    tokenizer::Tokenizer(tokenizer::vocab_from_gguf(file.metadata(), gguf_path));
  }
  const std::string st_path = seed_path("safetensors", "small.safetensors");
  io::write_safetensors(st_path,
                        {{"a.weight", ramp(DType::kF32, {2, 3})},
                         {"b.weight", ramp(DType::kBF16, {4})},
                         {"c.weight", ramp(DType::kF16, {1, 2, 2})},
                         {"d.weight", ramp(DType::kF8_E4M3, {3})},
                         {"e.weight", ramp(DType::kI8, {2, 2})}},
                        {{"format", "pt"}});
  io::SafetensorsFile::open(st_path);
}

// A GGUF of one tensor per k-quant (q2_K, q3_K and q5_K among them), blocks of patterned bytes (any
// bytes are a valid block): the reader's type ids and block sizes.
void kquant_seed() {
  io::GgufWriter writer;
  writer.metadata().set_string("general.architecture", "llama");
  for (DType dtype : {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    std::vector<std::byte> bytes(static_cast<size_t>(row_bytes(dtype, 2 * kQKBlock)));
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 37 + 11);
    writer.add_tensor(std::string("blk.0.") + dtype_info(dtype).name + ".weight",
                      Tensor::from_bytes(dtype, {1, 2 * kQKBlock}, std::move(bytes)));
  }
  const std::string path = seed_path("gguf", "kquants.gguf");
  writer.write(path);
  MOE_CHECK(io::GgufFile::open(path).tensors().size() == 5, Error, path, ": k-quant tensors not read back");
}

void tokenizer_seeds() {
  for (const auto kind : {tokenizer::Vocab::Kind::kSpm, tokenizer::Vocab::Kind::kBpe}) {
    const std::string name = kind == tokenizer::Vocab::Kind::kSpm ? "spm" : "bpe";
    const std::string dir = out_dir + "/.tokenizer_" + name;
    fs::create_directories(dir);
    tokenizer::write_hf_tokenizer(tokenizer::make_vocab(kind, 512), dir);
    fs::remove(dir + "/tokenizer_config.json");  // the targets read the tokenizer file alone
    if (fs::exists(dir + "/tokenizer.model")) {
      fs::copy_file(dir + "/tokenizer.model", seed_path("tokenizer_model", name + ".model"),
                    fs::copy_options::overwrite_existing);
      const std::string spm_only = dir + "_model";
      fs::create_directories(spm_only);
      fs::copy_file(dir + "/tokenizer.model", spm_only + "/tokenizer.model", fs::copy_options::overwrite_existing);
      tokenizer::load_hf_vocab(spm_only);
      fs::remove_all(spm_only);
    }
    fs::copy_file(dir + "/tokenizer.json", seed_path("tokenizer_json", name + ".json"),
                  fs::copy_options::overwrite_existing);
    fs::remove(dir + "/tokenizer.model");
    tokenizer::load_hf_vocab(dir);

    // A token file made with this tokenizer, its index cut to the target's 16-token .bin.
    const tokenizer::Tokenizer tok(tokenizer::make_vocab(kind, 512));
    write_text(dir + "/doc.txt", std::string(tokenizer::english_text().substr(0, 200)));
    train::write_token_data(tok, {dir + "/doc.txt"}, dir + "/tokens");
    nlohmann::json index = io::read_json_file(dir + "/tokens.idx");
    index["dtype"] = "uint16";
    index["tokens"] = 16;
    index["documents"] = {{{"name", "a.txt"}, {"start", 0}, {"tokens", 10}},
                          {{"name", "b.txt"}, {"start", 10}, {"tokens", 6}}};
    io::write_json_file(seed_path("token_index", name + ".idx"), index);
    fs::remove_all(dir);
  }
}

void config_seeds(const std::string& source_dir) {
  for (const auto& entry : fs::directory_iterator(source_dir + "/tests/model/mpi/slots")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string path = seed_path("parallel_yaml", entry.path().filename().string());
    fs::copy_file(entry.path(), path, fs::copy_options::overwrite_existing);
    parallel::load_parallel_config(path);
  }
  write_text(seed_path("parallel_yaml", "layout.yaml"),
             "tensor_parallel_size: 4\npipeline_parallel_size: 2\nmoe_expert_parallel_size: 4\n"
             "moe_tensor_parallel_size: 1\nenable_attention_dp: true\n");
  parallel::load_parallel_config(out_dir + "/parallel_yaml/layout.yaml");

  // Every training key at its default, as `moe train` prints the effective configuration.
  std::string yaml;
  for (const auto& [key, value] : train::describe_train_config(train::TrainConfig{}))
    if (!value.empty()) yaml += key + ": " + value + "\n";
  const std::string train_path = seed_path("train_yaml", "defaults.yaml");
  write_text(train_path, yaml);
  train::TrainConfig parsed;
  train::load_train_config(parsed, train_path);
  write_text(seed_path("train_yaml", "sections.yaml"),
             "model:\n  model: qwen2moe-tiny\n  num_layers: 2\ntraining:\n  micro_batch_size: 2\n  train_iters: 10\n"
             "  lr: 0.001\n  min_lr: 0.0001\n  lr_decay_style: cosine\nmoe:\n  moe_router_topk: 2\n"
             "  moe_aux_loss_coeff: 0.01\n  moe_router_load_balancing_type: aux_loss\n");

  balance::Placement placement = balance::identity_placement(2, 8, 12, 4);
  placement.layers[1] = balance::layer_from_phy2log({0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 1, 7}, 8, 3);
  balance::pad_log2phy(placement);
  write_placement_file(seed_path("placement", "replicated.json"), placement);
  balance::read_placement_file(out_dir + "/placement/replicated.json");

  write_text(seed_path("load_stats", "record_stats.json"),
             R"({"expert_tokens": [[10, 0, 3, 7], [1, 2, 3, 4]], "tokens": 34})");
  write_text(seed_path("load_stats", "matrix.json"), "[[0.5, 1.5, 2], [3, 0, 1e-3]]\n");
  balance::read_load_matrix(out_dir + "/load_stats/matrix.json");
}

void npy_seed(const std::string& name, const std::string& descr, const std::string& shape, int64_t count, int element,
              int major) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t length_bytes = major == 1 ? 2 : 4;
  header.append((64 - (10 + length_bytes - 2 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  for (size_t i = 0; i < length_bytes; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header;
  for (int64_t i = 0; i < count; ++i) {
    const double value = 0.25 * static_cast<double>(i) - 1;
    if (element == 4) {
      const float f = static_cast<float>(value);
      bytes.append(reinterpret_cast<const char*>(&f), 4);
    } else {
      bytes.append(reinterpret_cast<const char*>(&value), 8);
    }
  }
  const std::string path = seed_path("npy", name);
  write_text(path, bytes);
  io::read_npy(path);
}

void request_seeds() {
  const char* bodies[] = {
      R"({"model": "tiny", "prompt": "Hello world", "max_tokens": 8})",
      R"({"model": "tiny", "prompt": [1, 2, 3], "max_tokens": 4, "temperature": 0.7, "top_p": 0.9, "top_k": 5,
          "seed": 42, "stop": ["\n", "."], "stream": true, "stream_options": {"include_usage": true}})",
      R"({"prompt": ["one prompt"], "temperature": 0, "ignore_eos": true, "n": 1, "echo": false, "logprobs": null,
          "presence_penalty": 0, "frequency_penalty": 0, "best_of": 1, "suffix": null, "logit_bias": {}})",
  };
  const tokenizer::Tokenizer tok(tokenizer::make_vocab(tokenizer::Vocab::Kind::kBpe, 512));
  const serve::ServedModel model{"tiny", &tok, 256};
  int i = 0;
  for (const char* body : bodies) {
    write_text(seed_path("completion_request", "body" + std::to_string(i++) + ".json"), body);
    serve::parse_completion_request(body, model);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: moe_fuzz_seeds OUT_DIR SOURCE_DIR\n";
    return 2;
  }
  out_dir = argv[1];
  try {
    model_seeds();
    kquant_seed();
    tokenizer_seeds();
    config_seeds(argv[2]);
    npy_seed("f4_v1.npy", "<f4", "(2, 3)", 6, 4, 1);
    npy_seed("f8_v2.npy", "<f8", "(4,)", 4, 8, 2);
    npy_seed("f4_3d_v3.npy", "<f4", "(1, 2, 2)", 4, 4, 3);
    request_seeds();
  } catch (const Error& error) {
    std::cerr << "moe_fuzz_seeds: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
