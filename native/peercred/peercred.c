// SO_PEERCRED of a connected Unix socket: the uid, gid and pid the kernel recorded for the
// process at the other end when it connected (Node has no API for it).
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_PEERCRED", message);
  return NULL;
}

static napi_value set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value n;
  if (napi_create_double(env, value, &n) != napi_ok) return NULL;
  if (napi_set_named_property(env, object, name, n) != napi_ok) return NULL;
  return object;
}

// peerCredentials(fd: number): { uid, gid, pid }; throws when the fd is not a connected Unix socket.
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    return fail(env, "peerCredentials(fd) takes one file descriptor");
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    return fail(env, "peerCredentials(fd): fd must be a non-negative integer");
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
    return fail(env, strerror(errno));
  }
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  if (!set_number(env, result, "uid", cred.uid) || !set_number(env, result, "gid", cred.gid) ||
      !set_number(env, result, "pid", cred.pid)) {
    return NULL;
  }
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
