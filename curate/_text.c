/* curate._text: the byte loops behind decontamination, near-duplicate shingles and response hashes.

   Each function reads a run of strings straight from an Arrow string_view array, polars' own layout (its
   views, validity and data buffers, as pyarrow exports them without a copy; the index of the first string
   and the count), does one pass over the bytes with the GIL released (so two threads use both cores), and
   returns bytes-like objects that numpy reads without a copy, or the buffers of an Arrow large_string array
   that pyarrow takes over. The rules are the ones curate/pure.py states in numpy (its tables given by
   `configure`, from curate/words.py and curate/normalize.py):

   match words   maximal runs of ASCII letters and digits, lowercased; every other character (any
                 byte of a non-ASCII character included) separates words. A word right after a
                 backslash is a LaTeX command: spacing and sizing commands (\left, \quad, \big, ...)
                 are no word at all, and \dfrac, \tfrac, \dbinom, \tbinom count as \frac and \binom.
   word hash     the lowercased bytes 8 at a time (little-endian, the last chunk zero-padded): h = mix(h ^ chunk)
                 from h = length * G2, with mix splitmix64's finaliser.
   window key    for words w1..wL: h = (...(w1 * P + w2) * P + ...) + wL, key = h + L * G (mod 2^64);
                 computed with a rolling window, so every window costs O(1).
   space hash    bytes_hash (8 bytes a multiply) of the text with every run of whitespace (Unicode
                 White_Space) made one space and the ends stripped; the text's flag says it holds a character NFC might
                 change (the caller normalises those texts first, see curate/normalize.py).

   Every hash is a fixed algorithm: the same texts give the same values on any machine and in any process. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Portable spellings: GCC and clang builtins, MSVC intrinsics. */
#if defined(_MSC_VER)
#include <intrin.h>
#define ALWAYS_INLINE static __forceinline
static __forceinline int ctz32(unsigned x) {
    unsigned long at;
    _BitScanForward(&at, x);
    return (int)at;
}
static __forceinline int ctz64(uint64_t x) { /* two 32-bit scans: _BitScanForward64 is x64 only */
    return (uint32_t)x ? ctz32((unsigned)x) : 32 + ctz32((unsigned)(x >> 32));
}
#else
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define ctz32(x) __builtin_ctz(x)
#define ctz64(x) __builtin_ctzll(x)
#endif
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#define HAVE_SSE2 1
#include <emmintrin.h>
#endif
#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) || defined(_MSC_VER)
#define LITTLE_ENDIAN_LOADS 1 /* MSVC targets are all little-endian */
#endif

/* The rule tables, given by Python once at import (`configure`, from curate/words.py and the whitespace set of
   curate/normalize.py): the rules are stated there only. */
#define MAX_NAMES 32
#define MAX_NAME 24
static char SPACING[MAX_NAMES][MAX_NAME + 1], ALIASES[MAX_NAMES][MAX_NAME + 1];
static uint64_t ALIAS_HASH[MAX_NAMES]; /* the word hash of the command each alias counts as */
static int SPACING_COUNT, ALIAS_COUNT, CONFIGURED;
static uint32_t WIDE_SPACES[MAX_NAMES]; /* whitespace outside ASCII */
static int WIDE_SPACE_COUNT;

#define WINDOW_PRIME 0x9E3779B97F4A7C15ULL
#define LENGTH_MIX 0xD6E8FEB86659FD93ULL
#define MAX_WINDOW 64

static inline uint64_t mix(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static inline uint64_t window_key(uint64_t folded, int length) {
    return folded + (uint64_t)length * LENGTH_MIX; /* word hashes are mixed already: no need to mix again */
}

/* ---- growable outputs ------------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap; /* bytes */
} Buffer;

/* Room for `size` more bytes; -1 when out of memory. */
static int buffer_reserve(Buffer *b, size_t size) {
    if (b->len + size > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + size) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return -1;
        b->data = grown;
        b->cap = cap;
    }
    return 0;
}

static int buffer_push(Buffer *b, const void *item, size_t size) {
    if (buffer_reserve(b, size) < 0) return -1;
    memcpy(b->data + b->len, item, size);
    b->len += size;
    return 0;
}

/* Read-only bytes made here (from malloc, freed with the block) through the buffer protocol: outputs reach
   numpy and pyarrow as they are, where a copy of a large output costs as much again in page faults. */
typedef struct {
    PyObject_HEAD char *data;
    Py_ssize_t len;
} Block;

static int block_get(Block *self, Py_buffer *view, int flags) {
    static char empty[1];
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data ? self->data : empty, self->len, 1, flags);
}

static void block_dealloc(Block *self) {
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyBufferProcs BLOCK_PROCS = {.bf_getbuffer = (getbufferproc)block_get};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "curate._text.Block",
    .tp_basicsize = sizeof(Block),
    .tp_dealloc = (destructor)block_dealloc,
    .tp_as_buffer = &BLOCK_PROCS,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Bytes made by curate's C loops (buffer protocol, read-only).",
};

/* A block that takes over the `len` bytes at `data` (freed with it, or here when the block cannot be made). */
static PyObject *block_new(void *data, Py_ssize_t len) {
    Block *block = PyObject_New(Block, &BlockType);
    if (!block) {
        free(data);
        return NULL;
    }
    block->data = (char *)data;
    block->len = len;
    return (PyObject *)block;
}

/* The buffer's bytes as a Block, which takes them over. */
static PyObject *buffer_bytes(Buffer *b) {
    PyObject *block = block_new(b->data, (Py_ssize_t)b->len);
    b->data = NULL;
    b->len = b->cap = 0;
    return block;
}

/* ---- the strings of one Arrow string_view array ------------------------------------------------ */

/* Each string is a 16-byte view: int32 length, then either the bytes themselves (length <= 12) or a
   4-byte prefix, the index of the data buffer holding it and its offset there. Null strings read as "". */
