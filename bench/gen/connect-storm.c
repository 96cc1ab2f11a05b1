/*
 * connect-storm: opens `count` MQTT connections to host:port with at most
 * `concurrency` CONNECT -> CONNACK attempts in flight, and prints one JSON
 * line. Used by the connect-storm and idle-memory scenarios (see
 * BENCHMARKS.md): opening a socket from Node costs ~110 us of CPU, which caps
 * a one-core generator near 8,000 connects/s; this costs a small fraction.
 *
 *   connect-storm HOST PORT COUNT CONCURRENCY 4|5 [hold]
 *
 * Each attempt: a non-blocking socket, connect(), and, once writable, one
 * write() of a pre-encoded CONNECT (clean session, keep-alive 0, client id
 * "cs" + pid + sequence number, unique per connection); then it reads the
 * whole CONNACK and checks its return/reason code. Without `hold` the
 * socket is closed (plain close(), so TIME_WAIT stays on this side; over
 * loopback Linux reuses those ports, net.ipv4.tcp_tw_reuse = 2 by default)
 * right after its CONNACK and the next attempt starts. With `hold` every
 * connection stays open; the JSON line is printed once all attempts have
 * settled, and the process then waits for EOF on stdin or SIGTERM/SIGINT
 * before closing them.
 *
 * Output: {"connected":N,"failed":F,"seconds":S,"rate":R,"cpuUserMs":U,
 * "cpuSysMs":Y,"refused":..,"reset":..,"closed":..,"badConnack":..,
 * "timeout":..,"other":..,"firstError":".."|null}, where seconds runs from
 * the first socket() to the last attempt settled and rate = connected /
 * seconds; CPU is getrusage(RUSAGE_SELF) when the line is printed.
 *
 * Bounded: an attempt fails after 10 s without its CONNACK, and the whole
 * storm stops starting attempts after 120 s (the rest count as failed).
 * Exit status 0 when the line was printed, 2 on bad arguments or setup errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ATTEMPT_TIMEOUT_NS (10LL * 1000000000LL)
#define STORM_DEADLINE_NS (120LL * 1000000000LL)
#define ID_DIGITS 7
#define MAX_EVENTS 256

enum phase { FREE, CONNECTING, AWAIT_CONNACK };

struct slot {
  int fd;
  enum phase phase;
  int64_t started_ns;
  uint32_t got;      /* CONNACK bytes received so far */
  uint32_t seq;      /* attempt number, written into the client id */
  uint8_t head[8];   /* first bytes of the CONNACK */
};

static struct {
  uint32_t refused, reset, closed, bad_connack, timeout, other;
} why;
static char first_error[160];
static volatile sig_atomic_t stop_holding;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_signal(int sig) {
  (void)sig;
  stop_holding = 1;
}

static void note_error(const char *what, int err) {
  if (first_error[0]) return;
  if (err)
    snprintf(first_error, sizeof first_error, "%s: %s", what, strerror(err));
  else
    snprintf(first_error, sizeof first_error, "%s", what);
}

static void count_errno(int err, const char *what) {
  if (err == ECONNREFUSED)
    why.refused++;
  else if (err == ECONNRESET || err == EPIPE)
    why.reset++;
  else
    why.other++;
  note_error(what, err);
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", *s);
    else
      putchar(*s);
  }
  putchar('"');
}

/* 1: a complete CONNACK that accepts; -1: not a CONNACK, or refused; 0: need more bytes. */
static int parse_connack(const struct slot *s) {
  uint32_t have = s->got < sizeof s->head ? s->got : (uint32_t)sizeof s->head;
  if (have < 1) return 0;
  if (s->head[0] != 0x20) {
    why.bad_connack++;
    note_error("bad CONNACK (another packet type)", 0);
    return -1;
  }
  /* Remaining length: a varint of at most 4 bytes after the type byte. */
  uint32_t rl = 0, mult = 1, h = 1;
  for (;;) {
    if (h >= have) return 0;
    uint8_t b = s->head[h++];
    rl += (uint32_t)(b & 0x7f) * mult;
    mult *= 128;
    if (!(b & 0x80)) break;
    if (h == 5) {
      why.bad_connack++;
      note_error("bad CONNACK (remaining length)", 0);
      return -1;
    }
  }
  if (rl < 2) {
    why.bad_connack++;
    note_error("bad CONNACK (too short)", 0);
    return -1;
  }
  /* The return code (v3.1.1) / reason code (v5) follows the acknowledge flags. */
  uint32_t rc_at = h + 1;
  if (s->got < h + rl || have <= rc_at) return 0;
  if (s->head[rc_at] != 0) {
    char msg[64];
    snprintf(msg, sizeof msg, "CONNACK refused (code %u)", s->head[rc_at]);
    why.bad_connack++;
    note_error(msg, 0);
    return -1;
  }
  return 1;
}

