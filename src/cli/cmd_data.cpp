// `moe data`: tokenizes text files with a model's tokenizer into a token file for `moe train`.
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "model/model.h"
#include "train/token_data.h"

namespace moe::cli {

namespace {

struct DataOptions {
  std::string tokenizer;
  std::vector<std::string> inputs;
  std::string out;
};

}  // namespace

void add_data_command(CLI::App& app) {
  auto o = std::make_shared<DataOptions>();
  CLI::App* cmd =
      app.add_subcommand("data", "Tokenize text files into a token file (PREFIX.bin + PREFIX.idx) for moe train");
  cmd->add_option("--tokenizer", o->tokenizer, "Model (HF directory or GGUF) whose tokenizer to use")->required();
  cmd->add_option("--in", o->inputs, "Text files; each is one document (BOS, text, EOS)")->required()->expected(1, -1);
  cmd->add_option("--out", o->out, "Output prefix: writes PREFIX.bin and PREFIX.idx")->required();
  cmd->callback([o] {
    const auto start = std::chrono::steady_clock::now();
    const model::Model m = model::load_model(o->tokenizer);
    const tokenizer::Tokenizer tok(m.vocab);
    const train::TokenDataSummary summary = train::write_token_data(tok, o->inputs, o->out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const train::DocumentSpan& doc : summary.documents)
      std::printf("%-40s %10lld tokens\n", doc.name.c_str(), static_cast<long long>(doc.tokens));
    std::printf("wrote %s.bin (%lld tokens, %d bytes each) and %s.idx in %.1f s\n", o->out.c_str(),
                static_cast<long long>(summary.tokens), summary.bytes_per_token, o->out.c_str(), seconds);
  });
}

}  // namespace moe::cli
