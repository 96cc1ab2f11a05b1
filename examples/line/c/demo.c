/*
 * A POSIX demo of the line-protocol client: connects, logs in with the
 * device's HMAC secret, publishes a telemetry value, subscribes to its inbox,
 * pings, and says goodbye.
 *
 *   ./line-demo <host> <port> <deviceId> <hex HMAC secret> [temperature]
 */
#define _POSIX_C_SOURCE 200112L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "halyard_line.h"

static int sock_read(void *ctx, uint8_t *buf, size_t len) { return (int)recv(*(int *)ctx, buf, len, 0); }

static int sock_write(void *ctx, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t sent = send(*(int *)ctx, buf, len, 0);
    if (sent <= 0) return -1;
    buf += sent;
    len -= (size_t)sent;
  }
  return 0;
}

static void on_message(void *user, const char *topic, const uint8_t *payload, size_t len) {
  (void)user;
  printf("MSG %s %.*s\n", topic, (int)len, (const char *)payload);
}

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints, *found, *a;
  int fd = -1;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &found) != 0) return -1;
  for (a = found; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

static int check(hl_client *c, int rc, const char *what) {
  if (rc == HL_OK) {
    printf("%s: ok\n", what);
    return 0;
  }
  if (rc == HL_ERR_SERVER) fprintf(stderr, "%s: ERR %s (%s)\n", what, c->error_code, c->error_reason);
  else fprintf(stderr, "%s: failed (%d)\n", what, rc);
  return 1;
}

int main(int argc, char **argv) {
  static hl_client client; /* static: no allocation, and off a small stack */
  uint8_t key[32];
  char payload[64];
  int fd, failures = 0;
  hl_io io;
  if (argc < 5 || hl_from_hex(argv[4], key, sizeof key) != 0) {
    fprintf(stderr, "usage: %s <host> <port> <deviceId> <hex HMAC secret> [temperature]\n", argv[0]);
    return 2;
  }
  fd = connect_to(argv[1], argv[2]);
  if (fd < 0) {
    perror("connect");
    return 1;
  }
  io.read = sock_read;
  io.write = sock_write;
  io.ctx = &fd;
  hl_init(&client, &io, on_message, NULL);
  if (check(&client, hl_await_greeting(&client), "greeting")) return 1;
  if (check(&client, hl_auth_hmac(&client, argv[3], key), "auth")) return 1;
  snprintf(payload, sizeof payload, "{\"temperature\":%s}", argc > 5 ? argv[5] : "21.5");
  failures += check(&client, hl_publish(&client, "devices/me/telemetry", (const uint8_t *)payload, strlen(payload), 1),
                    "publish");
  failures += check(&client, hl_publish(&client, "demo/escaped", (const uint8_t *)"a|b\nc", 5, 0), "publish qos 0");
  failures += check(&client, hl_subscribe(&client, "demo/#"), "subscribe");
  failures += check(&client, hl_publish(&client, "demo/echo", (const uint8_t *)"x|y", 3, 1), "publish to self");
  failures += check(&client, hl_ping(&client), "ping");
  failures += hl_publish(&client, "demo/+", (const uint8_t *)"x", 1, 1) == HL_ERR_SERVER &&
                      strcmp(client.error_code, "bad-topic") == 0
                  ? 0
                  : 1;
  failures += check(&client, hl_close(&client), "close");
  close(fd);
  return failures == 0 ? 0 : 1;
}
