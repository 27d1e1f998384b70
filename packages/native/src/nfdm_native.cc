// @nfdm/native: fused MLP-with-time-tangents kernels (forward and backward) for nfdm, and the
// U-Net's layers: NHWC convolutions, GroupNorm(+SiLU) jets, channel concatenation (sections below).
//
// A jet of order k over a batch of B rows of width n is one row-major float32 matrix
// [(k+1)·B, n]: rows [0, B) hold the value, [B, 2B) the first and [2B, 3B) the second time
// derivative. For an MLP with weights W_l [n_l, n_{l+1}] and biases b_l [n_{l+1}]:
//   H = a W  (+ b on the value block only),
//   a = φ(h),  a' = φ'(h) h',  a'' = φ''(h) h'² + φ'(h) h''          (hidden layers)
// and the backward pass (cotangents g0, g1, g2 of a, a', a''):
//   ∂/∂h  = g0 φ' + g1 φ'' h' + g2 (φ''' h'² + φ'' h''),
//   ∂/∂h' = g1 φ' + 2 g2 φ'' h',   ∂/∂h'' = g2 φ',
//   ∂/∂a_prev = dH Wᵀ,  ∂/∂W = a_prevᵀ dH,  ∂/∂b = Σ_rows dH[value block].
// Only the plain N-API C header is used. GEMMs are register-tiled with GCC vector
// extensions (AVX-512 / AVX2 / SSE depending on -march), weights packed into panels.
#include <node_api.h>

#ifndef NODE_GYP_MODULE_NAME
#define NODE_GYP_MODULE_NAME nfdm_native
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <pthread.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// The build's name: "native" for a build from source (-march=native), else the prebuilt
// variant's instruction-set level ("x86-64-v4", "x86-64-v3", "x86-64", "armv8-a"), set by the
// build scripts with -DNFDM_VARIANT=….
#ifndef NFDM_VARIANT
#define NFDM_VARIANT "native"
#endif

#if defined(__AVX512F__)
#define NFDM_VL 16
#define NFDM_MR 8
#define NFDM_ISA "avx512"
#elif defined(__AVX2__)
#define NFDM_VL 8
#define NFDM_MR 6
#define NFDM_ISA "avx2"
#elif defined(__AVX__)
#define NFDM_VL 8
#define NFDM_MR 4
#define NFDM_ISA "avx"
#else
#define NFDM_VL 4
#define NFDM_MR 4
#define NFDM_ISA "generic"
#endif

