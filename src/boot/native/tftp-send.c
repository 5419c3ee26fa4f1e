/*
 * The data path of one TFTP read transfer, on a thread of its own: what Node's dgram costs
 * per datagram (an event-loop turn, a JS callback and a send request per block) is most of
 * a stop-and-wait round trip on a LAN, so the blocks of a file go out from here. A Node-API
 * addon: one build runs on Node 20 and 24 alike. The JS side (tftp/native-transfer.ts)
 * decides everything before the first packet (path, admission, options, the OACK's bytes);
 * this file only runs the transfer by the same rules as tftp/transfer.ts:
 *
 *   - its own UDP socket bound to the server's address (a new port: the transfer id,
 *     RFC 1350 §4) and connected to the client, so the kernel drops anyone else's packets;
 *   - the OACK first if options were granted (RFC 2347), then DATA a window at a time
 *     (RFC 7440, window 1 = RFC 1350 stop-and-wait), block numbers rolling over past 65535;
 *   - an ACK of a block inside the window moves it on and sends what follows at once; a
 *     duplicate or stale ACK brings nothing (no "Sorcerer's Apprentice"); an ACK inside
 *     the window means the blocks after it were lost: they go again;
 *   - an ERROR from the client ends the transfer silently (never answered); every other
 *     packet, malformed or not, is ignored, never answered;
 *   - retransmission of the window after the timeout, doubling up to 16x (RFC 1123
 *     §4.2.3.2), at most `retries` times; no acknowledged progress for maxStallMs ends it;
 *     a failure on our side (a file that shrank) ends it with an ERROR to the client.
 *
 *   start({ fd, size, host, address, port, blockSize, windowSize, timeoutMs, retries,
 *           maxStallMs, oack }, done) -> handle
 *       fd is dup'ed (the caller may close its own at once); oack is a Buffer or null.
 *       done(kind, reason, bytesSent, errorSent) once, on the JS thread: kind "completed",
 *       "aborted" (the client's ERROR) or "failed".
 *   confirmed(handle) -> boolean    the client acknowledged something (it is where it claims)
 *   abort(handle, reason)           end now with an ERROR carrying reason (shutdown, eviction)
 *   localPort(handle) -> number     the transfer's port
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>

#define OP_DATA 3
#define OP_ACK 4
#define OP_ERROR 5
#define CHUNK_TARGET (256 * 1024)
#define REASON_MAX 200

enum kind { KIND_COMPLETED, KIND_ABORTED, KIND_FAILED };

typedef struct {
  int sock, file;
  int local_port;
  uint64_t size;
  uint32_t block_size, window, timeout_ms, retries, max_stall_ms;
  unsigned char *oack;
  size_t oack_len;
  /* the transfer */
  int64_t base, sent_end, last_block;
  uint32_t timeouts;
  int64_t last_progress, deadline;
  unsigned char *chunk, *packet, *rbuf;
  int64_t chunk_index;
  uint64_t blocks_per_chunk;
  char failure[REASON_MAX + 64];
  /* shared with the JS thread */
  atomic_int confirmed;
  atomic_int cancelled;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int delivered;
  char cancel_reason[REASON_MAX + 1];
  atomic_int refs;
  napi_threadsafe_function tsfn;
  /* the outcome */
  enum kind kind;
  char reason[REASON_MAX + 64];
  double bytes_sent;
  int error_sent;
} transfer_t;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* printable ASCII only, at most REASON_MAX bytes */
static void clean_copy(char *out, const char *in, size_t len) {
  if (len > REASON_MAX) len = REASON_MAX;
  for (size_t i = 0; i < len; i++) out[i] = (in[i] >= 0x20 && in[i] <= 0x7e) ? in[i] : '?';
  out[len] = 0;
}

