// @adapterkit/native: matMul-family kernels for tfjs-backend-wasm, run with OpenBLAS directly on the wasm heap.
//
// Every entry point receives the heap as a Uint8Array view (re-read by the caller on every call: the heap's
// buffer is replaced when wasm memory grows) and byte offsets into it. Each operand range is validated against
// the view's length (overflow-safe) before any memory is touched; a bad argument throws a JS error whose `code`
// is one of ERR_NATIVE_ARG / ERR_NATIVE_SHAPE / ERR_NATIVE_RANGE.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
// OpenBLAS (cblas.h of Debian's libopenblas-dev declares these; declared here to keep the build self-contained).
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };
void cblas_sgemm(const enum CBLAS_ORDER Order, const enum CBLAS_TRANSPOSE TransA, const enum CBLAS_TRANSPOSE TransB,
                 const int M, const int N, const int K, const float alpha, const float* A, const int lda, const float* B,
                 const int ldb, const float beta, float* C, const int ldc);
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

#define ADAPTERKIT_NATIVE_VERSION "0.1.0"

namespace {

struct ArgError {
  const char* code;
  std::string message;
};

[[noreturn]] void fail(const char* code, const std::string& message) { throw ArgError{code, message}; }

void throwJs(napi_env env, const ArgError& e) {
  napi_value msg, code, err;
  napi_create_string_utf8(env, e.message.c_str(), NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, e.code, NAPI_AUTO_LENGTH, &code);
  if (std::strcmp(e.code, "ERR_NATIVE_RANGE") == 0) {
    napi_create_range_error(env, code, msg, &err);
  } else {
    napi_create_type_error(env, code, msg, &err);
  }
  napi_throw(env, err);
}

struct Heap {
  uint8_t* base;
  uint64_t size;
};

Heap heapArg(napi_env env, napi_value v) {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped) fail("ERR_NATIVE_ARG", "heap must be a Uint8Array view of the wasm memory");
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t byteOffset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &byteOffset) != napi_ok) {
    fail("ERR_NATIVE_ARG", "cannot read the heap view");
  }
  if (type != napi_uint8_array) fail("ERR_NATIVE_ARG", "heap must be a Uint8Array");
  if (data == nullptr && length > 0) fail("ERR_NATIVE_ARG", "heap view is detached");
  return Heap{static_cast<uint8_t*>(data), static_cast<uint64_t>(length)};
}

// A non-negative integer below 2^53 (JS safe integers), as int64.
int64_t intArg(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) fail("ERR_NATIVE_ARG", std::string(name) + " must be a number");
  double d;
  napi_get_value_double(env, v, &d);
  if (!(d >= 0) || d > 9007199254740991.0 || std::floor(d) != d) {
    fail("ERR_NATIVE_ARG", std::string(name) + " must be a non-negative integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

double numArg(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) fail("ERR_NATIVE_ARG", std::string(name) + " must be a number");
  double d;
  napi_get_value_double(env, v, &d);
  return d;
}

bool boolArg(napi_env env, napi_value v, const char* name) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_boolean) fail("ERR_NATIVE_ARG", std::string(name) + " must be a boolean");
  bool b;
  napi_get_value_bool(env, v, &b);
  return b;
}

std::vector<int64_t> dimsArg(napi_env env, napi_value v, const char* name) {
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  if (!isArray) fail("ERR_NATIVE_ARG", std::string(name) + " must be an array of dimensions");
  uint32_t n;
  napi_get_array_length(env, v, &n);
  if (n > 8) fail("ERR_NATIVE_SHAPE", std::string(name) + " has more than 8 batch dimensions");
  std::vector<int64_t> dims(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    dims[i] = intArg(env, e, name);
    if (dims[i] > INT32_MAX) fail("ERR_NATIVE_SHAPE", std::string(name) + " dimension exceeds 2^31-1");
  }
  return dims;
}

// Multiply with overflow check against a 2^62 bound (far beyond any 4 GB heap).
int64_t mulChecked(int64_t a, int64_t b, const char* what) {
  const int64_t kMax = int64_t{1} << 62;
  if (a != 0 && b > kMax / a) fail("ERR_NATIVE_SHAPE", std::string(what) + " is too large");
  return a * b;
}