namespace {

constexpr int VL = NFDM_VL;
constexpr int MR = NFDM_MR;
constexpr int NR = 2 * VL;
constexpr int MC = 256;  // rows per chunk in the Aᵀ·G kernel

typedef float vf __attribute__((vector_size(VL * sizeof(float))));

inline vf loadu(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storeu(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
// Broadcast. (Not `vf{} + x`: 0 + x is not x for x = −0, so GCC emits a scalar add before every
// broadcast in the GEMM inner loops; x − 0 is x for every x, so this folds to one vbroadcastss,
// which AVX-512 even merges into the FMA's memory operand.)
inline vf splat(float x) { return x - vf{}; }

// ---------------------------------------------------------------------------------------
// GEMM 1: C[M, N] = A[M, K] · B, with B packed in panels P[jt][k][NR] (zero padded).

void pack_b(int K, int N, const float* src, bool transposed, float* P) {
  // Not transposed: B = src [K, N] row-major. Transposed: B = srcᵀ with src [N, K] row-major.
  const int NT = (N + NR - 1) / NR;
  for (int jt = 0; jt < NT; jt++) {
    float* Pj = P + static_cast<size_t>(jt) * K * NR;
    const int n0 = jt * NR;
    const int nc = std::min(NR, N - n0);
    for (int k = 0; k < K; k++) {
      float* row = Pj + static_cast<size_t>(k) * NR;
      if (!transposed) {
        std::memcpy(row, src + static_cast<size_t>(k) * N + n0, nc * sizeof(float));
      } else {
        for (int j = 0; j < nc; j++) row[j] = src[static_cast<size_t>(n0 + j) * K + k];
      }
      for (int j = nc; j < NR; j++) row[j] = 0.f;
    }
  }
}

template <int R>
void kernel_ab(int K, const float* A, int lda, const float* Pj, float* C, int ldc, int nc) {
  vf c0[R], c1[R];
  for (int r = 0; r < R; r++) c0[r] = c1[r] = vf{};
  for (int k = 0; k < K; k++) {
    const vf b0 = loadu(Pj + static_cast<size_t>(k) * NR);
    const vf b1 = loadu(Pj + static_cast<size_t>(k) * NR + VL);
    for (int r = 0; r < R; r++) {
      const vf a = splat(A[static_cast<size_t>(r) * lda + k]);
      c0[r] += a * b0;
      c1[r] += a * b1;
    }
  }
  if (nc == NR) {
    for (int r = 0; r < R; r++) {
      storeu(C + static_cast<size_t>(r) * ldc, c0[r]);
      storeu(C + static_cast<size_t>(r) * ldc + VL, c1[r]);
    }
  } else {
    float tmp[NR];
    for (int r = 0; r < R; r++) {
      storeu(tmp, c0[r]);
      storeu(tmp + VL, c1[r]);
      std::memcpy(C + static_cast<size_t>(r) * ldc, tmp, nc * sizeof(float));
    }
  }
}

typedef void (*KernelAB)(int, const float*, int, const float*, float*, int, int);

template <int R>
struct TableAB {
  static void fill(KernelAB* t) {
    t[R] = kernel_ab<R>;
    TableAB<R - 1>::fill(t);
  }
};
template <>
struct TableAB<0> {
  static void fill(KernelAB*) {}
};

KernelAB* kernels_ab() {
  static KernelAB* const table = [] {  // thread-safe static initialisation
    static KernelAB t[MR + 1] = {};
    TableAB<MR>::fill(t);
    return t;
  }();
  return table;
}

// Rows [0, M) of A [·, K] (leading dim lda) times packed B → C rows (leading dim ldc = N).
void gemm_ab(int M, int N, int K, const float* A, int lda, const float* P, float* C, int ldc) {
  KernelAB* kt = kernels_ab();
  const int NT = (N + NR - 1) / NR;
  for (int i = 0; i < M; i += MR) {
    const int R = std::min(MR, M - i);
    for (int jt = 0; jt < NT; jt++) {
      const int n0 = jt * NR;
      kt[R](K, A + static_cast<size_t>(i) * lda, lda, P + static_cast<size_t>(jt) * K * NR, C + static_cast<size_t>(i) * ldc + n0, ldc,
            std::min(NR, N - n0));
    }
  }
}

// ---------------------------------------------------------------------------------------
// GEMM 3: C[K, N] += Aᵀ G over rows [0, M) of A [M, K] (lda) and G [M, N] (ldg).

template <int R>
void kernel_atb(int M, const float* A, int lda, const float* Gj, int ldg, float* C, int ldc, int nc) {
  vf c0[R], c1[R];
  float tmp[NR];
  for (int r = 0; r < R; r++) {
    if (nc == NR) {
      c0[r] = loadu(C + static_cast<size_t>(r) * ldc);
      c1[r] = loadu(C + static_cast<size_t>(r) * ldc + VL);
    } else {
      std::memset(tmp, 0, sizeof tmp);
      std::memcpy(tmp, C + static_cast<size_t>(r) * ldc, nc * sizeof(float));
      c0[r] = loadu(tmp);
      c1[r] = loadu(tmp + VL);
    }
  }
  for (int m = 0; m < M; m++) {
    const vf b0 = loadu(Gj + static_cast<size_t>(m) * ldg);
    const vf b1 = loadu(Gj + static_cast<size_t>(m) * ldg + VL);
    const float* a = A + static_cast<size_t>(m) * lda;
    for (int r = 0; r < R; r++) {
      const vf av = splat(a[r]);
      c0[r] += av * b0;
      c1[r] += av * b1;
    }
  }
  for (int r = 0; r < R; r++) {
    if (nc == NR) {
      storeu(C + static_cast<size_t>(r) * ldc, c0[r]);
      storeu(C + static_cast<size_t>(r) * ldc + VL, c1[r]);
    } else {
      storeu(tmp, c0[r]);
      storeu(tmp + VL, c1[r]);
      std::memcpy(C + static_cast<size_t>(r) * ldc, tmp, nc * sizeof(float));
    }
  }
}

typedef void (*KernelATB)(int, const float*, int, const float*, int, float*, int, int);

template <int R>
struct TableATB {
  static void fill(KernelATB* t) {
    t[R] = kernel_atb<R>;
    TableATB<R - 1>::fill(t);
  }
};
template <>
struct TableATB<0> {
  static void fill(KernelATB*) {}
};

KernelATB* kernels_atb() {
  static KernelATB* const table = [] {  // thread-safe static initialisation
    static KernelATB t[MR + 1] = {};
    TableATB<MR>::fill(t);
    return t;
  }();
  return table;
}

void gemm_atb_acc(int M, int K, int N, const float* A, int lda, const float* G, int ldg, float* C, std::vector<float>& scratch) {
  KernelATB* kt = kernels_atb();
  const int NT = (N + NR - 1) / NR;
  const bool direct = N % NR == 0;
  if (!direct) scratch.resize(static_cast<size_t>(NT) * MC * NR);
  for (int m0 = 0; m0 < M; m0 += MC) {
    const int mc = std::min(MC, M - m0);
    const float* Gc = G + static_cast<size_t>(m0) * ldg;
    if (!direct) {
      for (int jt = 0; jt < NT; jt++) {
        const int n0 = jt * NR;
        const int nc = std::min(NR, N - n0);
        float* dst = scratch.data() + static_cast<size_t>(jt) * MC * NR;
        for (int m = 0; m < mc; m++) {
          float* row = dst + static_cast<size_t>(m) * NR;
          std::memcpy(row, Gc + static_cast<size_t>(m) * ldg + n0, nc * sizeof(float));
          for (int j = nc; j < NR; j++) row[j] = 0.f;
        }
      }
    }
    const float* Ac = A + static_cast<size_t>(m0) * lda;
    for (int k0 = 0; k0 < K; k0 += MR) {
      const int R = std::min(MR, K - k0);
      for (int jt = 0; jt < NT; jt++) {
        const int n0 = jt * NR;
        const float* Gj = direct ? Gc + n0 : scratch.data() + static_cast<size_t>(jt) * MC * NR;
        kt[R](mc, Ac + k0, lda, Gj, direct ? ldg : NR, C + static_cast<size_t>(k0) * N + n0, N, std::min(NR, N - n0));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Activations: φ and its derivatives, matching @nfdm/core's activations.ts.

enum Act { IDENTITY = 0, SELU = 1, SILU = 2, TANH = 3, SOFTPLUS = 4, SIGMOID = 5, RELU = 6, GELU_TANH = 7 };
constexpr int LAST_ACT = GELU_TANH;  // the largest activation code (index.cjs: NATIVE_ACTIVATIONS)

constexpr float SELU_LAMBDA = 1.0507009873554805f;
constexpr float SELU_LAMBDA_ALPHA = 1.7580993408473768f;  // λα, as in tf.selu

// exp with Cephes' polynomial; branch-free so loops calling it vectorise.
inline float fexp(float x) {
  // Clamp with x first so that a NaN input stays NaN (std::max/min return their first argument then).
  x = std::min(std::max(x, -87.3365447505531f), 88.3762626647949f);
  const float magic = 12582912.f;  // 1.5·2²³: round to nearest
  float fx = (x * 1.44269504088896341f + magic) - magic;
  float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  float z = r * r;
  float y = ((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r + 1.6666665459E-1f) * r +
            5.0000001201E-1f;
  y = y * z + r + 1.0f;
  int32_t n = static_cast<int32_t>(fx);
  int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

inline float fsigmoid(float h) { return 1.0f / (1.0f + fexp(-h)); }

// T = tanh(u) with S = 1 − T² and 1 + T, branch-free so loops calling it vectorise. With
// E = e^{−2|u|}: |T| = (1 − E)/(1 + E), S = 4E/(1 + E)², 1 + T = 2E/(1 + E) for u < 0 — no
// cancellation in the tails, where 1 − T² and 1 + T computed from a rounded T would lose all
// their digits; for |u| < 0.125, where 1 − E would, the series u − u³/3 + 2u⁵/15 − 17u⁷/315
// (relative error < 2·10⁻¹⁰) and S = 1 − T². A NaN u gives NaN everywhere.
inline void ftanh_parts(float u, float* T, float* S, float* onePlusT) {
  const float a = std::fabs(u);
  const float E = fexp(-2.f * a);
  const float inv = 1.f / (1.f + E);
  const float u2 = u * u;
  const bool small = a < 0.125f;
  const float t = small ? a * (1.f + u2 * (-1.f / 3.f + u2 * (2.f / 15.f + u2 * (-17.f / 315.f)))) : (1.f - E) * inv;
  const bool neg = u < 0.f;
  *T = neg ? -t : (u == u ? t : u);
  *S = small ? 1.f - t * t : 4.f * E * inv * inv;
  *onePlusT = neg ? (small ? 1.f - t : 2.f * E * inv) : 1.f + *T;
}

constexpr float GELU_C = 0.7978845608028654f;  // √(2/π)
constexpr float GELU_K = 0.044715f;

// Derivatives up to `deriv` (1: d1; 2: d1, d2; 3: d1, d2, d3) for a row of n values.
template <int ACT>
void act_row(const float* h, int n, float* v, float* d1, float* d2, float* d3) {
  for (int j = 0; j < n; j++) {
    const float x = h[j];
    float val, p1, p2, p3;
    if (ACT == IDENTITY) {
      val = x, p1 = 1.f, p2 = 0.f, p3 = 0.f;
    } else if (ACT == SELU) {
      const float e = SELU_LAMBDA_ALPHA * fexp(std::min(x, 0.f));
      const bool pos = x > 0.f;
      val = pos ? SELU_LAMBDA * x : e - SELU_LAMBDA_ALPHA;
      p1 = pos ? SELU_LAMBDA : e;
      p2 = pos ? 0.f : e;
      p3 = p2;
    } else if (ACT == SILU) {
      const float s = fsigmoid(x);
      val = x * s;
      const float p = s * (1.f - s);
      const float om = 1.f - 2.f * s;
      const float q = p * om;
      p1 = s + x * p;
      p2 = 2.f * p + x * q;
      p3 = 3.f * q + x * (q * om - 2.f * p * p);
    } else if (ACT == TANH) {
      const float a = std::tanh(x);
      val = a;
      p1 = 1.f - a * a;
      p2 = -2.f * a * p1;
      p3 = -2.f * (p1 * p1 + a * p2);
    } else if (ACT == SOFTPLUS) {
      const float s = fsigmoid(x);
      val = std::max(x, 0.f) + std::log1p(fexp(-std::fabs(x)));
      p1 = s;
      p2 = s * (1.f - s);
      p3 = p2 * (1.f - 2.f * s);
    } else if (ACT == GELU_TANH) {
      // φ = ½h(1 + T), T = tanh(u), u = c(h + kh³), S = 1 − T², u' = c(1 + 3kh²), u'' = 6ckh,
      // u''' = 6ck, Q = u'' − 2Tu'²:
      //   φ'  = ½(1 + T) + ½hSu',   φ'' = Su' + ½hSQ,
      //   φ''' = (3/2)SQ + ½hS(Q' − 2Tu'Q),   Q' = u''' − 2Su'³ − 4Tu'u''.
      const float x2 = x * x;
      float T, S, onePlusT;
      ftanh_parts(GELU_C * x * (1.f + GELU_K * x2), &T, &S, &onePlusT);
      const float du = GELU_C * (1.f + 3.f * GELU_K * x2);
      const float ddu = 6.f * GELU_C * GELU_K * x;
      const float Q = ddu - 2.f * T * du * du;
      const float dQ = 6.f * GELU_C * GELU_K - 2.f * S * du * du * du - 4.f * T * du * ddu;
      const float halfxS = 0.5f * x * S;
      val = 0.5f * x * onePlusT;
      p1 = 0.5f * onePlusT + halfxS * du;
      p2 = S * du + halfxS * Q;
      p3 = 1.5f * S * Q + halfxS * (dQ - 2.f * T * du * Q);
    } else if (ACT == SIGMOID) {
      const float s = fsigmoid(x);
      val = s;
      const float om = 1.f - 2.f * s;
      p1 = s * (1.f - s);
      p2 = p1 * om;
      p3 = p2 * om - 2.f * p1 * p1;
    } else {  // RELU
      const bool pos = x > 0.f;
      val = pos || x != x ? x : 0.f;  // NaN propagates
      p1 = pos ? 1.f : 0.f;
      p2 = 0.f;
      p3 = 0.f;
    }
    v[j] = val;
    d1[j] = p1;
    d2[j] = p2;
    d3[j] = p3;
  }
}

typedef void (*ActRow)(const float*, int, float*, float*, float*, float*);

ActRow act_fn(int act) {
  switch (act) {
    case SELU:
      return act_row<SELU>;
    case SILU:
      return act_row<SILU>;
    case TANH:
      return act_row<TANH>;
    case SOFTPLUS:
      return act_row<SOFTPLUS>;
    case SIGMOID:
      return act_row<SIGMOID>;
    case RELU:
      return act_row<RELU>;
    case GELU_TANH:
      return act_row<GELU_TANH>;
    default:
      return act_row<IDENTITY>;
  }
}

// Jet activation for batch rows [b0, b1): H [(k+1)B, n] (bias already added to the value block)
// → out (same shape) and the saved terms D [(k+1)B, n]: D1 = φ', D2 = φ''h', D3 = φ'''h'² + φ''h''.
void act_jet_forward(int act, int order, int B, int n, int b0, int b1, const float* H, float* out, float* D) {
  ActRow f = act_fn(act);
  std::vector<float> t1(n), t2(n), t3(n);
  const size_t blk = static_cast<size_t>(B) * n;
  for (int b = b0; b < b1; b++) {
    const size_t o = static_cast<size_t>(b) * n;
    float* d1 = D + o;
    f(H + o, n, out + o, d1, t2.data(), t3.data());
    if (order == 0) continue;
    const float* h1 = H + blk + o;
    float* a1 = out + blk + o;
    float* A = D + blk + o;
    for (int j = 0; j < n; j++) {
      a1[j] = d1[j] * h1[j];
      A[j] = t2[j] * h1[j];
    }
    if (order == 1) continue;
    const float* h2 = H + 2 * blk + o;
    float* a2 = out + 2 * blk + o;
    float* Bc = D + 2 * blk + o;
    for (int j = 0; j < n; j++) {
      a2[j] = A[j] * h1[j] + d1[j] * h2[j];
      Bc[j] = t3[j] * h1[j] * h1[j] + t2[j] * h2[j];
    }
  }
}

// In place: G (cotangents of the activation output) → cotangents of H, rows [b0, b1).
void act_jet_backward(int order, int B, int n, int b0, int b1, float* G, const float* D) {
  const size_t blk = static_cast<size_t>(B) * n;
  for (int b = b0; b < b1; b++) {
    const size_t o = static_cast<size_t>(b) * n;
    float* g0 = G + o;
    const float* d1 = D + o;
    if (order == 0) {
      for (int j = 0; j < n; j++) g0[j] *= d1[j];
      continue;
    }
    float* g1 = G + blk + o;
    const float* A = D + blk + o;
    if (order == 1) {
      for (int j = 0; j < n; j++) {
        const float x0 = g0[j], x1 = g1[j];
        g0[j] = x0 * d1[j] + x1 * A[j];
        g1[j] = x1 * d1[j];
      }
      continue;
    }
    float* g2 = G + 2 * blk + o;
    const float* Bc = D + 2 * blk + o;
    for (int j = 0; j < n; j++) {
      const float x0 = g0[j], x1 = g1[j], x2 = g2[j];
      g0[j] = x0 * d1[j] + x1 * A[j] + x2 * Bc[j];
      g1[j] = x1 * d1[j] + 2.f * x2 * A[j];
      g2[j] = x2 * d1[j];
    }
  }
}

// ---------------------------------------------------------------------------------------
// A small persistent thread pool (workers spin briefly, then sleep).

// A condition variable on pthreads directly. libstdc++ 12 gives std::condition_variable::wait
// the symbol version GLIBCXX_3.4.30, which older libstdc++ lacks: the prebuilt binaries link
// libstdc++ dynamically and need no symbol newer than GLIBCXX_3.4.22 (GCC 7) this way.
class CondVar {
 public:
  CondVar() { pthread_cond_init(&c_, nullptr); }
  ~CondVar() { pthread_cond_destroy(&c_); }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;
  template <class Pred>
  void wait(std::unique_lock<std::mutex>& lk, Pred pred) {
    while (!pred()) pthread_cond_wait(&c_, lk.mutex()->native_handle());
  }
  void notify_all() { pthread_cond_broadcast(&c_); }

 private:
  pthread_cond_t c_;
};

class Pool {
 public:
  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int i = 1; i < threads_; i++) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int threads() const { return threads_; }
  void run(int ntasks, const std::function<void(int)>& fn) {
    if (threads_ == 1 || ntasks <= 1) {
      for (int i = 0; i < ntasks; i++) fn(i);
      return;
    }
    fn_ = &fn;
    ntasks_ = ntasks;
    next_.store(0);
    finished_.store(0);
    {
      std::lock_guard<std::mutex> lk(m_);
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    tasks();
    while (finished_.load(std::memory_order_acquire) < threads_ - 1) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
  }

 private:
  void tasks() {
    for (int i; (i = next_.fetch_add(1)) < ntasks_;) (*fn_)(i);
  }
  void work() {
    uint64_t seen = 0;
    for (;;) {
      auto start = std::chrono::steady_clock::now();
      int spins = 0;
      while (gen_.load(std::memory_order_acquire) == seen) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
        if (++spins % 256 == 0 && std::chrono::steady_clock::now() - start > std::chrono::microseconds(200)) {
          std::unique_lock<std::mutex> lk(m_);
          cv_.wait(lk, [&] { return gen_.load() != seen; });
        }
      }
      seen = gen_.load(std::memory_order_acquire);
      if (stop_) return;
      tasks();
      finished_.fetch_add(1, std::memory_order_release);
    }
  }
  int threads_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  CondVar cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> next_{0};
  std::atomic<int> finished_{0};
  const std::function<void(int)>* fn_ = nullptr;
  int ntasks_ = 0;
  bool stop_ = false;
};

// Per calling thread (Node worker_threads each get their own pool and buffers).
thread_local Pool* g_pool = nullptr;

int default_threads() {
  const char* env = std::getenv("NFDM_NATIVE_THREADS");
  if (env && *env) {
    int t = std::atoi(env);
    if (t >= 1) return std::min(t, 64);
  }
  return 1;
}

Pool& pool() {
  if (!g_pool) g_pool = new Pool(default_threads());
  return *g_pool;
}

// Split the batch into per-task ranges, multiples of MR where possible.
struct Split {
  int tasks;
  int per;
};
Split split_batch(int B, int n_out, int K) {
  const int T = pool().threads();
  // Tiny problems are not worth waking a thread for.
  const double work = static_cast<double>(B) * n_out * std::max(K, 16);
  if (T == 1 || work < 64 * 1024) return {1, B};
  int per = (B + T - 1) / T;
  per = (per + MR - 1) / MR * MR;
  return {(B + per - 1) / per, per};
}

// ---------------------------------------------------------------------------------------
// The MLP jet.

struct Net {
  int L = 0;
  std::vector<int> dims;  // n_0 … n_L
  std::vector<const float*> W, b;
  int act = SELU;
  int out_act = -1;  // −1: none
  bool activated(int l) const { return l < L - 1 || out_act >= 0; }
  int act_of(int l) const { return l < L - 1 ? act : out_act; }
};

// Saved-buffer layout (R = (order+1)·B): a_0 [R, n_0]; for l = 1…L−1: a_l [R, n_l];
// for each activated layer l: D_l [R, n_{l+1}].
struct Layout {
  std::vector<size_t> a, D;
  size_t total = 0;
};
Layout layout(const Net& net, size_t R) {
  Layout lay;
  lay.a.resize(net.L);
  lay.D.assign(net.L, SIZE_MAX);
  size_t off = 0;
  for (int l = 0; l < net.L; l++) {
    lay.a[l] = off;
    off += R * net.dims[l];
  }
  for (int l = 0; l < net.L; l++) {
    if (!net.activated(l)) continue;
    lay.D[l] = off;
    off += R * net.dims[l + 1];
  }
  lay.total = off;
  return lay;
}

thread_local std::vector<float> tl_scratch;  // also used by pool workers
thread_local std::vector<float> tl_H, tl_G, tl_dA;
thread_local std::vector<std::vector<float>> tl_partial;

void forward(const Net& net, int order, int B, const float* x, float* out, float* saved) {
  const size_t R = static_cast<size_t>(order + 1) * B;
  const Layout lay = layout(net, R);
  std::memcpy(saved + lay.a[0], x, R * net.dims[0] * sizeof(float));
  int maxw = 0;
  for (int d : net.dims) maxw = std::max(maxw, d);
  std::vector<float>& Hbuf = tl_H;  // bound here: the lambda below may run on a pool thread
  Hbuf.resize(R * maxw);
  std::vector<float> P;
  for (int l = 0; l < net.L; l++) {
    const int K = net.dims[l], N = net.dims[l + 1];
    const float* A = saved + lay.a[l];
    P.resize(static_cast<size_t>((N + NR - 1) / NR) * K * NR);
    pack_b(K, N, net.W[l], false, P.data());
    const bool last = l == net.L - 1;
    const bool act = net.activated(l);
    float* H = act ? Hbuf.data() : out;  // un-activated last layer writes straight to out
    float* dst = last ? out : saved + lay.a[l + 1];
    const Split sp = split_batch(B, N, K);
    const float* bias = net.b[l];
    pool().run(sp.tasks, [&](int t) {
      const int b0 = t * sp.per, b1 = std::min(B, b0 + sp.per);
      if (b1 <= b0) return;
      for (int blk = 0; blk <= order; blk++) {
        const size_t r0 = static_cast<size_t>(blk) * B + b0;
        gemm_ab(b1 - b0, N, K, A + r0 * K, K, P.data(), H + r0 * N, N);
      }
      for (int b = b0; b < b1; b++) {
        float* row = H + static_cast<size_t>(b) * N;
        for (int j = 0; j < N; j++) row[j] += bias[j];
      }
      if (act) act_jet_forward(net.act_of(l), order, B, N, b0, b1, H, dst, saved + lay.D[l]);
    });
  }
}

void backward(const Net& net, int order, int B, const float* dOut, const float* saved, float* dX, const std::vector<float*>& dW,
              const std::vector<float*>& db) {
  const size_t R = static_cast<size_t>(order + 1) * B;
  const Layout lay = layout(net, R);
  int maxw = 0;
  for (int d : net.dims) maxw = std::max(maxw, d);
  tl_G.resize(R * maxw);
  tl_dA.resize(R * maxw);
  float* G = tl_G.data();
  float* dA = tl_dA.data();
  std::vector<std::vector<float>>& partial = tl_partial;  // bound here: read on pool threads
  std::memcpy(G, dOut, R * net.dims[net.L] * sizeof(float));
  std::vector<float> P;
  for (int l = net.L - 1; l >= 0; l--) {
    const int K = net.dims[l], N = net.dims[l + 1];
    const float* A = saved + lay.a[l];
    const bool act = net.activated(l);
    const float* D = act ? saved + lay.D[l] : nullptr;
    float* dst = l == 0 ? dX : dA;
    P.resize(static_cast<size_t>((K + NR - 1) / NR) * N * NR);
    pack_b(N, K, net.W[l], true, P.data());  // B = Wᵀ [N, K]
    const Split sp = split_batch(B, N, K);
    if (static_cast<int>(partial.size()) < sp.tasks) partial.resize(sp.tasks);
    for (int t = 0; t < sp.tasks; t++) partial[t].assign(static_cast<size_t>(K) * N + N, 0.f);
    pool().run(sp.tasks, [&](int t) {
      const int b0 = t * sp.per, b1 = std::min(B, b0 + sp.per);
      float* pw = partial[t].data();
      float* pb = pw + static_cast<size_t>(K) * N;
      if (b1 <= b0) return;
      if (act) act_jet_backward(order, B, N, b0, b1, G, D);
      for (int blk = 0; blk <= order; blk++) {
        const size_t r0 = static_cast<size_t>(blk) * B + b0;
        gemm_atb_acc(b1 - b0, K, N, A + r0 * K, K, G + r0 * N, N, pw, tl_scratch);
        gemm_ab(b1 - b0, K, N, G + r0 * N, N, P.data(), dst + r0 * K, K);
      }
      for (int b = b0; b < b1; b++) {
        const float* row = G + static_cast<size_t>(b) * N;
        for (int j = 0; j < N; j++) pb[j] += row[j];
      }
    });
    const size_t kn = static_cast<size_t>(K) * N;
    std::memcpy(dW[l], partial[0].data(), kn * sizeof(float));
    std::memcpy(db[l], partial[0].data() + kn, N * sizeof(float));
    for (int t = 1; t < sp.tasks; t++) {
      const float* p = partial[t].data();
      for (size_t i = 0; i < kn; i++) dW[l][i] += p[i];
      for (int j = 0; j < N; j++) db[l][j] += p[kn + j];
    }
    std::swap(G, dA);
  }
}

// ---------------------------------------------------------------------------------------
// Convolution, NHWC float32: 'same' zero padding p = (k−1)/2 for k ∈ {1, 3}, stride s ∈ {1, 2}.
//
//   y[n, i, j, o] = Σ_{a,b<k} Σ_c xp[n, s·i + a, s·j + b, c] · W[a, b, c, o]  (+ bias[o] if n < V)
//
// with xp the input padded by p zeros on every side (Hp = H + 2p, Wp = W + 2p), W in HWIO
// [k, k, C, O], output [N, Ho, Wo, O], Ho = ⌈H/s⌉, Wo = ⌈W/s⌉ (PyTorch's Conv2d(k, stride=s,
// padding=p)), and the bias on the first V images only (the value block of a jet).
//
// Forward = an "indirect GEMM": output pixel (i, j) of one image is row m = i·Wo + j of
// Y [Ho·Wo, O] = Σ_taps A_tap · W[tap], where row m of A_tap is the C values of xp at
// base(m) + toff[tap], base(m) = (s·i·Wp + s·j)·C, toff[a·k + b] = (a·Wp + b)·C. A register tile
// of R pixels × PW output channels accumulates over all k² taps and C channels (K = k²·C) before
// one store; W is packed into panels of width VL or 2·VL (so that O = 16 or 48 waste no lanes).
// The padded image is one scratch copy per image; nothing like im2col is materialised.
//
// Backward, with ďy = dy (stride 1) or dy spread onto the even positions of zeros [H, W] (stride 2):
//   ∂x[n, y, x, c]  = conv_same(ďy, W̃),  W̃[a, b, o, c] = W[k−1−a, k−1−b, c, o]  (the forward kernel);
//   ∂W[a, b, c, o]  = Σ_{n,i,j} xp[n, i + a, j + b, c] · ďy[n, i, j, o]
//                   = Σ_n A_tapᵀ · G  with, for stride 1, A_tap = xp + toff[tap] over the M = H·Wp
//                     rows of the padded grid and G = dy widened to Wp columns with zeros (the 2p
//                     extra columns multiply zeros); for stride 2, A_tap gathered at the Ho·Wo
//                     output pixels and G = dy;
//   ∂bias[o]        = Σ_{n<V, i, j} dy[n, i, j, o].
// Images are split over the thread pool; ∂W and ∂bias are summed from per-task partials.

struct Panel {
  int n0, nc, nv;  // first column, valid columns, vectors (panel width nv·VL)
  size_t off;      // offset of the packed panel [K, nv·VL]
};

// Panels of width 2·VL, the last one VL wide when at most VL columns remain.
std::vector<Panel> make_panels(int K, int N, size_t* total) {
  std::vector<Panel> list;
  size_t off = 0;
  for (int n0 = 0; n0 < N;) {
    const int rem = N - n0;
    const int nv = rem <= VL ? 1 : 2;
    const int nc = std::min(nv * VL, rem);
    list.push_back({n0, nc, nv, off});
    off += static_cast<size_t>(K) * nv * VL;
    n0 += nv * VL;
  }
  *total = off;
  return list;
}

// B [K, N] row-major → panels (zero padded).
void pack_panels(const std::vector<Panel>& panels, int K, int N, const float* B, float* P) {
  for (const Panel& pn : panels) {
    const int pw = pn.nv * VL;
    for (int k = 0; k < K; k++) {
      float* row = P + pn.off + static_cast<size_t>(k) * pw;
      std::memcpy(row, B + static_cast<size_t>(k) * N + pn.n0, pn.nc * sizeof(float));
      for (int j = pn.nc; j < pw; j++) row[j] = 0.f;
    }
  }
}

// C[r, 0:nc] = Σ_t Σ_c arow[r][toff[t] + c] · P[t·K + c, :] (+ bias) for r < R.
template <int R, int NV>
void kernel_conv(int T, const int* toff, int K, const float* const* arow, const float* P, float* C, int ldc, int nc, const float* bias) {
  constexpr int PW = NV * VL;
  vf acc[R][NV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = vf{};
  for (int t = 0; t < T; t++) {
    const float* a[R];
    for (int r = 0; r < R; r++) a[r] = arow[r] + toff[t];
    const float* Pt = P + static_cast<size_t>(t) * K * PW;
    for (int k = 0; k < K; k++) {
      vf b[NV];
      for (int v = 0; v < NV; v++) b[v] = loadu(Pt + static_cast<size_t>(k) * PW + v * VL);
      for (int r = 0; r < R; r++) {
        const vf av = splat(a[r][k]);
        for (int v = 0; v < NV; v++) acc[r][v] += av * b[v];
      }
    }
  }
  if (bias) {
    for (int v = 0; v < NV; v++) {
      const vf bv = loadu(bias + v * VL);
      for (int r = 0; r < R; r++) acc[r][v] += bv;
    }
  }
  for (int r = 0; r < R; r++) {
    float* dst = C + static_cast<size_t>(r) * ldc;
    if (nc == PW) {
      for (int v = 0; v < NV; v++) storeu(dst + v * VL, acc[r][v]);
    } else {
      float tmp[PW];
      for (int v = 0; v < NV; v++) storeu(tmp + v * VL, acc[r][v]);
      std::memcpy(dst, tmp, nc * sizeof(float));
    }
  }
}

// Cw[r, 0:nc] += Σ_m A[m, r] · G[m, 0:nc] for r < R (G is read PW wide: its buffer has slack).
template <int R, int NV>
void kernel_wgrad(int M, const float* A, int lda, const float* G, int ldg, float* Cw, int ldc, int nc) {
  constexpr int PW = NV * VL;
  vf acc[R][NV];
  float tmp[PW];
  for (int r = 0; r < R; r++) {
    std::memset(tmp, 0, sizeof tmp);
    std::memcpy(tmp, Cw + static_cast<size_t>(r) * ldc, nc * sizeof(float));
    for (int v = 0; v < NV; v++) acc[r][v] = loadu(tmp + v * VL);
  }
  for (int m = 0; m < M; m++) {
    vf g[NV];
    for (int v = 0; v < NV; v++) g[v] = loadu(G + static_cast<size_t>(m) * ldg + v * VL);
    const float* a = A + static_cast<size_t>(m) * lda;
    for (int r = 0; r < R; r++) {
      const vf av = splat(a[r]);
      for (int v = 0; v < NV; v++) acc[r][v] += av * g[v];
    }
  }
  for (int r = 0; r < R; r++) {
    for (int v = 0; v < NV; v++) storeu(tmp + v * VL, acc[r][v]);
    std::memcpy(Cw + static_cast<size_t>(r) * ldc, tmp, nc * sizeof(float));
  }
}

typedef void (*KernelConv)(int, const int*, int, const float* const*, const float*, float*, int, int, const float*);
typedef void (*KernelWgrad)(int, const float*, int, const float*, int, float*, int, int);

template <int NV, int R>
struct TableConv {
  static void fill(KernelConv* c, KernelWgrad* w) {
    c[R] = kernel_conv<R, NV>;
    w[R] = kernel_wgrad<R, NV>;
    TableConv<NV, R - 1>::fill(c, w);
  }
};
template <int NV>
struct TableConv<NV, 0> {
  static void fill(KernelConv*, KernelWgrad*) {}
};

struct ConvTables {
  KernelConv conv[3][MR + 1] = {};
  KernelWgrad wgrad[3][MR + 1] = {};
};
const ConvTables& conv_tables() {
  static const ConvTables tables = [] {
    ConvTables t;
    TableConv<1, MR>::fill(t.conv[1], t.wgrad[1]);
    TableConv<2, MR>::fill(t.conv[2], t.wgrad[2]);
    return t;
  }();
  return tables;
}

struct ConvGeom {
  int H, W, C, O, k, s, p, Hp, Wp, Ho, Wo;
  ConvGeom(int H_, int W_, int C_, int O_, int k_, int s_) : H(H_), W(W_), C(C_), O(O_), k(k_), s(s_) {
    p = (k - 1) / 2;
    Hp = H + 2 * p;
    Wp = W + 2 * p;
    Ho = (H + s - 1) / s;
    Wo = (W + s - 1) / s;
  }
  int taps() const { return k * k; }
  // Padded image with 2 spare zero rows (the stride-1 ∂W reads up to row Hp·Wp + 1).
  size_t padded_len(int channels) const { return (static_cast<size_t>(Hp) * Wp + 2) * channels; }
  std::vector<int> tap_offsets(int channels) const {
    std::vector<int> t(taps());
    for (int a = 0; a < k; a++)
      for (int b = 0; b < k; b++) t[a * k + b] = (a * Wp + b) * channels;
    return t;
  }
};

// img [H, W, ch] → dst [Hp·Wp + 2, ch] with p zeros around.
void pad_image(const ConvGeom& g, const float* img, int ch, float* dst) {
  if (g.p == 0) {
    std::memcpy(dst, img, static_cast<size_t>(g.H) * g.W * ch * sizeof(float));
    std::memset(dst + static_cast<size_t>(g.H) * g.W * ch, 0, 2 * ch * sizeof(float));
    return;
  }
  std::memset(dst, 0, g.padded_len(ch) * sizeof(float));
  const size_t row = static_cast<size_t>(g.W) * ch;
  for (int y = 0; y < g.H; y++) std::memcpy(dst + ((static_cast<size_t>(y) + g.p) * g.Wp + g.p) * ch, img + y * row, row * sizeof(float));
}

// dy [Ho, Wo, O] → ďy on the even positions of zeros, padded: dst [Hp·Wp + 2, O].
void spread_pad(const ConvGeom& g, const float* dy, float* dst) {
  std::memset(dst, 0, g.padded_len(g.O) * sizeof(float));
  for (int i = 0; i < g.Ho; i++)
    for (int j = 0; j < g.Wo; j++)
      std::memcpy(dst + ((static_cast<size_t>(2 * i) + g.p) * g.Wp + 2 * j + g.p) * g.O, dy + (static_cast<size_t>(i) * g.Wo + j) * g.O,
                  g.O * sizeof(float));
}

// Few output channels (N ≤ SMALL_N, K ≥ VL: the U-Net's output convolution, and ∂x of its input
// convolution): the outer-product tiles above would fill N of their VL lanes. Instead every
// output value is a dot product over (tap, channel), vectorised along the K channels of each
// tap: Wt[t][o][c] = B[t·K + c, o], acc[o] += A_t[p, c:c+VL] ⊙ Wt[t][o][c:c+VL], then one
// horizontal sum per (pixel, o).
constexpr int SMALL_N = 4;
inline bool small_n(int K, int N) { return N <= SMALL_N && K >= VL; }

inline float hsum(vf v) {
  float t[VL];
  storeu(t, v);
  float s = 0.f;
  for (int i = 0; i < VL; i++) s += t[i];
  return s;
}

template <int N>
void conv_pixel_smalln(int T, const int* toff, int K, const float* a, const float* Wt, const float* bias, float* out) {
  vf acc[N];
  for (int o = 0; o < N; o++) acc[o] = vf{};
  float tail[N] = {};
  const int K0 = K - K % VL;
  for (int t = 0; t < T; t++) {
    const float* at = a + toff[t];
    const float* wt = Wt + static_cast<size_t>(t) * N * K;
    for (int c = 0; c < K0; c += VL) {
      const vf av = loadu(at + c);
      for (int o = 0; o < N; o++) acc[o] += av * loadu(wt + static_cast<size_t>(o) * K + c);
    }
    for (int c = K0; c < K; c++)
      for (int o = 0; o < N; o++) tail[o] += at[c] * wt[static_cast<size_t>(o) * K + c];
  }
  for (int o = 0; o < N; o++) out[o] = hsum(acc[o]) + tail[o] + (bias ? bias[o] : 0.f);
}

/** The kernel [taps·K, N] packed for conv_image: panels for the GEMM tiles, or Wt for few outputs. */
struct PackedConv {
  int T, K, N;
  bool small;
  std::vector<Panel> panels;
  std::vector<float> P;
  PackedConv(int T_, int K_, int N_, const float* B) : T(T_), K(K_), N(N_), small(small_n(K_, N_)) {
    if (small) {
      P.resize(static_cast<size_t>(T) * N * K);
      for (int t = 0; t < T; t++)
        for (int c = 0; c < K; c++)
          for (int o = 0; o < N; o++) P[(static_cast<size_t>(t) * N + o) * K + c] = B[(static_cast<size_t>(t) * K + c) * N + o];
    } else {
      size_t len;
      panels = make_panels(T * K, N, &len);
      P.resize(len);
      pack_panels(panels, T * K, N, B, P.data());
    }
  }
};

// One image: src padded [Hp·Wp + 2, K] (K input channels of this convolution), stride s →
// out [Ho·Wo, N] with the packed kernel and an optional padded bias.
void conv_image(int Ho, int Wo, int Wp, int s, const float* src, const std::vector<int>& toff, const PackedConv& pk, const float* bias, float* out) {
  const int K = pk.K, N = pk.N;
  const int T = static_cast<int>(toff.size());
  const int M = Ho * Wo;
  if (pk.small) {
    typedef void (*Pixel)(int, const int*, int, const float*, const float*, const float*, float*);
    static const Pixel fns[SMALL_N + 1] = {nullptr, conv_pixel_smalln<1>, conv_pixel_smalln<2>, conv_pixel_smalln<3>, conv_pixel_smalln<4>};
    const Pixel f = fns[N];
    for (int m = 0; m < M; m++) {
      const int i = m / Wo, j = m % Wo;
      f(T, toff.data(), K, src + (static_cast<size_t>(s) * i * Wp + static_cast<size_t>(s) * j) * K, pk.P.data(), bias,
        out + static_cast<size_t>(m) * N);
    }
    return;
  }
  const ConvTables& kt = conv_tables();
  const float* arow[MR];
  for (int m0 = 0; m0 < M; m0 += MR) {
    const int R = std::min(MR, M - m0);
    for (int r = 0; r < R; r++) {
      const int i = (m0 + r) / Wo, j = (m0 + r) % Wo;
      arow[r] = src + (static_cast<size_t>(s) * i * Wp + static_cast<size_t>(s) * j) * K;
    }
    for (const Panel& pn : pk.panels)
      kt.conv[pn.nv][R](T, toff.data(), K, arow, pk.P.data() + pn.off, out + static_cast<size_t>(m0) * N + pn.n0, N, pn.nc,
                        bias ? bias + pn.n0 : nullptr);
  }
}

// Few output channels: dW[c, o] += Σ_m A[m, c] G[m, o], vectorised along c (VL at a time).
template <int N>
void wgrad_smalln(int M, int K, const float* A, int lda, const float* G, int ldg, float* dW) {
  const int K0 = K - K % VL;
  for (int c0 = 0; c0 < K0; c0 += VL) {
    vf acc[N];
    for (int o = 0; o < N; o++) acc[o] = vf{};
    for (int m = 0; m < M; m++) {
      const vf av = loadu(A + static_cast<size_t>(m) * lda + c0);
      const float* g = G + static_cast<size_t>(m) * ldg;
      for (int o = 0; o < N; o++) acc[o] += av * splat(g[o]);
    }
    for (int o = 0; o < N; o++) {
      float t[VL];
      storeu(t, acc[o]);
      for (int i = 0; i < VL; i++) dW[static_cast<size_t>(c0 + i) * N + o] += t[i];
    }
  }
  for (int c = K0; c < K; c++)
    for (int m = 0; m < M; m++)
      for (int o = 0; o < N; o++) dW[static_cast<size_t>(c) * N + o] += A[static_cast<size_t>(m) * lda + c] * G[static_cast<size_t>(m) * ldg + o];
}

// dW [K, N] += Aᵀ G over rows [0, M): A [M, K] (lda), G [M, N] (ldg, read up to 2·VL past N).
void wgrad_rows(int M, int K, int N, const float* A, int lda, const float* G, int ldg, const std::vector<Panel>& panels, float* dW) {
  if (small_n(K, N)) {
    typedef void (*Fn)(int, int, const float*, int, const float*, int, float*);
    static const Fn fns[SMALL_N + 1] = {nullptr, wgrad_smalln<1>, wgrad_smalln<2>, wgrad_smalln<3>, wgrad_smalln<4>};
    fns[N](M, K, A, lda, G, ldg, dW);
    return;
  }
  const ConvTables& kt = conv_tables();
  constexpr int MCW = 128;
  for (int m0 = 0; m0 < M; m0 += MCW) {
    const int mc = std::min(MCW, M - m0);
    for (int k0 = 0; k0 < K; k0 += MR) {
      const int R = std::min(MR, K - k0);
      for (const Panel& pn : panels)
        kt.wgrad[pn.nv][R](mc, A + static_cast<size_t>(m0) * lda + k0, lda, G + static_cast<size_t>(m0) * ldg + pn.n0, ldg,
                           dW + static_cast<size_t>(k0) * N + pn.n0, N, pn.nc);
    }
  }
}

thread_local std::vector<float> tl_pad, tl_pad2, tl_gath;

int split_images(int n, double work_per_image) {
  const int T = pool().threads();
  if (T == 1 || n <= 1 || work_per_image * n < 256 * 1024) return 1;
  return std::min(T, n);
}

// x [N, H, W, C], kernel [k, k, C, O] → y [N, Ho, Wo, O]; bias [O] (or null) on images n < V.
void conv_forward(const ConvGeom& g, int Nimg, const float* x, const float* kernel, const float* bias, int V, float* y) {
  const PackedConv pk(g.taps(), g.C, g.O, kernel);
  std::vector<float> bpad;
  if (bias) {
    bpad.assign(g.O + 2 * VL, 0.f);
    std::memcpy(bpad.data(), bias, g.O * sizeof(float));
  }
  const std::vector<int> toff = g.tap_offsets(g.C);
  const size_t in_img = static_cast<size_t>(g.H) * g.W * g.C, out_img = static_cast<size_t>(g.Ho) * g.Wo * g.O;
  const int tasks = split_images(Nimg, static_cast<double>(g.Ho) * g.Wo * g.O * g.taps() * g.C);
  const int per = (Nimg + tasks - 1) / tasks;
  pool().run(tasks, [&](int t) {
    std::vector<float>& pad = tl_pad;
    if (g.p > 0) pad.resize(g.padded_len(g.C));
    for (int n = t * per; n < std::min(Nimg, (t + 1) * per); n++) {
      const float* src = x + n * in_img;
      if (g.p > 0) {
        pad_image(g, src, g.C, pad.data());
        src = pad.data();
      }
      conv_image(g.Ho, g.Wo, g.Wp, g.s, src, toff, pk, n < V && bias ? bpad.data() : nullptr, y + n * out_img);
    }
  });
}

// dy [N, Ho, Wo, O] → dx [N, H, W, C] (or null: skipped), dW [k, k, C, O], db [O] (or null: skipped).
void conv_backward(const ConvGeom& g, int Nimg, const float* dy, const float* x, const float* kernel, int V, float* dx, float* dW, float* db) {
  const int T = g.taps();
  // W̃ [k, k, O, C]: W̃[a, b, o, c] = W[k−1−a, k−1−b, c, o], packed for the ∂x convolution.
  std::vector<float> flipped(static_cast<size_t>(T) * g.C * g.O);
  for (int a = 0; a < g.k; a++)
    for (int b = 0; b < g.k; b++) {
      const float* src = kernel + static_cast<size_t>((g.k - 1 - a) * g.k + (g.k - 1 - b)) * g.C * g.O;
      float* dst = flipped.data() + static_cast<size_t>(a * g.k + b) * g.O * g.C;
      for (int c = 0; c < g.C; c++)
        for (int o = 0; o < g.O; o++) dst[static_cast<size_t>(o) * g.C + c] = src[static_cast<size_t>(c) * g.O + o];
    }
  const PackedConv pk(T, g.O, g.C, flipped.data());
  size_t wplen;
  const std::vector<Panel> wpanels = make_panels(g.C, g.O, &wplen);
  const std::vector<int> toff_x = g.tap_offsets(g.C), toff_dy = g.tap_offsets(g.O);
  const size_t in_img = static_cast<size_t>(g.H) * g.W * g.C, out_img = static_cast<size_t>(g.Ho) * g.Wo * g.O;
  const size_t wlen = static_cast<size_t>(T) * g.C * g.O;
  const int tasks = split_images(Nimg, 2.0 * g.Ho * g.Wo * g.O * T * g.C);
  const int per = (Nimg + tasks - 1) / tasks;
  std::vector<std::vector<float>> partial(tasks);
  pool().run(tasks, [&](int t) {
    std::vector<float>& pw = partial[t];
    pw.assign(wlen + g.O, 0.f);
    std::vector<float>& xpad = tl_pad;
    std::vector<float>& gbuf = tl_pad2;
    std::vector<float>& gath = tl_gath;
    xpad.resize(g.padded_len(g.C));
    const size_t grows = g.s == 1 ? static_cast<size_t>(g.H) * g.Wp : static_cast<size_t>(g.Ho) * g.Wo;
    const size_t glen = std::max(g.padded_len(g.O), grows * g.O) + 2 * VL;
    gbuf.resize(glen);
    for (int n = t * per; n < std::min(Nimg, (t + 1) * per); n++) {
      const float* dyn = dy + n * out_img;
      if (db && n < V) {
        float* pb = pw.data() + wlen;
        for (size_t m = 0; m < static_cast<size_t>(g.Ho) * g.Wo; m++)
          for (int o = 0; o < g.O; o++) pb[o] += dyn[m * g.O + o];
      }
      if (dx) {
        // ∂x: the stride-1 forward convolution of the padded ďy with W̃ (O input channels → C).
        if (g.s == 1) {
          pad_image(g, dyn, g.O, gbuf.data());
        } else {
          spread_pad(g, dyn, gbuf.data());
        }
        conv_image(g.H, g.W, g.Wp, 1, gbuf.data(), toff_dy, pk, nullptr, dx + n * in_img);
      }
      if (!dW) continue;
      pad_image(g, x + n * in_img, g.C, xpad.data());
      float* G = gbuf.data();
      if (g.s == 1) {
        // G [H·Wp, O]: dy widened with zeros in columns W … Wp−1 (+ slack for the panel loads).
        std::memset(G, 0, glen * sizeof(float));
        for (int i = 0; i < g.H; i++)
          std::memcpy(G + static_cast<size_t>(i) * g.Wp * g.O, dyn + static_cast<size_t>(i) * g.W * g.O, static_cast<size_t>(g.W) * g.O * sizeof(float));
        for (int tap = 0; tap < T; tap++)
          wgrad_rows(g.H * g.Wp, g.C, g.O, xpad.data() + toff_x[tap], g.C, G, g.O, wpanels, pw.data() + static_cast<size_t>(tap) * g.C * g.O);
      } else {
        // Stride 2: A_tap gathered at the output pixels, G = dy.
        const int M = g.Ho * g.Wo;
        std::memcpy(G, dyn, static_cast<size_t>(M) * g.O * sizeof(float));
        std::memset(G + static_cast<size_t>(M) * g.O, 0, 2 * VL * sizeof(float));
        gath.resize(static_cast<size_t>(M) * g.C);
        for (int tap = 0; tap < T; tap++) {
          for (int m = 0; m < M; m++) {
            const int i = m / g.Wo, j = m % g.Wo;
            std::memcpy(gath.data() + static_cast<size_t>(m) * g.C,
                        xpad.data() + (static_cast<size_t>(2 * i) * g.Wp + 2 * j) * g.C + toff_x[tap], g.C * sizeof(float));
          }
          wgrad_rows(M, g.C, g.O, gath.data(), g.C, G, g.O, wpanels, pw.data() + static_cast<size_t>(tap) * g.C * g.O);
        }
      }
    }
  });
  if (dW) std::memcpy(dW, partial[0].data(), wlen * sizeof(float));
  if (db) std::memcpy(db, partial[0].data() + wlen, g.O * sizeof(float));
  for (int t = 1; t < tasks; t++) {
    const float* p = partial[t].data();
    if (dW)
      for (size_t i = 0; i < wlen; i++) dW[i] += p[i];
    if (db)
      for (int o = 0; o < g.O; o++) db[o] += p[wlen + o];
  }
}

// ---------------------------------------------------------------------------------------
// GroupNorm (+ a per-image channel shift before it, + SiLU after it) on an image jet of order
// 0 or 1, NHWC: x [(order+1)·B, P, C] with P = H·W pixels, G groups of Cg = C/G channels.
// Per image and group, over its n = P·Cg entries (h = x + shift, h′ = x′ + shift′):
//   μ = mean h, c = h − μ, s = √(mean c² + ε), ĥ = c/s,
//   c′ = h′ − mean h′, s′ = mean(ĥ c′) = mean(c c′)/s, ĥ′ = (c′ − ĥ s′)/s,
//   y = γ ĥ + β, y′ = γ ĥ′,   out = φ(y), out′ = φ′(y) y′   (φ = SiLU, or the identity).
// Backward, from cotangents (a, a′) of (out, out′):
//   gy = a φ′(y) + a′ φ″(y) y′,  gy′ = a′ φ′(y);  ∂γ = Σ gy ĥ + gy′ ĥ′,  ∂β = Σ gy;
//   gĥ = γ gy,  G′ = γ gy′;  with m = mean(G′ ĥ) (per group):
//   the total cotangent of ĥ:  T = gĥ − (G′ s′ + c′ m)/s     (through ĥ′ and s′),
//   ∂h  = (T − mean T − ĥ (mean(T ĥ) + mean(G′ ĥ′)))/s,      mean T = mean gĥ − s′ mean G′/s,
//                                                            mean(T ĥ) = mean(gĥ ĥ) − 2 s′ m/s,
//   ∂h′ = (G′ − mean G′ − ĥ m)/s;   ∂shift = Σ_pixels ∂h (and ∂shift′ = Σ ∂h′).
// (mean(G′ ĥ′) is ĥ′'s explicit 1/s.) Order 0 keeps the ĥ terms: ∂h = (gĥ − mean gĥ − ĥ mean(gĥ ĥ))/s.
// Saved per image and group: μ, s, μ′, s′ (4 floats); the backward recomputes ĥ, ĥ′, y, y′.

struct GnShape {
  int B, P, C, G, order;
  bool silu;
  int cg() const { return C / G; }
};

#define NFDM_R __restrict__

// Per-channel constants of one image: x − mu = h − μ (the shift folded in), is = 1/s, s1 = s′.
struct GnRow {
  const float *mu, *is, *mu1, *s1, *gamma, *beta;
};

// Forward, one pixel row of C channels: out = φ(γ ĥ + β), out′ = φ′(y) γ ĥ′.
template <bool T1, bool SILU>
void gn_out_row(int C, const GnRow& k, const float* NFDM_R h0, const float* NFDM_R h1, float* NFDM_R o0, float* NFDM_R o1) {
  const float *NFDM_R mu = k.mu, *NFDM_R is = k.is, *NFDM_R mu1 = k.mu1, *NFDM_R s1 = k.s1, *NFDM_R gamma = k.gamma, *NFDM_R beta = k.beta;
  for (int c = 0; c < C; c++) {
    const float hat = (h0[c] - mu[c]) * is[c];
    const float y = gamma[c] * hat + beta[c];
    float y1 = 0.f;
    if (T1) y1 = gamma[c] * ((h1[c] - mu1[c]) - hat * s1[c]) * is[c];
    if (SILU) {
      const float sg = fsigmoid(y);
      o0[c] = y * sg;
      if (T1) o1[c] = (sg + y * sg * (1.f - sg)) * y1;
    } else {
      o0[c] = y;
      if (T1) o1[c] = y1;
    }
  }
}

// Backward pass A, one pixel row: gĥ, G′ (kept) and the per-channel sums
// acc = [∂γ, ∂β, Σ gĥ, Σ gĥ ĥ, Σ G′, Σ G′ ĥ, Σ G′ ĥ′] (7 arrays of C floats).
template <bool T1, bool SILU>
void gn_grad_row_impl(int C, const float* NFDM_R mu, const float* NFDM_R is, const float* NFDM_R mu1, const float* NFDM_R s1,
                      const float* NFDM_R gamma, const float* NFDM_R beta, const float* NFDM_R h0, const float* NFDM_R h1,
                      const float* NFDM_R a0, const float* NFDM_R a1, float* NFDM_R ghat, float* NFDM_R g1out, float* NFDM_R dg,
                      float* NFDM_R db, float* NFDM_R sA, float* NFDM_R sB, float* NFDM_R sM1, float* NFDM_R sM, float* NFDM_R sM3) {
  for (int c = 0; c < C; c++) {
    const float hat = (h0[c] - mu[c]) * is[c];
    const float y = gamma[c] * hat + beta[c];
    float hat1 = 0.f, y1 = 0.f, gy = a0[c], gy1 = 0.f;
    if (T1) {
      hat1 = ((h1[c] - mu1[c]) - hat * s1[c]) * is[c];
      y1 = gamma[c] * hat1;
      gy1 = a1[c];
    }
    if (SILU) {
      const float sg = fsigmoid(y);
      const float p = sg * (1.f - sg);
      const float d1 = sg + y * p;
      if (T1) {
        const float d2 = 2.f * p + y * p * (1.f - 2.f * sg);
        gy = gy * d1 + gy1 * d2 * y1;
        gy1 = gy1 * d1;
      } else {
        gy = gy * d1;
      }
    }
    dg[c] += gy * hat + gy1 * hat1;
    db[c] += gy;
    const float gh = gy * gamma[c];
    ghat[c] = gh;
    sA[c] += gh;
    sB[c] += gh * hat;
    if (T1) {
      const float g1 = gy1 * gamma[c];
      g1out[c] = g1;
      sM1[c] += g1;
      sM[c] += g1 * hat;
      sM3[c] += g1 * hat1;
    }
  }
}

template <bool T1, bool SILU>
inline void gn_grad_row(int C, const GnRow& k, const float* h0, const float* h1, const float* a0, const float* a1, float* ghat, float* g1out,
                        float* acc) {
  gn_grad_row_impl<T1, SILU>(C, k.mu, k.is, k.mu1, k.s1, k.gamma, k.beta, h0, h1, a0, a1, ghat, g1out, acc, acc + C, acc + 2 * C, acc + 3 * C,
                             acc + 4 * C, acc + 5 * C, acc + 6 * C);
}

// Backward pass B, one pixel row: ∂h = is (T − kA − ĥ kB), T = gĥ − (G′ s′ + c′ kD) is; ∂h′ = is (G′ − kC − ĥ kD).
template <bool T1>
void gn_dx_row(int C, const GnRow& k, const float* NFDM_R kA, const float* NFDM_R kB, const float* NFDM_R kC, const float* NFDM_R kD,
               const float* NFDM_R h0, const float* NFDM_R h1, const float* NFDM_R ghat, const float* NFDM_R g1in, float* NFDM_R d0,
               float* NFDM_R d1, float* NFDM_R ds0, float* NFDM_R ds1) {
  const float *NFDM_R mu = k.mu, *NFDM_R is = k.is, *NFDM_R mu1 = k.mu1, *NFDM_R s1 = k.s1;
  for (int c = 0; c < C; c++) {
    const float hat = (h0[c] - mu[c]) * is[c];
    float T = ghat[c];
    if (T1) {
      const float c1 = h1[c] - mu1[c];
      const float g1 = g1in[c];
      T -= (g1 * s1[c] + c1 * kD[c]) * is[c];
      const float v1 = (g1 - kC[c] - hat * kD[c]) * is[c];
      d1[c] = v1;
      ds1[c] += v1;
    }
    const float v0 = (T - kA[c] - hat * kB[c]) * is[c];
    d0[c] = v0;
    ds0[c] += v0;
  }
}

thread_local std::vector<float> tl_gn_acc, tl_gn_buf, tl_gn_ds;

// Per-channel sums → per-group sums (double).
inline void group_sums(const float* acc, int C, int G, double* out) {
  const int cg = C / G;
  for (int g = 0; g < G; g++) {
    double t = 0;
    for (int c = g * cg; c < (g + 1) * cg; c++) t += acc[c];
    out[g] = t;
  }
}

void gn_forward(const GnShape& S, const float* x, const float* shift, const float* gamma, const float* beta, float eps, float* out, float* stats) {
  const int B = S.B, P = S.P, C = S.C, G = S.G, cg = S.cg();
  const size_t img = static_cast<size_t>(P) * C;
  const int tasks = split_images(B, 8.0 * img * (S.order + 1));
  const int per = (B + tasks - 1) / tasks;
  pool().run(tasks, [&](int t) {
    std::vector<float>& acc = tl_gn_acc;
    acc.resize(4 * static_cast<size_t>(C));
    std::vector<float>& buf = tl_gn_buf;
    buf.resize(6 * static_cast<size_t>(C));
    float *mu_c = buf.data(), *is_c = mu_c + C, *mu1_c = is_c + C, *s1_c = mu1_c + C, *sh0 = s1_c + C, *sh1 = sh0 + C;
    std::vector<double> grp(4 * static_cast<size_t>(G));
    const GnRow k{mu_c, is_c, mu1_c, s1_c, gamma, beta};
    for (int b = t * per; b < std::min(B, (t + 1) * per); b++) {
      const float* h0 = x + b * img;
      const float* h1 = S.order ? x + (static_cast<size_t>(B) + b) * img : nullptr;
      for (int c = 0; c < C; c++) {
        sh0[c] = shift ? shift[static_cast<size_t>(b) * C + c] : 0.f;
        sh1[c] = shift && S.order ? shift[(static_cast<size_t>(B) + b) * C + c] : 0.f;
      }
      float *NFDM_R s0 = acc.data(), *NFDM_R s1 = s0 + C, *NFDM_R q0 = s1 + C, *NFDM_R q1 = q0 + C;
      std::fill(acc.begin(), acc.end(), 0.f);
      // Pass 1: means.
      for (int p = 0; p < P; p++) {
        const float* NFDM_R r0 = h0 + static_cast<size_t>(p) * C;
        for (int c = 0; c < C; c++) s0[c] += r0[c];
      }
      if (h1)
        for (int p = 0; p < P; p++) {
          const float* NFDM_R r1 = h1 + static_cast<size_t>(p) * C;
          for (int c = 0; c < C; c++) s1[c] += r1[c];
        }
      const double n = static_cast<double>(P) * cg;
      group_sums(s0, C, G, grp.data());
      group_sums(s1, C, G, grp.data() + G);
      for (int g = 0; g < G; g++) {
        double t0 = 0, t1 = 0;
        for (int c = g * cg; c < (g + 1) * cg; c++) t0 += sh0[c], t1 += sh1[c];
        grp[g] = (grp[g] + static_cast<double>(P) * t0) / n;  // μ
        grp[G + g] = (grp[G + g] + static_cast<double>(P) * t1) / n;  // μ′
      }
      for (int c = 0; c < C; c++) {
        mu_c[c] = static_cast<float>(grp[c / cg]) - sh0[c];  // x − mu_c = h − μ
        mu1_c[c] = static_cast<float>(grp[G + c / cg]) - sh1[c];
      }
      // Pass 2: Σ c², Σ c c′.
      const float* NFDM_R m0 = mu_c;
      const float* NFDM_R m1 = mu1_c;
      for (int p = 0; p < P; p++) {
        const float* NFDM_R r0 = h0 + static_cast<size_t>(p) * C;
        if (h1) {
          const float* NFDM_R r1 = h1 + static_cast<size_t>(p) * C;
          for (int c = 0; c < C; c++) {
            const float d0 = r0[c] - m0[c];
            q0[c] += d0 * d0;
            q1[c] += d0 * (r1[c] - m1[c]);
          }
        } else {
          for (int c = 0; c < C; c++) {
            const float d0 = r0[c] - m0[c];
            q0[c] += d0 * d0;
          }
        }
      }
      group_sums(q0, C, G, grp.data() + 2 * G);
      group_sums(q1, C, G, grp.data() + 3 * G);
      for (int g = 0; g < G; g++) {
        const double s = std::sqrt(grp[2 * G + g] / n + eps);
        float* st = stats + (static_cast<size_t>(b) * G + g) * 4;
        st[0] = static_cast<float>(grp[g]);
        st[1] = static_cast<float>(s);
        st[2] = static_cast<float>(grp[G + g]);
        st[3] = static_cast<float>(grp[3 * G + g] / n / s);
      }
      for (int c = 0; c < C; c++) {
        const float* st = stats + (static_cast<size_t>(b) * G + c / cg) * 4;
        is_c[c] = 1.f / st[1];
        s1_c[c] = st[3];
      }
      // Pass 3: outputs.
      float* o0 = out + b * img;
      float* o1 = S.order ? out + (static_cast<size_t>(B) + b) * img : nullptr;
      for (int p = 0; p < P; p++) {
        const size_t off = static_cast<size_t>(p) * C;
        if (h1 && S.silu)
          gn_out_row<true, true>(C, k, h0 + off, h1 + off, o0 + off, o1 + off);
        else if (h1)
          gn_out_row<true, false>(C, k, h0 + off, h1 + off, o0 + off, o1 + off);
        else if (S.silu)
          gn_out_row<false, true>(C, k, h0 + off, nullptr, o0 + off, nullptr);
        else
          gn_out_row<false, false>(C, k, h0 + off, nullptr, o0 + off, nullptr);
      }
    }
  });
}

void gn_backward(const GnShape& S, const float* dout, const float* x, const float* shift, const float* gamma, const float* beta, const float* stats,
                 float* dx, float* dgamma, float* dbeta, float* dshift) {
  const int B = S.B, P = S.P, C = S.C, G = S.G, cg = S.cg();
  const size_t img = static_cast<size_t>(P) * C;
  const int tasks = split_images(B, 12.0 * img * (S.order + 1));
  const int per = (B + tasks - 1) / tasks;
  std::vector<std::vector<float>> partial(tasks);
  pool().run(tasks, [&](int t) {
    std::vector<float>& pg = partial[t];
    pg.assign(2 * static_cast<size_t>(C), 0.f);
    std::vector<float>& acc = tl_gn_acc;
    acc.resize(7 * static_cast<size_t>(C));
    std::vector<float>& buf = tl_gn_buf;
    buf.resize(2 * img + 8 * static_cast<size_t>(C));
    std::vector<float>& dsbuf = tl_gn_ds;
    dsbuf.resize(2 * static_cast<size_t>(C));
    float *ghat = buf.data(), *G1 = ghat + img, *mu_c = G1 + img, *is_c = mu_c + C, *mu1_c = is_c + C, *s1_c = mu1_c + C;
    float *kA = s1_c + C, *kB = kA + C, *kC = kB + C, *kD = kC + C;
    std::vector<double> grp(5 * static_cast<size_t>(G));
    const GnRow k{mu_c, is_c, mu1_c, s1_c, gamma, beta};
    for (int b = t * per; b < std::min(B, (t + 1) * per); b++) {
      const float* h0 = x + b * img;
      const float* h1 = S.order ? x + (static_cast<size_t>(B) + b) * img : nullptr;
      const float* a0 = dout + b * img;
      const float* a1 = S.order ? dout + (static_cast<size_t>(B) + b) * img : nullptr;
      for (int c = 0; c < C; c++) {
        const float* st = stats + (static_cast<size_t>(b) * G + c / cg) * 4;
        const float sh0 = shift ? shift[static_cast<size_t>(b) * C + c] : 0.f;
        const float sh1 = shift && S.order ? shift[(static_cast<size_t>(B) + b) * C + c] : 0.f;
        mu_c[c] = st[0] - sh0;
        is_c[c] = 1.f / st[1];
        mu1_c[c] = st[2] - sh1;
        s1_c[c] = st[3];
      }
      // Pass A: ∂γ, ∂β into acc[0, 2C) (added to the task's partial below), gĥ, G′ and the sums.
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int p = 0; p < P; p++) {
        const size_t off = static_cast<size_t>(p) * C;
        if (h1 && S.silu)
          gn_grad_row<true, true>(C, k, h0 + off, h1 + off, a0 + off, a1 + off, ghat + off, G1 + off, acc.data());
        else if (h1)
          gn_grad_row<true, false>(C, k, h0 + off, h1 + off, a0 + off, a1 + off, ghat + off, G1 + off, acc.data());
        else if (S.silu)
          gn_grad_row<false, true>(C, k, h0 + off, nullptr, a0 + off, nullptr, ghat + off, nullptr, acc.data());
        else
          gn_grad_row<false, false>(C, k, h0 + off, nullptr, a0 + off, nullptr, ghat + off, nullptr, acc.data());
      }
      for (int c = 0; c < 2 * C; c++) pg[c] += acc[c];
      const double n = static_cast<double>(P) * cg;
      for (int j = 0; j < 5; j++) group_sums(acc.data() + (2 + j) * static_cast<size_t>(C), C, G, grp.data() + j * static_cast<size_t>(G));
      for (int c = 0; c < C; c++) {
        const int g = c / cg;
        const double s = 1.0 / is_c[c], sp = s1_c[c];
        const double A = grp[g] / n, Bm = grp[G + g] / n, m1 = grp[2 * G + g] / n, m = grp[3 * G + g] / n, m3 = grp[4 * G + g] / n;
        kA[c] = static_cast<float>(A - sp * m1 / s);             // mean T
        kB[c] = static_cast<float>(Bm - 2.0 * sp * m / s + m3);  // mean(T ĥ) + mean(G′ ĥ′)
        kC[c] = static_cast<float>(m1);
        kD[c] = static_cast<float>(m);
      }
      // Pass B: ∂x (and the per-image shift sums).
      float* d0 = dx + b * img;
      float* d1 = S.order ? dx + (static_cast<size_t>(B) + b) * img : nullptr;
      float *ds0 = dsbuf.data(), *ds1 = ds0 + C;
      std::fill(dsbuf.begin(), dsbuf.end(), 0.f);
      for (int p = 0; p < P; p++) {
        const size_t off = static_cast<size_t>(p) * C;
        if (h1)
          gn_dx_row<true>(C, k, kA, kB, kC, kD, h0 + off, h1 + off, ghat + off, G1 + off, d0 + off, d1 + off, ds0, ds1);
        else
          gn_dx_row<false>(C, k, kA, kB, kC, kD, h0 + off, nullptr, ghat + off, nullptr, d0 + off, nullptr, ds0, ds1);
      }
      if (dshift) {
        std::memcpy(dshift + static_cast<size_t>(b) * C, ds0, C * sizeof(float));
        if (S.order) std::memcpy(dshift + (static_cast<size_t>(B) + b) * C, ds1, C * sizeof(float));
      }
    }
  });
  std::fill(dgamma, dgamma + C, 0.f);
  std::fill(dbeta, dbeta + C, 0.f);
  for (int t = 0; t < tasks; t++)
    for (int c = 0; c < C; c++) {
      dgamma[c] += partial[t][c];
      dbeta[c] += partial[t][C + c];
    }
}

// Channel concatenation of NHWC tensors (U-Net skip connections) and its reverse, the split:
// out[p, :] = [in_0[p, :], in_1[p, :], …] for every pixel p of N·H·W; widths c_i.
void concat_channels(int pixels, const std::vector<const float*>& ins, const std::vector<int>& widths, float* out) {
  int total = 0;
  for (int w : widths) total += w;
  for (int p = 0; p < pixels; p++) {
    float* dst = out + static_cast<size_t>(p) * total;
    for (size_t i = 0; i < ins.size(); i++) {
      std::memcpy(dst, ins[i] + static_cast<size_t>(p) * widths[i], widths[i] * sizeof(float));
      dst += widths[i];
    }
  }
}

void split_channels(int pixels, const float* in, const std::vector<float*>& outs, const std::vector<int>& widths) {
  int total = 0;
  for (int w : widths) total += w;
  for (int p = 0; p < pixels; p++) {
    const float* src = in + static_cast<size_t>(p) * total;
    for (size_t i = 0; i < outs.size(); i++) {
      std::memcpy(outs[i] + static_cast<size_t>(p) * widths[i], src, widths[i] * sizeof(float));
      src += widths[i];
    }
  }
}

// ---------------------------------------------------------------------------------------
// N-API glue.

#define CHECK(call)                                    \
  do {                                                 \
    if ((call) != napi_ok) return throw_last(env);     \
  } while (0)

napi_value throw_last(napi_env env) {
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, nullptr, info && info->error_message ? info->error_message : "N-API call failed");
  return nullptr;
}

napi_value fail(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, nullptr, msg.c_str());
  return nullptr;
}

bool get_f32(napi_env env, napi_value v, float** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void* ptr = nullptr;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &off) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  *data = static_cast<float*>(ptr);
  return true;
}

bool new_f32(napi_env env, size_t len, float** data, napi_value* out) {
  napi_value ab;
  void* ptr = nullptr;
  if (napi_create_arraybuffer(env, len * sizeof(float), &ptr, &ab) != napi_ok) return false;
  if (napi_create_typedarray(env, napi_float32_array, len, ab, 0, out) != napi_ok) return false;
  *data = static_cast<float*>(ptr);
  return true;
}

bool get_int(napi_env env, napi_value v, int* out) {
  int32_t x;
  if (napi_get_value_int32(env, v, &x) != napi_ok) return false;
  *out = x;
  return true;
}

// Reads weights (array of Float32Array), biases (array or null) and the activation codes; sets dims.
std::string read_net(napi_env env, napi_value weights, napi_value biases, napi_value act, napi_value out_act, size_t n_in_total, size_t R,
                     Net* net, bool need_biases) {
  bool is_arr = false;
  napi_is_array(env, weights, &is_arr);
  if (!is_arr) return "weights must be an array of Float32Array";
  uint32_t L = 0;
  napi_get_array_length(env, weights, &L);
  if (L == 0) return "the MLP needs at least one layer";
  if (need_biases) {
    napi_is_array(env, biases, &is_arr);
    uint32_t Lb = 0;
    if (is_arr) napi_get_array_length(env, biases, &Lb);
    if (!is_arr || Lb != L) return "biases must be an array with one Float32Array per layer";
  }
  net->L = static_cast<int>(L);
  if (!get_int(env, act, &net->act) || net->act < 0 || net->act > LAST_ACT) return "unknown activation code";
  if (!get_int(env, out_act, &net->out_act) || net->out_act < -1 || net->out_act > LAST_ACT) return "unknown output activation code";
  if (R == 0 || n_in_total % R != 0) return "input length is not a multiple of the jet rows";
  net->dims.assign(L + 1, 0);
  net->dims[0] = static_cast<int>(n_in_total / R);
  net->W.assign(L, nullptr);
  net->b.assign(L, nullptr);
  for (uint32_t l = 0; l < L; l++) {
    napi_value w;
    napi_get_element(env, weights, l, &w);
    float* wd;
    size_t wl;
    if (!get_f32(env, w, &wd, &wl)) return "weights[" + std::to_string(l) + "] must be a Float32Array";
    const size_t K = net->dims[l];
    if (K == 0 || wl % K != 0 || wl == 0) return "weights[" + std::to_string(l) + "] has " + std::to_string(wl) + " values, not a multiple of " + std::to_string(K);
    net->dims[l + 1] = static_cast<int>(wl / K);
    net->W[l] = wd;
    if (need_biases) {
      napi_value bv;
      napi_get_element(env, biases, l, &bv);
      float* bd;
      size_t bl;
      if (!get_f32(env, bv, &bd, &bl)) return "biases[" + std::to_string(l) + "] must be a Float32Array";
      if (bl != static_cast<size_t>(net->dims[l + 1])) return "biases[" + std::to_string(l) + "] must have " + std::to_string(net->dims[l + 1]) + " values";
      net->b[l] = bd;
    }
  }
  return "";
}

thread_local std::vector<float> tl_saved;  // scratch for forward passes that save nothing

// forward(x, batch, order, weights[], biases[], act, outAct, save) → [out, saved | null].
// save: true (default) → a new Float32Array; a Float32Array of the right length → written and
// returned (lets the caller recycle buffers: fresh multi-MB buffers cost page faults); false →
// nothing is saved (inference), saved = null.
napi_value Forward(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 7) return fail(env, "mlpJetForward expects 7 or 8 arguments");
  float* x;
  size_t xl;
  if (!get_f32(env, argv[0], &x, &xl)) return fail(env, "input must be a Float32Array");
  int B, order;
  if (!get_int(env, argv[1], &B) || B <= 0) return fail(env, "batch must be a positive integer");
  if (!get_int(env, argv[2], &order) || order < 0 || order > 2) return fail(env, "order must be 0, 1 or 2");
  const size_t R = static_cast<size_t>(order + 1) * B;
  Net net;
  std::string err = read_net(env, argv[3], argv[4], argv[5], argv[6], xl, R, &net, true);
  if (!err.empty()) return fail(env, err);
  const Layout lay = layout(net, R);
  bool save = true;
  float* saved = nullptr;
  napi_value saved_v = nullptr;
  if (argc >= 8) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[7], &t));
    if (t == napi_boolean) {
      CHECK(napi_get_value_bool(env, argv[7], &save));
    } else if (t != napi_undefined && t != napi_null) {
      size_t sl;
      if (!get_f32(env, argv[7], &saved, &sl)) return fail(env, "save must be a boolean or a Float32Array");
      if (sl != lay.total) return fail(env, "the saved buffer needs " + std::to_string(lay.total) + " values, got " + std::to_string(sl));
      saved_v = argv[7];
    }
  }
  napi_value out_v, result;
  float* out;
  if (!new_f32(env, R * net.dims[net.L], &out, &out_v)) return throw_last(env);
  if (!save) {
    if (tl_saved.size() < lay.total) tl_saved.resize(lay.total);
    saved = tl_saved.data();
    CHECK(napi_get_null(env, &saved_v));
  } else if (saved == nullptr) {
    if (!new_f32(env, lay.total, &saved, &saved_v)) return throw_last(env);
  }
  forward(net, order, B, x, out, saved);
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_set_element(env, result, 0, out_v));
  CHECK(napi_set_element(env, result, 1, saved_v));
  return result;
}

