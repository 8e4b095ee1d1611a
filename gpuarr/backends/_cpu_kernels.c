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
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "relu_backward(g, y, out)");
        return NULL;
    }
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
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "sum_axis0(x, out, cols)");
        return NULL;
    }
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
    if (nargs != nin + 2) {
        PyErr_SetString(PyExc_TypeError, sig);
        return -1;
    }
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
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "nll_rows(logp, target, coef, loss, cols, ignore_index, mean)");
        return NULL;
    }
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

static PyMethodDef methods[] = {
    {"relu_backward", (PyCFunction)(void (*)(void))relu_backward, METH_FASTCALL,
     "relu_backward(g, y, out): out = 0 where y <= 0, else g."},
    {"log_softmax_rows", (PyCFunction)(void (*)(void))log_softmax_rows, METH_FASTCALL,
     "log_softmax_rows(x, out, cols): log-softmax of each row of cols elements."},
    {"log_softmax_rows_backward", (PyCFunction)(void (*)(void))log_softmax_rows_backward,
     METH_FASTCALL, "log_softmax_rows_backward(g, y, out, cols): g - exp(y) * rowsum(g)."},
    {"sum_axis0", (PyCFunction)(void (*)(void))sum_axis0, METH_FASTCALL,
     "sum_axis0(x, out, cols): column sums of a (rows, cols) array, in NumPy's order."},
    {"nll_rows", (PyCFunction)(void (*)(void))nll_rows, METH_FASTCALL,
     "nll_rows(logp, target, coef, loss, cols, ignore_index, mean) -> first bad row or -1."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cpu_kernels",
    "Fused CPU kernels for small arrays (see gpuarr/backends/cpu_native.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__cpu_kernels(void) { return PyModule_Create(&module); }