// Validate [offset, offset + count·4) lies inside the heap and is 4-byte aligned; return the pointer.
float* floatRange(const Heap& heap, int64_t offset, int64_t count, const char* name) {
  const int64_t bytes = mulChecked(count, 4, name);
  if (offset % 4 != 0) fail("ERR_NATIVE_RANGE", std::string(name) + " offset " + std::to_string(offset) + " is not 4-byte aligned");
  if (static_cast<uint64_t>(offset) > heap.size || static_cast<uint64_t>(bytes) > heap.size - static_cast<uint64_t>(offset)) {
    fail("ERR_NATIVE_RANGE", std::string(name) + " range [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                                 ") is outside the heap of " + std::to_string(heap.size) + " bytes");
  }
  return reinterpret_cast<float*>(heap.base + offset);
}

bool overlaps(int64_t o1, int64_t n1, int64_t o2, int64_t n2) {
  if (n1 == 0 || n2 == 0) return false;
  return o1 < o2 + n2 * 4 && o2 < o1 + n1 * 4;
}

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

void applyEpilogue(float* c, int64_t m, int64_t n, const float* bias, int64_t biasLen, int act, float alpha) {
  if (bias != nullptr) {
    for (int64_t i = 0; i < m; i++) {
      float* row = c + i * n;
      if (biasLen == 1) {
        const float b = bias[0];
        for (int64_t j = 0; j < n; j++) row[j] += b;
      } else {
        for (int64_t j = 0; j < n; j++) row[j] += bias[j];
      }
    }
  }
  const int64_t total = m * n;
  switch (act) {
    case kLinear:
      break;
    case kRelu:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] < 0.f ? 0.f : c[i];
      break;
    case kRelu6:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] < 0.f ? 0.f : (c[i] > 6.f ? 6.f : c[i]);
      break;
    case kLeakyRelu:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] < 0.f ? alpha * c[i] : c[i];
      break;
    case kSigmoid:
      for (int64_t i = 0; i < total; i++) c[i] = 1.f / (1.f + std::exp(-c[i]));
      break;
    case kElu:
      for (int64_t i = 0; i < total; i++) c[i] = c[i] < 0.f ? std::expm1(c[i]) : c[i];
      break;
  }
}