// backward(dOut, saved, batch, order, weights[], act, outAct) → [dInput, dW[], db[]]
napi_value Backward(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 7) return fail(env, "mlpJetBackward expects 7 arguments");
  float *dOut, *saved;
  size_t dl, sl;
  if (!get_f32(env, argv[0], &dOut, &dl)) return fail(env, "dOut must be a Float32Array");
  if (!get_f32(env, argv[1], &saved, &sl)) return fail(env, "saved must be the Float32Array returned by mlpJetForward");
  int B, order;
  if (!get_int(env, argv[2], &B) || B <= 0) return fail(env, "batch must be a positive integer");
  if (!get_int(env, argv[3], &order) || order < 0 || order > 2) return fail(env, "order must be 0, 1 or 2");
  const size_t R = static_cast<size_t>(order + 1) * B;
  Net net;
  bool is_arr = false;
  napi_is_array(env, argv[4], &is_arr);
  if (!is_arr) return fail(env, "weights must be an array of Float32Array");
  uint32_t L = 0;
  napi_get_array_length(env, argv[4], &L);
  if (L == 0) return fail(env, "the MLP needs at least one layer");
  // Widths: n_L from dOut, then n_l = |W_l| / n_{l+1} backwards.
  std::vector<size_t> wl(L);
  std::vector<float*> wd(L);
  for (uint32_t l = 0; l < L; l++) {
    napi_value w;
    napi_get_element(env, argv[4], l, &w);
    if (!get_f32(env, w, &wd[l], &wl[l])) return fail(env, "weights[" + std::to_string(l) + "] must be a Float32Array");
  }
  if (dl % R != 0) return fail(env, "dOut length is not a multiple of the jet rows");
  net.L = static_cast<int>(L);
  net.dims.assign(L + 1, 0);
  net.dims[L] = static_cast<int>(dl / R);
  for (int l = static_cast<int>(L) - 1; l >= 0; l--) {
    const size_t N = net.dims[l + 1];
    if (N == 0 || wl[l] % N != 0 || wl[l] == 0) return fail(env, "weights[" + std::to_string(l) + "] does not match the layer widths");
    net.dims[l] = static_cast<int>(wl[l] / N);
  }
  net.W.assign(wd.begin(), wd.end());
  net.b.assign(L, nullptr);
  if (!get_int(env, argv[5], &net.act) || net.act < 0 || net.act > LAST_ACT) return fail(env, "unknown activation code");
  if (!get_int(env, argv[6], &net.out_act) || net.out_act < -1 || net.out_act > LAST_ACT) return fail(env, "unknown output activation code");
  const Layout lay = layout(net, R);
  if (lay.total != sl) return fail(env, "saved buffer does not match this network, batch and order");
  napi_value dx_v, dws, dbs, result;
  float* dX;
  if (!new_f32(env, R * net.dims[0], &dX, &dx_v)) return throw_last(env);
  CHECK(napi_create_array_with_length(env, L, &dws));
  CHECK(napi_create_array_with_length(env, L, &dbs));
  std::vector<float*> dW(L), db(L);
  for (uint32_t l = 0; l < L; l++) {
    napi_value a, b;
    if (!new_f32(env, static_cast<size_t>(net.dims[l]) * net.dims[l + 1], &dW[l], &a)) return throw_last(env);
    if (!new_f32(env, net.dims[l + 1], &db[l], &b)) return throw_last(env);
    CHECK(napi_set_element(env, dws, l, a));
    CHECK(napi_set_element(env, dbs, l, b));
  }
  backward(net, order, B, dOut, saved, dX, dW, db);
  CHECK(napi_create_array_with_length(env, 3, &result));
  CHECK(napi_set_element(env, result, 0, dx_v));
  CHECK(napi_set_element(env, result, 1, dws));
  CHECK(napi_set_element(env, result, 2, dbs));
  return result;
}

