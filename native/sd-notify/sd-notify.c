// systemd's notify protocol: one datagram to $NOTIFY_SOCKET (Node cannot send Unix datagrams). A
// socket per message, as sd_notify(3) itself does: the daemon sends a few per minute.
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <node_api.h>

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, "ERR_SD_NOTIFY", message);
  return NULL;
}

// notify(path: Buffer, message: Buffer): undefined; a path starting with NUL names the abstract namespace.
static napi_value notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    return fail(env, "notify(path, message) takes two buffers");
  }
  void *path;
  size_t path_len;
  void *message;
  size_t message_len;
  if (napi_get_buffer_info(env, argv[0], &path, &path_len) != napi_ok || napi_get_buffer_info(env, argv[1], &message, &message_len) != napi_ok) {
    return fail(env, "notify(path, message): both must be Buffers");
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path_len == 0 || path_len >= sizeof addr.sun_path) return fail(env, "notify: the socket path is empty or longer than a Unix socket path can be");
  memcpy(addr.sun_path, path, path_len);
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + (addr.sun_path[0] == '\0' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(env, strerror(errno));
  ssize_t sent = sendto(fd, message, message_len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
  int saved = errno;
  close(fd);
  if (sent < 0) return fail(env, strerror(saved));
  if ((size_t)sent != message_len) return fail(env, "notify: the datagram was cut short");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "notify", NAPI_AUTO_LENGTH, notify, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "notify", fn) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