/* Writes the CONNECT with this attempt's client id: 0 written, 1 not connected yet, -1 failed (counted). */
static int write_connect(const struct slot *s, uint8_t *pkt, size_t len, size_t seq_off) {
  uint32_t id = s->seq;
  for (int d = ID_DIGITS - 1; d >= 0; d--, id /= 10) pkt[seq_off + (size_t)d] = (uint8_t)('0' + id % 10);
  ssize_t w = send(s->fd, pkt, len, MSG_NOSIGNAL);
  if (w == (ssize_t)len) return 0;
  if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)) return 1;
  if (w < 0) {
    count_errno(errno, "write CONNECT");
  } else {
    why.other++;
    note_error("short write of CONNECT", 0);
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 6 || argc > 7 || (argc == 7 && strcmp(argv[6], "hold") != 0)) {
    fprintf(stderr, "usage: %s HOST PORT COUNT CONCURRENCY 4|5 [hold]\n", argv[0]);
    return 2;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "bad IPv4 address: %s\n", argv[1]);
    return 2;
  }
  long port = strtol(argv[2], NULL, 10);
  long count = strtol(argv[3], NULL, 10);
  long concurrency = strtol(argv[4], NULL, 10);
  long version = strtol(argv[5], NULL, 10);
  int hold = argc == 7;
  if (port < 1 || port > 65535 || count < 1 || count > 9999999 || concurrency < 1 ||
      (version != 4 && version != 5)) {
    fprintf(stderr, "bad arguments (port 1-65535, count 1-9999999, concurrency >= 1, version 4|5)\n");
    return 2;
  }
  addr.sin_port = htons((uint16_t)port);
  if (concurrency > count) concurrency = count;

  /* Every connection is an fd: raise the soft limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);

  /* CONNECT template: "MQTT", level, flags 0x02 (clean), keep-alive 0,
     [v5: properties length 0], client id "cs" + 5-digit pid + ID_DIGITS digits. */
  char prefix[16];
  snprintf(prefix, sizeof prefix, "cs%05d", (int)(getpid() % 100000));
  size_t prefix_len = strlen(prefix);
  size_t id_len = prefix_len + ID_DIGITS;
  uint8_t pkt[64];
  size_t n = 0;
  size_t remaining = 10 + (version == 5 ? 1 : 0) + 2 + id_len;
  pkt[n++] = 0x10;
  pkt[n++] = (uint8_t)remaining; /* < 128 */
  memcpy(pkt + n, "\x00\x04MQTT", 6);
  n += 6;
  pkt[n++] = (uint8_t)version;
  pkt[n++] = 0x02;
  pkt[n++] = 0;
  pkt[n++] = 0;
  if (version == 5) pkt[n++] = 0;
  pkt[n++] = 0;
  pkt[n++] = (uint8_t)id_len;
  memcpy(pkt + n, prefix, prefix_len);
  size_t seq_off = n + prefix_len;
  n += id_len;
  size_t connect_len = n;

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("epoll_create1");
    return 2;
  }
  struct slot *slots = calloc((size_t)concurrency, sizeof *slots);
  int *held = hold ? malloc((size_t)count * sizeof *held) : NULL;
  if (!slots || (hold && !held)) {
    perror("malloc");
    return 2;
  }

  long started = 0, settled = 0, connected = 0, failed = 0;
  int64_t t0 = now_ns();
  int64_t last_scan = t0;
  int deadline_passed = 0;

  /* A failed attempt: close it, count it, free its slot. */