// An output buffer: argv (a Float32Array of exactly len values, written in full, returned as is)
// when given, else a new Float32Array. Lets callers write straight into memory they own (e.g. a
// tensor on tfjs's wasm heap) instead of into a fresh buffer (whose first touch costs page faults).
bool out_f32(napi_env env, napi_value arg, size_t len, float** data, napi_value* out, std::string* err) {
  if (arg != nullptr) {
    napi_valuetype t;
    if (napi_typeof(env, arg, &t) != napi_ok) return false;
    if (t != napi_undefined && t != napi_null) {
      size_t l;
      if (!get_f32(env, arg, data, &l) || l != len) {
        *err = "the output buffer must be a Float32Array of " + std::to_string(len) + " values";
        return false;
      }
      *out = arg;
      return true;
    }
  }
  if (!new_f32(env, len, data, out)) {
    *err = "out of memory";
    return false;
  }
  return true;
}

// Reads the shared convolution arguments: (data, n, h, w, c, kernel, k, stride) at argv[first…].
std::string read_conv(napi_env env, napi_value* argv, int* dims, float** kernel, size_t* klen, int* k, int* stride) {
  for (int i = 0; i < 4; i++)
    if (!get_int(env, argv[i], &dims[i]) || dims[i] <= 0) return "n, h, w and c must be positive integers";
  if (!get_f32(env, argv[4], kernel, klen)) return "kernel must be a Float32Array";
  if (!get_int(env, argv[5], k) || (*k != 1 && *k != 3)) return "k must be 1 or 3";
  if (!get_int(env, argv[6], stride) || (*stride != 1 && *stride != 2)) return "stride must be 1 or 2";
  const size_t per = static_cast<size_t>(*k) * *k * dims[3];
  if (*klen == 0 || *klen % per != 0) return "kernel length " + std::to_string(*klen) + " is not a multiple of k·k·c = " + std::to_string(per);
  return "";
}

