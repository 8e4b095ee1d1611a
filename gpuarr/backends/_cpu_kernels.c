/* Fused CPU kernels for the NumPy backend's small-array hot spots.
 *
 * A training step on a small batch spends most of its time in NumPy's fixed cost per call
 * (0.5-4 us each, whatever the size), not in arithmetic: the cross-entropy of a 16x10 batch is
 * about 30 NumPy calls. Each function here does one such chain in one pass over the data.
 *
 * The Python side (gpuarr/backends/cpu_native.py) checks dtypes, shapes and contiguity and
 * allocates the outputs; these functions only read the buffers. Arrays arrive through the
 * buffer protocol, so the build needs no NumPy headers.
 *
 * Each kernel is written once as a macro over the element type (float and double) and its
 * libm functions; sums of float data accumulate in double.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

typedef struct {
    Py_buffer b[4];
    int n;
} Bufs;

static void release(Bufs *bs) {
    for (int i = 0; i < bs->n; i++) PyBuffer_Release(&bs->b[i]);
    bs->n = 0;
}

/* Get a C-contiguous buffer of `obj` (writable when asked); 0 on success. */
static int get(Bufs *bs, PyObject *obj, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &bs->b[bs->n], flags) < 0) return -1;
    bs->n++;
    return 0;
}

/* 'f' (float32) -> 4, 'd' (float64) -> 8, anything else -> 0. */
static int float_kind(const Py_buffer *b) {
    const char *f = b->format;
    if (f == NULL) return 0;
    if (*f == '<' || *f == '=' || *f == '@') f++;
    if (f[0] == 'f' && f[1] == 0 && b->itemsize == 4) return 4;
    if (f[0] == 'd' && f[1] == 0 && b->itemsize == 8) return 8;
    return 0;
}

static int same_layout(const Py_buffer *a, const Py_buffer *b) {
    return a->len == b->len && a->itemsize == b->itemsize && float_kind(a) == float_kind(b);
}

/* The argument count of a METH_FASTCALL entry: TypeError with the signature `sig` if not
 * `want`; 0 when it is. */
static int nargs_ok(Py_ssize_t nargs, Py_ssize_t want, const char *sig) {
    if (nargs == want) return 0;
    PyErr_SetString(PyExc_TypeError, sig);
    return -1;
}

/* ---- ReLU's backward: out = y <= 0 ? 0 : g (a NaN y passes g, as torch's threshold) ---- */

#define RELU_BWD(T)                                                        \
    static void relu_bwd_##T(const T *restrict g, const T *restrict y, T *restrict out, \
                             Py_ssize_t n) {                                            \
        /* both loads unconditional: the select vectorises (a branch mispredicts) */     \
        for (Py_ssize_t i = 0; i < n; i++) {                                             \
            T gi = g[i], yi = y[i];                                                      \
            out[i] = yi <= 0 ? (T)0 : gi;                                                \
        }                                                                                \
    }
RELU_BWD(float)
RELU_BWD(double)

