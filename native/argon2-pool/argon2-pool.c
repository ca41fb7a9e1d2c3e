// argon2id (the reference implementation that the argon2 package ships) with its working memory
// kept between hashes. The reference code allocates the whole memory cost (19 MiB by default)
// for every hash; from malloc that memory is either mapped afresh each time (thousands of page
// faults per login, expensive on VMs and small ARM cores) or kept by the allocator for good. Here
// each hash takes a slot of a small pool of mappings: at most `slots` are kept (the hashes that
// may run at once), the reference code wipes each one when the hash ends, and `release()` unmaps
// the idle ones when the daemon has been quiet for a while.
// A slot mapped afresh (the first hash after a start or after idle) has its pages faulted in by a
// helper thread from the end backwards while the hash fills it from the start, so that the two
// cores share the faults: 19 MiB faulted alone took ~10 ms of the hash here (bench prints it).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <node_api.h>
#include "argon2.h"

#define MAX_SLOTS 64

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 // Linux 5.14; older kernels refuse it (EINVAL) and the hash faults its pages itself
#endif
/** What the helper faults in per call; once the hash has caught up, the calls left find their pages present. */
#define POPULATE_CHUNK (1024 * 1024)

static struct {
  uint8_t *memory;
  size_t bytes;
  bool busy;
  /** A helper thread is faulting this slot's pages in; joined when the hash gives the slot back. */
  bool populating;
  pthread_t populator;
} slots[MAX_SLOTS];
static size_t slot_limit = 2;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint8_t *map(size_t bytes) {
  void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? NULL : memory;
}

// Faults a fresh slot's pages in, last chunk first. MADV_POPULATE_WRITE maps pages writable
// without writing to them: pages the hash has already written keep their contents.
static void *populate(void *arg) {
  size_t slot = (size_t)(uintptr_t)arg;
  uint8_t *memory = slots[slot].memory; // fixed while the slot is busy
  for (size_t end = slots[slot].bytes; end > 0;) {
    size_t len = end >= POPULATE_CHUNK ? POPULATE_CHUNK : end;
    end -= len;
    if (madvise(memory + end, len, MADV_POPULATE_WRITE) != 0) break;
  }
  return NULL;
}

// The reference code's allocator hook: an idle slot of the right size, else a new slot, else
// (more hashes at once than slots) a mapping of its own that is unmapped when the hash ends.
static int take(uint8_t **memory, size_t bytes) {
  pthread_mutex_lock(&lock);
  size_t empty = MAX_SLOTS, idle_other = MAX_SLOTS;
  for (size_t i = 0; i < slot_limit; i++) {
    if (slots[i].busy) continue;
    if (slots[i].memory && slots[i].bytes == bytes) {
      slots[i].busy = true;
      *memory = slots[i].memory;
      pthread_mutex_unlock(&lock);
      return ARGON2_OK;
    }
    if (!slots[i].memory && empty == MAX_SLOTS) empty = i;
    if (slots[i].memory && idle_other == MAX_SLOTS) idle_other = i;
  }
  size_t slot = empty != MAX_SLOTS ? empty : idle_other;
  if (slot != MAX_SLOTS) {
    if (slots[slot].memory) munmap(slots[slot].memory, slots[slot].bytes); // other parameters than now
    slots[slot].memory = map(bytes);
    slots[slot].bytes = bytes;
    slots[slot].busy = slots[slot].memory != NULL;
    slots[slot].populating =
        slots[slot].busy && pthread_create(&slots[slot].populator, NULL, populate, (void *)(uintptr_t)slot) == 0;
    *memory = slots[slot].memory;
  } else {
    *memory = map(bytes);
  }
  pthread_mutex_unlock(&lock);
  return *memory ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

// Called after the reference code has wiped the memory (FLAG_clear_internal_memory).
static void give_back(uint8_t *memory, size_t bytes) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < MAX_SLOTS; i++) {
    if (slots[i].memory == memory) {
      // Long done by now (a hash takes longer than faulting its memory); never unmapped under it.
      if (slots[i].populating) pthread_join(slots[i].populator, NULL);
      slots[i].populating = false;
      slots[i].busy = false;
      pthread_mutex_unlock(&lock);
      return;
    }
  }
  pthread_mutex_unlock(&lock);
  munmap(memory, bytes);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  uint8_t *password;
  size_t password_len;
  uint8_t salt[64];
  size_t salt_len;
  uint8_t out[64];
  uint32_t out_len, m, t, p;
  int result;
} HashJob;

static void run(napi_env env, void *data) {
  (void)env;
  HashJob *job = data;
  argon2_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.out = job->out;
  ctx.outlen = job->out_len;
  ctx.pwd = job->password;
  ctx.pwdlen = (uint32_t)job->password_len;
  ctx.salt = job->salt;
  ctx.saltlen = (uint32_t)job->salt_len;
  ctx.m_cost = job->m;
  ctx.t_cost = job->t;
  ctx.lanes = job->p;
  ctx.threads = job->p;
  ctx.version = ARGON2_VERSION_13;
  ctx.allocate_cbk = take;
  ctx.free_cbk = give_back;
  ctx.flags = ARGON2_FLAG_CLEAR_PASSWORD;
  job->result = argon2_ctx(&ctx, Argon2_id);
}