// matMul(heap, aOffset, aBatch[], bOffset, bBatch[], outOffset, m, k, n, transposeA, transposeB,
//        biasOffset (-1: none), biasLength, activation, alpha) → undefined
// a is [...aBatch, m, k] (or [..., k, m] with transposeA), b is [...bBatch, k, n] (or [..., n, k]); batch
// shapes broadcast numpy-style (right-aligned; equal or 1); out is [...broadcast, m, n], row-major.
napi_value MatMul(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 15) fail("ERR_NATIVE_ARG", "matMul expects 15 arguments, got " + std::to_string(argc));
    const Heap heap = heapArg(env, argv[0]);
    const int64_t aOff = intArg(env, argv[1], "aOffset");
    const std::vector<int64_t> aBatch = dimsArg(env, argv[2], "aBatch");
    const int64_t bOff = intArg(env, argv[3], "bOffset");
    const std::vector<int64_t> bBatch = dimsArg(env, argv[4], "bBatch");
    const int64_t outOff = intArg(env, argv[5], "outOffset");
    const int64_t m = intArg(env, argv[6], "m");
    const int64_t k = intArg(env, argv[7], "k");
    const int64_t n = intArg(env, argv[8], "n");
    const bool ta = boolArg(env, argv[9], "transposeA");
    const bool tb = boolArg(env, argv[10], "transposeB");
    const double biasOffD = numArg(env, argv[11], "biasOffset");
    const int64_t biasLen = intArg(env, argv[12], "biasLength");
    const int64_t act = intArg(env, argv[13], "activation");
    const float alpha = static_cast<float>(numArg(env, argv[14], "alpha"));
    if (m > INT32_MAX || k > INT32_MAX || n > INT32_MAX) fail("ERR_NATIVE_SHAPE", "a matrix dimension exceeds 2^31-1");
    if (act > kElu) fail("ERR_NATIVE_ARG", "unknown activation code " + std::to_string(act));

    // broadcast the batch shapes (right-aligned)
    const size_t rank = aBatch.size() > bBatch.size() ? aBatch.size() : bBatch.size();
    std::vector<int64_t> ad(rank, 1), bd(rank, 1), od(rank, 1);
    for (size_t i = 0; i < aBatch.size(); i++) ad[rank - aBatch.size() + i] = aBatch[i];
    for (size_t i = 0; i < bBatch.size(); i++) bd[rank - bBatch.size() + i] = bBatch[i];
    int64_t aCount = 1, bCount = 1, oCount = 1;
    for (size_t i = 0; i < rank; i++) {
      if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1) {
        fail("ERR_NATIVE_SHAPE", "batch dimensions do not broadcast: a has " + std::to_string(ad[i]) + ", b has " +
                                     std::to_string(bd[i]) + " at batch axis " + std::to_string(i));
      }
      od[i] = ad[i] == 1 ? bd[i] : ad[i];
      aCount = mulChecked(aCount, ad[i], "a's batch");
      bCount = mulChecked(bCount, bd[i], "b's batch");
      oCount = mulChecked(oCount, od[i], "the output batch");
    }
    const int64_t aMat = mulChecked(m, k, "a's matrix");
    const int64_t bMat = mulChecked(k, n, "b's matrix");
    const int64_t oMat = mulChecked(m, n, "the output matrix");
    const int64_t aSize = mulChecked(aCount, aMat, "a");
    const int64_t bSize = mulChecked(bCount, bMat, "b");
    const int64_t oSize = mulChecked(oCount, oMat, "out");
    const float* A = floatRange(heap, aOff, aSize, "a");
    const float* B = floatRange(heap, bOff, bSize, "b");
    float* C = floatRange(heap, outOff, oSize, "out");
    const float* bias = nullptr;
    if (biasOffD >= 0) {
      const int64_t biasOff = intArg(env, argv[11], "biasOffset");
      if (biasLen != 1 && biasLen != n) {
        fail("ERR_NATIVE_SHAPE", "bias length " + std::to_string(biasLen) + " is neither 1 nor n = " + std::to_string(n));
      }
      bias = floatRange(heap, biasOff, biasLen, "bias");
      if (overlaps(biasOff, biasLen, outOff, oSize)) fail("ERR_NATIVE_RANGE", "bias overlaps the output");
    }
    if (overlaps(aOff, aSize, outOff, oSize) || overlaps(bOff, bSize, outOff, oSize)) {
      fail("ERR_NATIVE_RANGE", "an operand overlaps the output");
    }
    if (oSize == 0) return nullptr;

    // element strides of each batch axis in a, b (0 where broadcast)
    std::vector<int64_t> aStride(rank, 0), bStride(rank, 0);
    {
      int64_t sa = aMat, sb = bMat;
      for (size_t i = rank; i-- > 0;) {
        aStride[i] = ad[i] == 1 ? 0 : sa;
        bStride[i] = bd[i] == 1 ? 0 : sb;
        sa *= ad[i];
        sb *= bd[i];
      }
    }
    const int lda = static_cast<int>(ta ? (m > 0 ? m : 1) : (k > 0 ? k : 1));
    const int ldb = static_cast<int>(tb ? (k > 0 ? k : 1) : (n > 0 ? n : 1));
    const int ldc = static_cast<int>(n > 0 ? n : 1);
    std::vector<int64_t> idx(rank, 0);
    for (int64_t bi = 0; bi < oCount; bi++) {
      int64_t ao = 0, bo = 0;
      for (size_t i = 0; i < rank; i++) {
        ao += idx[i] * aStride[i];
        bo += idx[i] * bStride[i];
      }
      float* Cb = C + bi * oMat;
      if (k == 0) {
        std::memset(Cb, 0, static_cast<size_t>(oMat) * 4);
      } else {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                    static_cast<int>(n), static_cast<int>(k), 1.0f, A + ao, lda, B + bo, ldb, 0.0f, Cb, ldc);
      }
      if (bias != nullptr || act != kLinear) applyEpilogue(Cb, m, n, bias, biasLen, static_cast<int>(act), alpha);
      for (size_t i = rank; i-- > 0;) {
        if (++idx[i] < od[i]) break;
        idx[i] = 0;
      }
    }
    return nullptr;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

