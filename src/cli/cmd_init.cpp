// `moe init`: writes a random-weight preset model as an HF directory or a GGUF file.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "model/presets.h"

namespace moe::cli {

namespace {
struct InitOptions {
  std::string preset;
  std::string out;
  std::string format;
  std::string dtype = "f32";
  uint64_t seed = 0;
};
}  // namespace

void add_init_command(CLI::App& app) {
  auto options = std::make_shared<InitOptions>();
  std::string presets;
  for (const std::string& name : model::preset_names()) presets += (presets.empty() ? "" : ", ") + name;
  CLI::App* cmd = app.add_subcommand("init", "Make a random-weight model from a preset");
  cmd->add_option("--preset", options->preset, "Preset: " + presets)->required();
  cmd->add_option("--out", options->out, "Output: a directory (HF) or a .gguf file")->required();
  cmd->add_option("--format", options->format, "hf or gguf (default: from --out)");
  cmd->add_option("--dtype", options->dtype, "Weight dtype: f32, f16, bf16 (any format), q8_0, q4_0 (gguf)")
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Random seed; the same seed writes the same bytes")->capture_default_str();
  cmd->callback([options] {
    model::FileFormat format = model::format_for_path(options->out);
    if (options->format == "gguf")
      format = model::FileFormat::kGguf;
    else if (options->format == "hf")
      format = model::FileFormat::kHf;
    else
      MOE_CHECK(options->format.empty(), UsageError, "--format: expected hf or gguf, got '", options->format, "'");
    const DType dtype = dtype_from_name(options->dtype, "--dtype");
    MOE_CHECK(
        format == model::FileFormat::kGguf || dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16,
        UsageError, "--dtype: ", options->dtype, " needs --format gguf (safetensors holds f32, f16, bf16)");
    model::preset_config(options->preset);  // validates the name before any work
    MOE_CHECK(!std::filesystem::exists(options->out) || format == model::FileFormat::kHf ||
                  std::filesystem::is_regular_file(options->out),
              UsageError, "--out: ", options->out, " exists and is not a file");
    std::fprintf(stderr, "moe init: generating %s (seed %llu, %s)\n", options->preset.c_str(),
                 static_cast<unsigned long long>(options->seed), options->dtype.c_str());
    const model::Model made = model::make_preset_model(options->preset, options->seed, dtype);
    model::save_model(made, options->out, format);
    std::fprintf(stderr, "moe init: wrote %s\n", options->out.c_str());
  });
}

}  // namespace moe::cli