// conv2dForward(x, n, h, w, c, kernel, k, stride, bias | null, valueImages, out?) → y [n, ⌈h/s⌉, ⌈w/s⌉, o].
napi_value ConvForward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 10) return fail(env, "conv2dForward expects 10 arguments");
  float *x, *kernel;
  size_t xl, kl;
  if (!get_f32(env, argv[0], &x, &xl)) return fail(env, "x must be a Float32Array");
  int dims[4], k, s, V;
  std::string err = read_conv(env, argv + 1, dims, &kernel, &kl, &k, &s);
  if (!err.empty()) return fail(env, err);
  const ConvGeom g(dims[1], dims[2], dims[3], static_cast<int>(kl / (static_cast<size_t>(k) * k * dims[3])), k, s);
  if (xl != static_cast<size_t>(dims[0]) * g.H * g.W * g.C) return fail(env, "x length does not match n·h·w·c");
  float* bias = nullptr;
  napi_valuetype bt;
  CHECK(napi_typeof(env, argv[8], &bt));
  if (bt != napi_null && bt != napi_undefined) {
    size_t bl;
    if (!get_f32(env, argv[8], &bias, &bl) || bl != static_cast<size_t>(g.O)) return fail(env, "bias must be null or a Float32Array of o values");
  }
  if (!get_int(env, argv[9], &V) || V < 0 || V > dims[0]) return fail(env, "valueImages must be an integer in [0, n]");
  napi_value y_v;
  float* y;
  if (!out_f32(env, argc >= 11 ? argv[10] : nullptr, static_cast<size_t>(dims[0]) * g.Ho * g.Wo * g.O, &y, &y_v, &err)) return fail(env, err);
  conv_forward(g, dims[0], x, kernel, bias, V, y);
  return y_v;
}

