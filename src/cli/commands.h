// The `moe` subcommands. Each add_*_command registers its options and a callback on `app`; the
// callbacks parse nothing themselves and report failures as moe::Error exceptions.
#pragma once

#include <CLI/CLI.hpp>

namespace moe::cli {

void add_init_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_convert_command(CLI::App& app);

// Default thread count: the machine's cores.
int default_threads();

}  // namespace moe::cli