static void done(napi_env env, napi_status status, void *data) {
  HashJob *job = data;
  napi_value value;
  if (status == napi_ok && job->result == ARGON2_OK && napi_create_buffer_copy(env, job->out_len, job->out, NULL, &value) == napi_ok) {
    napi_resolve_deferred(env, job->deferred, value);
  } else {
    napi_value message;
    napi_create_string_utf8(env, job->result != ARGON2_OK ? argon2_error_message(job->result) : "argon2 hash failed", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &value);
    napi_reject_deferred(env, job->deferred, value);
  }
  memset(job->out, 0, sizeof job->out);
  if (job->password) {
    memset(job->password, 0, job->password_len);
    free(job->password);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_ARGON2_POOL", message);
  return NULL;
}

static bool uint_arg(napi_env env, napi_value value, uint32_t min, uint32_t max, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok || d != (double)(uint32_t)d) return false;
  *out = (uint32_t)d;
  return *out >= min && *out <= max;
}

// hashRaw(password: Buffer, salt: Buffer, hashLength, memoryKiB, timeCost, parallelism): Promise<Buffer>
static napi_value hash_raw(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6) return fail(env, "hashRaw takes 6 arguments");
  void *password, *salt;
  size_t password_len, salt_len;
  bool is_buffer;
  if (napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[0], &password, &password_len) != napi_ok ||
      password_len > ARGON2_MAX_PWD_LENGTH) {
    return fail(env, "hashRaw: the password must be a Buffer");
  }
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[1], &salt, &salt_len) != napi_ok ||
      salt_len < ARGON2_MIN_SALT_LENGTH || salt_len > 64) {
    return fail(env, "hashRaw: the salt must be a Buffer of 8 to 64 bytes");
  }
  HashJob *job = calloc(1, sizeof *job);
  if (!job) return fail(env, "hashRaw: out of memory");
  if (!uint_arg(env, argv[2], 4, 64, &job->out_len) || !uint_arg(env, argv[3], 8, UINT32_MAX, &job->m) || !uint_arg(env, argv[4], 1, UINT32_MAX, &job->t) ||
      !uint_arg(env, argv[5], 1, 255, &job->p)) {
    free(job);
    return fail(env, "hashRaw: hash length 4-64, memory cost ≥ 8 KiB, time cost ≥ 1, parallelism 1-255");
  }
  job->password = malloc(password_len ? password_len : 1);
  if (!job->password) {
    free(job);
    return fail(env, "hashRaw: out of memory");
  }
  memcpy(job->password, password, password_len);
  job->password_len = password_len;
  memcpy(job->salt, salt, salt_len);
  job->salt_len = salt_len;
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok || napi_create_string_utf8(env, "argon2id", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, run, done, job, &job->work) != napi_ok || napi_queue_async_work(env, job->work) != napi_ok) {
    memset(job->password, 0, job->password_len);
    free(job->password);
    free(job);
    return fail(env, "hashRaw: the hash could not be queued");
  }
  return promise;
}

// keep(slots): how many hash-sized mappings stay between hashes (the hashes that may run at once).
static napi_value keep(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !uint_arg(env, argv[0], 1, MAX_SLOTS, &n)) {
    return fail(env, "keep(slots) takes a number from 1 to 64");
  }
  pthread_mutex_lock(&lock);
  slot_limit = n;
  pthread_mutex_unlock(&lock);
  return NULL;
}

// release(): unmaps every idle slot; returns the bytes given back.
static napi_value release(napi_env env, napi_callback_info info) {
  (void)info;
  double released = 0;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < MAX_SLOTS; i++) {
    if (slots[i].memory && !slots[i].busy) {
      munmap(slots[i].memory, slots[i].bytes);
      released += (double)slots[i].bytes;
      slots[i].memory = NULL;
      slots[i].bytes = 0;
    }
  }
  pthread_mutex_unlock(&lock);
  napi_value value;
  napi_create_double(env, released, &value);
  return value;
}

// keptBytes(): the bytes mapped by the pool now (idle and busy slots).
static napi_value kept_bytes(napi_env env, napi_callback_info info) {
  (void)info;
  double bytes = 0;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < MAX_SLOTS; i++) bytes += slots[i].memory ? (double)slots[i].bytes : 0;
  pthread_mutex_unlock(&lock);
  napi_value value;
  napi_create_double(env, bytes, &value);
  return value;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } methods[] = {{"hashRaw", hash_raw}, {"keep", keep}, {"release", release}, {"keptBytes", kept_bytes}};
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, methods[i].name, NAPI_AUTO_LENGTH, methods[i].fn, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, methods[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