// conv2dBackward(dy, x, n, h, w, c, kernel, k, stride, bias: boolean, valueImages, needInput = true, dxOut?)
//   → [dx | null, dKernel, dBias | null].
napi_value ConvBackward(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 11) return fail(env, "conv2dBackward expects 11 or 12 arguments");
  float *dy, *x, *kernel;
  size_t dyl, xl, kl;
  if (!get_f32(env, argv[0], &dy, &dyl)) return fail(env, "dy must be a Float32Array");
  if (!get_f32(env, argv[1], &x, &xl)) return fail(env, "x must be a Float32Array");
  int dims[4], k, s, V;
  std::string err = read_conv(env, argv + 2, dims, &kernel, &kl, &k, &s);
  if (!err.empty()) return fail(env, err);
  const ConvGeom g(dims[1], dims[2], dims[3], static_cast<int>(kl / (static_cast<size_t>(k) * k * dims[3])), k, s);
  if (xl != static_cast<size_t>(dims[0]) * g.H * g.W * g.C) return fail(env, "x length does not match n·h·w·c");
  if (dyl != static_cast<size_t>(dims[0]) * g.Ho * g.Wo * g.O) return fail(env, "dy length does not match n·⌈h/s⌉·⌈w/s⌉·o");
  bool with_bias = false, need_input = true;
  if (napi_get_value_bool(env, argv[9], &with_bias) != napi_ok) return fail(env, "bias must be a boolean");
  if (!get_int(env, argv[10], &V) || V < 0 || V > dims[0]) return fail(env, "valueImages must be an integer in [0, n]");
  if (argc >= 12) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[11], &t));
    if (t != napi_undefined && napi_get_value_bool(env, argv[11], &need_input) != napi_ok) return fail(env, "needInput must be a boolean");
  }
  napi_value dx_v, dw_v, db_v, result;
  float *dx = nullptr, *dW, *db = nullptr;
  if (need_input) {
    if (!out_f32(env, argc >= 13 ? argv[12] : nullptr, xl, &dx, &dx_v, &err)) return fail(env, err);
  } else {
    CHECK(napi_get_null(env, &dx_v));
  }
  if (!new_f32(env, kl, &dW, &dw_v)) return throw_last(env);
  if (with_bias) {
    if (!new_f32(env, g.O, &db, &db_v)) return throw_last(env);
  } else {
    CHECK(napi_get_null(env, &db_v));
  }
  conv_backward(g, dims[0], dy, x, kernel, V, dx, dW, db);
  CHECK(napi_create_array_with_length(env, 3, &result));
  CHECK(napi_set_element(env, result, 0, dx_v));
  CHECK(napi_set_element(env, result, 1, dw_v));
  CHECK(napi_set_element(env, result, 2, db_v));
  return result;
}