typedef struct {
    Py_buffer views, validity;
    Py_buffer *data;
    Py_ssize_t ndata, first, count;
    int has_validity;
} Texts;

static void texts_close(Texts *t) {
    PyBuffer_Release(&t->views);
    if (t->has_validity) PyBuffer_Release(&t->validity);
    for (Py_ssize_t k = 0; k < t->ndata; k++) PyBuffer_Release(&t->data[k]);
    free(t->data);
    t->data = NULL;
    t->ndata = 0;
}

/* 1 when string i (counted from `first`) is null. */
static inline int text_null(const Texts *t, Py_ssize_t i) {
    Py_ssize_t at = t->first + i;
    return t->has_validity && !((((const unsigned char *)t->validity.buf)[at >> 3] >> (at & 7)) & 1);
}

/* 1 when string i's view points inside the buffers (a null's view is never read). */
static int view_ok(const Texts *t, Py_ssize_t i) {
    if (text_null(t, i)) return 1;
    const unsigned char *view = (const unsigned char *)t->views.buf + 16 * (t->first + i);
    int32_t len, index, offset;
    memcpy(&len, view, 4);
    if (len < 0) return 0;
    if (len <= 12) return 1;
    memcpy(&index, view + 8, 4);
    memcpy(&offset, view + 12, 4);
    return index >= 0 && index < t->ndata && offset >= 0 && (Py_ssize_t)offset + len <= t->data[index].len;
}

static const char BAD_VIEWS[] = "not a valid string_view array: a view points outside its buffers";

/* views: the views buffer; validity: the validity bitmap or None; data: a sequence of data buffers. Every
   view is checked. */
static int texts_open(PyObject *views, PyObject *validity, PyObject *data, Py_ssize_t first, Py_ssize_t count,
                      Texts *t) {
    memset(t, 0, sizeof *t);
    if (!CONFIGURED) {
        PyErr_SetString(PyExc_RuntimeError, "call configure() with the rule tables first");
        return -1;
    }
    if (PyObject_GetBuffer(views, &t->views, PyBUF_SIMPLE) < 0) return -1;
    if (validity != Py_None) {
        if (PyObject_GetBuffer(validity, &t->validity, PyBUF_SIMPLE) < 0) {
            PyBuffer_Release(&t->views);
            return -1;
        }
        t->has_validity = 1;
    }
    PyObject *seq = PySequence_Fast(data, "data must be a sequence of buffers");
    if (!seq) goto fail;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    t->data = calloc(n ? n : 1, sizeof(Py_buffer));
    if (!t->data) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        goto fail;
    }
    for (; t->ndata < n; t->ndata++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, t->ndata), &t->data[t->ndata], PyBUF_SIMPLE) < 0) {
            Py_DECREF(seq);
            goto fail;
        }
    }
    Py_DECREF(seq);
    t->first = first;
    t->count = count;
    if (first < 0 || count < 0 || count > INT32_MAX || first > PY_SSIZE_T_MAX / 32 ||
        (first + count) * 16 > t->views.len || (t->has_validity && (first + count + 7) / 8 > t->validity.len)) {
        PyErr_SetString(PyExc_ValueError, BAD_VIEWS);
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!view_ok(t, i)) {
            PyErr_SetString(PyExc_ValueError, BAD_VIEWS);
            goto fail;
        }
    }
    return 0;
fail:
    texts_close(t);
    return -1;
}


static inline const unsigned char *text_at(const Texts *t, Py_ssize_t i, Py_ssize_t *len) {
    Py_ssize_t at = t->first + i;
    const unsigned char *view = (const unsigned char *)t->views.buf + 16 * at;
    if (text_null(t, i)) {
        *len = 0;
        return view;
    }
    int32_t length, index, offset;
    memcpy(&length, view, 4);
    *len = length;
    if (length <= 12) return view + 4;
    memcpy(&index, view + 8, 4);
    memcpy(&offset, view + 12, 4);
    return (const unsigned char *)t->data[index].buf + offset;
}

/* ---- output strings: Arrow large_string buffers (offsets, data), which pyarrow takes over ----------- */

/* One output column being written: n + 1 int64 offsets and the data, from malloc. */
typedef struct {
    int64_t *offsets;
    char *data;
    size_t at;
} Column;

/* Room for n strings of `bytes` bytes in all; -1 (an error set) when out of memory. */
static int column_open(Column *c, Py_ssize_t n, size_t bytes) {
    c->offsets = malloc((size_t)(n + 1) * 8);
    c->data = malloc(bytes + 1);
    c->at = 0;
    if (!c->offsets || !c->data) {
        free(c->offsets);
        free(c->data);
        c->offsets = NULL;
        c->data = NULL;
        PyErr_NoMemory();
        return -1;
    }
    c->offsets[0] = 0;
    return 0;
}

static inline void column_put(Column *c, const void *bytes, size_t n) {
    memcpy(c->data + c->at, bytes, n);
    c->at += n;
}

/* (offsets Block, data Block): the column's buffers, taken over. */
static PyObject *column_strings(Column *c, Py_ssize_t count) {
    PyObject *offsets = block_new(c->offsets, (Py_ssize_t)(count + 1) * 8);
    PyObject *data = block_new(c->data, (Py_ssize_t)c->at);
    c->offsets = NULL;
    c->data = NULL;
    if (!offsets || !data) {
        Py_XDECREF(offsets);
        Py_XDECREF(data);
        return NULL;
    }
    return Py_BuildValue("NN", offsets, data);
}

/* ---- match words ------------------------------------------------------------------------------- */

static unsigned char LOWER[256]; /* ASCII letter or digit -> lowercase byte; everything else -> 0 */

static void init_tables(void) {
    for (int c = 0; c < 256; c++) LOWER[c] = 0;
    for (int c = '0'; c <= '9'; c++) LOWER[c] = (unsigned char)c;
    for (int c = 'a'; c <= 'z'; c++) LOWER[c] = (unsigned char)c;
    for (int c = 'A'; c <= 'Z'; c++) LOWER[c] = (unsigned char)(c - 'A' + 'a');
}

