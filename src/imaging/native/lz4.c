/*
 * The LZ4 block codec under src/imaging/lz4-frame.ts (which writes and checks the frames),
 * over Debian's liblz4. A Node-API addon: one build runs on Node 20 and 24, in the main
 * thread and in every worker thread. Both calls are bounded by the lengths of the
 * Uint8Arrays (Buffers) they are given: liblz4 never reads past src nor writes past dst.
 *
 *   compress(src, dst)   -> bytes written to dst; 0 when the compressed block does not fit
 *   decompress(src, dst) -> bytes written to dst; negative when src is not one valid LZ4
 *                           block whose output fits in dst (damage, truncation, overflow)
 *
 * Wrong arguments throw a TypeError or RangeError (a bug in the caller, never data).
 */
#include <lz4.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>

/* Stands in for the data pointer of an empty array (which may be NULL). */
static char empty[1];

/* The bytes of a Uint8Array argument; false (with an exception pending) when it is not one. */
static bool bytes_of(napi_env env, napi_value value, const char *name, char **data, int *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) {
    napi_throw_type_error(env, NULL, name);
    return false;
  }
  napi_typedarray_type type;
  size_t count;
  void *p;
  if (napi_get_typedarray_info(env, value, &type, &count, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, name);
    return false;
  }
  if (count > LZ4_MAX_INPUT_SIZE) {
    napi_throw_range_error(env, NULL, "lz4: a block may hold at most LZ4_MAX_INPUT_SIZE bytes");
    return false;
  }
  *data = count == 0 || p == NULL ? empty : (char *)p;
  *length = (int)count;
  return true;
}

/* The two Uint8Array arguments (src, dst) of either call. */
static bool two_arrays(napi_env env, napi_callback_info info, char **src, int *src_len, char **dst, int *dst_len) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "lz4: expected (src: Uint8Array, dst: Uint8Array)");
    return false;
  }
  return bytes_of(env, argv[0], "lz4: src must be a Uint8Array (Buffer)", src, src_len) &&
         bytes_of(env, argv[1], "lz4: dst must be a Uint8Array (Buffer)", dst, dst_len);
}

static napi_value int_value(napi_env env, int n) {
  napi_value result;
  napi_create_int32(env, n, &result);
  return result;
}

static napi_value compress(napi_env env, napi_callback_info info) {
  char *src, *dst;
  int src_len, dst_len;
  if (!two_arrays(env, info, &src, &src_len, &dst, &dst_len)) return NULL;
  if (dst_len == 0) return int_value(env, 0);
  return int_value(env, LZ4_compress_default(src, dst, src_len, dst_len));
}

static napi_value decompress(napi_env env, napi_callback_info info) {
  char *src, *dst;
  int src_len, dst_len;
  if (!two_arrays(env, info, &src, &src_len, &dst, &dst_len)) return NULL;
  if (src_len == 0) return int_value(env, -1); /* not a block: even an empty one has a token */
  return int_value(env, LZ4_decompress_safe(src, dst, src_len, dst_len));
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "compress", NAPI_AUTO_LENGTH, compress, NULL, &fn);
  napi_set_named_property(env, exports, "compress", fn);
  napi_create_function(env, "decompress", NAPI_AUTO_LENGTH, decompress, NULL, &fn);
  napi_set_named_property(env, exports, "decompress", fn);
  napi_value version;
  napi_create_string_utf8(env, LZ4_versionString(), NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}
