// `moe`: entry point. Starts MPI when launched by mpirun/srun, dispatches to subcommands, and turns
// every error into one line on stderr and exit code 1 (under MPI: one line from rank 0 for errors
// every rank sees alike, else the failing rank's line and an abort of the whole job).
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  // A write past RLIMIT_FSIZE then fails with EFBIG, reported like a full disk (the output's
  // temporary removed), instead of SIGXFSZ ending the process with a partial file left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  moe::parallel::MpiRuntime mpi;
  const moe::cli::CliContext context{mpi};
  CLI::App app{"moe.cpp: Mixture-of-Experts inference and training engine", "moe"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "moe 0.1.0");
  moe::cli::add_init_command(app);
  moe::cli::add_info_command(app);
  moe::cli::add_run_command(app, context);
  moe::cli::add_eval_command(app, context);
  moe::cli::add_convert_command(app);
  moe::cli::add_stats_command(app);
  moe::cli::add_bench_command(app);
  moe::cli::add_quantize_command(app);
  moe::cli::add_eplb_command(app);
  moe::cli::add_data_command(app);
  moe::cli::add_train_command(app, context);
  moe::cli::add_route_command(app);
  moe::cli::add_plot_command(app);
  moe::cli::add_serve_command(app, context);
  const bool prints = mpi.world_rank() == 0;
  return moe::parallel::run_ranked(mpi, [&] {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      if (prints) std::fputs(app.help().c_str(), stdout);
    } catch (const CLI::CallForAllHelp&) {
      if (prints) std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    } catch (const CLI::CallForVersion& e) {
      if (prints) std::puts(e.what());
    } catch (const CLI::ParseError& e) {
      throw moe::UsageError(std::string(e.what()) + " (see moe --help)");
    }
  });
}