/* 1 if the word p[0..n) (any case) is `name` (lowercase). */
static inline int word_is(const unsigned char *p, size_t n, const char *name) {
    if (strlen(name) != n) return 0;
    for (size_t k = 0; k < n; k++)
        if (LOWER[p[k]] != (unsigned char)name[k]) return 0;
    return 1;
}

/* A word right after a backslash: 0 to emit it, 1 to skip it, 2 + k for alias k. */
static int latex_word(const unsigned char *p, size_t n) {
    for (int k = 0; k < SPACING_COUNT; k++)
        if (word_is(p, n, SPACING[k])) return 1;
    for (int k = 0; k < ALIAS_COUNT; k++)
        if (word_is(p, n, ALIASES[k])) return 2 + k;
    return 0;
}

typedef void (*WordSink)(void *state, uint64_t word);

/* Bytes p[0..m) (m <= 8, all ASCII letters or digits) as one lowercased little-endian chunk. `avail` is
   how many bytes of the text start at p: when 8 are there, one load replaces the byte loop. */
static inline uint64_t word_chunk(const unsigned char *p, size_t m, size_t avail) {
    uint64_t chunk = 0;
#ifdef LITTLE_ENDIAN_LOADS
    if (avail >= 8) {
        memcpy(&chunk, p, 8);
        uint64_t mask = m == 8 ? ~0ULL : (1ULL << (8 * m)) - 1;
        return (chunk | 0x2020202020202020ULL) & mask; /* | 0x20 lowercases letters and keeps digits */
    }
#endif
    (void)avail;
    for (size_t k = 0; k < m; k++) chunk |= (uint64_t)LOWER[p[k]] << (8 * k);
    return chunk;
}

/* The word hash of the n letters and digits at p (`avail` bytes of the text start at p): the lowercased
   bytes 8 at a time (little-endian, the last chunk zero-padded), h = mix(h ^ chunk) from h = n * G2; one mix
   for most words. */
static inline uint64_t word_hash(const unsigned char *p, size_t n, size_t avail) {
    uint64_t h = (uint64_t)n * LENGTH_MIX;
    for (size_t k = 0; k < n; k += 8) h = mix(h ^ word_chunk(p + k, n - k < 8 ? n - k : 8, avail - k));
    return h;
}

#ifdef HAVE_SSE2

/* Bit k set when byte k of the 16 at p is an ASCII letter or digit. */
static inline uint64_t alnum_mask16(const unsigned char *p) {
    __m128i bytes = _mm_loadu_si128((const __m128i *)p);
    /* unsigned x < k  <=>  min(x, k - 1) == x */
    __m128i digit = _mm_sub_epi8(bytes, _mm_set1_epi8('0'));
    __m128i letter = _mm_sub_epi8(_mm_or_si128(bytes, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(digit, _mm_set1_epi8(9)), digit);
    __m128i is_letter = _mm_cmpeq_epi8(_mm_min_epu8(letter, _mm_set1_epi8(25)), letter);
    return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(is_digit, is_letter));
}

/* Bit k set when byte k of the 64 at p is an ASCII letter or digit; bytes at or past `avail` count as not.
   64 bytes a step: the loop over a step's word boundaries ends (a mispredicted branch) once per 64 bytes. */
static inline uint64_t alnum_mask(const unsigned char *p, Py_ssize_t avail) {
    unsigned char tail[64];
    if (avail < 64) {
        memset(tail, 0, sizeof tail);
        memcpy(tail, p, (size_t)(avail > 0 ? avail : 0));
        p = tail;
    }
    return alnum_mask16(p) | alnum_mask16(p + 16) << 16 | alnum_mask16(p + 32) << 32 | alnum_mask16(p + 48) << 48;
}

#endif

/* One match word p[start..end) of the text p[0..len): its hash, or none for a LaTeX spacing command. */
ALWAYS_INLINE void word_at(const unsigned char *p, Py_ssize_t len, Py_ssize_t start, Py_ssize_t end, WordSink emit,
                           void *state) {
    size_t n = (size_t)(end - start);
    if (start > 0 && p[start - 1] == '\\') {
        int kind = latex_word(p + start, n);
        if (kind == 1) return;
        if (kind >= 2) {
            emit(state, ALIAS_HASH[kind - 2]);
            return;
        }
    }
    emit(state, word_hash(p + start, n, (size_t)(len - start)));
}

/* Calls `emit` for each match word of the text, in order. Always inlined, so that each caller's sink is
   inlined into the loop too. With SSE2, 64 bytes are classified at once and words found from the bits
   where the class changes. */
ALWAYS_INLINE void each_word(const unsigned char *p, Py_ssize_t len, WordSink emit, void *state) {
#ifdef HAVE_SSE2
    Py_ssize_t start = -1; /* where the current word began; -1 between words */
    uint64_t previous = 0; /* 1 when the byte before this block is a letter or digit */
    for (Py_ssize_t base = 0; base < len; base += 64) {
        uint64_t mask = alnum_mask(p + base, len - base);
        uint64_t changes = mask ^ ((mask << 1) | previous);
        previous = mask >> 63;
        while (changes) {
            Py_ssize_t at = base + ctz64(changes);
            changes &= changes - 1;
            if (start < 0) {
                start = at;
            } else {
                word_at(p, len, start, at, emit, state);
                start = -1;
            }
        }
    }
    if (start >= 0) word_at(p, len, start, len, emit, state);
#else
    Py_ssize_t i = 0;
    while (i < len) {
        while (i < len && !LOWER[p[i]]) i++;
        if (i == len) break;
        Py_ssize_t start = i;
        while (i < len && LOWER[p[i]]) i++;
        word_at(p, len, start, i, emit, state);
    }
#endif
}

/* ---- a set of keys, each with its position in the list it was built from ------------------------- */