// ---- elementwise kernels (vectorised per CPU: GCC clones each loop for AVX-512, AVX2 and baseline x86-64) ----

#if defined(__x86_64__) && (defined(__clang__) ? (__clang_major__ >= 14) : defined(__GNUC__))
#define AK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AK_CLONES  // other architectures and compilers (source builds): one version, the compiler's baseline
#endif

// expf by range reduction + a degree-6 polynomial (Cephes); ≤ 2 ulp; 0 below −87.3, +inf above 88.7.
static inline float expPoly(float x) {
  const float hi = 88.7228f, lo = -87.3365f;
  const float xc = x > hi ? hi : (x < lo ? lo : x);
  const float fx = xc * 1.44269504088896341f;
  const float n = (fx + 12582912.0f) - 12582912.0f;  // round to nearest (|fx| < 2^22)
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);
  float y = p * scale;
  y = x < lo ? 0.0f : y;
  y = x > hi ? __builtin_inff() : y;
  return x != x ? x : y;
}

AK_CLONES void expLoop(const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = expPoly(x[i]);
}

// erf as tfjs computes it (Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7), with the polynomial exp above.
AK_CLONES void erfLoop(const float* __restrict x, float* __restrict out, int64_t n) {
  const float p = 0.3275911f, a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f, a5 = 1.061405429f;
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float s = v < 0.0f ? -1.0f : 1.0f;
    const float ax = v < 0.0f ? -v : v;
    const float t = 1.0f / (1.0f + p * ax);
    const float y = 1.0f - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * expPoly(-ax * ax);
    out[i] = s * y;
  }
}

// The simple unary ops: 2 square, 3 neg, 4 sqrt, 5 rsqrt (IEEE: sqrt of a negative is NaN, rsqrt(0) = inf).
template <int OP>
AK_CLONES void simpleLoop(const float* __restrict x, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    if (OP == 2) out[i] = v * v;
    if (OP == 3) out[i] = -v;
    if (OP == 4) out[i] = std::sqrt(v);
    if (OP == 5) out[i] = 1.0f / std::sqrt(v);
  }
}

// Softmax of each row of n floats: exp(x - max) / Σ exp(x - max) (rows of all -inf give NaN, as tfjs).
AK_CLONES void softmaxRow(const float* __restrict x, float* __restrict out, int64_t n) {
  float mx = -__builtin_inff();
  for (int64_t j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++) {
      const float e = expPoly(x[j + l] - mx);
      out[j + l] = e;
      acc[l] += e;
    }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; j++) {
    const float e = expPoly(x[j] - mx);
    out[j] = e;
    sum += e;
  }
  for (int64_t k = 0; k < n; k++) out[k] = out[k] / sum;
}

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3 };
// How an operand maps onto the output viewed as [outer, inner]: the full matrix, a row vector of `inner` values
// repeated for every row, a column of `outer` values repeated along each row, or one scalar.
enum Operand { kFull = 0, kRow = 1, kCol = 2, kScalar = 3 };

template <int OP>
static inline float binaryOp(float a, float b) {
  if (OP == kAdd) return a + b;
  if (OP == kSub) return a - b;
  if (OP == kMul) return a * b;
  return a / b;
}

template <int OP>
AK_CLONES void binaryRow(const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb, float* __restrict out, int64_t n) {
  // sa/sb: 1 (walk the operand) or 0 (repeat its first value)
  if (sa == 1 && sb == 1) {
    for (int64_t j = 0; j < n; j++) out[j] = binaryOp<OP>(a[j], b[j]);
  } else if (sa == 1) {
    const float bv = b[0];
    for (int64_t j = 0; j < n; j++) out[j] = binaryOp<OP>(a[j], bv);
  } else if (sb == 1) {
    const float av = a[0];
    for (int64_t j = 0; j < n; j++) out[j] = binaryOp<OP>(av, b[j]);
  } else {
    const float v = binaryOp<OP>(a[0], b[0]);
    for (int64_t j = 0; j < n; j++) out[j] = v;
  }
}

