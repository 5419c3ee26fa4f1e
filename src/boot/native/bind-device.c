/*
 * UDP sockets tied to one network interface (SO_BINDTODEVICE), which Node's dgram cannot
 * ask for. A Node-API addon: one build runs on Node 20 and 24 alike.
 *
 *   openUdpOnDevice(ifname, address, port) -> fd
 *       a new IPv4 UDP socket with SO_BROADCAST, a 2 MiB receive buffer and SO_BINDTODEVICE set
 *       *before* bind(), so not one datagram from another interface is ever queued on it;
 *       hand the fd to dgram's socket.bind({ fd }).
 *   bindToDevice(fd, ifname)
 *       SO_BINDTODEVICE on an existing socket (e.g. socket._handle.fd).
 *   boundDevice(fd) -> ifname | ""   what SO_BINDTODEVICE says now (for checks and tests).
 *
 * Failures throw an Error whose code is the errno name (ENODEV, EPERM, EADDRINUSE…).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

static void throw_errno(napi_env env, int err, const char *what, const char *ifname) {
  char message[256];
  snprintf(message, sizeof message, "%s %s: %s", what, ifname, strerror(err));
  const char *code = strerrorname_np(err);
  napi_throw_error(env, code ? code : "EUNKNOWN", message);
}

/* argv[i] as an interface name: 1..IFNAMSIZ-1 bytes, no '/' or whitespace. */
static int get_ifname(napi_env env, napi_value v, char *out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, out, IFNAMSIZ + 1, &len) != napi_ok || len == 0 || len >= IFNAMSIZ) {
    napi_throw_type_error(env, "EINVAL", "the interface name must be a string of 1 to 15 bytes");
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    if (out[i] == '/' || out[i] <= ' ' || out[i] == 0x7f) {
      napi_throw_type_error(env, "EINVAL", "the interface name has a character no interface name has");
      return 0;
    }
  }
  return 1;
}

static napi_value bind_to_device(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  char ifname[IFNAMSIZ + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "bindToDevice(fd, ifname): fd must be a number");
    return NULL;
  }
  if (!get_ifname(env, argv[1], ifname)) return NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname) + 1) != 0) {
    throw_errno(env, errno, "SO_BINDTODEVICE to", ifname);
    return NULL;
  }
  return NULL;
}

static napi_value bound_device(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "boundDevice(fd): fd must be a number");
    return NULL;
  }
  char ifname[IFNAMSIZ + 1] = {0};
  socklen_t len = IFNAMSIZ;
  if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, &len) != 0) {
    throw_errno(env, errno, "reading SO_BINDTODEVICE of fd", "");
    return NULL;
  }
  napi_value result;
  napi_create_string_utf8(env, ifname, strnlen(ifname, IFNAMSIZ), &result);
  return result;
}

static napi_value open_udp_on_device(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ifname[IFNAMSIZ + 1];
  char address[INET_ADDRSTRLEN + 1];
  size_t address_len = 0;
  uint32_t port;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, "EINVAL", "openUdpOnDevice(ifname, address, port) takes three arguments");
    return NULL;
  }
  if (!get_ifname(env, argv[0], ifname)) return NULL;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  if (napi_get_value_string_utf8(env, argv[1], address, sizeof address, &address_len) != napi_ok || address_len >= INET_ADDRSTRLEN ||
      inet_pton(AF_INET, address, &sin.sin_addr) != 1) {
    napi_throw_type_error(env, "EINVAL", "openUdpOnDevice: the address must be a dotted-quad IPv4 address");
    return NULL;
  }
  if (napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535) {
    napi_throw_type_error(env, "EINVAL", "openUdpOnDevice: the port must be 0 to 65535");
    return NULL;
  }
  sin.sin_port = htons((uint16_t)port);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "creating a UDP socket for", ifname);
    return NULL;
  }
  int on = 1;
  /* No SO_REUSEADDR: the kernel then refuses the port when another socket holds it on
   * this device or on every device (another DHCP server), while sockets on different
   * devices may share it. */
  const char *step = "SO_BROADCAST for";
  if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) goto fail;
  /* Room for a burst (a room of machines powered on at once): 2 MiB past rmem_max when
   * we may (root), else what rmem_max allows. Not fatal either way. */
  int room = 2 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  step = "SO_BINDTODEVICE to";
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname) + 1) != 0) goto fail;
  step = "binding the UDP port on";
  if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0) goto fail;
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
fail:;
  int err = errno;
  close(fd);
  throw_errno(env, err, step, ifname);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "bindToDevice", NAPI_AUTO_LENGTH, bind_to_device, NULL, &fn);
  napi_set_named_property(env, exports, "bindToDevice", fn);
  napi_create_function(env, "boundDevice", NAPI_AUTO_LENGTH, bound_device, NULL, &fn);
  napi_set_named_property(env, exports, "boundDevice", fn);
  napi_create_function(env, "openUdpOnDevice", NAPI_AUTO_LENGTH, open_udp_on_device, NULL, &fn);
  napi_set_named_property(env, exports, "openUdpOnDevice", fn);
  return exports;
}
