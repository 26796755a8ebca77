// The `moe` subcommands. Each add_*_command registers its options and a callback on `app`; the
// callbacks report failures as moe::Error exceptions (ConfigError/UsageError: the same on every
// rank; anything else: this rank's own failure).
#pragma once

#include <CLI/CLI.hpp>

#include "parallel/mpi_runtime.h"

namespace moe::cli {

// What every command may need from the process: the MPI runtime (world size 1 without mpirun).
struct CliContext {
  const parallel::MpiRuntime& mpi;
};

void add_init_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_run_command(CLI::App& app, const CliContext& context);
void add_eval_command(CLI::App& app, const CliContext& context);
void add_convert_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_eplb_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_train_command(CLI::App& app, const CliContext& context);
void add_route_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_serve_command(CLI::App& app, const CliContext& context);

// The help of --model: the paths model::load_model accepts.
inline constexpr const char* kModelPathHelp =
    "HF directory, GGUF file or training save directory (its latest checkpoint)";

// Default thread count: the machine's cores shared by the ranks on it.
int default_threads();

}  // namespace moe::cli