template <int OP>
void binaryRun(const float* a, int aMode, const float* b, int bMode, float* out, int64_t outer, int64_t inner) {
  const int64_t sa = (aMode == kFull || aMode == kRow) ? 1 : 0;
  const int64_t sb = (bMode == kFull || bMode == kRow) ? 1 : 0;
  for (int64_t i = 0; i < outer; i++) {
    const float* ar = aMode == kFull ? a + i * inner : (aMode == kCol ? a + i : a);
    const float* br = bMode == kFull ? b + i * inner : (bMode == kCol ? b + i : b);
    binaryRow<OP>(ar, sa, br, sb, out + i * inner, inner);
  }
}

int64_t operandSize(int mode, int64_t outer, int64_t inner) {
  return mode == kFull ? outer * inner : mode == kRow ? inner : mode == kCol ? outer : 1;
}

// unary(heap, xOffset, outOffset, n, op): op 0 exp, 1 erf, 2 square, 3 neg, 4 sqrt, 5 rsqrt.
napi_value Unary(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 5) fail("ERR_NATIVE_ARG", "unary expects 5 arguments, got " + std::to_string(argc));
    const Heap heap = heapArg(env, argv[0]);
    const int64_t xOff = intArg(env, argv[1], "xOffset");
    const int64_t outOff = intArg(env, argv[2], "outOffset");
    const int64_t n = intArg(env, argv[3], "n");
    const int64_t op = intArg(env, argv[4], "op");
    if (op > 5) fail("ERR_NATIVE_ARG", "unknown unary op " + std::to_string(op));
    const float* x = floatRange(heap, xOff, n, "x");
    float* out = floatRange(heap, outOff, n, "out");
    if (overlaps(xOff, n, outOff, n)) fail("ERR_NATIVE_RANGE", "x overlaps the output");
    switch (op) {
      case 0: expLoop(x, out, n); break;
      case 1: erfLoop(x, out, n); break;
      case 2: simpleLoop<2>(x, out, n); break;
      case 3: simpleLoop<3>(x, out, n); break;
      case 4: simpleLoop<4>(x, out, n); break;
      default: simpleLoop<5>(x, out, n); break;
    }
    return nullptr;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

// binary(heap, aOffset, aMode, bOffset, bMode, outOffset, outer, inner, op): out[outer, inner] = a op b.
napi_value Binary(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 9) fail("ERR_NATIVE_ARG", "binary expects 9 arguments, got " + std::to_string(argc));
    const Heap heap = heapArg(env, argv[0]);
    const int64_t aOff = intArg(env, argv[1], "aOffset");
    const int64_t aMode = intArg(env, argv[2], "aMode");
    const int64_t bOff = intArg(env, argv[3], "bOffset");
    const int64_t bMode = intArg(env, argv[4], "bMode");
    const int64_t outOff = intArg(env, argv[5], "outOffset");
    const int64_t outer = intArg(env, argv[6], "outer");
    const int64_t inner = intArg(env, argv[7], "inner");
    const int64_t op = intArg(env, argv[8], "op");
    if (aMode > kScalar || bMode > kScalar) fail("ERR_NATIVE_ARG", "unknown operand mode");
    if (op > kDiv) fail("ERR_NATIVE_ARG", "unknown binary op " + std::to_string(op));
    const int64_t total = mulChecked(outer, inner, "out");
    const int64_t aSize = operandSize(static_cast<int>(aMode), outer, inner);
    const int64_t bSize = operandSize(static_cast<int>(bMode), outer, inner);
    const float* a = floatRange(heap, aOff, aSize, "a");
    const float* b = floatRange(heap, bOff, bSize, "b");
    float* out = floatRange(heap, outOff, total, "out");
    if (overlaps(aOff, aSize, outOff, total) || overlaps(bOff, bSize, outOff, total)) fail("ERR_NATIVE_RANGE", "an operand overlaps the output");
    if (total == 0) return nullptr;
    const int am = static_cast<int>(aMode), bm = static_cast<int>(bMode);
    switch (op) {
      case kAdd: binaryRun<kAdd>(a, am, b, bm, out, outer, inner); break;
      case kSub: binaryRun<kSub>(a, am, b, bm, out, outer, inner); break;
      case kMul: binaryRun<kMul>(a, am, b, bm, out, outer, inner); break;
      default: binaryRun<kDiv>(a, am, b, bm, out, outer, inner); break;
    }
    return nullptr;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