/* In front of the table, a Bloom filter of two bits per key in one 64-bit word, with 16 bits per key: about
   1.4% of absent keys get past it (one bit per key in a fixed 32 KiB let 18% of lookups at 50k keys through,
   each a likely cache miss in the table). It stays in L2 for the benchmarks' 100k keys. */
#define FILTER_BITS_PER_KEY 16

typedef struct {
    uint64_t *slots;
    int64_t *positions;
    uint64_t *filter;
    size_t mask;
    int shift, filter_shift;
    int64_t zero_position; /* the key 0 marks an empty slot, so its position is kept here (-1: absent) */
} KeyMap;

/* The filter word of the key (top bits of key * G) and its two bits in that word (from bits 20-31). */
static inline uint64_t filter_bits(const KeyMap *map, uint64_t key, size_t *word) {
    uint64_t m = key * 0xC2B2AE3D27D4EB4FULL;
    *word = (size_t)(m >> map->filter_shift);
    return (1ULL << ((m >> 20) & 63)) | (1ULL << ((m >> 26) & 63));
}

/* Keys may be unmixed (window keys are sums): the slot comes from the top bits of key * G. */
static inline size_t keymap_slot(const KeyMap *map, uint64_t key) {
    return (size_t)((key * WINDOW_PRIME) >> map->shift);
}

static void keymap_free(KeyMap *map) {
    free(map->slots);
    free(map->positions);
    free(map->filter);
    map->slots = NULL;
    map->positions = NULL;
    map->filter = NULL;
}

/* Returns -1 when out of memory. A key listed twice keeps its first position. */
static int keymap_build(const uint64_t *keys, size_t n, KeyMap *map) {
    size_t cap = 16;
    int bits = 4;
    while (cap < 2 * n) {
        cap *= 2;
        bits++;
    }
    size_t words = 64;
    int word_bits = 6;
    while (words * 64 < FILTER_BITS_PER_KEY * n) {
        words *= 2;
        word_bits++;
    }
    map->slots = calloc(cap, sizeof *map->slots);
    map->positions = malloc(cap * sizeof *map->positions);
    map->filter = calloc(words, sizeof *map->filter);
    if (!map->slots || !map->positions || !map->filter) {
        keymap_free(map);
        return -1;
    }
    map->mask = cap - 1;
    map->shift = 64 - bits;
    map->filter_shift = 64 - word_bits;
    map->zero_position = -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = keys[i];
        if (key == 0) {
            if (map->zero_position < 0) map->zero_position = (int64_t)i;
            continue;
        }
        size_t at = keymap_slot(map, key);
        while (map->slots[at] && map->slots[at] != key) at = (at + 1) & map->mask;
        if (map->slots[at] == key) continue;
        map->slots[at] = key;
        map->positions[at] = (int64_t)i;
        size_t word;
        uint64_t bits = filter_bits(map, key, &word);
        map->filter[word] |= bits;
    }
    return 0;
}

/* The key's position, or -1. */
static inline int64_t keymap_get(const KeyMap *map, uint64_t key) {
    if (key == 0) return map->zero_position;
    size_t word;
    uint64_t bits = filter_bits(map, key, &word);
    if ((map->filter[word] & bits) != bits) return -1;
    size_t at = keymap_slot(map, key);
    while (map->slots[at]) {
        if (map->slots[at] == key) return map->positions[at];
        at = (at + 1) & map->mask;
    }
    return -1;
}

/* ---- windows(): each text's distinct window keys ------------------------------------------------- */

typedef struct {
    uint64_t *words;
    size_t len, cap;
    int failed;
} WordList;

static inline void list_sink(void *s, uint64_t word) {
    WordList *l = s;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        uint64_t *grown = realloc(l->words, cap * sizeof *grown);
        if (!grown) {
            l->failed = 1;
            return;
        }
        l->words = grown;
        l->cap = cap;
    }
    l->words[l->len++] = word;
}

/* The keys one text has given so far: open addressing, emptied for the next text by a new stamp. Each text
   uses a prefix of the table of at least 4 slots per key, so a short text's table stays in L1 (and probes
   stay short) even after a long text grew the allocation. */
typedef struct {
    uint64_t key;
    uint32_t stamp;
} SeenSlot;

typedef struct {
    SeenSlot *slots;
    size_t cap, mask;
    int shift;
    uint32_t stamp;
} Seen;

/* Ready the table for a text of n keys; -1 when out of memory. */
static int seen_start(Seen *s, size_t n) {
    size_t want = 64;
    int bits = 6;
    while (want < 4 * n) {
        want *= 2;
        bits++;
    }
    if (want > s->cap || s->stamp == UINT32_MAX) {
        free(s->slots);
        s->slots = calloc(want, sizeof *s->slots);
        if (!s->slots) return -1;
        s->cap = want;
        s->stamp = 0;
    }
    s->mask = want - 1;
    s->shift = 64 - bits;
    s->stamp++;
    return 0;
}

/* 1 if key is new for this text (and now recorded), 0 if it was there. */
static inline int seen_add(Seen *s, uint64_t key) {
    size_t at = (size_t)((key * 0xC2B2AE3D27D4EB4FULL) >> s->shift);
    while (s->slots[at].stamp == s->stamp) {
        if (s->slots[at].key == key) return 0;
        at = (at + 1) & s->mask;
    }
    s->slots[at] = (SeenSlot){key, s->stamp};
    return 1;
}

/* Windows of `size` words; a text with fewer words (but at least `min_words`) gives one key of all its
   words. Keys are distinct within each text, in the order of their first window. Keys listed in `held`
   are not returned with the others: instead, per held key, the number of texts that hold it, and apart,
   each (text, position in `held`) where one at position `record_from` or later is held, in text order. */
