/*
 * One TFTP read transfer's data path, run on the caller's thread until the transfer ends
 * (tftp-send.c gives each transfer a thread and talks to Node), by the same rules as
 * tftp/transfer.ts:
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
 *     a failure on our side (a file that shrank) ends it with an ERROR to the client, sent
 *     by the caller once Node has the outcome (so whoever hears it can see the events).
 */
#ifndef LIFEBOAT_TFTP_TRANSFER_H
#define LIFEBOAT_TFTP_TRANSFER_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
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

/* Runs the transfer to its end: kind, reason, bytes_sent and error_sent say how it went. */
void tftp_run(transfer_t *t);
/* An ERROR (code 0) with this message to the client. */
void tftp_send_error(transfer_t *t, const char *message);
/* Printable ASCII only (others become '?'), at most REASON_MAX bytes, NUL-terminated. */
void tftp_clean_copy(char *out, const char *in, size_t len);

#endif
