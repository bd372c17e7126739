/* curate._minhash: the loops behind near-duplicate search (curate/minhash_lsh.py; curate/pure.py states each in numpy) over numpy arrays.

   signatures()  b-bit MinHash: per prompt and permutation i, min over its shingles s of (a_i * x + b_i) >> 16
                 in 32-bit arithmetic (multiply-shift hashing of x = the two halves of s xored: the top 16
                 bits), written into a uint16 array (prompts x permutations).
   band_pairs()  the pairs of prompts whose signatures agree on all values of a band, for a run of bands:
                 prompts are sorted by a 32-bit key of (band values, system turn) with a stable radix sort,
                 and each bucket
                 of equal keys gives all its pairs (or, above `cap` prompts, each prompt with the next).
                 Pairs come back as sorted, distinct codes a << 32 | b with a < b.
   jaccard()     per pair, whether the exact Jaccard similarity of the two shingle sets reaches a threshold.

   The GIL is released during each loop, so callers can run two at once. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Compiled twice on x86-64 (AVX2 and plain), the loader picking what the CPU has: with AVX2 the 80
   permutations of a shingle are 10 vector multiplies. That pick is a glibc ifunc: GCC on glibc only (not musl,
   macOS or Windows, which get the plain loop; glibc's headers, included by Python.h, define __GLIBC__). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

VECTOR_CLONES static void signature_rows(const int32_t *owner, const uint64_t *shingle, Py_ssize_t n, const uint32_t *a,
                                         const uint32_t *b, uint16_t *sig, Py_ssize_t width) {
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)(shingle[i] ^ (shingle[i] >> 32));
        uint16_t *row = sig + (size_t)owner[i] * width;
        for (Py_ssize_t k = 0; k < width; k++) {
            uint16_t v = (uint16_t)((a[k] * x + b[k]) >> 16);
            row[k] = v < row[k] ? v : row[k];
        }
    }
}

/* signatures(prompt int32, shingle uint64, multipliers uint32, offsets uint32, out uint16 writable, width) */
static PyObject *signatures(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer prompt, shingle, mult, add, out;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*n", &prompt, &shingle, &mult, &add, &out, &width)) return NULL;
    Py_ssize_t n = shingle.len / 8, rows = width > 0 ? out.len / (2 * width) : 0;
    int ok = width > 0 && width <= 1024 && prompt.len / 4 == n && mult.len / 4 == width && add.len / 4 == width;
    const int32_t *owner = prompt.buf;
    for (Py_ssize_t i = 0; ok && i < n; i++) ok = owner[i] >= 0 && owner[i] < rows;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "signatures: arrays of mismatched sizes, or a prompt index out of range");
    } else {
        Py_BEGIN_ALLOW_THREADS;
        signature_rows(owner, shingle.buf, n, mult.buf, add.buf, out.buf, width);
        Py_END_ALLOW_THREADS;
    }
    PyBuffer_Release(&prompt);
    PyBuffer_Release(&shingle);
    PyBuffer_Release(&mult);
    PyBuffer_Release(&add);
    PyBuffer_Release(&out);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
}

/* Stable LSD radix sort of (key, value) by the low `bits` bits of key (the others must be zero), 11 bits
   a pass so the counts stay in L1; `tmp_*` are scratch of the same size, `value` may be NULL. Returns -1
   when out of memory. */
#define DIGIT 11
static int radix_sort(uint64_t *key, uint32_t *value, uint64_t *tmp_key, uint32_t *tmp_value, size_t n, int bits) {
    size_t count[1 << DIGIT];
    for (int shift = 0; shift < bits; shift += DIGIT) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++) count[(key[i] >> shift) & ((1 << DIGIT) - 1)]++;
        size_t total = 0;
        for (size_t d = 0; d < (1 << DIGIT); d++) {
            size_t c = count[d];
            count[d] = total;
            total += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = count[(key[i] >> shift) & ((1 << DIGIT) - 1)]++;
            tmp_key[at] = key[i];
            if (value) tmp_value[at] = value[i];
        }
        memcpy(key, tmp_key, n * sizeof *key);
        if (value) memcpy(value, tmp_value, n * sizeof *value);
    }
    return 0;
}

static int bit_length(uint64_t x) {
    int bits = 0;
    while (x) {
        bits++;
        x >>= 1;
    }
    return bits;
}

static size_t sorted_unique(uint64_t *codes, size_t n) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || codes[i] != codes[kept - 1]) codes[kept++] = codes[i];
    return kept;
}

typedef struct {
    uint64_t *data;
    size_t len, cap;
} Codes;

static int codes_push(Codes *c, uint64_t code) {
    if (c->len == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1 << 16;
        uint64_t *grown = realloc(c->data, cap * sizeof *grown);
        if (!grown) return -1;
        c->data = grown;
        c->cap = cap;
    }
    c->data[c->len++] = code;
    return 0;
}

