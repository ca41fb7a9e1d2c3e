// Lookups in the password blocklist file (policy/blocklist.ts describes the format and the hash):
// hashing words and binary search over the sorted 64-bit keys. The daemon runs --jitless, where
// the same work in JavaScript runs in V8's interpreter; the file stays the one format, read as is.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

#define MAGIC 0x4c424343u  // "CCBL" little-endian
#define VERSION 1u
#define HEADER 16u
#define MIN_WORD 3

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_BLOCKLIST_SCAN", message);
  return NULL;
}

static uint32_t u32le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

typedef struct {
  const uint8_t *hi, *lo, *meta;
  uint32_t count;
} table_t;

// The blocklist file's tables, or 0 after throwing (not a version 1 file of the size its count says).
static int table_of(napi_env env, napi_value value, table_t *t) {
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer;
  bool is_typed;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
    fail(env, "blocklist: the file must be given as a Uint8Array");
    return 0;
  }
  const uint8_t *bytes = data;
  if (length < HEADER || u32le(bytes) != MAGIC || u32le(bytes + 4) != VERSION) {
    fail(env, "blocklist: not a version 1 blocklist file");
    return 0;
  }
  uint32_t count = u32le(bytes + 8);
  if ((uint64_t)length != HEADER + (uint64_t)count * 9) {
    fail(env, "blocklist: file size does not match its entry count");
    return 0;
  }
  t->count = count;
  t->hi = bytes + HEADER;
  t->lo = bytes + HEADER + (size_t)count * 4;
  t->meta = bytes + HEADER + (size_t)count * 8;
  return 1;
}

// The hash of policy/blocklist.ts (hashStep, hashKey): two 32-bit hashes over UTF-16 code units.
typedef struct {
  uint32_t a, b;
} hash_t;

static void hash_step(hash_t *h, uint16_t code) {
  h->a = (h->a ^ code) * 0x01000193u;
  uint32_t b = (h->b ^ code) * 0x5bd1e995u;
  h->b = b ^ (b >> 15);
}

static uint32_t fmix32(uint32_t h) {
  h = (h ^ (h >> 16)) * 0x85ebca6bu;
  h = (h ^ (h >> 13)) * 0xc2b2ae35u;
  return h ^ (h >> 16);
}

// The entry's meta byte, or -1 when the key is not listed.
static int find(const table_t *t, const hash_t *h, uint32_t length) {
  uint32_t hi = fmix32(h->a ^ length), lo = fmix32(h->b + length * 0x9e3779b9u);
  int64_t low = 0, high = (int64_t)t->count - 1;
  while (low <= high) {
    int64_t mid = (low + high) >> 1;
    uint32_t mh = u32le(t->hi + mid * 4), ml = u32le(t->lo + mid * 4);
    if (mh < hi || (mh == hi && ml < lo)) low = mid + 1;
    else if (mh > hi || ml > lo) high = mid - 1;
    else return t->meta[mid];
  }
  return -1;
}

// The UTF-16 code units of a string argument (malloc'd; the caller frees), or NULL after throwing.
static uint16_t *units_of(napi_env env, napi_value value, size_t *length) {
  napi_valuetype kind;
  if (napi_typeof(env, value, &kind) != napi_ok || kind != napi_string) {
    fail(env, "blocklist: the word must be a string");
    return NULL;
  }
  if (napi_get_value_string_utf16(env, value, NULL, 0, length) != napi_ok) return NULL;
  uint16_t *units = malloc((*length + 1) * sizeof *units);
  if (!units) {
    fail(env, "blocklist: out of memory");
    return NULL;
  }
  size_t copied;
  if (napi_get_value_string_utf16(env, value, (char16_t *)units, *length + 1, &copied) != napi_ok) {
    free(units);
    return NULL;
  }
  *length = copied;
  return units;
}

// lookup(file: Uint8Array, word: string): the word's meta byte, or -1 when it is not listed.
static napi_value lookup(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return fail(env, "lookup(file, word) takes two arguments");
  table_t t;
  if (!table_of(env, argv[0], &t)) return NULL;
  size_t n;
  uint16_t *units = units_of(env, argv[1], &n);
  if (!units) return NULL;
  hash_t h = {0x811c9dc5u, 0x9747b28cu};
  for (size_t i = 0; i < n; i++) hash_step(&h, units[i]);
  int meta = find(&t, &h, (uint32_t)n);
  free(units);
  napi_value result;
  if (napi_create_int32(env, meta, &result) != napi_ok) return NULL;
  return result;
}

// scan(file: Uint8Array, text: string, maxLength: number): Int32Array of (start, end, meta) for
// every listed substring of text from 3 to maxLength code units, by start then end.
static napi_value scan(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) return fail(env, "scan(file, text, maxLength) takes three arguments");
  table_t t;
  if (!table_of(env, argv[0], &t)) return NULL;
  int32_t max_length;
  if (napi_get_value_int32(env, argv[2], &max_length) != napi_ok || max_length < 0) return fail(env, "scan: maxLength must be a non-negative integer");
  size_t n;
  uint16_t *units = units_of(env, argv[1], &n);
  if (!units) return NULL;
  size_t capacity = 64, found = 0;
  int32_t *hits = malloc(capacity * 3 * sizeof *hits);
  if (!hits) {
    free(units);
    return fail(env, "blocklist: out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    hash_t h = {0x811c9dc5u, 0x9747b28cu};
    size_t end = n - i < (size_t)max_length ? n : i + (size_t)max_length;
    for (size_t j = i; j < end; j++) {
      hash_step(&h, units[j]);
      uint32_t length = (uint32_t)(j - i + 1);
      if (length < MIN_WORD) continue;
      int meta = find(&t, &h, length);
      if (meta < 0) continue;
      if (found == capacity) {
        int32_t *more = realloc(hits, capacity * 2 * 3 * sizeof *hits);
        if (!more) {
          free(hits);
          free(units);
          return fail(env, "blocklist: out of memory");
        }
        hits = more;
        capacity *= 2;
      }
      hits[found * 3] = (int32_t)i;
      hits[found * 3 + 1] = (int32_t)(j + 1);
      hits[found * 3 + 2] = meta;
      found++;
    }
  }
  free(units);
  napi_value array_buffer, result;
  void *data;
  if (napi_create_arraybuffer(env, found * 3 * sizeof *hits, &data, &array_buffer) != napi_ok) {
    free(hits);
    return NULL;
  }
  if (found > 0) memcpy(data, hits, found * 3 * sizeof *hits);
  free(hits);
  if (napi_create_typedarray(env, napi_int32_array, found * 3, array_buffer, 0, &result) != napi_ok) return NULL;
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "lookup", NAPI_AUTO_LENGTH, lookup, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "lookup", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "scan", NAPI_AUTO_LENGTH, scan, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "scan", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