static PyObject *relu_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs bs = {.n = 0};
    if (nargs_ok(nargs, 3, "relu_backward(g, y, out)")) return NULL;
    if (get(&bs, args[0], 0) || get(&bs, args[1], 0) || get(&bs, args[2], 1)) goto fail;
    if (!float_kind(&bs.b[0]) || !same_layout(&bs.b[0], &bs.b[1])
        || !same_layout(&bs.b[0], &bs.b[2])) {
        PyErr_SetString(PyExc_ValueError, "relu_backward: float32/64 buffers of one size");
        goto fail;
    }
    Py_ssize_t n = bs.b[0].len / bs.b[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (bs.b[0].itemsize == 4)
        relu_bwd_float(bs.b[0].buf, bs.b[1].buf, bs.b[2].buf, n);
    else
        relu_bwd_double(bs.b[0].buf, bs.b[1].buf, bs.b[2].buf, n);
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

/* ---- a linear layer's bias: x += b per row, and optionally out = ReLU(x) ----
 * The same float additions as NumPy's broadcast `x += b` (which costs 2 us for 16x256 in its
 * per-row loop, this 0.5 us); ReLU as NumPy's maximum(x, +0.0): NaN passes, -0.0 becomes +0.0. */

#define BIAS_ROWS(T)                                                                           \
    static void bias_rows_##T(T *restrict x, const T *restrict b, T *restrict out,            \
                              Py_ssize_t rows, Py_ssize_t cols) {                             \
        for (Py_ssize_t r = 0; r < rows; r++) {                                                \
            T *xr = x + r * cols;                                                              \
            for (Py_ssize_t c = 0; c < cols; c++) xr[c] += b[c];                               \
            if (out) {                                                                         \
                T *o = out + r * cols;                                                         \
                for (Py_ssize_t c = 0; c < cols; c++) {                                        \
                    T v = xr[c];                                                               \
                    o[c] = (v > 0 || v != v) ? v : (T)0;                                       \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }
BIAS_ROWS(float)
BIAS_ROWS(double)

static PyObject *bias_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    /* bias_rows(x, b, out or None, cols): x holds rows * cols elements, b cols */
    Bufs bs = {.n = 0};
    if (nargs_ok(nargs, 4, "bias_rows(x, b, out, cols)")) return NULL;
    const int with_out = args[2] != Py_None;
    if (get(&bs, args[0], 1) || get(&bs, args[1], 0) || (with_out && get(&bs, args[2], 1)))
        goto fail;
    Py_ssize_t cols = PyLong_AsSsize_t(args[3]);
    if (cols == -1 && PyErr_Occurred()) goto fail;
    const Py_buffer *x = &bs.b[0], *b = &bs.b[1];
    if (!float_kind(x) || float_kind(b) != float_kind(x) || cols <= 0
        || b->len != cols * x->itemsize || (x->len / x->itemsize) % cols
        || (with_out && !same_layout(x, &bs.b[2]))) {
        PyErr_SetString(PyExc_ValueError,
                        "bias_rows: float32/64 (rows, cols), (cols,) [and (rows, cols)] buffers "
                        "of one dtype");
        goto fail;
    }
    Py_ssize_t rows = x->len / x->itemsize / cols;
    void *o = with_out ? bs.b[2].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (x->itemsize == 4)
        bias_rows_float(x->buf, b->buf, o, rows, cols);
    else
        bias_rows_double(x->buf, b->buf, o, rows, cols);
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

/* ---- column sums of a (rows, cols) array: out[j] = 0 + x[0, j] + x[1, j] + ... ----
 * In the element type and in row order: NumPy's own order for this reduction, so the result
 * equals x.sum(axis=0) bit for bit (+0.0 first, as NumPy starts from add's identity). */

#define SUM_AXIS0(T)                                                                          \
    static void sum_axis0_##T(const T *restrict x, T *restrict out, Py_ssize_t rows,          \
                              Py_ssize_t cols) {                                              \
        for (Py_ssize_t c = 0; c < cols; c++) out[c] = 0;                                     \
        for (Py_ssize_t r = 0; r < rows; r++) {                                               \
            const T *xr = x + r * cols;                                                       \
            for (Py_ssize_t c = 0; c < cols; c++) out[c] += xr[c];                            \
        }                                                                                     \
    }
SUM_AXIS0(float)
SUM_AXIS0(double)

static PyObject *sum_axis0(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    /* sum_axis0(x, out, cols): x holds rows * cols elements, out cols */
    Bufs bs = {.n = 0};
    if (nargs_ok(nargs, 3, "sum_axis0(x, out, cols)")) return NULL;
    if (get(&bs, args[0], 0) || get(&bs, args[1], 1)) goto fail;
    Py_ssize_t cols = PyLong_AsSsize_t(args[2]);
    if (cols == -1 && PyErr_Occurred()) goto fail;
    const Py_buffer *x = &bs.b[0], *o = &bs.b[1];
    if (!float_kind(x) || float_kind(o) != float_kind(x) || cols <= 0
        || o->len != cols * x->itemsize || (x->len / x->itemsize) % cols) {
        PyErr_SetString(PyExc_ValueError,
                        "sum_axis0: float32/64 (rows, cols) and (cols,) buffers of one dtype");
        goto fail;
    }
    Py_ssize_t rows = x->len / x->itemsize / cols;
    Py_BEGIN_ALLOW_THREADS
    if (x->itemsize == 4)
        sum_axis0_float(x->buf, o->buf, rows, cols);
    else
        sum_axis0_double(x->buf, o->buf, rows, cols);
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

/* ---- log-softmax over the last axis of a (rows, cols) array ----
 * out = (x - max) - log(sum(exp(x - max))), per row; NaN and infinities propagate as in the
 * NumPy formula (a NaN or +inf in a row makes it NaN; a row of -inf is NaN). */

#define LOG_SOFTMAX(T, EXP, LOG)                                                         \
    static void log_softmax_##T(const T *x, T *out, Py_ssize_t rows, Py_ssize_t cols) { \
        for (Py_ssize_t r = 0; r < rows; r++) {                                          \
            const T *xr = x + r * cols;                                                  \
            T *o = out + r * cols;                                                       \
            T m = xr[0];                                                                 \
            for (Py_ssize_t c = 1; c < cols; c++)                                        \
                if (xr[c] > m || isnan(xr[c])) m = xr[c];                                \
            double s = 0;                                                                \
            for (Py_ssize_t c = 0; c < cols; c++) {                                      \
                o[c] = xr[c] - m;                                                        \
                s += EXP(o[c]);                                                          \
            }                                                                            \
            T ls = LOG((T)s);                                                            \
            for (Py_ssize_t c = 0; c < cols; c++) o[c] -= ls;                            \
        }                                                                                \
    }
LOG_SOFTMAX(float, expf, logf)
LOG_SOFTMAX(double, exp, log)

/* its backward from the output y: gin = g - exp(y) * sum(g), per row */
#define LOG_SOFTMAX_BWD(T, EXP)                                                               \
    static void log_softmax_bwd_##T(const T *g, const T *y, T *out, Py_ssize_t rows,          \
                                    Py_ssize_t cols) {                                        \
        for (Py_ssize_t r = 0; r < rows; r++) {                                               \
            const T *gr = g + r * cols, *yr = y + r * cols;                                   \
            T *o = out + r * cols;                                                            \
            double s = 0;                                                                     \
            for (Py_ssize_t c = 0; c < cols; c++) s += gr[c];                                 \
            T st = (T)s;                                                                      \
            for (Py_ssize_t c = 0; c < cols; c++) o[c] = gr[c] - EXP(yr[c]) * st;             \
        }                                                                                     \
    }
LOG_SOFTMAX_BWD(float, expf)
LOG_SOFTMAX_BWD(double, exp)

/* Shared argument parsing of the row kernels: (a, [b,] out, cols). */
static int rows_args(Bufs *bs, PyObject *const *args, Py_ssize_t nargs, int nin,
                     Py_ssize_t *rows, Py_ssize_t *cols, const char *sig) {
    if (nargs_ok(nargs, nin + 2, sig)) return -1;
    for (int i = 0; i < nin; i++)
        if (get(bs, args[i], 0)) return -1;
    if (get(bs, args[nin], 1)) return -1;
    *cols = PyLong_AsSsize_t(args[nin + 1]);
    if (*cols == -1 && PyErr_Occurred()) return -1;
    for (int i = 1; i <= nin; i++)
        if (!float_kind(&bs->b[0]) || !same_layout(&bs->b[0], &bs->b[i])) {
            PyErr_Format(PyExc_ValueError, "%s: float32/64 buffers of one size", sig);
            return -1;
        }
    Py_ssize_t n = bs->b[0].len / bs->b[0].itemsize;
    if (*cols <= 0 || n % *cols) {
        PyErr_Format(PyExc_ValueError, "%s: cols must divide the size", sig);
        return -1;
    }
    *rows = n / *cols;
    return 0;
}

static PyObject *log_softmax_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Bufs bs = {.n = 0};
    Py_ssize_t rows, cols;
    if (rows_args(&bs, args, nargs, 1, &rows, &cols, "log_softmax_rows(x, out, cols)")) {
        release(&bs);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (bs.b[0].itemsize == 4)
        log_softmax_float(bs.b[0].buf, bs.b[1].buf, rows, cols);
    else
        log_softmax_double(bs.b[0].buf, bs.b[1].buf, rows, cols);
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
}

static PyObject *log_softmax_rows_backward(PyObject *self, PyObject *const *args,
                                           Py_ssize_t nargs) {
    Bufs bs = {.n = 0};
    Py_ssize_t rows, cols;
    if (rows_args(&bs, args, nargs, 2, &rows, &cols,
                  "log_softmax_rows_backward(g, y, out, cols)")) {
        release(&bs);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (bs.b[0].itemsize == 4)
        log_softmax_bwd_float(bs.b[0].buf, bs.b[1].buf, bs.b[2].buf, rows, cols);
    else
        log_softmax_bwd_double(bs.b[0].buf, bs.b[1].buf, bs.b[2].buf, rows, cols);
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
}

/* ---- negative log-likelihood of (rows, cols) log-probabilities, no class weights ----
 * loss = -sum(logp[r, t[r]]) over targets != ignore, divided by their count for 'mean' (NaN
 * when none); coef (zeroed by the caller) gets d(loss)/d(logp): -1/max(count, 1) ('mean') or
 * -1 ('sum') at each kept target. Returns the row of the first target outside [0, cols) that
 * is not ignored, or -1; then nothing is written. */
#define NLL(T)                                                                                \
    static Py_ssize_t nll_##T(const T *lp, const int64_t *t, T *coef, T *loss,                \
                              Py_ssize_t rows, Py_ssize_t cols, int64_t ignore, int mean) {   \
        Py_ssize_t count = 0;                                                                 \
        for (Py_ssize_t r = 0; r < rows; r++) {                                               \
            if (t[r] == ignore) continue;                                                     \
            if (t[r] < 0 || t[r] >= cols) return r;                                           \
            count++;                                                                          \
        }                                                                                     \
        double s = 0;                                                                         \
        for (Py_ssize_t r = 0; r < rows; r++)                                                 \
            if (t[r] != ignore) s += lp[r * cols + t[r]];                                     \
        T scale = mean ? (T)1 / (T)(count > 0 ? count : 1) : (T)1;                            \
        *loss = mean ? (T)(-s) / (T)count : (T)(-s);                                          \
        for (Py_ssize_t r = 0; r < rows; r++)                                                 \
            if (t[r] != ignore) coef[r * cols + t[r]] = -scale;                               \
        return -1;                                                                            \
    }
NLL(float)
NLL(double)

static PyObject *nll_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    /* nll_rows(logp, target, coef, loss, cols, ignore_index, mean) -> first bad row or -1 */
    Bufs bs = {.n = 0};
    if (nargs_ok(nargs, 7, "nll_rows(logp, target, coef, loss, cols, ignore_index, mean)"))
        return NULL;
    if (get(&bs, args[0], 0) || get(&bs, args[1], 0) || get(&bs, args[2], 1)
        || get(&bs, args[3], 1))
        goto fail;
    Py_ssize_t cols = PyLong_AsSsize_t(args[4]);
    long long ignore = PyLong_AsLongLong(args[5]);
    int mean = PyObject_IsTrue(args[6]);
    if (PyErr_Occurred() || mean < 0) goto fail;
    const Py_buffer *lp = &bs.b[0], *t = &bs.b[1];
    const char *tf = t->format ? t->format : "";
    if (*tf == '<' || *tf == '=' || *tf == '@') tf++;
    Py_ssize_t n = float_kind(lp) ? lp->len / lp->itemsize : 0;
    if (!float_kind(lp) || !same_layout(lp, &bs.b[2]) || bs.b[3].len != lp->itemsize
        || float_kind(&bs.b[3]) != float_kind(lp) || t->itemsize != 8
        || !(tf[0] == 'l' || tf[0] == 'q') || tf[1] != 0 || cols <= 0
        || n != (t->len / 8) * cols) {
        PyErr_SetString(PyExc_ValueError,
                        "nll_rows: float32/64 (rows, cols) buffers, int64 (rows,) targets");
        goto fail;
    }
    Py_ssize_t rows = t->len / 8, bad;
    Py_BEGIN_ALLOW_THREADS
    if (lp->itemsize == 4)
        bad = nll_float(lp->buf, t->buf, bs.b[2].buf, bs.b[3].buf, rows, cols, ignore, mean);
    else
        bad = nll_double(lp->buf, t->buf, bs.b[2].buf, bs.b[3].buf, rows, cols, ignore, mean);
    Py_END_ALLOW_THREADS
    release(&bs);
    return PyLong_FromSsize_t(bad);
fail:
    release(&bs);
    return NULL;
}