// gatherRows(heap, xOffset, rows, rowLength, indicesOffset, count, outOffset): out[i, :] = x[indices[i], :] for
// 4-byte elements; every index is checked against [0, rows) before anything is written.
napi_value GatherRows(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 7) fail("ERR_NATIVE_ARG", "gatherRows expects 7 arguments, got " + std::to_string(argc));
    const Heap heap = heapArg(env, argv[0]);
    const int64_t xOff = intArg(env, argv[1], "xOffset");
    const int64_t rows = intArg(env, argv[2], "rows");
    const int64_t rowLen = intArg(env, argv[3], "rowLength");
    const int64_t idxOff = intArg(env, argv[4], "indicesOffset");
    const int64_t count = intArg(env, argv[5], "count");
    const int64_t outOff = intArg(env, argv[6], "outOffset");
    const int64_t xSize = mulChecked(rows, rowLen, "x");
    const int64_t outSize = mulChecked(count, rowLen, "out");
    const float* x = floatRange(heap, xOff, xSize, "x");
    const int32_t* idx = reinterpret_cast<const int32_t*>(floatRange(heap, idxOff, count, "indices"));
    float* out = floatRange(heap, outOff, outSize, "out");
    if (overlaps(xOff, xSize, outOff, outSize) || overlaps(idxOff, count, outOff, outSize)) fail("ERR_NATIVE_RANGE", "an operand overlaps the output");
    for (int64_t i = 0; i < count; i++) {
      if (idx[i] < 0 || idx[i] >= rows) {
        fail("ERR_NATIVE_RANGE", "index " + std::to_string(idx[i]) + " at position " + std::to_string(i) + " is not in [0, " + std::to_string(rows - 1) + "]");
      }
    }
    for (int64_t i = 0; i < count; i++) std::memcpy(out + i * rowLen, x + static_cast<int64_t>(idx[i]) * rowLen, static_cast<size_t>(rowLen) * 4);
    return nullptr;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

// Sum of n floats with 8 independent accumulators (vectorisable without -ffast-math; the order differs from a
// sequential sum by float rounding only).
AK_CLONES float rowSum(const float* __restrict x, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++) acc[l] += x[j + l];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < n; j++) s += x[j];
  return s;
}

// out[i] += x[i] over n floats.
AK_CLONES void accumulate(float* __restrict out, const float* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; j++) out[j] += x[j];
}

// softmax(heap, xOffset, outOffset, rows, n): softmax of each of `rows` rows of n floats.
napi_value Softmax(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 5) fail("ERR_NATIVE_ARG", "softmax expects 5 arguments, got " + std::to_string(argc));
    const Heap heap = heapArg(env, argv[0]);
    const int64_t xOff = intArg(env, argv[1], "xOffset");
    const int64_t outOff = intArg(env, argv[2], "outOffset");
    const int64_t rows = intArg(env, argv[3], "rows");
    const int64_t n = intArg(env, argv[4], "n");
    const int64_t total = mulChecked(rows, n, "x");
    const float* x = floatRange(heap, xOff, total, "x");
    float* out = floatRange(heap, outOff, total, "out");
    if (overlaps(xOff, total, outOff, total)) fail("ERR_NATIVE_RANGE", "x overlaps the output");
    if (n == 0) return nullptr;
    for (int64_t r = 0; r < rows; r++) softmaxRow(x + r * n, out + r * n, n);
    return nullptr;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

