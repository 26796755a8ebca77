// `moe quantize`: requantizes a model's weight matrices to one dtype and writes a GGUF file.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "model/quantize_model.h"

namespace moe::cli {

namespace {

struct QuantizeOptions {
  std::string model;
  std::string to;
  std::string out;
  std::string output_type;
  std::string embedding_type;
  int threads = 0;
};

constexpr const char* kHelp =
    "Requantize a model (HF directory or GGUF of any dtype moe reads) and write a GGUF file.\n"
    "Every 2-D matrix (attention q/k/v/o, each expert's gate/up/down, the shared expert) is\n"
    "converted row by row to --to; the router (ffn_gate_inp), the shared-expert gate, norms and\n"
    "biases stay f32. The token embedding takes --to unless --embedding-type is given; output.weight\n"
    "takes --output-type, by default --to, except q6_K for --to q4_0 or q4_K (llama-quantize's\n"
    "default). q4_K/q6_K need rows of a multiple of 256 elements, q8_0/q4_0 of 32: a matrix whose\n"
    "row length does not fit falls back to q8_0 (or f16), with a note naming it on stderr. A tensor\n"
    "already in its output dtype is copied unchanged. general.file_type follows llama.cpp (q8_0 7,\n"
    "q4_0 2, q4_K 15, q6_K 18, f16 1, bf16 32). All converted tensors are held in memory before\n"
    "writing (about the output file's size); the output appears only when complete.";

// --to accepts the dtypes llama-quantize offers as a whole-model type; f32 is not a quantization.
DType target_from_name(const std::string& name) {
  for (DType dtype : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kF16, DType::kBF16}) {
    std::string lower = name, own = dtype_info(dtype).name;
    for (std::string* s : {&lower, &own})
      for (char& ch : *s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == own) return dtype;
  }
  throw UsageError(detail::concat("--to: unknown type '", name, "' (expected q8_0, q4_0, q4_K, q6_K, f16 or bf16)"));
}

std::string shape_and_types(const model::QuantizedTensor& t) {
  return detail::concat(t.name, " ", shape_string(t.shape), " ", dtype_info(t.from).name, " -> ",
                        dtype_info(t.to).name);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Requantize a model's weights and write a GGUF file");
  cmd->footer(kHelp);
  cmd->add_option("-m,--model", o->model, "Input: HF directory or GGUF file")->required();
  cmd->add_option("--to", o->to, "Matrix dtype: q8_0, q4_0, q4_K, q6_K, f16 or bf16")->required();
  cmd->add_option("--out", o->out, "Output GGUF file (must end in .gguf)")->required();
  cmd->add_option("--output-type", o->output_type,
                  "dtype of output.weight (f32, f16, bf16, q8_0, q4_0, q4_K, q6_K); default --to, "
                  "q6_K for --to q4_0/q4_K");
  cmd->add_option("--embedding-type", o->embedding_type,
                  "dtype of token_embd.weight (f32, f16, bf16, q8_0, q4_0, q4_K, q6_K); default --to");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->callback([o] {
    model::QuantizeTargets targets;
    targets.matrices = target_from_name(o->to);
    if (!o->output_type.empty()) targets.output = dtype_from_name(o->output_type, "--output-type");
    if (!o->embedding_type.empty()) targets.embedding = dtype_from_name(o->embedding_type, "--embedding-type");
    MOE_CHECK(std::filesystem::path(o->out).extension() == ".gguf", UsageError, "--out: '", o->out,
              "' must end in .gguf (moe quantize writes GGUF)");
    MOE_CHECK(std::filesystem::absolute(o->model) != std::filesystem::absolute(o->out), UsageError,
              "--out: must differ from --model");
    MOE_CHECK(o->threads >= 0, UsageError, "--threads: must be positive, got ", o->threads);
    const model::Model in = model::load_model(o->model);
    if (in.config.tie_embeddings && targets.output)
      std::fprintf(stderr, "moe quantize: note: output.weight is tied to token_embd; --output-type is ignored\n");
    ThreadPool pool(o->threads > 0 ? o->threads : default_threads());
    const model::QuantizeResult result =
        model::quantize_model(in, targets, pool, [](const model::QuantizedTensor& t, int64_t index, int64_t count) {
          std::fprintf(stderr, "moe quantize: [%lld/%lld] %s\n", static_cast<long long>(index + 1),
                       static_cast<long long>(count), shape_and_types(t).c_str());
          if (t.fell_back())
            std::fprintf(stderr, "moe quantize: note: %s rows of %lld elements cannot be %s; wrote %s\n",
                         t.name.c_str(), static_cast<long long>(t.shape.back()), dtype_info(t.wanted).name,
                         dtype_info(t.to).name);
        });
    model::save_model(result.model, o->out, model::FileFormat::kGguf);
    std::fprintf(stderr, "moe quantize: wrote %s (%s)\n", o->out.c_str(), dtype_info(targets.matrices).name);
  });
}

}  // namespace moe::cli
