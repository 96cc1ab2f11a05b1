/*
 * A Halyard line-protocol client for microcontrollers (docs/line-protocol.md).
 *
 * Plain C99, no dynamic allocation: all state lives in one hl_client the
 * caller owns (about 2 x HL_MAX_FRAME bytes plus HL_INPUT_BUFFER). The
 * transport is two callbacks, so the same code runs over a POSIX socket, a
 * UART bridge or an lwIP/TLS connection. Requests are lockstep: each call
 * sends one frame and waits for its answer; MSG frames that arrive meanwhile
 * go to the message handler.
 */
#ifndef HALYARD_LINE_H
#define HALYARD_LINE_H

#include <stddef.h>
#include <stdint.h>

#ifndef HL_MAX_FRAME
#define HL_MAX_FRAME 512 /* largest frame sent or received; the server default is 4096 */
#endif
#ifndef HL_MAX_FIELDS
#define HL_MAX_FIELDS 8
#endif
#ifndef HL_INPUT_BUFFER
#define HL_INPUT_BUFFER 128
#endif

enum {
  HL_OK = 0,
  HL_ERR_SERVER = -1,   /* the server answered ERR: see hl_client.error_code / error_reason */
  HL_ERR_IO = -2,       /* the transport failed or the connection closed */
  HL_ERR_PROTOCOL = -3, /* an answer that is not the one expected */
  HL_ERR_TOO_LONG = -4  /* a frame does not fit HL_MAX_FRAME */
};

/* Transport: read up to `len` bytes (at least 1; 0 or less = closed or failed); write all `len` bytes. */
typedef struct {
  int (*read)(void *ctx, uint8_t *buf, size_t len);
  int (*write)(void *ctx, const uint8_t *buf, size_t len);
  void *ctx;
} hl_io;

/* A message for a subscription (or the device's inbox); payload may hold any byte. */
typedef void (*hl_message_fn)(void *user, const char *topic, const uint8_t *payload, size_t payload_len);

/* One decoded frame: fields unescaped in place (each also NUL-terminated). */
typedef struct {
  char *field[HL_MAX_FIELDS];
  size_t length[HL_MAX_FIELDS];
  int count;
} hl_frame;

typedef struct {
  hl_io io;
  hl_message_fn on_message;
  void *user;
  char nonce[33];         /* from the latest greeting */
  char error_code[32];    /* from the latest ERR */
  char error_reason[128]; /* ditto */
  char rx[HL_MAX_FRAME + 1];
  size_t rx_length;
  int rx_skipping; /* inside a frame too long for rx */
  char tx[HL_MAX_FRAME + 2];
  uint8_t input[HL_INPUT_BUFFER];
  size_t input_length, input_pos;
} hl_client;

void hl_init(hl_client *c, const hl_io *io, hl_message_fn on_message, void *user);

/* Waits for the greeting (through any WAIT frames) and keeps its nonce. */
int hl_await_greeting(hl_client *c);

/* AUTH with HMAC-SHA256(key, nonce of the greeting); key = the 32 bytes of the device's HMAC secret. */
int hl_auth_hmac(hl_client *c, const char *device_id, const uint8_t key[32]);
int hl_auth_token(hl_client *c, const char *device_id, const char *token);

/* PUB; qos 1 returns once the server made the message durable, qos 0 once it took it. */
int hl_publish(hl_client *c, const char *topic, const uint8_t *payload, size_t payload_len, int qos);
int hl_subscribe(hl_client *c, const char *filter);
int hl_unsubscribe(hl_client *c, const char *filter);
/* SEND|dest|type|fields...: `count` fields of text. */
int hl_send(hl_client *c, const char *dest, const char *type, const char *const *fields, int count);
int hl_ping(hl_client *c);
/* BYE: ends the conversation, keeps the connection. CLOSE: the server closes it. */
int hl_bye(hl_client *c);
int hl_close(hl_client *c);

/* Reads one frame and handles it (MSG to the handler); for devices that only listen. */
int hl_poll(hl_client *c, hl_frame *frame);

/* Decodes a hex string of 2 x len digits; 0 on success. */
int hl_from_hex(const char *hex, uint8_t *out, size_t len);

#endif