/* ---- a linear layer's weight gradient for a small batch, optionally with SGD's update ----
 * G = g^T x for g (K, M) and x (K, N), float32: G[i, j] = sum_k g[k, i] x[k, j], each element
 * one chain of fused multiply-adds in k order from 0. With W, also W = fma(a, G, W) per
 * element (SGD's `w.add_(grad, alpha=-lr)`, rounded as BLAS's saxpy rounds it).
 *
 * OpenBLAS's sgemm packs both operands on every call, which costs as much as the arithmetic
 * when K (the batch) is small: 16x256x784 takes 107 us there and 71 us here on one x86 core,
 * and with the update fused the gradient is not read back from memory. Larger batches go to
 * BLAS (see cpu_native.WGRAD_MAX_K). The AVX2 path runs 4x16 tiles of G in 8 registers; the
 * edges run 1x16 tiles, 8 columns and single columns, every element by the same k-order
 * chain, so the result does not depend on where an element falls. Only x86-64 with AVX2 and
 * FMA has this kernel (fma_available()); elsewhere BLAS computes the gradient. */

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_FMA 1

#define WG_TARGET __attribute__((target("avx2,fma")))

WG_TARGET static inline void wg_store(float *o, float *w, __m256 c, __m256 av) {
    _mm256_storeu_ps(o, c);
    if (w) _mm256_storeu_ps(w, _mm256_fmadd_ps(av, c, _mm256_loadu_ps(w)));
}

