/* Stored compressed_segmentation label blocks to DVID's native block format, in C.
 *
 * The numpy implementation (voxhub/datatypes/labelmap/native_transcode.py and its
 * helpers) is the reference and documents both formats; this module does the same steps
 * block by block. The numpy one is at numpy's floor: some thirty calls of 0.1-0.5 ms
 * each over a request's 32k sub-blocks, each with its own temporaries. Here a sub-block's
 * header, table and packed bytes are read once, while they are in cache.
 *
 * Two calls, so that the body mapping (a Python callable) runs between them on the
 * distinct labels only:
 *
 *   parse(words, base, sizes, nsub) -> (state, labels, tables, counts)
 *       checks every sub-block of the decompressed streams (``words``, uint32; stream b
 *       at words[base[b]:base[b] + sizes[b]], int64 arrays, channel word and size already
 *       checked by the caller), finds each table's length (the largest index its voxels
 *       use, plus one) and the distinct tables (position and length), and returns their
 *       entries, table after table, as uint64 ``labels``, with each table's first word
 *       in ``words`` (int64 ``tables``) and its number of entries (int32 ``counts``);
 *   convert(state, gx, gy, gz, rank, distinct) -> (data, ends)
 *       with ``rank[i]`` (int32) the rank of entry i's (mapped) label in the ascending
 *       uint64 ``distinct``, writes every block's native serialization, one after the
 *       other, into ``data`` (bytes); ``ends`` lists where each block ends.
 *
 * Malformed streams raise StreamError (a ValueError) with the numpy path's messages;
 * every position is checked before it is read. The GIL is released while converting.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "both formats are little-endian: this module is built for little-endian hosts only"
#endif

#define SUB_VOXELS 512
#define HEADER 16 /* gx, gy, gz, number of labels: uint32 each */

static PyObject *StreamError;

static inline uint64_t load64(const uint8_t *p) { uint64_t x; memcpy(&x, p, 8); return x; }
static inline void store64(uint8_t *p, uint64_t x) { memcpy(p, &x, 8); }

/* ------------------------------------------------------------------------------------ */
/* parse                                                                                 */

typedef struct {
    Py_buffer words;    /* held: convert reads the packed bytes from it */
    int64_t nb, nsub;
    int64_t *vals;      /* per sub-block: word of its packed indices */
    uint8_t *bits;      /* per sub-block: bits per index */
    int32_t *table_of;  /* per sub-block: its distinct table */
    int64_t nt;         /* distinct tables */
    int32_t *t_count;   /* per table: entries */
    int64_t *t_first;   /* per table: first entry (nt + 1 values) */
} Parsed;

static void parsed_free(Parsed *p) {
    if (p == NULL) return;
    if (p->words.obj != NULL) PyBuffer_Release(&p->words);
    free(p->vals); free(p->bits); free(p->table_of); free(p->t_count); free(p->t_first);
    free(p);
}

static void capsule_free(PyObject *capsule) {
    parsed_free((Parsed *)PyCapsule_GetPointer(capsule, "voxhub.cseg_parsed"));
}

/* The largest index of 512 packed at ``w`` bits, LSB first, from ``p`` (64 * w bytes). */
static int64_t max_index(const uint8_t *p, int w) {
    switch (w) {
    case 1: {
        uint64_t acc = 0;
        for (int i = 0; i < 8; i++) acc |= load64(p + 8 * i);
        return acc != 0;
    }
    case 2: {
        uint64_t acc = 0, both = 0;
        for (int i = 0; i < 16; i++) {
            uint64_t x = load64(p + 8 * i);
            acc |= x;
            both |= x & (x >> 1);
        }
        if (both & 0x5555555555555555ULL) return 3;
        if (acc & 0xAAAAAAAAAAAAAAAAULL) return 2;
        return acc != 0;
    }
    case 4: {
        uint8_t m = 0;
        for (int i = 0; i < 256; i++) {
            uint8_t lo = p[i] & 15, hi = p[i] >> 4;
            uint8_t v = lo > hi ? lo : hi;
            m = v > m ? v : m;
        }
        return m;
    }
    case 8: {
        uint8_t m = 0;
        for (int i = 0; i < 512; i++) m = p[i] > m ? p[i] : m;
        return m;
    }
    case 16: {
        uint16_t m = 0, v;
        for (int i = 0; i < 512; i++) { memcpy(&v, p + 2 * i, 2); m = v > m ? v : m; }
        return m;
    }
    default: { /* 32 */
        uint32_t m = 0, v;
        for (int i = 0; i < 512; i++) { memcpy(&v, p + 4 * i, 4); m = v > m ? v : m; }
        return m;
    }
    }
}

