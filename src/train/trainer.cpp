// The training loop, one process or one rank of many. Micro-batch m of a global batch of M
// (samples consumed + m * micro ...) is run by data-parallel rank m % dp (all its TP ranks, each
// on its sequence shard), Megatron's sampler order, with its own jitter stream, so every layout
// runs the same micro-batches; each scales its loss by 1/M and the gradients are summed over the
// ranks (DistributedOptimizer), as one process averages them.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/malloc_tuning.h"
#include "core/phase_timer.h"
#include "core/random.h"
#include "core/thread_pool.h"
#include "moe/expert_exchange.h"
#include "parallel/fault_injection.h"
#include "runtime/profile_report.h"
#include "train/checkpoint.h"
#include "train/distributed_optimizer.h"
#include "train/model_spec.h"
#include "train/sample_stream.h"
#include "train/token_data.h"
#include "train/train_groups.h"
#include "train/train_log.h"
#include "train/train_model.h"

namespace moe::train {
namespace {

using Clock = std::chrono::steady_clock;

// B samples starting at sample index `first` of `stream`: inputs and next-token targets.
struct Batch {
  int64_t batch = 0, seq = 0;
  std::vector<int32_t> tokens, targets;
};
Batch draw_batch(SampleStream& stream, int64_t first, int64_t batch) {
  Batch b;
  b.batch = batch;
  b.seq = stream.seq_length();
  b.tokens.resize(batch * b.seq);
  b.targets.resize(batch * b.seq);
  std::vector<int32_t> sample(b.seq + 1);
  for (int64_t i = 0; i < batch; ++i) {
    stream.sample(first + i, sample.data());
    std::copy(sample.begin(), sample.end() - 1, b.tokens.begin() + i * b.seq);
    std::copy(sample.begin() + 1, sample.end(), b.targets.begin() + i * b.seq);
  }
  return b;
}

// The step's record summed over the ranks (each holds its micro-batches' share).
void reduce_record(StepRecord& record, parallel::Communicator& world) {
  std::vector<double> sums{record.loss, record.lm_loss, record.aux_loss, record.z_loss,
                           static_cast<double>(record.dropped_tokens)};
  for (const auto& layer : record.expert_tokens)
    for (int64_t n : layer) sums.push_back(static_cast<double>(n));
  world.allreduce_sum(sums.data(), static_cast<int64_t>(sums.size()));
  record.loss = sums[0];
  record.lm_loss = sums[1];
  record.aux_loss = sums[2];
  record.z_loss = sums[3];
  record.dropped_tokens = static_cast<int64_t>(sums[4]);
  size_t i = 5;
  for (auto& layer : record.expert_tokens)
    for (int64_t& n : layer) n = static_cast<int64_t>(sums[i++]);
}

// Fills `views` with the other EP ranks' experts (collective over the EP group).
void gather_experts(model::ModelWeights& views, TrainGroups& groups) {
  const TrainLayout& l = groups.layout;
  std::vector<float> mine;
  for (const model::LayerWeights& layer : views.layers)
    for (int64_t e = l.first_expert; e < l.first_expert + l.local_experts; ++e)
      for (const Tensor* t : {&layer.experts[e].gate, &layer.experts[e].up, &layer.experts[e].down})
        mine.insert(mine.end(), t->f32(), t->f32() + t->numel());
  std::vector<float> all;
  std::vector<int64_t> counts;
  groups.ep.allgatherv(mine.data(), static_cast<int64_t>(mine.size()), all, counts);
  const ExpertWeights shapes = views.layers[0].experts[l.first_expert];
  int64_t at = 0;
  for (int peer = 0; peer < l.ep; ++peer)
    for (model::LayerWeights& layer : views.layers)
      for (int64_t e = peer * l.local_experts; e < (peer + 1) * l.local_experts; ++e)
        for (auto [t, shape] :
             {std::pair{&layer.experts[e].gate, &shapes.gate}, std::pair{&layer.experts[e].up, &shapes.up},
              std::pair{&layer.experts[e].down, &shapes.down}}) {
          *t =
              Tensor::from_f32(shape->shape(), std::vector<float>(all.begin() + at, all.begin() + at + shape->numel()));
          at += shape->numel();
        }
}

// The whole model for rank 0's checkpoint: under EP the other ranks' experts are gathered over
// rank 0's EP group (each rank sends its experts of every layer, gate, up, down), under TP the
// blocks of the split matrices over rank 0's TP group. Collective over those groups; the other
// ranks get an empty model.
model::Model gather_model(TrainModel& net, TrainGroups& groups, tokenizer::Vocab vocab) {
  const TrainLayout& l = groups.layout;
  model::ModelWeights views = net.views();
  if (l.ep > 1 && l.expert_dp_rank == 0) gather_experts(views, groups);
  if (l.dp_rank != 0 && l.expert_dp_rank != 0) return {};
  model::NamedTensors tensors = model::weights_to_hf(net.config(), views);
  if (l.tp > 1 && l.dp_rank == 0) {
    TensorParallel tp(groups.tp);
    for (auto& [name, tensor] : tensors)
      if (const TensorSlice slice = net.slice(name); !slice.whole()) tensor = tp.gather_tensor(tensor, slice);
  }
  if (l.rank != 0) return {};
  return net.to_model(std::move(vocab), std::move(tensors));
}

// The mean cross-entropy of the first `iters` validation batches: batch i runs on data-parallel
// rank i % dp (all its TP ranks), and the losses are summed over the data-parallel group. Every
// rank runs the same number of forwards (the EP exchange and the TP collectives need every rank of
// their group): a rank with no batch left repeats batch 0 and does not count it.
double evaluate(TrainModel& net, SampleStream& stream, int64_t iters, int64_t micro, TrainGroups& groups) {
  const TrainLayout& l = groups.layout;
  double sum = 0;
  const int64_t rounds = (iters + l.dp - 1) / l.dp;
  for (int64_t round = 0; round < rounds; ++round) {
    const int64_t i = round * l.dp + l.dp_rank;
    const Batch batch = draw_batch(stream, (i < iters ? i : 0) * micro, micro);
    const double loss = net.evaluate(batch.tokens, batch.targets, batch.batch, batch.seq);
    if (i < iters) sum += loss;
  }
  groups.dp.allreduce_sum(&sum, 1);
  return sum / static_cast<double>(iters);
}

// One line before training: what is trained, on what, in which layout. The parameter count is the
// whole model's: dense parameters at their full shapes, the experts held here times the EP ranks.
std::string start_line(TrainModel& net, const TrainLayout& l, const TrainConfig& config, const TokenData& data,
                       int64_t micro_batches, int threads) {
  int64_t params = 0;
  for (ParamStore::Part part : {ParamStore::Part::kDense, ParamStore::Part::kSplit, ParamStore::Part::kExperts})
    for (const ParamRef& p : net.params(part)) {
      int64_t full = 1;
      for (int64_t d : p.slice.full_shape) full *= d;
      params += part == ParamStore::Part::kExperts ? full * l.ep : full;
    }
  char line[400];
  std::snprintf(line, sizeof line,
                "training %.1f M parameters on %s (%.2f M tokens): %d rank%s = TP %d%s x DP %d, EP %d%s, %d thread%s "
                "per rank; global batch %lld = %lld micro-batch%s of %lld x %lld tokens",
                static_cast<double>(params) * 1e-6, data.prefix().c_str(), static_cast<double>(data.size()) * 1e-6,
                l.world, l.world == 1 ? "" : "s", l.tp, l.tp > 1 ? " (sequence parallel)" : "", l.dp, l.ep,
                config.use_distributed_optimizer ? ", distributed optimizer" : "", threads, threads == 1 ? "" : "s",
                static_cast<long long>(micro_batches * config.micro_batch_size), static_cast<long long>(micro_batches),
                micro_batches == 1 ? "" : "es", static_cast<long long>(config.micro_batch_size),
                static_cast<long long>(config.model.seq_length));
  return line;
}

// Refuses a checkpoint whose model differs from the configured one.
void check_same_model(const model::ModelConfig& want, const model::ModelConfig& got, const std::string& path) {
  const auto shape = [](const model::ModelConfig& c) {
    return std::vector<int64_t>{c.vocab_size,
                                c.hidden_size,
                                c.n_layers(),
                                c.attention().n_heads,
                                c.attention().n_kv_heads,
                                c.attention().head_dim,
                                c.moe().expert_ffn,
                                c.moe().shared_expert_ffn,
                                c.n_experts()};
  };
  MOE_CHECK(want.arch == got.arch && shape(want) == shape(got), ConfigError, path, ": checkpoint of another model (",
            model::arch_name(got.arch), ", hidden ", got.hidden_size, ", ", got.n_layers(), " layers, ",
            got.n_experts(), " experts; the config asks for ", model::arch_name(want.arch), ", hidden ",
            want.hidden_size, ", ", want.n_layers(), " layers, ", want.n_experts(), " experts)");
}

}  // namespace

TrainResult run_training(TrainConfig config, const std::function<void(const std::string&)>& print) {
  parallel::Communicator alone = parallel::Communicator::single();
  return run_training(std::move(config), print, alone);
}

TrainResult run_training(TrainConfig config, const std::function<void(const std::string&)>& print_line,
                         parallel::Communicator& world) {
  const bool lead = world.rank() == 0;
  const auto print = [&](const std::string& line) {
    if (lead) print_line(line);
  };
  config.validate();
  reuse_freed_memory();
  TrainingStart start = resolve_training_start(config);
  const TrainLayout layout = make_train_layout(config, world.size(), world.rank(), start.config);
  TrainGroups groups(world, layout);
  std::optional<ExpertExchange> exchange;
  if (layout.ep > 1) exchange.emplace(groups.ep, start.config.n_experts());
  std::optional<TensorParallel> tensor_parallel;
  if (layout.tp > 1) tensor_parallel.emplace(groups.tp);
  const int64_t seq = config.model.seq_length;
  const int64_t micro = config.micro_batch_size;
  const int64_t global = config.global_batch_size.value_or(micro * layout.dp);
  const int64_t micro_batches = global / micro;  // of the global batch, over all ranks
  if (config.lr.decay_iters == 0) config.lr.decay_iters = config.train_iters;

  const TokenData data = TokenData::open(config.data_path);
  data.check_tokenizer(start.vocab);
  const DataSplit split = parse_split(config.split);
  SampleStream train_stream(data, seq, split, SplitPart::kTrain, config.seed);
  std::optional<SampleStream> valid_stream;
  if (config.eval_interval > 0 && split.valid > 0)
    valid_stream.emplace(data, seq, split, SplitPart::kValid, config.seed);

  // Resuming: the checkpoint's weights replace the starting point.
  std::string resume_from;
  if (!config.load.empty()) {
    MOE_CHECK(std::filesystem::is_directory(config.load), ConfigError, "load: '", config.load, "' is not a directory");
    resume_from = model::latest_checkpoint(config.load);
    MOE_CHECK(!resume_from.empty(), ConfigError, "load: '", config.load, "' holds no checkpoint (no 'latest' file)");
    model::Model saved = model::load_model(resume_from);
    check_same_model(start.config, saved.config, resume_from);
    start.weights = std::move(saved);
  }

  // Unset threads: the machine's cores shared by the ranks.
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int threads = config.threads > 0 ? config.threads : std::max(1, cores / layout.world);
  ThreadPool pool(threads);
  TrainModel net(start.config,
                 {.router = config.router,
                  .input_jitter_eps = config.input_jitter_eps,
                  .seq_length = seq,
                  .exchange = exchange ? &*exchange : nullptr,
                  .tp = tensor_parallel ? &*tensor_parallel : nullptr,
                  .bf16 = config.bf16},
                 &pool);
  if (start.weights)
    net.load_weights(*start.weights);
  else
    net.init_random(config.seed, config.model.init_method_std);

  print(start_line(net, layout, config, data, micro_batches, threads));
  DistributedOptimizer optimizer(net, groups, config.adam, config.use_distributed_optimizer, &pool);
  PhaseTimes times;  // --profile: the training steps' phases (evaluation and saving excluded)
  if (config.profile) {
    net.set_phase_times(&times);
    optimizer.set_phase_times(&times);
  }
  TrainState state;
  if (!resume_from.empty()) {
    state = load_train_state(resume_from);
    const OptimizerMoments moments = load_optimizer_moments(resume_from);
    optimizer.load_moments(moments.pieces, moments.steps, resume_from);
    if (state.extra.contains("expert_bias"))
      net.set_expert_bias(state.extra["expert_bias"].get<std::vector<std::vector<float>>>());
    print("resumed from " + resume_from + " at iteration " + std::to_string(state.iteration));
  }

  TrainLogFile log;
  if (lead && !config.log_file.empty()) {
    log = TrainLogFile(config.log_file, /*append=*/!resume_from.empty());
    if (!resume_from.empty()) log.write(resume_json(state.iteration, resume_from));
  }

  TrainResult result;
  result.first_iteration = state.iteration;
  const auto run_start = Clock::now();
  const int64_t first_step = state.iteration;
  auto save = [&] {
    state.extra["expert_bias"] = net.expert_bias();
    state.extra["config"] = nlohmann::json::object();
    for (const auto& [key, value] : describe_train_config(config)) state.extra["config"][key] = value;
    state.extra["layout"] = {{"world", layout.world},
                             {"tensor_model_parallel_size", layout.tp},
                             {"expert_model_parallel_size", layout.ep},
                             {"use_distributed_optimizer", config.use_distributed_optimizer}};
    model::Model out = gather_model(net, groups, start.vocab);
    out.name = std::filesystem::path(config.save).filename().string();
    save_checkpoint(config.save, lead ? &out : nullptr, state, {optimizer.steps(), optimizer.moments()}, world);
    result.checkpoint = model::latest_checkpoint(config.save);
    print("saved " + result.checkpoint);
  };

  for (int64_t step = state.iteration + 1; step <= config.train_iters; ++step) {
    const auto step_start = Clock::now();
    const double timed_before = times.total();
    net.zero_grad();
    StepRecord record;
    record.step = step;
    record.train_iters = config.train_iters;
    record.expert_tokens.assign(start.config.n_layers(), std::vector<int64_t>(start.config.n_experts(), 0));
    for (int64_t m = layout.dp_rank; m < micro_batches; m += layout.dp) {
      Rng jitter(derive_seed(config.seed, "jitter " + std::to_string(step) + " " + std::to_string(m)));
      std::optional<ScopedPhase> data_timer(std::in_place, times, Phase::kData);
      const Batch batch = draw_batch(train_stream, state.consumed_samples + m * micro, micro);
      data_timer.reset();
      const LossParts parts = net.forward_backward(batch.tokens, batch.targets, batch.batch, batch.seq,
                                                   1.0f / static_cast<float>(micro_batches), jitter);
      record.loss += parts.loss / micro_batches;
      record.lm_loss += parts.lm_loss / micro_batches;
      record.aux_loss += parts.aux_loss / micro_batches;
      record.z_loss += parts.z_loss / micro_batches;
      record.dropped_tokens += parts.dropped_tokens;
      for (size_t l = 0; l < parts.expert_tokens.size(); ++l)
        for (size_t e = 0; e < parts.expert_tokens[l].size(); ++e)
          record.expert_tokens[l][e] += parts.expert_tokens[l][e];
    }
    parallel::fault_point("train_step");
    {
      const ScopedPhase timer(times, Phase::kComm);
      reduce_record(record, world);
    }
    state.consumed_samples += global;
    MOE_CHECK(std::isfinite(record.loss), Error, "step ", step, ": the loss is ", record.loss,
              " (lower lr, or raise clip_grad / warmup)");

    const auto optimizer_start = Clock::now();
    const double comm_before = times[Phase::kComm];
    record.grad_norm = optimizer.reduce_gradients();
    if (config.clip_grad > 0 && record.grad_norm > config.clip_grad)
      optimizer.scale_gradients(static_cast<float>(config.clip_grad / (record.grad_norm + 1e-6)));
    record.lr = config.lr.at(step);
    optimizer.step(record.lr);
    if (config.router.enable_expert_bias) net.update_expert_bias(record.expert_tokens, config.router.bias_update_rate);
    state.iteration = step;
    times[Phase::kOptimizer] +=
        std::chrono::duration<double>(Clock::now() - optimizer_start).count() - (times[Phase::kComm] - comm_before);

    const double step_seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    times[Phase::kOther] += step_seconds - (times.total() - timed_before);
    record.tokens_per_s = static_cast<double>(global * seq) / step_seconds;
    const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
    record.seconds_left =
        elapsed / static_cast<double>(step - first_step) * static_cast<double>(config.train_iters - step);

    if (valid_stream && step % config.eval_interval == 0) {
      net.set_phase_times(nullptr);
      record.eval_loss = evaluate(net, *valid_stream, config.eval_iters, micro, groups);
      if (config.profile) net.set_phase_times(&times);
    }
    if (step % config.log_interval == 0 || step == config.train_iters || record.eval_loss) {
      print(progress_line(record));
      if (log) log.write(step_json(record));
    }
    result.final_loss = record.loss;
    if (!config.save.empty() && config.save_interval > 0 && step % config.save_interval == 0) save();
    if (config.exit_interval > 0 && step % config.exit_interval == 0 && step < config.train_iters) {
      print("exiting at iteration " + std::to_string(step) + " (exit_interval)");
      break;
    }
  }
  result.last_iteration = state.iteration;
  if (!config.save.empty() && (config.save_interval == 0 || state.iteration % config.save_interval != 0)) save();
  if (config.profile) {
    std::string report = "seconds per phase of iterations " + std::to_string(first_step + 1) + ".." +
                         std::to_string(state.iteration) + " (permutation = dispatch + combine):\n" +
                         runtime::profile_table(world, times, runtime::training_phases()) + runtime::rss_line(world);
    report.pop_back();  // print adds the line end
    print(report);
  }
  return result;
}

}  // namespace moe::train