/* Rows i..i+3, columns j..j+15 of G (and W): eight accumulators that stay in registers. */
WG_TARGET static inline void wg_tile4(const float *g, const float *x, float *G, float *W,
                                      __m256 av, Py_ssize_t K, Py_ssize_t M, Py_ssize_t N,
                                      Py_ssize_t i, Py_ssize_t j) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00;
    for (Py_ssize_t k = 0; k < K; k++) {
        const float *xr = x + k * N + j, *gr = g + k * M + i;
        const __m256 x0 = _mm256_loadu_ps(xr), x1 = _mm256_loadu_ps(xr + 8);
        __m256 b = _mm256_broadcast_ss(gr);
        c00 = _mm256_fmadd_ps(b, x0, c00);
        c01 = _mm256_fmadd_ps(b, x1, c01);
        b = _mm256_broadcast_ss(gr + 1);
        c10 = _mm256_fmadd_ps(b, x0, c10);
        c11 = _mm256_fmadd_ps(b, x1, c11);
        b = _mm256_broadcast_ss(gr + 2);
        c20 = _mm256_fmadd_ps(b, x0, c20);
        c21 = _mm256_fmadd_ps(b, x1, c21);
        b = _mm256_broadcast_ss(gr + 3);
        c30 = _mm256_fmadd_ps(b, x0, c30);
        c31 = _mm256_fmadd_ps(b, x1, c31);
    }
    const Py_ssize_t o = i * N + j;
