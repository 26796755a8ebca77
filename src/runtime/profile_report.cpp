// Gathers each rank's figures as text, formats them on rank 0.
#include "runtime/profile_report.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "runtime/parallel_engine.h"

namespace moe::runtime {

int64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

namespace {

std::vector<std::vector<double>> gather_rows(parallel::Communicator& world, const std::vector<double>& mine) {
  std::ostringstream text;
  text.precision(17);
  for (double v : mine) text << v << ' ';
  const std::vector<std::string> parts =
      world.size() > 1 ? all_gather_strings(world, text.str()) : std::vector<std::string>{text.str()};
  std::vector<std::vector<double>> rows;
  for (const std::string& part : parts) {
    std::istringstream in(part);
    rows.emplace_back();
    for (double v; in >> v;) rows.back().push_back(v);
  }
  return rows;
}

std::string format_row(const std::string& label, const std::vector<double>& row, const std::vector<Phase>& columns) {
  std::string line;
  char cell[32];
  std::snprintf(cell, sizeof cell, "%-6s", label.c_str());
  line += cell;
  const auto seconds = [&](Phase phase) {
    const size_t i = static_cast<size_t>(phase);
    return i < row.size() ? row[i] : 0.0;
  };
  double total = 0;
  for (Phase phase : columns) total += seconds(phase);
  for (Phase phase : columns) {
    std::snprintf(cell, sizeof cell, " %9.3f", seconds(phase));
    line += cell;
  }
  std::snprintf(cell, sizeof cell, " %9.3f %6.1f%%", total, total > 0 ? 100.0 * seconds(Phase::kComm) / total : 0.0);
  return line + cell + "\n";
}

}  // namespace

std::vector<Phase> inference_phases() {
  return {Phase::kAttention, Phase::kRouter,       Phase::kDispatch, Phase::kExperts,
          Phase::kCombine,   Phase::kSharedExpert, Phase::kOutput,   Phase::kComm};
}

std::vector<Phase> training_phases() {
  std::vector<Phase> all;
  for (size_t i = 0; i < static_cast<size_t>(Phase::kCount); ++i) all.push_back(static_cast<Phase>(i));
  return all;
}

std::string profile_table(parallel::Communicator& world, const PhaseTimes& times, const std::vector<Phase>& columns) {
  const std::vector<double> mine(times.seconds.begin(), times.seconds.end());
  const auto rows = gather_rows(world, mine);
  if (world.rank() != 0) return "";
  std::string table = "rank  ";
  char cell[32];
  for (Phase phase : columns) {
    std::snprintf(cell, sizeof cell, " %9s", kPhaseNames[static_cast<size_t>(phase)]);
    table += cell;
  }
  table += "     total  comm%\n";
  std::vector<double> max(mine.size(), 0.0);
  for (size_t rank = 0; rank < rows.size(); ++rank) {
    table += format_row(std::to_string(rank), rows[rank], columns);
    for (size_t i = 0; i < max.size() && i < rows[rank].size(); ++i) max[i] = std::max(max[i], rows[rank][i]);
  }
  if (rows.size() > 1) table += format_row("max", max, columns);
  return table;
}

std::string rss_line(parallel::Communicator& world) {
  const auto rows = gather_rows(world, {static_cast<double>(peak_rss_bytes())});
  if (world.rank() != 0) return "";
  std::string line = "peak RSS per rank:";
  for (size_t rank = 0; rank < rows.size(); ++rank)
    line += (rank ? ", " : " ") + std::to_string(rank) + ": " +
            std::to_string(static_cast<int64_t>(rows[rank].at(0)) >> 20) + " MiB";
  return line + "\n";
}

std::string run_report(parallel::Communicator& world, const PhaseTimes& times, bool profile) {
  std::string report = profile ? profile_table(world, times) : std::string();
  if (profile || world.size() > 1) report += rss_line(world);
  return report;
}

std::string balancer_report(parallel::Communicator& world, const balance::OnlineBalancer* balancer) {
  if (balancer == nullptr) return "";
  std::string mine;
  double stall = 0, max_stall = 0;
  int64_t received = 0;
  char cell[200];
  for (const balance::LayerMove& move : balancer->moves()) {
    std::snprintf(cell, sizeof cell,
                  "\n  step %lld layer %lld: %lld slots changed, received %lld B, sent %lld B, stall %.3f ms, "
                  "in flight %.3f ms",
                  static_cast<long long>(move.step), static_cast<long long>(move.layer),
                  static_cast<long long>(move.slots_changed), static_cast<long long>(move.bytes_received),
                  static_cast<long long>(move.bytes_sent), move.seconds * 1e3, move.in_flight_seconds * 1e3);
    mine += cell;
    stall += move.seconds;
    max_stall = std::max(max_stall, move.seconds);
    received += move.bytes_received;
  }
  const size_t n_moves = balancer->moves().size();
  std::snprintf(cell, sizeof cell, "%zu layer moves, received %lld B, stall %.3f ms (max %.3f ms per move)", n_moves,
                static_cast<long long>(received), stall * 1e3, max_stall * 1e3);
  mine = cell + mine;
  const std::vector<std::string> parts =
      world.size() > 1 ? all_gather_strings(world, mine) : std::vector<std::string>{mine};
  if (world.rank() != 0) return "";
  std::string report;
  for (size_t rank = 0; rank < parts.size(); ++rank)
    report += "online EPLB rank " + std::to_string(rank) + ": " + parts[rank] + "\n";
  return report;
}

}  // namespace moe::runtime
