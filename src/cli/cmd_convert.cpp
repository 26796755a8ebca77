// `moe convert`: HF directory <-> GGUF file, lossless for f32, f16 and bf16.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "model/model.h"

namespace moe::cli {

void add_convert_command(CLI::App& app) {
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("convert", "Convert between an HF directory and a GGUF file");
  cmd->add_option("--in", *in, "Input model: HF directory or GGUF file")->required();
  cmd->add_option("--out", *out, "Output: a .gguf file or a directory")->required();
  cmd->callback([in, out] {
    MOE_CHECK(std::filesystem::absolute(*in) != std::filesystem::absolute(*out), UsageError,
              "--out: must differ from --in");
    const model::Model m = model::load_model(*in);
    const model::FileFormat format = model::format_for_path(*out);
    model::save_model(m, *out, format);
    std::fprintf(stderr, "moe convert: wrote %s (%s)\n", out->c_str(),
                 format == model::FileFormat::kGguf ? "GGUF" : "HF directory");
  });
}

}  // namespace moe::cli