static PyObject *py_windows(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *views, *validity, *data;
    Py_ssize_t first, count;
    int size, min_words;
    Py_buffer held;
    Py_ssize_t record_from;
    if (!PyArg_ParseTuple(args, "OOOnniiy*n", &views, &validity, &data, &first, &count, &size, &min_words, &held,
                          &record_from))
        return NULL;
    if (size < 1 || size > MAX_WINDOW || min_words < 1) {
        PyBuffer_Release(&held);
        PyErr_Format(PyExc_ValueError, "window size must be 1..%d and min_words at least 1", MAX_WINDOW);
        return NULL;
    }
    size_t nheld = (size_t)held.len / 8;
    KeyMap held_map;
    int64_t *held_counts = calloc(nheld ? nheld : 1, sizeof *held_counts);
    if (!held_counts || keymap_build(held.buf, nheld, &held_map) < 0) {
        free(held_counts);
        PyBuffer_Release(&held);
        return PyErr_NoMemory();
    }
    Texts t;
    if (texts_open(views, validity, data, first, count, &t) < 0) {
        keymap_free(&held_map);
        free(held_counts);
        PyBuffer_Release(&held);
        return NULL;
    }
    Buffer owner = {0}, value = {0}, held_owner = {0}, held_which = {0};
    WordList words = {0};
    uint64_t *keys = NULL;
    size_t keys_cap = 0;
    Seen seen = {0};
    int failed = 0;
    uint64_t power = 1; /* P^size */
    for (int k = 0; k < size; k++) power *= WINDOW_PRIME;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        Py_ssize_t len;
        const unsigned char *p = text_at(&t, i, &len);
        words.len = 0;
        each_word(p, len, list_sink, &words);
        if (words.failed) {
            failed = 1;
            break;
        }
        size_t n = words.len, found = 0;
        if (n < (size_t)min_words) continue;
        size_t wanted = n >= (size_t)size ? n - size + 1 : 1;
        if (wanted > keys_cap) {
            uint64_t *grown = realloc(keys, wanted * sizeof *keys);
            if (!grown) {
                failed = 1;
                break;
            }
            keys = grown;
            keys_cap = wanted;
        }
        uint64_t h = 0;
        if (n < (size_t)size) {
            for (size_t j = 0; j < n; j++) h = h * WINDOW_PRIME + words.words[j];
            keys[found++] = window_key(h, (int)n);
        } else {
            for (size_t j = 0; j < n; j++) {
                h = h * WINDOW_PRIME + words.words[j];
                if (j >= (size_t)size) h -= words.words[j - size] * power;
                if (j + 1 >= (size_t)size) keys[found++] = window_key(h, size);
            }
        }
        if (seen_start(&seen, found) < 0) {
            failed = 1;
            break;
        }
        size_t held_room = nheld ? 4 * found : 0;
        if (buffer_reserve(&owner, 4 * found) < 0 || buffer_reserve(&value, 8 * found) < 0 ||
            buffer_reserve(&held_owner, held_room) < 0 || buffer_reserve(&held_which, held_room) < 0) {
            failed = 1;
            break;
        }
        int32_t *owners = (int32_t *)(owner.data + owner.len);
        uint64_t *values = (uint64_t *)(value.data + value.len);
        int32_t *held_owners = (int32_t *)(held_owner.data + held_owner.len);
        int32_t *held_positions = (int32_t *)(held_which.data + held_which.len);
        size_t kept = 0, held_here = 0;
        for (size_t j = 0; j < found; j++) {
            if (!seen_add(&seen, keys[j])) continue; /* this text already gave this key */
            int64_t position = nheld ? keymap_get(&held_map, keys[j]) : -1;
            if (position >= 0) {
                held_counts[position]++;
                if (position >= record_from) {
                    held_owners[held_here] = (int32_t)i;
                    held_positions[held_here++] = (int32_t)position;
                }
            } else {
                owners[kept] = (int32_t)i;
                values[kept++] = keys[j];
            }
        }
        owner.len += 4 * kept;
        value.len += 8 * kept;
        held_owner.len += 4 * held_here;
        held_which.len += 4 * held_here;
    }
    Py_END_ALLOW_THREADS;
    texts_close(&t);
    keymap_free(&held_map);
    PyBuffer_Release(&held);
    free(words.words);
    free(keys);
    free(seen.slots);
    if (failed) {
        free(owner.data);
        free(value.data);
        free(held_owner.data);
        free(held_which.data);
        free(held_counts);
        return PyErr_NoMemory();
    }
    PyObject *counts = PyBytes_FromStringAndSize((const char *)held_counts, (Py_ssize_t)(nheld * 8));
    free(held_counts);
    return Py_BuildValue("NNNNN", buffer_bytes(&owner), buffer_bytes(&value), counts, buffer_bytes(&held_owner),
                         buffer_bytes(&held_which));
}

/* ---- find(): windows of the texts that are among given keys ---------------------------------------- */

/* Appends (text, key) for every window of L words of words[0..n) whose key is in `set`; -1 when out of
   memory. The text's words are hashed first (list_sink), so this loop has no branch but the rare hit. */
static int find_windows(const uint64_t *words, size_t n, int L, uint64_t power, const KeyMap *set, int32_t text,
                        Buffer *owner, Buffer *value) {
    uint64_t h = 0;
    size_t size = (size_t)L;
    for (size_t j = 0; j < n; j++) {
        h = h * WINDOW_PRIME + words[j];
        if (j >= size) h -= words[j - size] * power;
        if (j + 1 >= size) {
            uint64_t key = window_key(h, L);
            if (keymap_get(set, key) >= 0 && (buffer_push(owner, &text, 4) || buffer_push(value, &key, 8))) return -1;
        }
    }
    return 0;
}

/* A KeyMap built once from uint64 keys and read by any number of find() calls at once (it is never written
   after it is built). */
typedef struct {
    PyObject_HEAD KeyMap map;
} KeySet;

static void key_set_dealloc(KeySet *self) {
    keymap_free(&self->map);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject KeySetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "curate._text.KeySet",
    .tp_basicsize = sizeof(KeySet),
    .tp_dealloc = (destructor)key_set_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Keys for find(), made by key_set(keys).",
};