#define WG_ROW(r, lo, hi)                                                        \
    wg_store(G + o + (r) * N, W ? W + o + (r) * N : NULL, lo, av);               \
    wg_store(G + o + (r) * N + 8, W ? W + o + (r) * N + 8 : NULL, hi, av);
    WG_ROW(0, c00, c01)
    WG_ROW(1, c10, c11)
    WG_ROW(2, c20, c21)
    WG_ROW(3, c30, c31)
#undef WG_ROW
}

/* One row of G (and W) from column j0 on: 16, then 8 columns at a time, then one by one. */
WG_TARGET static void wg_row(const float *g, const float *x, float *G, float *W, float a,
                             Py_ssize_t K, Py_ssize_t M, Py_ssize_t N, Py_ssize_t i,
                             Py_ssize_t j0) {
    const __m256 av = _mm256_set1_ps(a);
    Py_ssize_t j = j0;
    for (; j + 16 <= N; j += 16) {
        __m256 c0 = _mm256_setzero_ps(), c1 = c0;
        for (Py_ssize_t k = 0; k < K; k++) {
            const __m256 b = _mm256_broadcast_ss(g + k * M + i);
            c0 = _mm256_fmadd_ps(b, _mm256_loadu_ps(x + k * N + j), c0);
            c1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(x + k * N + j + 8), c1);
        }
        wg_store(G + i * N + j, W ? W + i * N + j : NULL, c0, av);
        wg_store(G + i * N + j + 8, W ? W + i * N + j + 8 : NULL, c1, av);
    }
    for (; j + 8 <= N; j += 8) {
        __m256 c0 = _mm256_setzero_ps();
        for (Py_ssize_t k = 0; k < K; k++)
            c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(g + k * M + i),
                                 _mm256_loadu_ps(x + k * N + j), c0);
        wg_store(G + i * N + j, W ? W + i * N + j : NULL, c0, av);
    }
    for (; j < N; j++) {
        float acc = 0.0f;
        for (Py_ssize_t k = 0; k < K; k++) acc = fmaf(g[k * M + i], x[k * N + j], acc);
        G[i * N + j] = acc;
        if (W) W[i * N + j] = fmaf(a, acc, W[i * N + j]);
    }
}

