// Whole-model requantization: one job per output tensor (routed experts merged per layer and role
// as GGUF stores them), each converted row by row into one buffer that its tensors view.
#include "model/quantize_model.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/quantize.h"

namespace moe::model {

namespace {

// Rows per parallel task: fixed, so that the work split never depends on the thread count.
constexpr int64_t kRowsPerTask = 16;

// One output tensor: its input tensors (one, or one per expert) and where the results go.
struct Job {
  std::string name;
  std::vector<const Tensor*> sources;
  std::vector<Tensor*> destinations;
  DType wanted;
};

// Converts `src` into `dst` (rows * row_bytes(to, cols) bytes), copying when the dtype is unchanged.
void convert_rows(const Tensor& src, DType to, std::byte* dst, ThreadPool& pool) {
  const int64_t rows = src.rows(), cols = src.cols();
  if (src.dtype() == to) {
    std::memcpy(dst, src.data(), src.nbytes());
    return;
  }
  const int64_t out_row_bytes = row_bytes(to, cols);
  const int64_t n_tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  pool.parallel_for(n_tasks, [&](int64_t task) {
    std::vector<float> values(cols);
    const int64_t end = std::min(rows, (task + 1) * kRowsPerTask);
    for (int64_t row = task * kRowsPerTask; row < end; ++row) {
      dequantize_row(src.dtype(), src.row(row), values.data(), cols);
      if (src.has_scales())  // an int8 / fp8 checkpoint's codes
        for (float& v : values) v *= src.row_scale(row);
      quantize_row(to, values.data(), dst + row * out_row_bytes, cols);
    }
  });
}

QuantizedTensor run_job(const Job& job, ThreadPool& pool) {
  const Tensor& first = *job.sources[0];
  QuantizedTensor info;
  info.name = job.name;
  info.shape = first.shape();
  if (job.sources.size() > 1) info.shape.insert(info.shape.begin(), static_cast<int64_t>(job.sources.size()));
  info.from = first.dtype();
  info.wanted = job.wanted;
  info.to = dtype_for_row_length(job.wanted, first.cols());
  int64_t total = 0;
  for (const Tensor* src : job.sources) {
    MOE_ASSERT(src->cols() == first.cols());
    total += src->rows() * row_bytes(info.to, src->cols());
  }
  // One buffer per job: merged experts lie back to back, so weights_to_gguf writes them without a copy.
  auto buffer = std::make_shared<std::vector<std::byte>>(total);
  int64_t offset = 0;
  for (size_t i = 0; i < job.sources.size(); ++i) {
    const Tensor& src = *job.sources[i];
    std::byte* dst = buffer->data() + offset;
    convert_rows(src, info.to, dst, pool);
    *job.destinations[i] = Tensor(info.to, src.shape(), dst, buffer);
    offset += src.rows() * row_bytes(info.to, src.cols());
  }
  return info;
}

// The jobs for every tensor of `in`, writing into `out` (a copy of `in` whose tensors get replaced).
std::vector<Job> make_jobs(const ModelConfig& c, const ModelWeights& in, ModelWeights& out,
                           const QuantizeTargets& targets) {
  std::vector<Job> jobs;
  auto add = [&](std::string name, const Tensor& src, Tensor& dst, DType wanted) {
    if (!src.empty()) jobs.push_back({std::move(name), {&src}, {&dst}, wanted});
  };
  const DType matrices = targets.matrices;
  add("token_embd.weight", in.token_embd, out.token_embd, targets.embedding.value_or(matrices));
  add("output_norm.weight", in.output_norm, out.output_norm, DType::kF32);
  if (!c.tie_embeddings)
    add("output.weight", in.output, out.output, targets.output.value_or(default_output_dtype(matrices)));
  for (size_t layer = 0; layer < in.layers.size(); ++layer) {
    const LayerWeights& l = in.layers[layer];
    LayerWeights& o = out.layers[layer];
    const std::string p = "blk." + std::to_string(layer) + ".";
    add(p + "attn_norm.weight", l.attn_norm, o.attn_norm, DType::kF32);
    add(p + "attn_q.weight", l.wq, o.wq, matrices);
    add(p + "attn_k.weight", l.wk, o.wk, matrices);
    add(p + "attn_v.weight", l.wv, o.wv, matrices);
    add(p + "attn_output.weight", l.wo, o.wo, matrices);
    add(p + "attn_q.bias", l.bq, o.bq, DType::kF32);
    add(p + "attn_k.bias", l.bk, o.bk, DType::kF32);
    add(p + "attn_v.bias", l.bv, o.bv, DType::kF32);
    add(p + "attn_q_norm.weight", l.q_norm, o.q_norm, DType::kF32);
    add(p + "attn_k_norm.weight", l.k_norm, o.k_norm, DType::kF32);
    add(p + "attn_q_a.weight", l.wq_a, o.wq_a, matrices);  // MLA
    add(p + "attn_q_a_norm.weight", l.q_a_norm, o.q_a_norm, DType::kF32);
    add(p + "attn_kv_a_mqa.weight", l.wkv_a, o.wkv_a, matrices);
    add(p + "attn_kv_a_norm.weight", l.kv_a_norm, o.kv_a_norm, DType::kF32);
    add(p + "attn_kv_b.weight", l.wkv_b, o.wkv_b, matrices);
    add(p + "ffn_gate.weight", l.dense.gate, o.dense.gate, matrices);  // a dense layer
    add(p + "ffn_up.weight", l.dense.up, o.dense.up, matrices);
    add(p + "ffn_down.weight", l.dense.down, o.dense.down, matrices);
    add(p + "exp_probs_b.bias", l.router_bias, o.router_bias, DType::kF32);
    add(p + "ffn_norm.weight", l.ffn_norm, o.ffn_norm, DType::kF32);
    add(p + "ffn_gate_inp.weight", l.router, o.router, DType::kF32);
    add(p + "ffn_gate_shexp.weight", l.shared_expert.gate, o.shared_expert.gate, matrices);
    add(p + "ffn_up_shexp.weight", l.shared_expert.up, o.shared_expert.up, matrices);
    add(p + "ffn_down_shexp.weight", l.shared_expert.down, o.shared_expert.down, matrices);
    add(p + "ffn_gate_inp_shexp.weight", l.shared_expert_gate, o.shared_expert_gate, DType::kF32);
    const std::pair<Tensor ExpertWeights::*, const char*> roles[] = {
        {&ExpertWeights::gate, "ffn_gate_exps.weight"},
        {&ExpertWeights::up, "ffn_up_exps.weight"},
        {&ExpertWeights::down, "ffn_down_exps.weight"},
    };
    for (const auto& [member, name] : roles) {
      if (l.experts.empty()) continue;
      Job job{p + name, {}, {}, matrices};
      for (size_t e = 0; e < l.experts.size(); ++e) {
        job.sources.push_back(&(l.experts[e].*member));
        job.destinations.push_back(&(o.experts[e].*member));
      }
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

}  // namespace

DType default_output_dtype(DType matrices) {
  return matrices == DType::kQ4_0 || matrices == DType::kQ4_K ? DType::kQ6_K : matrices;
}

DType dtype_for_row_length(DType wanted, int64_t cols) {
  if (cols % dtype_info(wanted).block_elems == 0) return wanted;
  if (cols % dtype_info(DType::kQ8_0).block_elems == 0) return DType::kQ8_0;
  return DType::kF16;
}

QuantizeResult quantize_model(
    const Model& model, const QuantizeTargets& targets, ThreadPool& pool,
    const std::function<void(const QuantizedTensor&, int64_t index, int64_t count)>& progress) {
  QuantizeResult result;
  result.model = model;  // config, vocab, name; every tensor below is replaced
  const std::vector<Job> jobs = make_jobs(model.config, model.weights, result.model.weights, targets);
  const int64_t count = static_cast<int64_t>(jobs.size());
  for (int64_t index = 0; index < count; ++index) {
    result.tensors.push_back(run_job(jobs[index], pool));
    if (progress) progress(result.tensors.back(), index, count);
  }
  if (model.config.tie_embeddings) result.model.weights.output = result.model.weights.token_embd;
  return result;
}

}  // namespace moe::model
