/* The transfer loop of tftp-transfer.h (see there for the rules). */
#define _GNU_SOURCE
#include "tftp-transfer.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* printable ASCII only, at most REASON_MAX bytes */
void tftp_clean_copy(char *out, const char *in, size_t len) {
  if (len > REASON_MAX) len = REASON_MAX;
  for (size_t i = 0; i < len; i++) out[i] = (in[i] >= 0x20 && in[i] <= 0x7e) ? in[i] : '?';
  out[len] = 0;
}

void tftp_send_error(transfer_t *t, const char *message) {
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
      tftp_clean_copy(message, (const char *)p + 4, (size_t)(n - 5));
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
void tftp_run(transfer_t *t) {
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

