/*
 * peercred(fd) -> { pid, uid, gid } | null: SO_PEERCRED of a connected Unix socket, the
 * kernel's word on who is on the other end (Node has no API for it). A Node-API addon:
 * one build runs on every Node version with Node-API 1 (Node 20 and 24 alike).
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <node_api.h>

static napi_value peercred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "peercred(fd): fd must be a number");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  napi_value result;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
    napi_get_null(env, &result);
    return result;
  }
  napi_value v;
  napi_create_object(env, &result);
  napi_create_int32(env, cred.pid, &v);
  napi_set_named_property(env, result, "pid", v);
  napi_create_uint32(env, cred.uid, &v);
  napi_set_named_property(env, result, "uid", v);
  napi_create_uint32(env, cred.gid, &v);
  napi_set_named_property(env, result, "gid", v);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "peercred", NAPI_AUTO_LENGTH, peercred, NULL, &fn);
  napi_set_named_property(env, exports, "peercred", fn);
  return exports;
}