WG_TARGET static void wgrad_avx2(const float *g, const float *x, float *G, float *W, float a,
                                 Py_ssize_t K, Py_ssize_t M, Py_ssize_t N) {
    const __m256 av = _mm256_set1_ps(a);
    const Py_ssize_t M4 = M - M % 4, N16 = N - N % 16;
    for (Py_ssize_t i = 0; i < M4; i += 4) {
        for (Py_ssize_t j = 0; j < N16; j += 16) wg_tile4(g, x, G, W, av, K, M, N, i, j);
        if (N16 < N)
            for (Py_ssize_t r = 0; r < 4; r++) wg_row(g, x, G, W, a, K, M, N, i + r, N16);
    }
    for (Py_ssize_t i = M4; i < M; i++) wg_row(g, x, G, W, a, K, M, N, i, 0);
}

/* y = fma(a, x, y) per element, the vector body and the tail alike (BLAS's saxpy rounds its
 * tail elements twice on some builds, so an update fused into another kernel could not match
 * it bit for bit; torch's vectorised add_(alpha=) is one fused multiply-add throughout). */
#define AXPY(T, SUF, LANES, VEC, FMA1)                                                     \
    WG_TARGET static void axpy_##T(const T *x, T *y, T a, Py_ssize_t n) {                  \
        const VEC av = _mm256_set1_##SUF(a);                                               \
        Py_ssize_t i = 0;                                                                  \
        for (; i + 4 * LANES <= n; i += 4 * LANES) {                                       \
            VEC y0 = _mm256_fmadd_##SUF(av, _mm256_loadu_##SUF(x + i), _mm256_loadu_##SUF(y + i)); \
            VEC y1 = _mm256_fmadd_##SUF(av, _mm256_loadu_##SUF(x + i + LANES),             \
                                        _mm256_loadu_##SUF(y + i + LANES));                \
            VEC y2 = _mm256_fmadd_##SUF(av, _mm256_loadu_##SUF(x + i + 2 * LANES),         \
                                        _mm256_loadu_##SUF(y + i + 2 * LANES));            \
            VEC y3 = _mm256_fmadd_##SUF(av, _mm256_loadu_##SUF(x + i + 3 * LANES),         \
                                        _mm256_loadu_##SUF(y + i + 3 * LANES));            \
            _mm256_storeu_##SUF(y + i, y0);                                                \
            _mm256_storeu_##SUF(y + i + LANES, y1);                                        \
            _mm256_storeu_##SUF(y + i + 2 * LANES, y2);                                    \
            _mm256_storeu_##SUF(y + i + 3 * LANES, y3);                                    \
        }                                                                                  \
        for (; i + LANES <= n; i += LANES)                                                 \
            _mm256_storeu_##SUF(y + i, _mm256_fmadd_##SUF(av, _mm256_loadu_##SUF(x + i),   \
                                                          _mm256_loadu_##SUF(y + i)));     \
        for (; i < n; i++) y[i] = FMA1(a, x[i], y[i]);                                     \
    }