// Reads (n, p, c, order, groups) and γ, β, shift at the given argv positions.
std::string read_gn(napi_env env, napi_value* dims_v, napi_value gamma_v, napi_value beta_v, napi_value shift_v, napi_value silu_v, GnShape* S,
                    float** gamma, float** beta, float** shift) {
  int n, order;
  if (!get_int(env, dims_v[0], &n) || n <= 0) return "n must be a positive integer";
  if (!get_int(env, dims_v[1], &S->P) || S->P <= 0) return "p (pixels per image) must be a positive integer";
  if (!get_int(env, dims_v[2], &S->C) || S->C <= 0) return "c must be a positive integer";
  if (!get_int(env, dims_v[3], &order) || order < 0 || order > 1) return "order must be 0 or 1";
  if (!get_int(env, dims_v[4], &S->G) || S->G <= 0 || S->C % S->G != 0) return "groups must divide c";
  if (n % (order + 1) != 0) return "n must be a multiple of order + 1";
  S->order = order;
  S->B = n / (order + 1);
  size_t len;
  if (!get_f32(env, gamma_v, gamma, &len) || len != static_cast<size_t>(S->C)) return "gamma must be a Float32Array of c values";
  if (!get_f32(env, beta_v, beta, &len) || len != static_cast<size_t>(S->C)) return "beta must be a Float32Array of c values";
  *shift = nullptr;
  napi_valuetype t;
  if (napi_typeof(env, shift_v, &t) != napi_ok) return "bad shift";
  if (t != napi_null && t != napi_undefined) {
    if (!get_f32(env, shift_v, shift, &len) || len != static_cast<size_t>(n) * S->C) return "shift must be null or a Float32Array [n, c]";
  }
  if (napi_get_value_bool(env, silu_v, &S->silu) != napi_ok) return "silu must be a boolean";
  return "";
}