/* Merge two sorted distinct code arrays into `out` (room for na + nb); returns the count. */
static size_t merge_into(const uint64_t *a, size_t na, const uint64_t *b, size_t nb, uint64_t *out) {
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) out[k++] = a[i++];
        else if (b[j] < a[i]) out[k++] = b[j++];
        else {
            out[k++] = a[i++];
            j++;
        }
    }
    while (i < na) out[k++] = a[i++];
    while (j < nb) out[k++] = b[j++];
    return k;
}

/* band_pairs(signatures, width, present, system, band_first, band_count, rows, cap) -> codes bytes.
   present: int32 prompt ids (ascending) to consider; system: uint64 per present prompt (its system turn). */
static PyObject *band_pairs(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer sig, present, system;
    Py_ssize_t width, band_first, band_count, rows, cap;
    if (!PyArg_ParseTuple(args, "y*ny*y*nnnn", &sig, &width, &present, &system, &band_first, &band_count, &rows,
                          &cap))
        return NULL;
    size_t n = (size_t)present.len / 4;
    Py_ssize_t prompts = width > 0 ? sig.len / (2 * width) : 0;
    int ok = width > 0 && width <= 1024 && rows > 0 && rows <= 4 && cap >= 2 && band_first >= 0 &&
             band_count >= 0 && band_first <= width && band_count <= width &&
             (band_first + band_count) * rows <= width && (size_t)system.len / 8 == n;
    const int32_t *ids = present.buf;
    for (size_t i = 0; ok && i < n; i++) ok = ids[i] >= 0 && ids[i] < prompts && (i == 0 || ids[i] > ids[i - 1]);
    PyObject *result = NULL;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "band_pairs: bad bands, sizes or prompt ids (ascending, in range)");
        goto done;
    }
    const uint16_t *s = sig.buf;
    const uint64_t *sys = system.buf;
    size_t room = n ? n : 1; /* malloc(0) may be NULL */
    uint64_t *key = malloc(room * sizeof *key), *tmp_key = malloc(room * sizeof *tmp_key);
    uint32_t *value = malloc(room * sizeof *value), *tmp_value = malloc(room * sizeof *tmp_value);
    /* every band's 32-bit keys, made in one pass over the signature rows (each row read once) */
    uint32_t *band_keys = malloc((size_t)(band_count ? band_count : 1) * room * sizeof *band_keys);
    uint64_t *all = NULL;
    size_t nall = 0;
    Codes band = {0};
    int failed = !key || !tmp_key || !value || !tmp_value || !band_keys;
    Py_BEGIN_ALLOW_THREADS;
    for (size_t i = 0; i < n && !failed; i++) {
        const uint16_t *row = s + (size_t)ids[i] * width;
        for (Py_ssize_t b = 0; b < band_count; b++) {
            const uint16_t *v = row + (band_first + b) * rows;
            uint64_t packed = 0;
            for (Py_ssize_t r = 0; r < rows; r++) packed = (packed << 16) | v[r];
            /* 32 bits of (band values, system turn): a rare collision only adds a candidate, which the
               estimate and the exact check then drop; so do prompts of two system turns, see callers */
            band_keys[(size_t)b * n + i] = (uint32_t)(((packed ^ sys[i]) * 0x9E3779B97F4A7C15ULL) >> 32);
        }
    }
    /* Pairs are sorted as compact codes a << id_bits | b, and widened to a << 32 | b at the end. */
    int id_bits = bit_length((uint64_t)(prompts > 1 ? prompts - 1 : 1));
    for (Py_ssize_t b = 0; b < band_count && !failed; b++) {
        for (size_t i = 0; i < n; i++) {
            key[i] = band_keys[(size_t)b * n + i];
            value[i] = (uint32_t)ids[i];
        }
        radix_sort(key, value, tmp_key, tmp_value, n, 32);
        band.len = 0;
        for (size_t start = 0; start < n && !failed;) {
            size_t end = start + 1;
            while (end < n && key[end] == key[start]) end++;
            size_t size = end - start;
            for (size_t x = start; x < end && !failed; x++) {
                size_t last = size > (size_t)cap ? (x + 2 < end ? x + 2 : end) : end;
                for (size_t y = x + 1; y < last && !failed; y++)
                    if (codes_push(&band, ((uint64_t)value[x] << id_bits) | value[y])) failed = 1;
            }
            start = end;
        }
        if (failed) break;
        uint64_t *band_tmp = malloc(band.len * sizeof *band_tmp + 8);
        if (!band_tmp) {
            failed = 1;
            break;
        }
        radix_sort(band.data, NULL, band_tmp, NULL, band.len, 2 * id_bits);
        free(band_tmp);
        size_t nband = sorted_unique(band.data, band.len);
        uint64_t *merged = malloc((nall + nband) * sizeof *merged + 8);
        if (!merged) {
            failed = 1;
            break;
        }
        nall = merge_into(all, nall, band.data, nband, merged);
        free(all);
        all = merged;
    }
    uint64_t low = (1ULL << id_bits) - 1;
    for (size_t i = 0; i < nall && !failed; i++) all[i] = ((all[i] >> id_bits) << 32) | (all[i] & low);
    Py_END_ALLOW_THREADS;
    free(key);
    free(tmp_key);
    free(value);
    free(tmp_value);
    free(band_keys);
    free(band.data);
    if (failed) {
        free(all);
        PyErr_NoMemory();
        goto done;
    }
    result = PyBytes_FromStringAndSize((const char *)(all ? all : (uint64_t *)""), (Py_ssize_t)(nall * 8));
    free(all);