static int valid_bits(uint32_t w) {
    return w == 0 || w == 1 || w == 2 || w == 4 || w == 8 || w == 16 || w == 32;
}

enum { OK = 0, E_BITS, E_VALUES, E_TABLE, E_ENTRIES, E_MEMORY };

/* Headers, table lengths and distinct tables of every sub-block; 0 or an error code. */
static int parse_streams(Parsed *p, const int64_t *base, const int64_t *sizes,
                         int64_t **t_pos_out) {
    const uint32_t *words = p->words.buf;
    const uint8_t *bytes = p->words.buf;
    int64_t n_words = p->words.len / 4, n = p->nb * p->nsub;
    int64_t *t_pos = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t *count = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int32_t *owner = malloc(sizeof(int32_t) * (size_t)(n_words ? n_words : 1));
    int64_t *table = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    *t_pos_out = t_pos;
    if (!t_pos || !count || !owner || !table) {
        free(count); free(owner); free(table);
        return E_MEMORY;
    }
    int err = OK;
    for (int64_t b = 0; b < p->nb && !err; b++) {
        int64_t start = base[b], end = base[b] + sizes[b];
        for (int64_t s = 0; s < p->nsub; s++) {
            int64_t i = b * p->nsub + s;
            uint32_t h0 = words[start + 1 + 2 * s], h1 = words[start + 2 + 2 * s];
            uint32_t w = h0 >> 24;
            if (!valid_bits(w)) { err = E_BITS; break; }
            int64_t vals = start + (int64_t)h1 + 1;
            if (vals + (int64_t)w * (SUB_VOXELS / 32) > end) { err = E_VALUES; break; }
            int64_t c = w ? max_index(bytes + 4 * vals, (int)w) + 1 : 1;
            int64_t t = start + (int64_t)(h0 & 0xFFFFFF) + 1;
            if (t + 2 * c > end) { err = E_TABLE; break; }
            p->vals[i] = vals;
            p->bits[i] = (uint8_t)w;
            table[i] = t;
            count[i] = c;
        }
    }
    if (!err) {
        /* distinct tables: a position and a length (another encoder may share a table
         * position at two lengths); owner is only read where this call wrote it */
        for (int64_t i = 0; i < n; i++) owner[table[i]] = -1;
        int64_t nt = 0, entries = 0;
        for (int64_t i = 0; i < n; i++) {
            int32_t o = owner[table[i]];
            if (o >= 0 && p->t_count[o] == count[i]) { p->table_of[i] = o; continue; }
            if (o < 0) owner[table[i]] = (int32_t)nt;
            p->table_of[i] = (int32_t)nt;
            p->t_count[nt] = (int32_t)count[i];
            t_pos[nt] = table[i];
            p->t_first[nt] = entries;
            entries += count[i];
            nt++;
        }
        p->t_first[nt] = entries;
        p->nt = nt;
    }
    free(count); free(owner); free(table);
    return err;
}

static PyObject *raise_code(int err, int64_t bad) {
    switch (err) {
    case E_BITS:
        PyErr_SetString(StreamError, "cseg stream: a sub-block claims an invalid number of bits per voxel");
        break;
    case E_VALUES:
        PyErr_SetString(StreamError, "cseg stream: a sub-block's encoded values run past the end of its stream");
        break;
    case E_TABLE:
        PyErr_SetString(StreamError, "cseg stream: a sub-block's lookup table runs past the end of its stream");
        break;
    case E_ENTRIES:
        PyErr_Format(StreamError, "cseg to native: a sub-block indexes %lld table entries for its 512 voxels", (long long)bad);
        break;
    default:
        PyErr_NoMemory();
    }
    return NULL;
}