// groupNormForward(x, n, p, c, order, groups, epsilon, gamma, beta, shift | null, silu, out?) → [out, stats].
napi_value GnForward(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 11) return fail(env, "groupNormForward expects 11 arguments");
  float *x, *gamma, *beta, *shift;
  size_t xl;
  if (!get_f32(env, argv[0], &x, &xl)) return fail(env, "x must be a Float32Array");
  GnShape S;
  std::string err = read_gn(env, argv + 1, argv[7], argv[8], argv[9], argv[10], &S, &gamma, &beta, &shift);
  if (!err.empty()) return fail(env, err);
  double eps;
  if (napi_get_value_double(env, argv[6], &eps) != napi_ok || !(eps > 0)) return fail(env, "epsilon must be a positive number");
  if (xl != static_cast<size_t>(S.B) * (S.order + 1) * S.P * S.C) return fail(env, "x length does not match n·p·c");
  napi_value out_v, st_v, result;
  float *out, *stats;
  if (!out_f32(env, argc >= 12 ? argv[11] : nullptr, xl, &out, &out_v, &err)) return fail(env, err);
  if (!new_f32(env, static_cast<size_t>(S.B) * S.G * 4, &stats, &st_v)) return throw_last(env);
  gn_forward(S, x, shift, gamma, beta, static_cast<float>(eps), out, stats);
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_set_element(env, result, 0, out_v));
  CHECK(napi_set_element(env, result, 1, st_v));
  return result;
}

// groupNormBackward(dOut, x, n, p, c, order, groups, stats, gamma, beta, shift | null, silu, dxOut?)
//   → [dx, dGamma, dBeta, dShift | null].
napi_value GnBackward(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 12) return fail(env, "groupNormBackward expects 12 arguments");
  float *dout, *x, *stats, *gamma, *beta, *shift;
  size_t dl, xl, sl;
  if (!get_f32(env, argv[0], &dout, &dl)) return fail(env, "dOut must be a Float32Array");
  if (!get_f32(env, argv[1], &x, &xl)) return fail(env, "x must be a Float32Array");
  GnShape S;
  std::string err = read_gn(env, argv + 2, argv[8], argv[9], argv[10], argv[11], &S, &gamma, &beta, &shift);
  if (!err.empty()) return fail(env, err);
  if (!get_f32(env, argv[7], &stats, &sl) || sl != static_cast<size_t>(S.B) * S.G * 4) return fail(env, "stats must be the Float32Array returned by groupNormForward");
  if (xl != static_cast<size_t>(S.B) * (S.order + 1) * S.P * S.C || dl != xl) return fail(env, "x and dOut lengths must be n·p·c");
  napi_value dx_v, dg_v, db_v, ds_v, result;
  float *dx, *dg, *db, *ds = nullptr;
  if (!out_f32(env, argc >= 13 ? argv[12] : nullptr, xl, &dx, &dx_v, &err)) return fail(env, err);
  if (!new_f32(env, S.C, &dg, &dg_v)) return throw_last(env);
  if (!new_f32(env, S.C, &db, &db_v)) return throw_last(env);
  if (shift) {
    if (!new_f32(env, static_cast<size_t>(S.B) * (S.order + 1) * S.C, &ds, &ds_v)) return throw_last(env);
  } else {
    CHECK(napi_get_null(env, &ds_v));
  }
  gn_backward(S, dout, x, shift, gamma, beta, stats, dx, dg, db, ds);
  CHECK(napi_create_array_with_length(env, 4, &result));
  CHECK(napi_set_element(env, result, 0, dx_v));
  CHECK(napi_set_element(env, result, 1, dg_v));
  CHECK(napi_set_element(env, result, 2, db_v));
  CHECK(napi_set_element(env, result, 3, ds_v));
  return result;
}

// concatChannels(inputs: Float32Array[], pixels, out?) → out [pixels, Σ c_i] (c_i = |inputs[i]| / pixels).
napi_value ConcatChannels(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 2) return fail(env, "concatChannels expects 2 or 3 arguments");
  bool is_arr = false;
  napi_is_array(env, argv[0], &is_arr);
  if (!is_arr) return fail(env, "inputs must be an array of Float32Array");
  uint32_t L = 0;
  napi_get_array_length(env, argv[0], &L);
  int pixels;
  if (!get_int(env, argv[1], &pixels) || pixels <= 0) return fail(env, "pixels must be a positive integer");
  std::vector<const float*> ins(L);
  std::vector<int> widths(L);
  size_t total = 0;
  for (uint32_t i = 0; i < L; i++) {
    napi_value v;
    napi_get_element(env, argv[0], i, &v);
    float* d;
    size_t len;
    if (!get_f32(env, v, &d, &len) || len == 0 || len % pixels != 0) return fail(env, "inputs[" + std::to_string(i) + "] must be a Float32Array of pixels·c values");
    ins[i] = d;
    widths[i] = static_cast<int>(len / pixels);
    total += len;
  }
  napi_value out_v;
  float* out;
  std::string err;
  if (!out_f32(env, argc >= 3 ? argv[2] : nullptr, total, &out, &out_v, &err)) return fail(env, err);
  concat_channels(pixels, ins, widths, out);
  return out_v;
}

// splitChannels(input, pixels, widths: number[], outs?: Float32Array[]) → Float32Array[] ([pixels, c_i] each).
napi_value SplitChannels(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 3) return fail(env, "splitChannels expects 3 or 4 arguments");
  float* in;
  size_t len;
  if (!get_f32(env, argv[0], &in, &len)) return fail(env, "input must be a Float32Array");
  int pixels;
  if (!get_int(env, argv[1], &pixels) || pixels <= 0) return fail(env, "pixels must be a positive integer");
  bool is_arr = false;
  napi_is_array(env, argv[2], &is_arr);
  if (!is_arr) return fail(env, "widths must be an array of integers");
  uint32_t L = 0;
  napi_get_array_length(env, argv[2], &L);
  std::vector<int> widths(L);
  size_t total = 0;
  for (uint32_t i = 0; i < L; i++) {
    napi_value v;
    napi_get_element(env, argv[2], i, &v);
    if (!get_int(env, v, &widths[i]) || widths[i] <= 0) return fail(env, "widths must be positive integers");
    total += static_cast<size_t>(widths[i]) * pixels;
  }
  if (total != len) return fail(env, "input length is not pixels · Σ widths");
  bool have_outs = false;
  if (argc >= 4) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[3], &t));
    have_outs = t != napi_undefined && t != napi_null;
    if (have_outs) {
      napi_is_array(env, argv[3], &is_arr);
      uint32_t Lo = 0;
      if (is_arr) napi_get_array_length(env, argv[3], &Lo);
      if (!is_arr || Lo != L) return fail(env, "outs must be an array with one Float32Array per width");
    }
  }
  napi_value result;
  CHECK(napi_create_array_with_length(env, L, &result));
  std::vector<float*> outs(L);
  std::string err;
  for (uint32_t i = 0; i < L; i++) {
    napi_value given = nullptr, o;
    if (have_outs) napi_get_element(env, argv[3], i, &given);
    if (!out_f32(env, given, static_cast<size_t>(widths[i]) * pixels, &outs[i], &o, &err)) return fail(env, err);
    CHECK(napi_set_element(env, result, i, o));
  }
  split_channels(pixels, in, outs, widths);
  return result;
}

// The instruction-set levels this CPU (and OS) supports, lowest first: x86-64 micro-architecture
// levels on x86-64 ("x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"), "armv8-a" on AArch64. The
// JS loader asks the baseline build — which runs on any CPU of its architecture — before it
// loads a faster variant, so a variant is only ever loaded where it can run.
std::vector<const char*> cpu_levels() {
  std::vector<const char*> levels;
#if defined(__x86_64__)
  __builtin_cpu_init();
  levels.push_back("x86-64");
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  if (__builtin_cpu_supports("x86-64-v2")) levels.push_back("x86-64-v2");
  if (__builtin_cpu_supports("x86-64-v3")) levels.push_back("x86-64-v3");
  if (__builtin_cpu_supports("x86-64-v4")) levels.push_back("x86-64-v4");
#else
  // The features of each level that compilers emit for it (libgcc checks the OS's XSAVE state).
  const bool v2 = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt");
  const bool v3 = v2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
  if (v2) levels.push_back("x86-64-v2");
  if (v3) levels.push_back("x86-64-v3");
  if (v4) levels.push_back("x86-64-v4");
#endif
#elif defined(__aarch64__)
  levels.push_back("armv8-a");
#endif
  return levels;
}

// info() → { isa, variant, cpu, vectorWidth, mr, nr, threads }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_string_utf8(env, NFDM_ISA, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, obj, "isa", v));
  CHECK(napi_create_string_utf8(env, NFDM_VARIANT, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, obj, "variant", v));
  const std::vector<const char*> levels = cpu_levels();
  CHECK(napi_create_array_with_length(env, levels.size(), &v));
  for (size_t i = 0; i < levels.size(); i++) {
    napi_value s;
    CHECK(napi_create_string_utf8(env, levels[i], NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, v, static_cast<uint32_t>(i), s));
  }
  CHECK(napi_set_named_property(env, obj, "cpu", v));
  CHECK(napi_create_int32(env, VL, &v));
  CHECK(napi_set_named_property(env, obj, "vectorWidth", v));
  CHECK(napi_create_int32(env, MR, &v));
  CHECK(napi_set_named_property(env, obj, "mr", v));
  CHECK(napi_create_int32(env, NR, &v));
  CHECK(napi_set_named_property(env, obj, "nr", v));
  CHECK(napi_create_int32(env, pool().threads(), &v));
  CHECK(napi_set_named_property(env, obj, "threads", v));
  return obj;
}

// setThreads(n): restart the pool with n threads (1 = no worker threads).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int n;
  if (argc < 1 || !get_int(env, argv[0], &n) || n < 1 || n > 64) return fail(env, "setThreads expects an integer in [1, 64]");
  delete g_pool;
  g_pool = new Pool(n);
  napi_value v;
  CHECK(napi_create_int32(env, n, &v));
  return v;
}

// The binary is built with -march=native: refuse to load (JS falls back to tfjs) on a CPU that
// lacks the instruction sets it was compiled for, e.g. after copying a cached build elsewhere.
const char* missing_cpu_feature() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#if defined(__AVX512F__)
  if (!__builtin_cpu_supports("avx512f")) return "avx512f";
#endif
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) return "avx2";
#endif
#if defined(__FMA__)
  if (!__builtin_cpu_supports("fma")) return "fma";
#endif
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  // A prebuilt variant (-march=x86-64-vN) may use any instruction of its level.
  if (std::strcmp(NFDM_VARIANT, "x86-64-v4") == 0 && !__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (std::strcmp(NFDM_VARIANT, "x86-64-v3") == 0 && !__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
#endif
#endif
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  if (const char* feature = missing_cpu_feature()) {
    std::string msg = std::string("this nfdm_native build (") + NFDM_VARIANT + ") needs a CPU with " + feature + "; the CPU here has none";
    napi_throw_error(env, nullptr, msg.c_str());
    return nullptr;
  }
  napi_property_descriptor props[] = {
      {"mlpJetForward", nullptr, Forward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mlpJetBackward", nullptr, Backward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackward", nullptr, ConvBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"groupNormForward", nullptr, GnForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"groupNormBackward", nullptr, GnBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"concatChannels", nullptr, ConcatChannels, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"splitChannels", nullptr, SplitChannels, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
