/*
 * The data path of TFTP read transfers on threads of their own, for Node: what Node's dgram
 * costs per datagram (an event-loop turn, a JS callback and a send request per block) is
 * most of a stop-and-wait round trip on a LAN, so the blocks of a file go out from here.
 * A Node-API addon (this file and tftp-transfer.c, the loop): one build runs on Node 20
 * and 24 alike. The JS side (tftp/native-transfer.ts) decides everything before the first
 * packet (path, admission, options, the OACK's bytes).
 *
 *   start({ fd, size, host, address, port, blockSize, windowSize, timeoutMs, retries,
 *           maxStallMs, oack }, done) -> handle
 *       opens the transfer's socket (bound to host, a new port; connected to the client),
 *       dups fd (the caller may close its own at once; oack is a Buffer or null) and starts
 *       a thread. done(kind, reason, bytesSent, errorSent) comes once, on the JS thread:
 *       kind "completed", "aborted" (the client's ERROR) or "failed".
 *   confirmed(handle) -> boolean    the client acknowledged something (it is where it claims)
 *   abort(handle, reason)           end now with an ERROR carrying reason (shutdown, eviction)
 *   localPort(handle) -> number     the transfer's port
 */
#define _GNU_SOURCE
#include "tftp-transfer.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void release(transfer_t *t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1) return;
  pthread_mutex_destroy(&t->mu);
  pthread_cond_destroy(&t->cv);
  free(t->oack);
  free(t->chunk);
  free(t->packet);
  free(t->rbuf);
  free(t);
}


static void *thread_main(void *arg) {
  transfer_t *t = arg;
  tftp_run(t);
  int queued = napi_call_threadsafe_function(t->tsfn, t, napi_tsfn_blocking) == napi_ok;
  napi_release_threadsafe_function(t->tsfn, napi_tsfn_release);
  pthread_mutex_lock(&t->mu);
  if (!queued) t->delivered = 1; /* the JS side is going away: nobody to wait for */
  while (!t->delivered) pthread_cond_wait(&t->cv, &t->mu);
  if (t->error_sent) tftp_send_error(t, t->reason);
  close(t->sock);
  t->sock = -1;
  pthread_mutex_unlock(&t->mu);
  close(t->file);
  t->file = -1;
  release(t);
  return NULL;
}