AXPY(float, ps, 8, __m256, fmaf)
AXPY(double, pd, 4, __m256d, fma)

static int fma_ok(void) {
    static int ok = -1;
    if (ok < 0) {
        __builtin_cpu_init();
        ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return ok;
}
#else
#define HAVE_AVX2_FMA 0
static int fma_ok(void) { return 0; }
#endif

static PyObject *fma_available(PyObject *self, PyObject *unused) {
    return PyBool_FromLong(fma_ok());
}

/* The FMA kernels' entry checks: the argument count (TypeError with the signature `sig`) and
 * that this machine has the kernels (RuntimeError); 0 when both pass. */
static int fma_entry(Py_ssize_t nargs, Py_ssize_t want, const char *sig) {
    if (nargs_ok(nargs, want, sig)) return -1;
    if (!fma_ok()) {
        PyErr_Format(PyExc_RuntimeError, "%s: needs x86-64 with AVX2 and FMA", sig);
        return -1;
    }
    return 0;
}

static PyObject *linear_wgrad(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    /* linear_wgrad(g, x, G, K, M, N, W or None, a) */
    Bufs bs = {.n = 0};
    if (fma_entry(nargs, 8, "linear_wgrad(g, x, G, K, M, N, W, a)")) return NULL;
    const int with_w = args[6] != Py_None;
    if (get(&bs, args[0], 0) || get(&bs, args[1], 0) || get(&bs, args[2], 1)
        || (with_w && get(&bs, args[6], 1)))
        goto fail;
    Py_ssize_t K = PyLong_AsSsize_t(args[3]), M = PyLong_AsSsize_t(args[4]),
               N = PyLong_AsSsize_t(args[5]);
    double a = PyFloat_AsDouble(args[7]);
    if (PyErr_Occurred()) goto fail;
    const Py_buffer *bg = &bs.b[0], *bx = &bs.b[1], *bG = &bs.b[2];
    if (float_kind(bg) != 4 || float_kind(bx) != 4 || float_kind(bG) != 4 || K <= 0 || M <= 0
        || N <= 0 || bg->len != K * M * 4 || bx->len != K * N * 4 || bG->len != M * N * 4
        || (with_w && (float_kind(&bs.b[3]) != 4 || bs.b[3].len != M * N * 4))) {
        PyErr_SetString(PyExc_ValueError,
                        "linear_wgrad: float32 (K, M), (K, N) and (M, N) buffers");
        goto fail;
    }
#if HAVE_AVX2_FMA
    Py_BEGIN_ALLOW_THREADS
    wgrad_avx2(bg->buf, bx->buf, bG->buf, with_w ? bs.b[3].buf : NULL, (float)a, K, M, N);
    Py_END_ALLOW_THREADS
#endif
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

static PyObject *axpy(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    /* axpy(x, y, a): y = fma(a, x, y), float32 or float64, one dtype and size */
    Bufs bs = {.n = 0};
    if (fma_entry(nargs, 3, "axpy(x, y, a)")) return NULL;
    if (get(&bs, args[0], 0) || get(&bs, args[1], 1)) goto fail;
    double a = PyFloat_AsDouble(args[2]);
    if (a == -1.0 && PyErr_Occurred()) goto fail;
    const Py_buffer *x = &bs.b[0], *y = &bs.b[1];
    if (!float_kind(x) || !same_layout(x, y)) {
        PyErr_SetString(PyExc_ValueError, "axpy: float32/64 buffers of one dtype and size");
        goto fail;
    }
#if HAVE_AVX2_FMA
    Py_ssize_t n = x->len / x->itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (x->itemsize == 4)
        axpy_float(x->buf, y->buf, (float)a, n);
    else
        axpy_double(x->buf, y->buf, a, n);
    Py_END_ALLOW_THREADS
#endif
    release(&bs);
    Py_RETURN_NONE;
fail:
    release(&bs);
    return NULL;
}

static PyMethodDef methods[] = {
    {"relu_backward", (PyCFunction)(void (*)(void))relu_backward, METH_FASTCALL,
     "relu_backward(g, y, out): out = 0 where y <= 0, else g."},
    {"log_softmax_rows", (PyCFunction)(void (*)(void))log_softmax_rows, METH_FASTCALL,
     "log_softmax_rows(x, out, cols): log-softmax of each row of cols elements."},
    {"log_softmax_rows_backward", (PyCFunction)(void (*)(void))log_softmax_rows_backward,
     METH_FASTCALL, "log_softmax_rows_backward(g, y, out, cols): g - exp(y) * rowsum(g)."},
    {"bias_rows", (PyCFunction)(void (*)(void))bias_rows, METH_FASTCALL,
     "bias_rows(x, b, out, cols): x += b per row; with out, out = maximum(x, 0)."},
    {"sum_axis0", (PyCFunction)(void (*)(void))sum_axis0, METH_FASTCALL,
     "sum_axis0(x, out, cols): column sums of a (rows, cols) array, in NumPy's order."},
    {"nll_rows", (PyCFunction)(void (*)(void))nll_rows, METH_FASTCALL,
     "nll_rows(logp, target, coef, loss, cols, ignore_index, mean) -> first bad row or -1."},
    {"linear_wgrad", (PyCFunction)(void (*)(void))linear_wgrad, METH_FASTCALL,
     "linear_wgrad(g, x, G, K, M, N, W, a): G = g.T @ x (float32); with W, W = fma(a, G, W)."},
    {"axpy", (PyCFunction)(void (*)(void))axpy, METH_FASTCALL,
     "axpy(x, y, a): y = fma(a, x, y) per element (float32/64)."},
    {"fma_available", fma_available, METH_NOARGS,
     "fma_available() -> whether linear_wgrad runs here (x86-64 with AVX2 and FMA)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cpu_kernels",
    "Fused CPU kernels for small arrays (see gpuarr/backends/cpu_native.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__cpu_kernels(void) { return PyModule_Create(&module); }
