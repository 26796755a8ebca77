// Our own training GEMM (kernels::gemm_f32_with_level at this CPU's level) against the f32 GEMMs of the libraries
// Debian packages, on the MoE layer's expert shapes (issue 6: H 1024, F 2816, ~128 and ~512 rows per expert), in the
// three layouts training uses, side by side: for each shape the engines run in turn (A B C A B C ...) and each gets the
// median of its rounds, in GFLOP/s of wall time.
//
// The libraries are loaded at run time (dlopen), so nothing here is a build dependency and two
// CBLAS implementations do not clash: OpenBLAS (libopenblas.so.0: cblas_sgemm), BLIS
// (libblis.so.4: cblas_sgemm), oneDNN (libdnnl.so.2: dnnl_sgemm, row-major). A library that is
// not installed is skipped. libxsmm is not a candidate: it JIT-compiles small products and hands
// products of this size to the BLAS it is linked with; Highway offers SIMD primitives, no GEMM.
//
//   moe_gemm_libraries [-t THREADS] [-r ROUNDS]
// Threads: ours get a pool of THREADS; the libraries read OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS
// and OMP_NUM_THREADS, which this program sets to THREADS before loading them. On CPUs that
// OpenBLAS 0.3.21 misreads (this Emerald Rapids VM reads as "Prescott"), set
// OPENBLAS_CORETYPE=SkylakeX; the program prints the core OpenBLAS chose. With more than one
// thread the OpenMP libraries' idle threads spin against each other and against ours: compare
// multi-threaded figures with one library per process (e.g. the MoE layer benchmark) instead.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/gemm/gemm.h"

namespace {

using moe::kernels::GemmArgs;
using moe::kernels::GemmLayout;

// CBLAS's row-major sgemm and oneDNN's (same arguments, transposes as 'N'/'T').
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                            int);
using DnnlSgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t);

struct Shape {
  GemmLayout layout;
  const char* name;
  int64_t m, n, k;
};

struct Engine {
  std::string name;
  std::function<void(const GemmArgs&)> run;  // C (+)= op(A) op(B) as GemmArgs says
};

void* open_library(const char* file) {
  void* handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) std::fprintf(stderr, "skipped: %s (%s)\n", file, dlerror());
  return handle;
}

std::vector<Engine> engines(moe::ThreadPool* pool) {
  std::vector<Engine> list;
  list.push_back(
      {"moe", [pool](const GemmArgs& g) { moe::kernels::gemm_f32_with_level(moe::kernels::isa_level(), g, pool); }});
  auto add_cblas = [&](const char* name, const char* file) {
    void* handle = open_library(file);
    if (handle == nullptr) return;
    auto sgemm = reinterpret_cast<CblasSgemm>(dlsym(handle, "cblas_sgemm"));
    if (sgemm == nullptr) return;
    std::string label = name;
    if (auto corename = reinterpret_cast<const char* (*)()>(dlsym(handle, "openblas_get_corename")))
      label += std::string(" (") + corename() + ")";
    list.push_back({label, [sgemm](const GemmArgs& g) {
                      sgemm(kRowMajor, g.layout == GemmLayout::kTN ? kTrans : kNoTrans,
                            g.layout == GemmLayout::kNT ? kTrans : kNoTrans, static_cast<int>(g.m),
                            static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, g.a, static_cast<int>(g.lda), g.b,
                            static_cast<int>(g.ldb), g.accumulate ? 1.0f : 0.0f, g.c, static_cast<int>(g.ldc));
                    }});
  };
  add_cblas("OpenBLAS", "libopenblas.so.0");
  add_cblas("BLIS", "libblis.so.4");
  if (void* handle = open_library("libdnnl.so.2")) {
    if (auto sgemm = reinterpret_cast<DnnlSgemm>(dlsym(handle, "dnnl_sgemm")))
      list.push_back({"oneDNN", [sgemm](const GemmArgs& g) {
                        sgemm(g.layout == GemmLayout::kTN ? 'T' : 'N', g.layout == GemmLayout::kNT ? 'T' : 'N', g.m,
                              g.n, g.k, 1.0f, g.a, g.lda, g.b, g.ldb, g.accumulate ? 1.0f : 0.0f, g.c, g.ldc);
                      }});
  }
  return list;
}

double seconds_of(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "-t")
      threads = std::atoi(argv[i + 1]);
    else if (flag == "-r")
      rounds = std::atoi(argv[i + 1]);
  }
  if (threads < 1 || rounds < 1 || argc % 2 == 0) {
    std::fprintf(stderr, "usage: %s [-t THREADS] [-r ROUNDS]\n", argv[0]);
    return 1;
  }
  const std::string n_threads = std::to_string(threads);
  for (const char* var : {"OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS", "OMP_NUM_THREADS"})
    setenv(var, n_threads.c_str(), 1);
  moe::ThreadPool pool(threads);
  const std::vector<Engine> list = engines(threads > 1 ? &pool : nullptr);

  const Shape shapes[] = {{GemmLayout::kNT, "NT", 128, 2816, 1024}, {GemmLayout::kNT, "NT", 512, 1024, 2816},
                          {GemmLayout::kNN, "NN", 128, 1024, 2816}, {GemmLayout::kNN, "NN", 512, 2816, 1024},
                          {GemmLayout::kTN, "TN", 2816, 1024, 128}, {GemmLayout::kTN, "TN", 1024, 2816, 512}};
  std::printf("threads %d, %d rounds, GFLOP/s (median), max |C - C_moe| / max |C_moe| in brackets\n", threads, rounds);
  std::printf("| shape (m x n x k) |");
  for (const Engine& e : list) std::printf(" %s |", e.name.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < list.size(); ++i) std::printf("---:|");
  std::printf("\n");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.n * s.k);
    for (float& v : a) v = dist(rng);
    for (float& v : b) v = dist(rng);
    const GemmArgs base{.layout = s.layout,
                        .m = s.m,
                        .n = s.n,
                        .k = s.k,
                        .a = a.data(),
                        .lda = s.layout == GemmLayout::kTN ? s.m : s.k,
                        .b = b.data(),
                        .ldb = s.layout == GemmLayout::kNT ? s.k : s.n,
                        .ldc = s.n,
                        .accumulate = false};
    std::vector<std::vector<float>> c(list.size(), std::vector<float>(s.m * s.n));
    std::vector<std::vector<double>> times(list.size());
    for (int round = 0; round <= rounds; ++round)  // round 0 warms up
      for (size_t e = 0; e < list.size(); ++e) {
        GemmArgs g = base;
        g.c = c[e].data();
        const double t = seconds_of([&] { list[e].run(g); });
        if (round > 0) times[e].push_back(t);
      }
    double scale = 0;
    for (float v : c[0]) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    std::printf("| %s %lld x %lld x %lld |", s.name, static_cast<long long>(s.m), static_cast<long long>(s.n),
                static_cast<long long>(s.k));
    for (size_t e = 0; e < list.size(); ++e) {
      std::sort(times[e].begin(), times[e].end());
      const double median = times[e][times[e].size() / 2];
      double diff = 0;
      for (size_t i = 0; i < c[e].size(); ++i) diff = std::max(diff, static_cast<double>(std::fabs(c[e][i] - c[0][i])));
      std::printf(" %.1f [%.1e] |", 2.0 * s.m * s.n * s.k / median * 1e-9, diff / scale);
    }
    std::printf("\n");
  }
  return 0;
}
