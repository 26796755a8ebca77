// `moe quantize`: requantizes a model's weight matrices to one dtype and writes a GGUF file, or
// (int8, fp8) an HF checkpoint directory with TensorRT-LLM-style scales, fp8 optionally calibrated.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "model/calibrate.h"
#include "model/quant_scales.h"
#include "model/quantize_model.h"
#include "model/quantize_scaled.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {

namespace {

struct QuantizeOptions {
  std::string model;
  std::string to;
  std::string out;
  std::string output_type;
  std::string embedding_type;
  std::string calib;
  std::string fp8_scales = "tensor";
  int64_t calib_ctx = 512;
  int threads = 0;
};

constexpr const char* kHelp =
    "Requantize a model (HF directory or GGUF of any dtype moe reads) and write a GGUF file\n"
    "(for q8_0, q4_0, q4_K, q5_K, q6_K, f16, bf16; int8 and fp8 below).\n"
    "Every 2-D matrix (attention q/k/v/o, each expert's gate/up/down, the shared expert) is\n"
    "converted row by row to --to; the router (ffn_gate_inp), the shared-expert gate, norms and\n"
    "biases stay f32. The token embedding takes --to unless --embedding-type is given; output.weight\n"
    "takes --output-type, by default --to, except q6_K for --to q4_0 or q4_K (llama-quantize's\n"
    "default). q4_K/q5_K/q6_K need rows of a multiple of 256 elements, q8_0/q4_0 of 32: a matrix whose\n"
    "row length does not fit falls back to q8_0 (or f16), with a note naming it on stderr. A tensor\n"
    "already in its output dtype is copied unchanged. general.file_type follows llama.cpp (q8_0 7,\n"
    "q4_0 2, q4_K 15, q5_K 17, q6_K 18, f16 1, bf16 32). All converted tensors are held in memory before\n"
    "writing (about the output file's size); the output appears only when complete.\n"
    "\n"
    "--to int8 and --to fp8 write an HF checkpoint directory (GGUF has no such types), as\n"
    "TensorRT-LLM / ModelOpt quantize: attention q/k/v/o, the experts and the shared expert become\n"
    "8-bit; the router, shared-expert gate, norms, embedding and lm_head stay unquantized.\n"
    "  int8: weight-only, symmetric, one scale per output channel (amax(row) / 127); I8 weights with\n"
    "        <name>.weight_scale [out, 1] (compressed-tensors int-quantized).\n"
    "  fp8:  e4m3 weights with one scale per tensor (amax / 448; --fp8-scales channel: per output\n"
    "        channel). With --calib FILE the input model runs over the file's text and each linear\n"
    "        layer gets a static input scale (amax of its input / 448; the experts share one per\n"
    "        projection): activations are quantized to e4m3 before each product (W8A8). Without\n"
    "        --calib the checkpoint is weight-only (activations stay f32).";

// --to accepts the dtypes llama-quantize offers as a whole-model type; f32 is not a quantization.
DType target_from_name(const std::string& name) {
  for (DType dtype :
       {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kF16, DType::kBF16}) {
    std::string lower = name, own = dtype_info(dtype).name;
    for (std::string* s : {&lower, &own})
      for (char& ch : *s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == own) return dtype;
  }
  throw UsageError(detail::concat("--to: unknown type '", name,
                                  "' (expected q8_0, q4_0, q4_K, q5_K, q6_K, f16, bf16, int8 or fp8)"));
}

// --to int8 / fp8: the scaled 8-bit dtype, or nothing for the GGUF types.
std::optional<DType> scaled_target(const std::string& name) {
  if (name == "int8") return DType::kI8;
  if (name == "fp8") return DType::kF8_E4M3;
  return std::nullopt;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MOE_CHECK(in.good(), IoError, path, ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// int8 / fp8 into an HF directory, fp8 calibrated on --calib's text when given.
void quantize_to_hf(const QuantizeOptions& o, DType dtype) {
  MOE_CHECK(model::format_for_path(o.out) == model::FileFormat::kHf, UsageError, "--out: '", o.out,
            "' is a .gguf file, but GGUF has no ", o.to, " type (llama.cpp has none); give a directory");
  MOE_CHECK(o.output_type.empty() && o.embedding_type.empty(), UsageError,
            "--output-type/--embedding-type: only for the GGUF types (", o.to, " keeps lm_head and embeddings)");
  MOE_CHECK(dtype == DType::kF8_E4M3 || o.calib.empty(), UsageError,
            "--calib: only --to fp8 takes calibration (int8 is weight-only)");
  MOE_CHECK(o.fp8_scales == "tensor" || o.fp8_scales == "channel", UsageError, "--fp8-scales: unknown '", o.fp8_scales,
            "' (expected tensor or channel)");
  MOE_CHECK(o.calib_ctx > 0, UsageError, "--calib-ctx: must be positive, got ", o.calib_ctx);
  const std::string text = o.calib.empty() ? "" : read_file(o.calib);  // fail before loading the model
  const model::Model in = model::load_model(o.model);
  ThreadPool pool(o.threads > 0 ? o.threads : default_threads());
  model::ScaledQuantizeOptions options;
  options.dtype = dtype;
  options.per_channel = dtype == DType::kI8 || o.fp8_scales == "channel";
  if (!o.calib.empty()) {
    const std::vector<int32_t> tokens = tokenizer::Tokenizer(in.vocab).encode(text, in.vocab.add_bos);
    MOE_CHECK(!tokens.empty(), UsageError, "--calib: ", o.calib, " has no text");
    std::fprintf(stderr, "moe quantize: calibrating on %zu tokens of %s\n", tokens.size(), o.calib.c_str());
    options.input_ranges = model::calibrate_input_ranges(in, tokens, o.calib_ctx, pool);
  } else if (dtype == DType::kF8_E4M3) {
    std::fprintf(stderr, "moe quantize: note: no --calib: fp8 weight-only, activations stay f32\n");
  }
  const model::Model out = model::quantize_scaled(in, options, pool);
  model::save_model(out, o.out, model::FileFormat::kHf);
  std::fprintf(stderr, "moe quantize: wrote %s (%s)\n", o.out.c_str(),
               model::describe_quantization(model::first_expert(out.weights).gate).c_str());
}

std::string shape_and_types(const model::QuantizedTensor& t) {
  return detail::concat(t.name, " ", shape_string(t.shape), " ", dtype_info(t.from).name, " -> ",
                        dtype_info(t.to).name);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd =
      app.add_subcommand("quantize", "Requantize a model's weights (GGUF file, or HF directory for int8/fp8)");
  cmd->footer(kHelp);
  cmd->add_option("-m,--model", o->model, "Input: HF directory or GGUF file")->required();
  cmd->add_option("--to", o->to, "Matrix dtype: q8_0, q4_0, q4_K, q5_K, q6_K, f16, bf16 (GGUF), int8 or fp8 (HF)")
      ->required();
  cmd->add_option("--out", o->out, "Output: GGUF file (ending in .gguf), HF directory for int8/fp8")->required();
  cmd->add_option("--output-type", o->output_type,
                  "dtype of output.weight (f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K); default --to, "
                  "q6_K for --to q4_0/q4_K");
  cmd->add_option("--embedding-type", o->embedding_type,
                  "dtype of token_embd.weight (f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K); default --to");
  cmd->add_option("--calib", o->calib, "fp8: text file to calibrate static activation scales on (W8A8)");
  cmd->add_option("--calib-ctx", o->calib_ctx, "fp8: tokens per calibration window (default 512)");
  cmd->add_option("--fp8-scales", o->fp8_scales, "fp8 weight scales: tensor (default) or channel");
  cmd->add_option("-t,--threads", o->threads, "Threads (default: all cores)");
  cmd->callback([o] {
    MOE_CHECK(std::filesystem::absolute(o->model) != std::filesystem::absolute(o->out), UsageError,
              "--out: must differ from --model");
    MOE_CHECK(o->threads >= 0, UsageError, "--threads: must be positive, got ", o->threads);
    if (const std::optional<DType> scaled = scaled_target(o->to)) return quantize_to_hf(*o, *scaled);
    MOE_CHECK(o->calib.empty(), UsageError, "--calib: only --to fp8 takes calibration");
    model::QuantizeTargets targets;
    targets.matrices = target_from_name(o->to);
    if (!o->output_type.empty()) targets.output = dtype_from_name(o->output_type, "--output-type");
    if (!o->embedding_type.empty()) targets.embedding = dtype_from_name(o->embedding_type, "--embedding-type");
    MOE_CHECK(std::filesystem::path(o->out).extension() == ".gguf", UsageError, "--out: '", o->out,
              "' must end in .gguf (moe quantize writes GGUF for ", o->to, ")");
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