done:
    PyBuffer_Release(&sig);
    PyBuffer_Release(&present);
    PyBuffer_Release(&system);
    return result;
}

/* jaccard(starts int64, shingles uint64, codes uint64, threshold) -> uint8 bytes: per pair a << 32 | b,
   1 when |A & B| / |A | B| >= threshold for the shingle sets A = shingles[starts[a]:starts[a + 1]] (distinct
   within a prompt) and B likewise. A is put in a small hash table, B's shingles are looked up in it. */
static PyObject *jaccard(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer starts, shingles, codes;
    double threshold;
    if (!PyArg_ParseTuple(args, "y*y*y*d", &starts, &shingles, &codes, &threshold)) return NULL;
    size_t n = (size_t)codes.len / 8, prompts = starts.len / 8 ? (size_t)starts.len / 8 - 1 : 0;
    const int64_t *st = starts.buf;
    const uint64_t *sh = shingles.buf, *c = codes.buf;
    int ok = starts.len >= 8;
    for (size_t p = 0; ok && p < prompts; p++) ok = st[p] >= 0 && st[p] <= st[p + 1] && st[p + 1] <= shingles.len / 8;
    for (size_t i = 0; ok && i < n; i++) ok = (c[i] >> 32) < prompts && (c[i] & 0xFFFFFFFF) < prompts;
    PyObject *out = ok ? PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n) : NULL;
    if (!ok) PyErr_SetString(PyExc_ValueError, "jaccard: bad starts, or pairs outside them");
    if (out) {
        unsigned char *similar = (unsigned char *)PyBytes_AS_STRING(out);
        size_t cap = 0;
        uint64_t *table = NULL;
        int failed = 0;
        Py_BEGIN_ALLOW_THREADS;
        for (size_t i = 0; i < n && !failed; i++) {
            size_t a = c[i] >> 32, b = c[i] & 0xFFFFFFFF;
            size_t na = (size_t)(st[a + 1] - st[a]), nb = (size_t)(st[b + 1] - st[b]);
            size_t want = 16;
            while (want < 2 * na) want *= 2;
            if (want > cap) {
                free(table);
                table = malloc(want * sizeof *table);
                cap = want;
                if (!table) {
                    failed = 1;
                    break;
                }
            }
            /* 0 marks an empty slot; a shingle equal to 0 is counted aside */
            memset(table, 0, want * sizeof *table);
            int zero_a = 0;
            size_t mask = want - 1, shared = 0;
            for (size_t k = 0; k < na; k++) {
                uint64_t v = sh[st[a] + k];
                if (!v) {
                    zero_a = 1;
                    continue;
                }
                size_t at = (size_t)(v >> 7) & mask;
                while (table[at] && table[at] != v) at = (at + 1) & mask;
                table[at] = v;
            }
            for (size_t k = 0; k < nb; k++) {
                uint64_t v = sh[st[b] + k];
                if (!v) {
                    shared += zero_a;
                    continue;
                }
                size_t at = (size_t)(v >> 7) & mask;
                while (table[at] && table[at] != v) at = (at + 1) & mask;
                shared += table[at] == v;
            }
            double both = (double)(na + nb - shared);
            similar[i] = both > 0 && (double)shared / both >= threshold;
        }
        Py_END_ALLOW_THREADS;
        free(table);
        if (failed) {
            Py_DECREF(out);
            out = PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&starts);
    PyBuffer_Release(&shingles);
    PyBuffer_Release(&codes);
    return out;
}

static PyMethodDef METHODS[] = {
    {"signatures", signatures, METH_VARARGS,
     "signatures(prompt int32, shingle uint64, multipliers uint32, offsets uint32, out uint16 writable, width)"},
    {"band_pairs", band_pairs, METH_VARARGS,
     "band_pairs(signatures uint16, width, present int32, system uint64, band_first, band_count, rows, cap) "
     "-> sorted distinct codes (uint64 bytes)"},
    {"jaccard", jaccard, METH_VARARGS, "jaccard(starts int64, shingles uint64, codes uint64, threshold) -> uint8 bytes"},
    {NULL, NULL, 0, NULL},
};

/* No state at all: the loops run without the GIL, so a free-threaded Python need not turn it back on. */
static PyModuleDef_Slot SLOTS[] = {
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_minhash", "MinHash and LSH loops.", 0, METHODS,
                                    SLOTS, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__minhash(void) { return PyModuleDef_Init(&MODULE); }