#define SETTLE_FAIL(i)                                  \
  do {                                                  \
    if (slots[i].fd >= 0) close(slots[i].fd);           \
    slots[i].fd = -1;                                   \
    slots[i].phase = FREE;                              \
    failed++;                                           \
    settled++;                                          \
  } while (0)

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    /* Fill free slots while attempts remain. */
    for (long i = 0; i < concurrency && started < count && !deadline_passed; i++) {
      struct slot *s = &slots[i];
      if (s->phase != FREE) continue;
      long id = started++;
      s->got = 0;
      s->seq = (uint32_t)id;
      s->started_ns = now_ns();
      s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s->fd < 0) {
        count_errno(errno, "socket");
        SETTLE_FAIL(i);
        continue;
      }
      if (connect(s->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        count_errno(errno, "connect");
        SETTLE_FAIL(i);
        continue;
      }
      /* Over loopback the handshake has usually completed by now: try the
         CONNECT at once, and wait for writability only when it is not. */
      int w = write_connect(s, pkt, connect_len, seq_off);
      if (w < 0) {
        SETTLE_FAIL(i);
        continue;
      }
      struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = (uint64_t)i};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
        count_errno(errno, "epoll_ctl");
        SETTLE_FAIL(i);
        continue;
      }
      s->phase = w == 0 ? AWAIT_CONNACK : CONNECTING;
    }
    if (settled == started && (started == count || deadline_passed)) break;
    if (settled == started) continue; /* every slot failed at once: refill before waiting */

    int ready = epoll_wait(ep, events, MAX_EVENTS, 100);
    if (ready < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 2;
    }
    for (int k = 0; k < ready; k++) {
      long i = (long)events[k].data.u64;
      struct slot *s = &slots[i];
      uint32_t e = events[k].events;
      if (s->phase == FREE) continue;
      if (s->phase == CONNECTING) {
        if (e & EPOLLERR) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
          count_errno(err ? err : ECONNRESET, "connect");
          SETTLE_FAIL(i);
          continue;
        }
        if (!(e & EPOLLOUT)) continue;
        int w = write_connect(s, pkt, connect_len, seq_off);
        if (w < 0) SETTLE_FAIL(i);
        if (w != 0) continue;
        s->phase = AWAIT_CONNACK;
        if (!(e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) continue;
      }
      /* AWAIT_CONNACK: read until the whole CONNACK is in, or (edge-triggered) EAGAIN. */
      int done = 0; /* 1 ok, -1 failed */
      while (done == 0) {
        uint8_t buf[512];
        ssize_t r = read(s->fd, buf, sizeof buf);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          count_errno(errno, "read");
          done = -1;
          break;
        }
        if (r == 0) {
          why.closed++;
          note_error("closed before CONNACK", 0);
          done = -1;
          break;
        }
        for (ssize_t j = 0; j < r && s->got + (uint32_t)j < sizeof s->head; j++) s->head[s->got + (uint32_t)j] = buf[j];
        s->got += (uint32_t)r;
        done = parse_connack(s);
      }
      if (done == 0 && (e & (EPOLLHUP | EPOLLERR))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
          count_errno(err, "socket");
        else {
          why.closed++;
          note_error("closed before CONNACK", 0);
        }
        done = -1;
      }
      if (done < 0) {
        SETTLE_FAIL(i);
      } else if (done > 0) {
        if (hold) {
          epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
          held[connected] = s->fd;
        } else {
          close(s->fd);
        }
        s->fd = -1;
        s->phase = FREE;
        connected++;
        settled++;
      }
    }

    /* Timeouts and the storm deadline, checked every 100 ms. */
    int64_t t = now_ns();
    if (t - last_scan >= 100000000LL) {
      last_scan = t;
      for (long i = 0; i < concurrency; i++) {
        if (slots[i].phase != FREE && t - slots[i].started_ns > ATTEMPT_TIMEOUT_NS) {
          why.timeout++;
          note_error("CONNACK timeout (10 s)", 0);
          SETTLE_FAIL(i);
        }
      }
      if (!deadline_passed && t - t0 > STORM_DEADLINE_NS) {
        deadline_passed = 1;
        note_error("storm deadline (120 s) passed", 0);
      }
    }
  }
  int64_t t1 = now_ns();
  if (started < count) {
    why.other += (uint32_t)(count - started);
    failed += count - started;
  }

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double seconds = (double)(t1 - t0) / 1e9;
  printf("{\"connected\":%ld,\"failed\":%ld,\"seconds\":%.6f,\"rate\":%.1f,\"cpuUserMs\":%.3f,\"cpuSysMs\":%.3f,"
         "\"refused\":%u,\"reset\":%u,\"closed\":%u,\"badConnack\":%u,\"timeout\":%u,\"other\":%u,\"firstError\":",
         connected, failed, seconds, seconds > 0 ? (double)connected / seconds : 0.0,
         (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3,
         (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3, why.refused, why.reset, why.closed,
         why.bad_connack, why.timeout, why.other);
  if (first_error[0])
    json_string(first_error);
  else
    fputs("null", stdout);
  fputs("}\n", stdout);
  fflush(stdout);

  if (hold) {
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: read() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    char b[256];
    while (!stop_holding) {
      ssize_t r = read(STDIN_FILENO, b, sizeof b);
      if (r == 0 || (r < 0 && errno != EINTR)) break;
    }
    for (long i = 0; i < connected; i++) close(held[i]);
  }
  return 0;
}