static PyObject *py_key_set(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer keys;
    if (!PyArg_ParseTuple(args, "y*", &keys)) return NULL;
    KeySet *set = PyObject_New(KeySet, &KeySetType);
    if (set) {
        memset(&set->map, 0, sizeof set->map);
        if (keymap_build(keys.buf, (size_t)keys.len / 8, &set->map) < 0) {
            Py_DECREF(set); /* keymap_free of what was built */
            set = NULL;
            PyErr_NoMemory();
        }
    }
    PyBuffer_Release(&keys);
    return (PyObject *)set;
}

/* The (text, key) of every window of the listed lengths whose key is in `keys` (a KeySet). A text holding one
   window twice reports it twice. */
static PyObject *py_find(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *views, *validity, *data, *lengths_obj;
    Py_ssize_t first, count;
    KeySet *keys;
    if (!PyArg_ParseTuple(args, "OOOnnO!O", &views, &validity, &data, &first, &count, &KeySetType, &keys,
                          &lengths_obj))
        return NULL;
    int lengths[MAX_WINDOW];
    uint64_t powers[MAX_WINDOW];
    PyObject *seq = PySequence_Fast(lengths_obj, "lengths must be a sequence of ints");
    if (!seq) return NULL;
    Py_ssize_t nlen = PySequence_Fast_GET_SIZE(seq);
    if (nlen > MAX_WINDOW) nlen = -1;
    for (Py_ssize_t k = 0; k < nlen; k++) {
        long L = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, k));
        if (L < 1 || L > MAX_WINDOW - 1) {
            nlen = -1;
            break;
        }
        lengths[k] = (int)L;
        powers[k] = 1;
        for (long m = 0; m < L; m++) powers[k] *= WINDOW_PRIME;
    }
    Py_DECREF(seq);
    if (nlen < 0) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "lengths must be at most %d ints in 1..%d", MAX_WINDOW, MAX_WINDOW - 1);
        return NULL;
    }
    Texts t;
    if (texts_open(views, validity, data, first, count, &t) < 0) return NULL;
    const KeyMap *set = &keys->map; /* the call's arguments hold the KeySet while the loop reads it */
    Buffer owner = {0}, value = {0};
    WordList words = {0};
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        Py_ssize_t len;
        const unsigned char *p = text_at(&t, i, &len);
        words.len = 0;
        each_word(p, len, list_sink, &words);
        failed = words.failed;
        for (Py_ssize_t k = 0; k < nlen && !failed; k++)
            failed = find_windows(words.words, words.len, lengths[k], powers[k], set, (int32_t)i, &owner, &value);
    }
    Py_END_ALLOW_THREADS;
    texts_close(&t);
    free(words.words);
    if (failed) {
        free(owner.data);
        free(value.data);
        return PyErr_NoMemory();
    }
    return Py_BuildValue("NN", buffer_bytes(&owner), buffer_bytes(&value));
}

/* ---- space_hashes(): hash of each text with its whitespace runs made one space ------------------- */

static unsigned char SPACE[256];
#define STABLE_BELOW 0x3000 /* the bitmap of NFC-stable characters covers the code points below this */

/* Whitespace outside ASCII (the configured set: Unicode White_Space, as polars' `\s` and `strip_chars`). */
static inline int unicode_space(uint32_t c) {
    for (int k = 0; k < WIDE_SPACE_COUNT; k++)
        if (WIDE_SPACES[k] == c) return 1;
    return 0;
}

/* The code point starting at p[0] (a non-ASCII lead byte of valid UTF-8) and its length in bytes. */
static inline uint32_t decode(const unsigned char *p, Py_ssize_t avail, int *size) {
    unsigned char b = p[0];
    int n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    if (n > avail) n = (int)avail;
    uint32_t c = n == 4 ? b & 0x07 : n == 3 ? b & 0x0F : n == 2 ? b & 0x1F : b;
    for (int k = 1; k < n; k++) c = (c << 6) | (p[k] & 0x3F);
    *size = n;
    return c;
}

/* A hash of n bytes: 8 at a time (little-endian, the last chunk zero-padded), h = (h ^ chunk) * K from
   h = n * G2, then mix(h): one multiply per 8 bytes on the chain. Only used to propose equal texts,
   which callers then compare. */
static uint64_t bytes_hash(const unsigned char *p, size_t n) {
    uint64_t h = (uint64_t)n * LENGTH_MIX, chunk;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        memcpy(&chunk, p + k, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        chunk = __builtin_bswap64(chunk); /* little-endian chunks everywhere: the same hash on any machine */
#endif
        h = (h ^ chunk) * 0x9FB21C651E98DF25ULL;
    }
    if (k < n) {
        chunk = 0;
        for (size_t j = 0; k + j < n; j++) chunk |= (uint64_t)p[k + j] << (8 * j);
        h = (h ^ chunk) * 0x9FB21C651E98DF25ULL;
    }
    return mix(h);
}

/* Writes p[0..len) to out (room for len + 16 bytes) with every whitespace run (Unicode White_Space) made
   one space and the ends stripped; returns the length written. *flag is set when the text holds a
   character NFC might change: not ASCII, and not marked in `stable` (a bitmap of the NFC-stable code
   points below STABLE_BELOW). With SSE2, runs of printable ASCII are copied 16 bytes at a time. */