// reduce(heap, xOffset, outOffset, outer, mid, inner, op): x viewed as [outer, mid, inner] → out [outer, inner],
// reducing the middle axis; op 0 sum, 1 mean (sum / mid: NaN when mid is 0; the JS kernel leaves that case to wasm).
napi_value Reduce(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 7) fail("ERR_NATIVE_ARG", "reduce expects 7 arguments, got " + std::to_string(argc));
    const Heap heap = heapArg(env, argv[0]);
    const int64_t xOff = intArg(env, argv[1], "xOffset");
    const int64_t outOff = intArg(env, argv[2], "outOffset");
    const int64_t outer = intArg(env, argv[3], "outer");
    const int64_t mid = intArg(env, argv[4], "mid");
    const int64_t inner = intArg(env, argv[5], "inner");
    const int64_t op = intArg(env, argv[6], "op");
    if (op > 1) fail("ERR_NATIVE_ARG", "unknown reduce op " + std::to_string(op));
    const int64_t outSize = mulChecked(outer, inner, "out");
    const int64_t xSize = mulChecked(outSize, mid, "x");
    const float* x = floatRange(heap, xOff, xSize, "x");
    float* out = floatRange(heap, outOff, outSize, "out");
    if (overlaps(xOff, xSize, outOff, outSize)) fail("ERR_NATIVE_RANGE", "x overlaps the output");
    if (outSize == 0) return nullptr;
    if (inner == 1) {
      for (int64_t o = 0; o < outer; o++) out[o] = rowSum(x + o * mid, mid);
    } else {
      for (int64_t o = 0; o < outer; o++) {
        float* row = out + o * inner;
        std::memset(row, 0, static_cast<size_t>(inner) * 4);
        const float* xo = x + o * mid * inner;
        for (int64_t r = 0; r < mid; r++) accumulate(row, xo + r * inner, inner);
      }
    }
    if (op == 1) {
      const float d = static_cast<float>(mid);
      for (int64_t i = 0; i < outSize; i++) out[i] = out[i] / d;
    }
    return nullptr;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

AK_CLONES void transposeTile(const float* __restrict in, int64_t inStride, float* __restrict out, int64_t outStride, int64_t rows, int64_t cols) {
  // out[c * outStride + r] = in[r * inStride + c] for a tile of rows × cols
  for (int64_t c = 0; c < cols; c++)
    for (int64_t r = 0; r < rows; r++) out[c * outStride + r] = in[r * inStride + c];
}

