// glibc's malloc, steered for a daemon whose big allocations are argon2's working memory (the
// reference implementation mallocs m KiB per hash): serve them from the heap instead of a fresh
// mmap each time (a hash then costs its work, not thousands of page faults), keep up to a bound
// free on the heap, and return the rest on request once the daemon is idle. Node has no API for any
// of it. Off glibc every call reports that it did nothing.
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_HEAP", message);
  return NULL;
}

static napi_value boolean(napi_env env, bool value) {
  napi_value result;
  if (napi_get_boolean(env, value, &result) != napi_ok) return NULL;
  return result;
}

// keepOnHeap(trimThresholdBytes: number): boolean — no mmap for any allocation, and up to the
// threshold kept free at the top of the heap. False when the C library does not support it.
static napi_value keep_on_heap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double threshold;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_double(env, argv[0], &threshold) != napi_ok || !(threshold >= 0) || threshold > INT32_MAX) {
    return fail(env, "keepOnHeap(trimThresholdBytes) takes one byte count from 0 to 2^31-1");
  }
#ifdef __GLIBC__
  return boolean(env, mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, (int)threshold) == 1);
#else
  return boolean(env, false);
#endif
}

// trim(): boolean — returns every whole free page of the heap to the kernel; true when some was.
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  return boolean(env, malloc_trim(0) == 1);
#else
  return boolean(env, false);
#endif
}

static bool set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value n;
  return napi_create_double(env, value, &n) == napi_ok && napi_set_named_property(env, object, name, n) == napi_ok;
}

// stats(): { heapBytes, mappedBytes, inUseBytes, freeBytes } — what the heap holds, or null off glibc.
static napi_value stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  struct mallinfo2 mi = mallinfo2();
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  if (!set_number(env, result, "heapBytes", (double)mi.arena) || !set_number(env, result, "mappedBytes", (double)mi.hblkhd) ||
      !set_number(env, result, "inUseBytes", (double)(mi.uordblks + mi.hblkhd)) || !set_number(env, result, "freeBytes", (double)mi.fordblks)) {
    return NULL;
  }
#else
  if (napi_get_null(env, &result) != napi_ok) return NULL;
#endif
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } methods[] = {{"keepOnHeap", keep_on_heap}, {"trim", trim}, {"stats", stats}};
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, methods[i].name, NAPI_AUTO_LENGTH, methods[i].fn, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, methods[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
