// glibc's malloc keeps the pages of freed memory on its heap for later use; Node has no call to
// give them back. The daemon calls trim() once it has been quiet for a while. Off glibc it
// reports that it did nothing.
#define _GNU_SOURCE
#include <stdbool.h>
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// trim(): boolean — returns every whole free page of the heap to the kernel; true when some was.
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  bool released = malloc_trim(0) == 1;
#else
  bool released = false;
#endif
  napi_value result;
  if (napi_get_boolean(env, released, &result) != napi_ok) return NULL;
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