static void send_error(transfer_t *t, const char *message) {
  unsigned char buf[4 + REASON_MAX + 1];
  size_t len = strlen(message);
  if (len > REASON_MAX) len = REASON_MAX;
  buf[0] = 0; buf[1] = OP_ERROR; buf[2] = 0; buf[3] = 0; /* code 0: not defined */
  memcpy(buf + 4, message, len);
  buf[4 + len] = 0;
  (void)send(t->sock, buf, 5 + len, 0);
}

/* The ERROR (if any) goes out once JS has taken the outcome (thread_main): whoever hears it can see the server's events. */
static void finish(transfer_t *t, enum kind kind, const char *reason, int with_error) {
  t->kind = kind;
  snprintf(t->reason, sizeof t->reason, "%s", reason);
  t->error_sent = with_error;
}

/* Block k's bytes (k from 1) into t->packet + 4; its length, or -1 with t->failure set. */
static ssize_t load_block(transfer_t *t, int64_t k) {
  uint64_t from = (uint64_t)(k - 1) * t->block_size;
  if (from >= t->size) return 0;
  uint64_t len = t->size - from < t->block_size ? t->size - from : t->block_size;
  int64_t c = (int64_t)((uint64_t)(k - 1) / t->blocks_per_chunk);
  uint64_t chunk_start = (uint64_t)c * t->blocks_per_chunk * t->block_size;
  if (c != t->chunk_index) {
    uint64_t want = t->blocks_per_chunk * t->block_size;
    if (want > t->size - chunk_start) want = t->size - chunk_start;
    uint64_t got = 0;
    while (got < want) {
      ssize_t n = pread(t->file, t->chunk + got, want - got, (off_t)(chunk_start + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        snprintf(t->failure, sizeof t->failure, "server error: reading the file: %s", strerror(errno));
        return -1;
      }
      if (n == 0) {
        snprintf(t->failure, sizeof t->failure, "server error: the file shrank while it was sent (%llu of %llu bytes)", (unsigned long long)(chunk_start + got), (unsigned long long)t->size);
        return -1;
      }
      got += (uint64_t)n;
    }
    t->chunk_index = c;
  }
  memcpy(t->packet + 4, t->chunk + (from - chunk_start), len);
  return (ssize_t)len;
}

/* Sends the window from base (what was not sent yet); 0, or -1 when a block cannot be read. */
static int pump(transfer_t *t) {
  uint32_t shift = t->timeouts < 4 ? t->timeouts : 4;
  t->deadline = now_ms() + (int64_t)t->timeout_ms * (1 << shift);
  if (t->base == 0) {
    t->sent_end = 0;
    (void)send(t->sock, t->oack, t->oack_len, 0);
    return 0;
  }
  int64_t end = t->base + t->window - 1;
  if (end > t->last_block) end = t->last_block;
  for (int64_t k = t->sent_end + 1 > t->base ? t->sent_end + 1 : t->base; k <= end; k++) {
    ssize_t len = load_block(t, k);
    if (len < 0) return -1;
    t->packet[0] = 0;
    t->packet[1] = OP_DATA;
    t->packet[2] = (unsigned char)((k >> 8) & 0xff);
    t->packet[3] = (unsigned char)(k & 0xff);
    (void)send(t->sock, t->packet, 4 + (size_t)len, 0);
    t->sent_end = k;
    t->bytes_sent += (double)len;
  }
  return 0;
}

static void describe_waiting(transfer_t *t, char *out, size_t size) {
  if (t->base == 0) snprintf(out, size, "the option acknowledgement");
  else snprintf(out, size, "block %lld", (long long)t->base);
}

/* One datagram from the client. Returns 1 when the transfer ended. */
static int on_packet(transfer_t *t, const unsigned char *p, ssize_t n) {
  if (n < 4) return 0;
  unsigned op = ((unsigned)p[0] << 8) | p[1];
  if (op == OP_ACK && n == 4) {
    unsigned block = ((unsigned)p[2] << 8) | p[3];
    for (int64_t k = t->sent_end; k >= t->base; k--) {
      if ((unsigned)(k & 0xffff) != block) continue;
      atomic_store(&t->confirmed, 1);
      t->base = k + 1;
      t->sent_end = k;
      t->timeouts = 0;
      t->last_progress = now_ms();
      if (t->base > t->last_block) {
        finish(t, KIND_COMPLETED, "", 0);
        return 1;
      }
      if (pump(t) < 0) {
        finish(t, KIND_FAILED, t->failure, 1);
        return 1;
      }
      return 0;
    }
    return 0;
  }
  if (op == OP_ERROR) {
    /* as the codec reads it: no message, or one NUL-terminated printable-ASCII string */
    char message[REASON_MAX + 1] = "";
    if (n > 4) {
      if (p[n - 1] != 0) return 0;
      for (ssize_t i = 4; i < n - 1; i++) if (p[i] < 0x20 || p[i] > 0x7e) return 0;
      clean_copy(message, (const char *)p + 4, (size_t)(n - 5));
    }
    char reason[REASON_MAX + 64];
    if (message[0]) snprintf(reason, sizeof reason, "the client ended the transfer: %s", message);
    else snprintf(reason, sizeof reason, "the client ended the transfer: error %u", ((unsigned)p[2] << 8) | p[3]);
    finish(t, KIND_ABORTED, reason, 0);
    return 1;
  }
  return 0;
}

/*
 * One blocking recv() per acknowledgement (the fewest system calls a round trip can take):
 * SO_RCVTIMEO wakes the loop every tick to check the retransmission deadline and the stall
 * limit, and abort() wakes it at once with shutdown(SHUT_RD).
 */
static void run(transfer_t *t) {
  t->last_progress = now_ms();
  if (pump(t) < 0) { finish(t, KIND_FAILED, t->failure, 1); return; }
  for (;;) {
    ssize_t n = recv(t->sock, t->rbuf, 65536, 0);
    if (atomic_load(&t->cancelled)) {
      char reason[REASON_MAX + 1];
      pthread_mutex_lock(&t->mu);
      memcpy(reason, t->cancel_reason, sizeof reason);
      pthread_mutex_unlock(&t->mu);
      finish(t, KIND_FAILED, reason, 1);
      return;
    }
    if (n >= 0 && on_packet(t, t->rbuf, n)) return;
    /* n < 0: the tick (EAGAIN), a signal, or an ICMP error: an unreachable client is noticed by its silence */
    int64_t now = now_ms();
    int64_t stalled = now - t->last_progress;
    if (now < t->deadline && stalled < t->max_stall_ms) continue;
    char what[64], reason[REASON_MAX + 64];
    describe_waiting(t, what, sizeof what);
    if (stalled >= t->max_stall_ms) {
      snprintf(reason, sizeof reason, "no acknowledgement of %s in %lld s (%u tries)", what, (long long)((stalled + 500) / 1000), t->timeouts + 1);
      finish(t, KIND_FAILED, reason, 1);
      return;
    }
    if (++t->timeouts > t->retries) {
      snprintf(reason, sizeof reason, "no acknowledgement after %u tries of %s (%lld s)", t->timeouts, what, (long long)((stalled + 500) / 1000));
      finish(t, KIND_FAILED, reason, 1);
      return;
    }
    t->sent_end = -1; /* the window again from its start */
    if (pump(t) < 0) { finish(t, KIND_FAILED, t->failure, 1); return; }
  }
}

static void *thread_main(void *arg) {
  transfer_t *t = arg;
  run(t);
  int queued = napi_call_threadsafe_function(t->tsfn, t, napi_tsfn_blocking) == napi_ok;
  napi_release_threadsafe_function(t->tsfn, napi_tsfn_release);
  pthread_mutex_lock(&t->mu);
  if (!queued) t->delivered = 1; /* the JS side is going away: nobody to wait for */
  while (!t->delivered) pthread_cond_wait(&t->cv, &t->mu);
  if (t->error_sent) send_error(t, t->reason);
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
  clean_copy(t->cancel_reason, reason, len);
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