static PyObject *parse(PyObject *self, PyObject *args) {
    Py_buffer base_b, sizes_b;
    Py_ssize_t nsub;
    Parsed *p = calloc(1, sizeof(Parsed));
    if (p == NULL) return PyErr_NoMemory();
    if (!PyArg_ParseTuple(args, "y*y*y*n", &p->words, &base_b, &sizes_b, &nsub)) {
        free(p);
        return NULL;
    }
    PyObject *result = NULL;
    int64_t nb = base_b.len / 8;
    const int64_t *base = base_b.buf, *sizes = sizes_b.buf;
    int64_t n_words = p->words.len / 4;
    if (sizes_b.len != base_b.len || nsub <= 0 || nb == 0) {
        PyErr_SetString(PyExc_ValueError, "parse: base and sizes must be int64 arrays of one length, nsub > 0");
        goto done;
    }
    for (int64_t b = 0; b < nb; b++) {  /* the caller checked these; a bad call must not read wild */
        if (base[b] < 0 || sizes[b] < 1 + 2 * (int64_t)nsub || base[b] + sizes[b] > n_words) {
            PyErr_SetString(PyExc_ValueError, "parse: a stream lies outside the words");
            goto done;
        }
    }
    p->nb = nb;
    p->nsub = nsub;
    int64_t n = nb * nsub;
    p->vals = malloc(sizeof(int64_t) * (size_t)n);
    p->bits = malloc((size_t)n);
    p->table_of = malloc(sizeof(int32_t) * (size_t)n);
    p->t_count = malloc(sizeof(int32_t) * (size_t)n);
    p->t_first = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!p->vals || !p->bits || !p->table_of || !p->t_count || !p->t_first) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t *t_pos = NULL;
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = parse_streams(p, base, sizes, &t_pos);
    Py_END_ALLOW_THREADS
    if (err) {
        free(t_pos);
        raise_code(err, 0);
        goto done;
    }
    PyObject *labels = PyBytes_FromStringAndSize(NULL, 8 * p->t_first[p->nt]);
    PyObject *where = PyBytes_FromStringAndSize((const char *)t_pos, 8 * p->nt);
    PyObject *counts = PyBytes_FromStringAndSize((const char *)p->t_count, 4 * p->nt);
    free(t_pos);
    if (labels == NULL || where == NULL || counts == NULL) {
        Py_XDECREF(labels); Py_XDECREF(where); Py_XDECREF(counts);
        goto done;
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(labels);
    const uint8_t *bytes = p->words.buf;
    const int64_t *at = (const int64_t *)PyBytes_AS_STRING(where);
    for (int64_t t = 0; t < p->nt; t++)  /* a table: uint64 labels as (low, high) word pairs */
        memcpy(out + 8 * p->t_first[t], bytes + 4 * at[t], 8 * (size_t)p->t_count[t]);
    PyObject *capsule = PyCapsule_New(p, "voxhub.cseg_parsed", capsule_free);
    if (capsule == NULL) { Py_DECREF(labels); Py_DECREF(where); Py_DECREF(counts); goto done; }
    p = NULL;  /* the capsule owns it */
    result = Py_BuildValue("(NNNN)", capsule, labels, where, counts);
done:
    PyBuffer_Release(&base_b);
    PyBuffer_Release(&sizes_b);
    parsed_free(p);
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* convert                                                                               */

static inline int index_bits(int64_t n) {  /* ceil(log2(n)), 0 for n <= 1 */
    return n <= 1 ? 0 : 64 - __builtin_clzll((unsigned long long)(n - 1));
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void sort_i32(int32_t *v, int64_t n) {
    if (n > 24) { qsort(v, (size_t)n, sizeof(int32_t), cmp_i32); return; }
    for (int64_t i = 1; i < n; i++) {
        int32_t x = v[i];
        int64_t j = i;
        while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
        v[j] = x;
    }
}

/* One sub-block's packed indices from compressed_segmentation's form (``w_in`` bits, LSB
 * first in little-endian words) to native's (``w_out`` bits, MSB first), each index
 * replaced by ``perm[index]`` when ``perm`` is given. */
static void repack(const uint8_t *src, int w_in, int w_out, const uint16_t *perm, uint8_t *dst) {
    if (perm == NULL && w_in == w_out) {
        if (w_in == 8) { memcpy(dst, src, SUB_VOXELS); return; }
        /* the same width: reverse the order of the fields within every byte (swapping
         * neighbours of w bits, then 2w, up to 4) */
        for (int i = 0; i < 8 * w_in; i++) {
            uint64_t x = load64(src + 8 * i);
            if (w_in == 1) x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
            if (w_in <= 2) x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
            x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
            store64(dst + 8 * i, x);
        }
        return;
    }
    uint64_t mask = w_in >= 32 ? 0xFFFFFFFFULL : ((1ULL << w_in) - 1);
    uint64_t acc9 = 0;
    int held9 = 0;
    for (int g = 0; g < SUB_VOXELS / 8; g++) {  /* eight indices at a time */
        uint32_t v[8];
        if (w_in <= 8) {
            uint64_t x = 0;
            memcpy(&x, src + g * w_in, (size_t)w_in);
            for (int k = 0; k < 8; k++) v[k] = (uint32_t)((x >> (k * w_in)) & mask);
        } else if (w_in == 16) {
            for (int k = 0; k < 8; k++) { uint16_t y; memcpy(&y, src + 2 * (8 * g + k), 2); v[k] = y; }
        } else {
            for (int k = 0; k < 8; k++) memcpy(&v[k], src + 4 * (8 * g + k), 4);
        }
        if (perm != NULL)
            for (int k = 0; k < 8; k++) v[k] = perm[v[k]];
        if (w_out <= 8) {  /* eight indices are w_out whole bytes, big-endian */
            uint64_t acc = 0;
            for (int k = 0; k < 8; k++) acc |= (uint64_t)v[k] << (w_out * (7 - k));
            for (int i = 0; i < w_out; i++) dst[g * w_out + i] = (uint8_t)(acc >> (8 * (w_out - 1 - i)));
        } else {  /* 9 bits (more than 256 labels): a running bit writer */
            for (int k = 0; k < 8; k++) {
                acc9 = (acc9 << w_out) | v[k];
                held9 += w_out;
                while (held9 >= 8) {
                    *dst++ = (uint8_t)(acc9 >> (held9 - 8));
                    held9 -= 8;
                }
                acc9 &= (1ULL << held9) - 1;
            }
        }
    }
}

typedef struct {
    const Parsed *p;
    int64_t gx, gy, gz;
    const int32_t *rank;
    int64_t n_entries;
    const uint64_t *distinct;
    int64_t nd;
    /* analysis, then output */
    int32_t *labels;    /* every block's label ranks, ascending, concatenated */
    int64_t *labels_at; /* per block, where its labels start (nb + 1 values) */
    int32_t *ns;        /* per table: its distinct labels */
    int64_t *list_at;   /* per table: where its index list starts in lists */
    uint32_t *lists;    /* per table: its labels' indices into its block's list, ascending */
    uint16_t *perm;     /* per entry: its new index in its table (tables that moved) */
    uint8_t *moved;     /* per table: whether an index changes */
    int64_t *ends;      /* per block: where its bytes end */
} Convert;

enum { E_RANK = 100 };

/* Each block's label list and each table's index list (and its permutation when the
 * mapping reordered or merged its labels), and the size of each block's bytes. */
static int analyse(Convert *c) {
    const Parsed *p = c->p;
    int32_t *stamp = malloc(sizeof(int32_t) * (size_t)(c->nd ? c->nd : 1));
    int32_t *where = malloc(sizeof(int32_t) * (size_t)(c->nd ? c->nd : 1));
    int32_t *scratch = malloc(sizeof(int32_t) * SUB_VOXELS);
    if (!stamp || !where || !scratch) { free(stamp); free(where); free(scratch); return E_MEMORY; }
    for (int64_t i = 0; i < c->nd; i++) stamp[i] = -1;
    int64_t n_labels = 0, n_lists = 0, total = 0;
    int err = OK;
    for (int64_t b = 0; b < p->nb && !err; b++) {
        const int32_t *tab = p->table_of + b * p->nsub;
        int32_t lo = tab[0], hi = tab[0];
        for (int64_t s = 1; s < p->nsub; s++) {
            lo = tab[s] < lo ? tab[s] : lo;
            hi = tab[s] > hi ? tab[s] : hi;
        }
        /* the block's distinct labels: its tables' entries are contiguous */
        c->labels_at[b] = n_labels;
        int32_t *mine = c->labels + n_labels;
        int64_t n = 0;
        for (int64_t e = p->t_first[lo]; e < p->t_first[hi + 1]; e++) {
            int32_t r = c->rank[e];
            if (r < 0 || r >= c->nd) { err = E_RANK; break; }
            if (stamp[r] != b) { stamp[r] = (int32_t)b; mine[n++] = r; }
        }
        if (err) break;
        sort_i32(mine, n);
        for (int64_t i = 0; i < n; i++) where[mine[i]] = (int32_t)i;
        n_labels += n;
        /* each table's indices into that list, ascending and distinct */
        for (int32_t t = lo; t <= hi; t++) {
            int64_t first = p->t_first[t], count = p->t_count[t];
            uint32_t *list = c->lists + n_lists;
            int ascending = 1;
            for (int64_t j = 0; j < count; j++) {
                scratch[j] = where[c->rank[first + j]];
                if (j && scratch[j] <= scratch[j - 1]) ascending = 0;
            }
            c->list_at[t] = n_lists;
            c->moved[t] = 0;
            if (ascending) {
                for (int64_t j = 0; j < count; j++) list[j] = (uint32_t)scratch[j];
                c->ns[t] = (int32_t)count;
                n_lists += count;
                continue;
            }
            int32_t sorted[SUB_VOXELS];
            memcpy(sorted, scratch, sizeof(int32_t) * (size_t)count);
            sort_i32(sorted, count);
            int64_t k = 0;
            for (int64_t j = 0; j < count; j++)
                if (j == 0 || sorted[j] != sorted[j - 1]) list[k++] = (uint32_t)sorted[j];
            for (int64_t j = 0; j < count; j++) {  /* each entry's place in the new list */
                int64_t a = 0, z = k - 1;
                while (a < z) {
                    int64_t m = (a + z) / 2;
                    if ((int32_t)list[m] < scratch[j]) a = m + 1; else z = m;
                }
                c->perm[first + j] = (uint16_t)a;
                if (a != j) c->moved[t] = 1;
            }
            c->ns[t] = (int32_t)k;
            n_lists += k;
        }
        int64_t size = HEADER + 8 * n;
        if (n > 1) {
            size += 2 * p->nsub;
            for (int64_t s = 0; s < p->nsub; s++) {
                int32_t k = c->ns[tab[s]];
                size += 4 * (int64_t)k + (SUB_VOXELS / 8) * index_bits(k);
            }
        }
        total += size;
        c->ends[b] = total;
    }
    c->labels_at[p->nb] = n_labels;
    free(stamp); free(where); free(scratch);
    return err;
}

/* Every block's bytes into ``out``. */
static void write_blocks(const Convert *c, uint8_t *out) {
    const Parsed *p = c->p;
    const uint8_t *bytes = p->words.buf;
    for (int64_t b = 0; b < p->nb; b++) {
        uint8_t *at = out + (b ? c->ends[b - 1] : 0);
        int64_t n = c->labels_at[b + 1] - c->labels_at[b];
        uint32_t head[4] = {(uint32_t)c->gx, (uint32_t)c->gy, (uint32_t)c->gz, (uint32_t)n};
        memcpy(at, head, HEADER);
        at += HEADER;
        const int32_t *mine = c->labels + c->labels_at[b];
        for (int64_t i = 0; i < n; i++, at += 8) memcpy(at, &c->distinct[mine[i]], 8);
        if (n <= 1) continue;  /* one label: the header and the label are the whole block */
        const int32_t *tab = p->table_of + b * p->nsub;
        for (int64_t s = 0; s < p->nsub; s++, at += 2) {
            uint16_t k = (uint16_t)c->ns[tab[s]];
            memcpy(at, &k, 2);
        }
        for (int64_t s = 0; s < p->nsub; s++) {
            size_t len = 4 * (size_t)c->ns[tab[s]];
            memcpy(at, c->lists + c->list_at[tab[s]], len);
            at += len;
        }
        for (int64_t s = 0; s < p->nsub; s++) {
            int32_t t = tab[s];
            int w_out = index_bits(c->ns[t]);
            if (w_out == 0) continue;
            int64_t i = b * p->nsub + s;
            const uint16_t *perm = c->moved[t] ? c->perm + p->t_first[t] : NULL;
            repack(bytes + 4 * p->vals[i], p->bits[i], w_out, perm, at);
            at += (SUB_VOXELS / 8) * w_out;
        }
    }
}

static PyObject *convert(PyObject *self, PyObject *args) {
    PyObject *capsule;
    Py_ssize_t gx, gy, gz;
    Py_buffer rank_b, distinct_b;
    if (!PyArg_ParseTuple(args, "Onnny*y*", &capsule, &gx, &gy, &gz, &rank_b, &distinct_b))
        return NULL;
    PyObject *result = NULL, *data = NULL, *ends = NULL;
    Convert c = {0};
    const Parsed *p = PyCapsule_GetPointer(capsule, "voxhub.cseg_parsed");
    if (p == NULL) goto done;
    c.p = p;
    c.gx = gx; c.gy = gy; c.gz = gz;
    c.rank = rank_b.buf;
    c.n_entries = rank_b.len / 4;
    c.distinct = distinct_b.buf;
    c.nd = distinct_b.len / 8;
    if (gx * gy * gz != p->nsub || c.n_entries != p->t_first[p->nt]) {
        PyErr_SetString(PyExc_ValueError, "convert: the grid or the ranks do not match the parsed streams");
        goto done;
    }
    int64_t nb = p->nb, nt = p->nt, ne = c.n_entries;
    for (int64_t t = 0; t < nt; t++) {  /* unused entries: a native sub-block lists 512 at most */
        if (p->t_count[t] > SUB_VOXELS) {
            raise_code(E_ENTRIES, p->t_count[t]);
            goto done;
        }
    }
    c.labels = malloc(sizeof(int32_t) * (size_t)(ne ? ne : 1));
    c.labels_at = malloc(sizeof(int64_t) * (size_t)(nb + 1));
    c.ns = malloc(sizeof(int32_t) * (size_t)(nt ? nt : 1));
    c.list_at = malloc(sizeof(int64_t) * (size_t)(nt ? nt : 1));
    c.lists = malloc(sizeof(uint32_t) * (size_t)(ne ? ne : 1));
    c.perm = malloc(sizeof(uint16_t) * (size_t)(ne ? ne : 1));
    c.moved = malloc((size_t)(nt ? nt : 1));
    c.ends = malloc(sizeof(int64_t) * (size_t)nb);
    if (!c.labels || !c.labels_at || !c.ns || !c.list_at || !c.lists || !c.perm || !c.moved || !c.ends) {
        PyErr_NoMemory();
        goto done;
    }
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = analyse(&c);
    Py_END_ALLOW_THREADS
    if (err == E_RANK) {
        PyErr_SetString(PyExc_ValueError, "convert: a rank lies outside the distinct labels");
        goto done;
    }
    if (err) { PyErr_NoMemory(); goto done; }
    data = PyBytes_FromStringAndSize(NULL, c.ends[nb - 1]);
    if (data == NULL) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(data);
    Py_BEGIN_ALLOW_THREADS
    write_blocks(&c, out);
    Py_END_ALLOW_THREADS
    ends = PyList_New(nb);
    if (ends == NULL) goto done;
    for (int64_t b = 0; b < nb; b++) {
        PyObject *end = PyLong_FromLongLong(c.ends[b]);
        if (end == NULL) goto done;
        PyList_SET_ITEM(ends, b, end);
    }
    result = Py_BuildValue("(OO)", data, ends);
done:
    Py_XDECREF(data);
    Py_XDECREF(ends);
    free(c.labels); free(c.labels_at); free(c.ns); free(c.list_at); free(c.lists);
    free(c.perm); free(c.moved); free(c.ends);
    PyBuffer_Release(&rank_b);
    PyBuffer_Release(&distinct_b);
    return result;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS, "Check and parse decompressed cseg streams: (state, labels, tables, counts)."},
    {"convert", convert, METH_VARARGS, "Native blocks of parsed streams: (data, ends)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cseg_native",
    "Stored compressed_segmentation label blocks to DVID's native block format.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cseg_native(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    StreamError = PyErr_NewException("voxhub.codecs._cseg_native.StreamError", PyExc_ValueError, NULL);
    if (StreamError == NULL || PyModule_AddObjectRef(m, "StreamError", StreamError) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