// transpose(heap, xOffset, shape[], perm[], outOffset): 4-byte elements, rank ≤ 8 (the caller drops size-1 axes
// and merges axes that stay adjacent). Rows that stay contiguous are copied whole; otherwise 32×32 tiles.
napi_value Transpose(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 5) fail("ERR_NATIVE_ARG", "transpose expects 5 arguments, got " + std::to_string(argc));
    const Heap heap = heapArg(env, argv[0]);
    const int64_t xOff = intArg(env, argv[1], "xOffset");
    const std::vector<int64_t> shape = dimsArg(env, argv[2], "shape");
    const std::vector<int64_t> perm = dimsArg(env, argv[3], "perm");
    const int64_t outOff = intArg(env, argv[4], "outOffset");
    const size_t rank = shape.size();
    if (perm.size() != rank || rank == 0) fail("ERR_NATIVE_SHAPE", "perm must list each of the " + std::to_string(rank) + " axes once");
    std::vector<bool> seen(rank, false);
    for (int64_t p : perm) {
      if (p >= static_cast<int64_t>(rank) || seen[p]) fail("ERR_NATIVE_SHAPE", "perm must list each of the " + std::to_string(rank) + " axes once");
      seen[p] = true;
    }
    int64_t total = 1;
    for (int64_t d : shape) total = mulChecked(total, d, "x");
    const float* x = floatRange(heap, xOff, total, "x");
    float* out = floatRange(heap, outOff, total, "out");
    if (overlaps(xOff, total, outOff, total)) fail("ERR_NATIVE_RANGE", "x overlaps the output");
    if (total == 0) return nullptr;
    std::vector<int64_t> inStride(rank), outShape(rank), srcStride(rank);
    inStride[rank - 1] = 1;
    for (size_t i = rank - 1; i-- > 0;) inStride[i] = inStride[i + 1] * shape[i + 1];
    for (size_t i = 0; i < rank; i++) {
      outShape[i] = shape[perm[i]];
      srcStride[i] = inStride[perm[i]];  // input stride of output axis i
    }
    const size_t last = rank - 1;
    if (perm[last] == static_cast<int64_t>(last)) {
      // the innermost axis stays innermost: copy rows
      const int64_t len = shape[last];
      std::vector<int64_t> idx(rank, 0);
      for (int64_t o = 0; o < total; o += len) {
        int64_t src = 0;
        for (size_t i = 0; i < last; i++) src += idx[i] * srcStride[i];
        std::memcpy(out + o, x + src, static_cast<size_t>(len) * 4);
        for (size_t i = last; i-- > 0;) {
          if (++idx[i] < outShape[i]) break;
          idx[i] = 0;
        }
      }
      return nullptr;
    }
    // q: the output axis that reads the input's innermost axis; tiles span output axes q and `last`
    size_t q = 0;
    for (size_t i = 0; i < rank; i++)
      if (perm[i] == static_cast<int64_t>(last)) q = i;
    std::vector<int64_t> outStride(rank);
    outStride[last] = 1;
    for (size_t i = last; i-- > 0;) outStride[i] = outStride[i + 1] * outShape[i + 1];
    const int64_t nq = outShape[q], nl = outShape[last];
    const int64_t sl = srcStride[last];  // input stride along output's last axis
    const int64_t oq = outStride[q];
    std::vector<int64_t> idx(rank, 0);  // odometer over the axes other than q and last
    const int64_t T = 32;
    while (true) {
      int64_t src = 0, dst = 0;
      for (size_t i = 0; i < rank; i++) {
        if (i == q || i == last) continue;
        src += idx[i] * srcStride[i];
        dst += idx[i] * outStride[i];
      }
      // out[dst + a*oq + b] = x[src + a + b*sl] for a < nq, b < nl
      for (int64_t b0 = 0; b0 < nl; b0 += T)
        for (int64_t a0 = 0; a0 < nq; a0 += T)
          transposeTile(x + src + a0 + b0 * sl, sl, out + dst + a0 * oq + b0, oq, (nl - b0) < T ? nl - b0 : T, (nq - a0) < T ? nq - a0 : T);
      size_t i = rank;
      bool done = true;
      while (i-- > 0) {
        if (i == q || i == last) continue;
        if (++idx[i] < outShape[i]) {
          done = false;
          break;
        }
        idx[i] = 0;
      }
      if (done) break;
    }
    return nullptr;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  try {
    if (argc != 1) fail("ERR_NATIVE_ARG", "setThreads expects 1 argument");
    const int64_t t = intArg(env, argv[0], "threads");
    if (t < 1 || t > 1024) fail("ERR_NATIVE_ARG", "threads must be in [1, 1024], got " + std::to_string(t));
    openblas_set_num_threads(static_cast<int>(t));
    napi_value r;
    napi_create_int32(env, openblas_get_num_threads(), &r);
    return r;
  } catch (const ArgError& e) {
    throwJs(env, e);
    return nullptr;
  }
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_int32(env, openblas_get_num_threads(), &r);
  return r;
}

napi_value Blas(napi_env env, napi_callback_info) {
  std::string s = std::string(openblas_get_config()) + " (core " + openblas_get_corename() + ")";
  napi_value r;
  napi_create_string_utf8(env, s.c_str(), NAPI_AUTO_LENGTH, &r);
  return r;
}

napi_value Version(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_string_utf8(env, ADAPTERKIT_NATIVE_VERSION, NAPI_AUTO_LENGTH, &r);
  return r;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"matMul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gatherRows", nullptr, GatherRows, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"getThreads", nullptr, GetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"blas", nullptr, Blas, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