static inline size_t collapse_into(const unsigned char *p, Py_ssize_t len, const unsigned char *stable,
                                   unsigned char *out, int *flag) {
    size_t at = 0;
    int pending_space = 0, started = 0;
    Py_ssize_t j = 0;
    while (j < len) {
#ifdef HAVE_SSE2
        if (len - j >= 16) {
            /* Printable ASCII with single spaces between words (most of prose) is copied as it is, 16 bytes
               at a time, up to the first byte that is not: a control or non-ASCII byte, or a space right
               after whitespace (or at the start). A space last in the copied run becomes the pending space,
               as whitespace after it would join its run. */
            __m128i block = _mm_loadu_si128((const __m128i *)(p + j));
            unsigned printable = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(block, _mm_set1_epi8(0x1F)));
            unsigned spaces = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(block, _mm_set1_epi8(' ')));
            unsigned after_space = (spaces << 1) | (unsigned)(pending_space || !started);
            unsigned stop = (~printable | (spaces & after_space)) & 0xFFFF;
            unsigned run = stop ? (unsigned)ctz32(stop) : 16;
            if (run) {
                if (pending_space) out[at++] = ' ';
                _mm_storeu_si128((__m128i *)(out + at), block); /* the bytes past the run are overwritten later */
                pending_space = (int)((spaces >> (run - 1)) & 1);
                at += run - (unsigned)pending_space;
                started = 1;
                j += run;
                continue;
            }
        }
#endif
        unsigned char c = p[j];
        int size = 1, space = SPACE[c];
        if (c >= 0x80) {
            uint32_t code = decode(p + j, len - j, &size);
            space = unicode_space(code);
            if (!space && (code >= STABLE_BELOW || !((stable[code >> 3] >> (code & 7)) & 1))) *flag = 1;
        }
        if (space) {
            pending_space = started;
        } else {
            if (pending_space) out[at++] = ' ';
            pending_space = 0;
            started = 1;
            for (int k = 0; k < size; k++) out[at++] = p[j + k];
        }
        j += size;
    }
    return at;
}

/* Parses (views, validity, data, first, count, stable) and opens the texts; `stable` is the bitmap of the
   NFC-stable code points below STABLE_BELOW. On success both are the caller's to release. */
static int open_with_stable(PyObject *args, Texts *t, Py_buffer *stable) {
    PyObject *views, *validity, *data;
    Py_ssize_t first, count;
    if (!PyArg_ParseTuple(args, "OOOnny*", &views, &validity, &data, &first, &count, stable)) return -1;
    if (stable->len * 8 < STABLE_BELOW) {
        PyBuffer_Release(stable);
        PyErr_Format(PyExc_ValueError, "the stable bitmap must cover %d code points", STABLE_BELOW);
        return -1;
    }
    if (texts_open(views, validity, data, first, count, t) < 0) {
        PyBuffer_Release(stable);
        return -1;
    }
    return 0;
}

/* Per text: the bytes_hash of the text with every whitespace run made one space and the ends stripped
   (collapse_into); and a flag for a character NFC might change (see collapse_into): the caller normalises
   those texts and hashes them again. */
static PyObject *py_space_hashes(PyObject *Py_UNUSED(self), PyObject *args) {
    Texts t;
    Py_buffer stable;
    if (open_with_stable(args, &t, &stable) < 0) return NULL;
    Py_ssize_t count = t.count;
    PyObject *hashes = PyBytes_FromStringAndSize(NULL, count * 8);
    PyObject *flags = PyBytes_FromStringAndSize(NULL, count);
    if (!hashes || !flags) {
        Py_XDECREF(hashes);
        Py_XDECREF(flags);
        texts_close(&t);
        PyBuffer_Release(&stable);
        return NULL;
    }
    uint64_t *out = (uint64_t *)PyBytes_AS_STRING(hashes);
    unsigned char *unstable = (unsigned char *)PyBytes_AS_STRING(flags);
    const unsigned char *bitmap = stable.buf;
    unsigned char *scratch = NULL;
    size_t scratch_cap = 0;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        Py_ssize_t len;
        const unsigned char *p = text_at(&t, i, &len);
        if ((size_t)len + 16 > scratch_cap) {
            free(scratch);
            scratch_cap = 2 * (size_t)len + 64;
            scratch = malloc(scratch_cap);
            if (!scratch) {
                failed = 1;
                break;
            }
        }
        int flag = 0;
        size_t n = collapse_into(p, len, bitmap, scratch, &flag);
        out[i] = bytes_hash(scratch, n);
        unstable[i] = (unsigned char)flag;
    }
    Py_END_ALLOW_THREADS;
    free(scratch);
    texts_close(&t);
    PyBuffer_Release(&stable);
    if (failed) {
        Py_DECREF(hashes);
        Py_DECREF(flags);
        return PyErr_NoMemory();
    }
    return Py_BuildValue("NN", hashes, flags);
}

/* ---- collapse_spaces(): each text with its whitespace runs made one space, ends stripped ------------ */

/* collapse_spaces(views, validity, data, first, count, stable) -> ((offsets, data), flags, hashes): the
   collapsed texts as large_string buffers (nulls come out as ""); per text a flag for a character NFC might
   change (the caller normalises those texts itself); and the bytes_hash of each collapsed text. */
static PyObject *py_collapse_spaces(PyObject *Py_UNUSED(self), PyObject *args) {
    Texts t;
    Py_buffer stable;
    if (open_with_stable(args, &t, &stable) < 0) return NULL;
    Py_ssize_t count = t.count;
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t len;
        text_at(&t, i, &len);
        total += len;
    }
    /* The text is at most as long as the input (plus collapse_into's 16 bytes of slack). */
    Column out = {0};
    PyObject *flags = PyBytes_FromStringAndSize(NULL, count);
    PyObject *hash_bytes = PyBytes_FromStringAndSize(NULL, count * 8);
    if (!flags || !hash_bytes || column_open(&out, count, (size_t)total + 16) < 0) {
        Py_XDECREF(flags);
        Py_XDECREF(hash_bytes);
        texts_close(&t);
        PyBuffer_Release(&stable);
        return NULL;
    }
    unsigned char *unstable = (unsigned char *)PyBytes_AS_STRING(flags);
    uint64_t *hashes = (uint64_t *)PyBytes_AS_STRING(hash_bytes);
    const unsigned char *bitmap = stable.buf;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t len;
        const unsigned char *p = text_at(&t, i, &len);
        int flag = 0;
        size_t start = out.at;
        out.at += collapse_into(p, len, bitmap, (unsigned char *)out.data + start, &flag);
        out.offsets[i + 1] = (int64_t)out.at;
        unstable[i] = (unsigned char)flag;
        hashes[i] = bytes_hash((unsigned char *)out.data + start, out.at - start);
    }
    Py_END_ALLOW_THREADS;
    texts_close(&t);
    PyBuffer_Release(&stable);
    PyObject *strings = column_strings(&out, count);
    free(out.offsets);
    free(out.data);
    if (!strings) {
        Py_DECREF(flags);
        Py_DECREF(hash_bytes);
        return NULL;
    }
    return Py_BuildValue("NNN", strings, flags, hash_bytes);
}