/* On the JS thread: done(kind, reason, bytesSent, errorSent); then the thread may send its ERROR and end. */
static void call_done(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  transfer_t *t = data;
  if (env != NULL && callback != NULL) {
    static const char *kinds[] = { "completed", "aborted", "failed" };
    napi_value argv[4], global;
    napi_create_string_utf8(env, kinds[t->kind], NAPI_AUTO_LENGTH, &argv[0]);
    napi_create_string_utf8(env, t->reason, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_double(env, t->bytes_sent, &argv[2]);
    napi_get_boolean(env, t->error_sent != 0, &argv[3]);
    napi_get_global(env, &global);
    napi_call_function(env, global, callback, 4, argv, NULL);
  }
  pthread_mutex_lock(&t->mu);
  t->delivered = 1;
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release(data);
}

static int get_prop_u32(napi_env env, napi_value obj, const char *name, uint32_t *out) {
  napi_value v;
  return napi_get_named_property(env, obj, name, &v) == napi_ok && napi_get_value_uint32(env, v, out) == napi_ok;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "EINVAL", message);
  return NULL;
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  const char *code = strerrorname_np(err);
  napi_throw_error(env, code ? code : "EUNKNOWN", message);
  return NULL;
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], v;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return throw_type(env, "start(options, done)");
  napi_valuetype type;
  napi_typeof(env, argv[1], &type);
  if (type != napi_function) return throw_type(env, "start: done must be a function");
  uint32_t fd, port, block_size, window, timeout_ms, retries, max_stall_ms;
  double size;
  char host[INET_ADDRSTRLEN + 1], address[INET_ADDRSTRLEN + 1];
  size_t len;
  if (!get_prop_u32(env, argv[0], "fd", &fd) || !get_prop_u32(env, argv[0], "port", &port) || !get_prop_u32(env, argv[0], "blockSize", &block_size) ||
      !get_prop_u32(env, argv[0], "windowSize", &window) || !get_prop_u32(env, argv[0], "timeoutMs", &timeout_ms) || !get_prop_u32(env, argv[0], "retries", &retries) ||
      !get_prop_u32(env, argv[0], "maxStallMs", &max_stall_ms))
    return throw_type(env, "start: fd, port, blockSize, windowSize, timeoutMs, retries and maxStallMs must be numbers");
  if (napi_get_named_property(env, argv[0], "size", &v) != napi_ok || napi_get_value_double(env, v, &size) != napi_ok || !(size >= 0 && size <= 9007199254740991.0))
    return throw_type(env, "start: size must be a number of bytes");
  if (napi_get_named_property(env, argv[0], "host", &v) != napi_ok || napi_get_value_string_utf8(env, v, host, sizeof host, &len) != napi_ok ||
      napi_get_named_property(env, argv[0], "address", &v) != napi_ok || napi_get_value_string_utf8(env, v, address, sizeof address, &len) != napi_ok)
    return throw_type(env, "start: host and address must be IPv4 addresses");
  if (port == 0 || port > 65535 || block_size < 8 || block_size > 65464 || window < 1 || window > 65535 || timeout_ms < 1 || max_stall_ms < 1) return throw_type(env, "start: a setting is out of range");
  struct sockaddr_in local = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, host, &local.sin_addr) != 1 || inet_pton(AF_INET, address, &peer.sin_addr) != 1) return throw_type(env, "start: host and address must be IPv4 addresses");
  transfer_t *t = calloc(1, sizeof *t);
  if (!t) return throw_errno(env, ENOMEM, "start");
  t->sock = t->file = -1;
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, NULL);
  atomic_init(&t->refs, 1);
  t->size = (uint64_t)size;
  t->block_size = block_size;
  t->window = window;
  t->timeout_ms = timeout_ms;
  t->retries = retries;
  t->max_stall_ms = max_stall_ms;
  t->blocks_per_chunk = CHUNK_TARGET / block_size > 0 ? CHUNK_TARGET / block_size : 1;
  t->chunk_index = -1;
  t->last_block = (int64_t)(t->size / block_size) + 1; /* the last block is short, maybe empty */
  t->sent_end = -1;
  t->chunk = malloc(t->blocks_per_chunk * block_size);
  t->packet = malloc(4 + (size_t)block_size);
  t->rbuf = malloc(65536);
  if (!t->chunk || !t->packet || !t->rbuf) {
    release(t);
    return throw_errno(env, ENOMEM, "start");
  }
  napi_value oack;
  bool has_oack = false;
  if (napi_get_named_property(env, argv[0], "oack", &oack) == napi_ok) napi_is_buffer(env, oack, &has_oack);
  if (has_oack) {
    void *bytes;
    size_t n;
    napi_get_buffer_info(env, oack, &bytes, &n);
    if (n < 2 || n > 512) {
      release(t);
      return throw_type(env, "start: the OACK must be 2 to 512 bytes");
    }
    t->oack = malloc(n);
    if (!t->oack) {
      release(t);
      return throw_errno(env, ENOMEM, "start");
    }
    memcpy(t->oack, bytes, n);
    t->oack_len = n;
  }
  t->base = has_oack ? 0 : 1;
  const char *what = NULL;
  int err = 0;
  if ((t->file = fcntl((int)fd, F_DUPFD_CLOEXEC, 0)) < 0) err = errno, what = "dup of the file";
  if (!what && (t->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) err = errno, what = "socket";
  if (!what && bind(t->sock, (struct sockaddr *)&local, sizeof local) != 0) err = errno, what = "bind";
  if (!what && connect(t->sock, (struct sockaddr *)&peer, sizeof peer) != 0) err = errno, what = "connect";
  struct sockaddr_in bound;
  socklen_t blen = sizeof bound;
  if (!what && getsockname(t->sock, (struct sockaddr *)&bound, &blen) != 0) err = errno, what = "getsockname";
  if (!what) t->local_port = ntohs(bound.sin_port);
  uint32_t tick_ms = timeout_ms / 4 < 10 ? 10 : timeout_ms / 4 > 250 ? 250 : timeout_ms / 4;
  struct timeval tick = { .tv_sec = tick_ms / 1000, .tv_usec = (tick_ms % 1000) * 1000 };
  if (!what && setsockopt(t->sock, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick) != 0) err = errno, what = "SO_RCVTIMEO";
  if (what) {
    if (t->sock >= 0) close(t->sock);
    if (t->file >= 0) close(t->file);
    release(t);
    return throw_errno(env, err, what);
  }
  napi_value name;
  napi_create_string_utf8(env, "lifeboat-tftp-transfer", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_done, &t->tsfn) != napi_ok) {
    close(t->sock);
    close(t->file);
    release(t);
    return throw_type(env, "start: no threadsafe function");
  }
  atomic_fetch_add(&t->refs, 1); /* the JS handle's */
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  err = pthread_create(&thread, &attr, thread_main, t);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    napi_release_threadsafe_function(t->tsfn, napi_tsfn_abort);
    close(t->sock);
    close(t->file);
    release(t);
    release(t);
    return throw_errno(env, err, "pthread_create");
  }
  napi_value handle;
  napi_create_external(env, t, finalize_handle, NULL, &handle);
  return handle;
}

static transfer_t *get_handle(napi_env env, napi_callback_info info, napi_value *argv, size_t want) {
  size_t argc = want;
  void *data = NULL;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    throw_type(env, "the first argument must be a transfer handle");
    return NULL;
  }
  return data;
}

static napi_value confirmed(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  transfer_t *t = get_handle(env, info, argv, 1);
  if (!t) return NULL;
  napi_get_boolean(env, atomic_load(&t->confirmed) != 0, &out);
  return out;
}

static napi_value abort_transfer(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  transfer_t *t = get_handle(env, info, argv, 2);
  if (!t) return NULL;
  char reason[REASON_MAX + 1];
  size_t len = 0;
  if (napi_get_value_string_latin1(env, argv[1], reason, sizeof reason, &len) != napi_ok) return throw_type(env, "abort(handle, reason): reason must be a string");
  pthread_mutex_lock(&t->mu);
  tftp_clean_copy(t->cancel_reason, reason, len);
  atomic_store(&t->cancelled, 1);
  /* wakes the thread's recv(); the socket is closed under the same lock, so never another's */
  if (t->sock >= 0) shutdown(t->sock, SHUT_RD);
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

static napi_value local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  transfer_t *t = get_handle(env, info, argv, 1);
  if (!t) return NULL;
  napi_create_int32(env, t->local_port, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "start", NULL, start, NULL, NULL, NULL, napi_default, NULL },
    { "confirmed", NULL, confirmed, NULL, NULL, NULL, napi_default, NULL },
    { "abort", NULL, abort_transfer, NULL, NULL, NULL, napi_default, NULL },
    { "localPort", NULL, local_port, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof *props, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
