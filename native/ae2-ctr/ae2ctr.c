// The per-block and per-byte work of WinZip AE-2's counter mode, which the daemon would otherwise
// do in V8's interpreter (it runs --jitless): writing little-endian counter blocks, and XORing the
// keystream into the data. AES itself stays with Node's crypto (OpenSSL), so nothing here links it.
#include <stdint.h>
#include <string.h>
#include <node_api.h>

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_AE2_CTR", message);
  return NULL;
}

// The bytes of a Uint8Array (a Buffer is one), or NULL after throwing.
static uint8_t *bytes_of(napi_env env, napi_value value, size_t *length, const char *message) {
  napi_typedarray_type type;
  void *data;
  napi_value buffer;
  size_t offset;
  bool is_typed;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
    fail(env, message);
    return NULL;
  }
  // An empty array may have no backing store: any non-NULL pointer will do for a zero-length copy.
  return data ? (uint8_t *)data : (uint8_t *)"";
}

// counterBlocks(target: Uint8Array, first: number): fills target (a whole number of 16-byte
// blocks) with the counters first, first + 1, … as 64-bit little-endian integers, each followed
// by 8 zero bytes (AE's counter; Node's aes-256-ctr counts big-endian).
static napi_value counter_blocks(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return fail(env, "counterBlocks(target, first) takes two arguments");
  size_t length;
  uint8_t *target = bytes_of(env, argv[0], &length, "counterBlocks: target must be a Uint8Array");
  if (!target) return NULL;
  if (length % 16 != 0) return fail(env, "counterBlocks: target must hold whole 16-byte blocks");
  int64_t first;
  if (napi_get_value_int64(env, argv[1], &first) != napi_ok || first < 0) return fail(env, "counterBlocks: first must be a non-negative integer");
  uint64_t counter = (uint64_t)first;
  for (size_t i = 0; i < length; i += 16, counter++) {
    for (int b = 0; b < 8; b++) target[i + b] = (uint8_t)(counter >> (8 * b));
    memset(target + i + 8, 0, 8);
  }
  return NULL;
}

// xorInto(out: Uint8Array, data: Uint8Array, keystream: Uint8Array, offset: number): out[i] =
// data[i] ^ keystream[offset + i] for every byte of data (out may be data itself).
static napi_value xor_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4)
    return fail(env, "xorInto(out, data, keystream, offset) takes four arguments");
  size_t out_length, data_length, key_length;
  uint8_t *out = bytes_of(env, argv[0], &out_length, "xorInto: out must be a Uint8Array");
  if (!out) return NULL;
  uint8_t *data = bytes_of(env, argv[1], &data_length, "xorInto: data must be a Uint8Array");
  if (!data) return NULL;
  uint8_t *key = bytes_of(env, argv[2], &key_length, "xorInto: keystream must be a Uint8Array");
  if (!key) return NULL;
  int64_t offset;
  if (napi_get_value_int64(env, argv[3], &offset) != napi_ok || offset < 0) return fail(env, "xorInto: offset must be a non-negative integer");
  if (out_length < data_length || (uint64_t)offset > key_length || key_length - (size_t)offset < data_length)
    return fail(env, "xorInto: out and the keystream from offset must be at least as long as data");
  key += offset;
  // Byte by byte: the compiler vectorises this loop, and unaligned or overlapping-in-place buffers stay correct.
  for (size_t i = 0; i < data_length; i++) out[i] = data[i] ^ key[i];
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "counterBlocks", NAPI_AUTO_LENGTH, counter_blocks, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "counterBlocks", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "xorInto", NAPI_AUTO_LENGTH, xor_into, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "xorInto", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