/* ---- configure(): the rule tables, from Python ---------------------------------------------------- */

/* A LaTeX command name: 1..MAX_NAME lowercase ASCII letters or digits, copied into `into`. */
static int copy_name(PyObject *item, char *into) {
    Py_ssize_t n;
    const char *name = PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, &n) : NULL;
    if (!name) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "LaTeX names must be str");
        return -1;
    }
    int ok = n >= 1 && n <= MAX_NAME;
    for (Py_ssize_t k = 0; ok && k < n; k++) ok = LOWER[(unsigned char)name[k]] == (unsigned char)name[k];
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "a LaTeX name must be 1..%d lowercase ASCII letters or digits", MAX_NAME);
        return -1;
    }
    memcpy(into, name, (size_t)n + 1);
    return 0;
}

/* configure(spacing, aliases, whitespace): LaTeX spacing commands (no word), (alias, command) pairs (the alias
   counts as the command) and every whitespace character, as curate/words.py and curate/normalize.py state them. */
static PyObject *py_configure(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *spacing, *aliases, *spaces;
    if (!PyArg_ParseTuple(args, "OOU", &spacing, &aliases, &spaces)) return NULL;
    PyObject *names = PySequence_Fast(spacing, "spacing must be a sequence of str");
    PyObject *pairs = names ? PySequence_Fast(aliases, "aliases must be a sequence of (alias, command)") : NULL;
    int ok = pairs && PySequence_Fast_GET_SIZE(names) <= MAX_NAMES && PySequence_Fast_GET_SIZE(pairs) <= MAX_NAMES &&
             PyUnicode_GET_LENGTH(spaces) <= MAX_NAMES;
    if (pairs && !ok) PyErr_Format(PyExc_ValueError, "at most %d names, aliases and wide spaces", MAX_NAMES);
    for (Py_ssize_t k = 0; ok && k < PySequence_Fast_GET_SIZE(names); k++)
        ok = copy_name(PySequence_Fast_GET_ITEM(names, k), SPACING[k]) == 0;
    char command[MAX_NAME + 1];
    for (Py_ssize_t k = 0; ok && k < PySequence_Fast_GET_SIZE(pairs); k++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(pairs, k);
        ok = PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2;
        if (!ok) PyErr_SetString(PyExc_TypeError, "aliases must be (alias, command) tuples");
        ok = ok && copy_name(PyTuple_GET_ITEM(pair, 0), ALIASES[k]) == 0 &&
             copy_name(PyTuple_GET_ITEM(pair, 1), command) == 0;
        if (ok) ALIAS_HASH[k] = word_hash((const unsigned char *)command, strlen(command), strlen(command));
    }
    if (ok) {
        SPACING_COUNT = (int)PySequence_Fast_GET_SIZE(names);
        ALIAS_COUNT = (int)PySequence_Fast_GET_SIZE(pairs);
        for (int c = 0; c < 256; c++) SPACE[c] = 0;
        WIDE_SPACE_COUNT = 0;
        for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(spaces); k++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(spaces, k);
            if (c < 0x80) SPACE[c] = 1;
            else WIDE_SPACES[WIDE_SPACE_COUNT++] = (uint32_t)c;
        }
        CONFIGURED = 1;
    }
    Py_XDECREF(names);
    Py_XDECREF(pairs);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ---- module -------------------------------------------------------------------------------------- */

/* "int32 Block" and the like: a Block of int32 values (numpy reads it with np.frombuffer, without a copy). */
static PyMethodDef METHODS[] = {
    {"windows", py_windows, METH_VARARGS,
     "windows(views, validity, data, first, count, size, min_words, held, record_from) -> (text int32 Block, "
     "key uint64 Block, held counts int64 bytes, held text int32 Block, held position int32 Block)"},
    {"key_set", py_key_set, METH_VARARGS, "key_set(keys uint64 bytes) -> KeySet, for find()"},
    {"find", py_find, METH_VARARGS,
     "find(views, validity, data, first, count, key_set, lengths) -> (text int32 Block, key uint64 Block)"},
    {"space_hashes", py_space_hashes, METH_VARARGS,
     "space_hashes(views, validity, data, first, count, stable) -> (hash uint64 bytes, NFC-unstable flag bytes)"},
    {"collapse_spaces", py_collapse_spaces, METH_VARARGS,
     "collapse_spaces(views, validity, data, first, count, stable) -> ((int64 offsets Block, data Block), "
     "NFC-unstable flag bytes, space hash uint64 bytes)"},
    {"configure", py_configure, METH_VARARGS,
     "configure(spacing, aliases, whitespace): the rule tables (LaTeX spacing names, (alias, command) pairs, "
     "every whitespace character); the loops refuse to run before it"},
    {NULL, NULL, 0, NULL},
};

static int module_exec(PyObject *Py_UNUSED(module)) {
    init_tables();
    if (PyType_Ready(&BlockType) < 0 || PyType_Ready(&KeySetType) < 0) return -1;
    return 0;
}

/* The loops keep no state between calls but the tables, written by `configure` before any loop runs: they run
   without the GIL, so a free-threaded Python need not turn it back on. */
static PyModuleDef_Slot SLOTS[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_text", "Byte loops for curate's text rules.", 0,
                                    METHODS, SLOTS, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__text(void) { return PyModuleDef_Init(&MODULE); }
