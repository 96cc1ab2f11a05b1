#include "halyard_line.h"

#include <string.h>

#include "sha256.h"

static const char HEX[] = "0123456789abcdef";

void hl_init(hl_client *c, const hl_io *io, hl_message_fn on_message, void *user) {
  memset(c, 0, sizeof *c);
  c->io = *io;
  c->on_message = on_message;
  c->user = user;
}

/* ------------------------------------------------------------------ output */

typedef struct {
  hl_client *c;
  size_t length;
  int overflow;
} frame_writer;

static void put_byte(frame_writer *w, uint8_t byte) {
  if (w->length >= HL_MAX_FRAME) {
    w->overflow = 1;
    return;
  }
  w->c->tx[w->length++] = (char)byte;
}

/* A field with the escaping rule applied: \ | LF CR EOT NUL never travel raw. */
static void put_field(frame_writer *w, const uint8_t *bytes, size_t n) {
  size_t i;
  put_byte(w, '|');
  for (i = 0; i < n; i++) {
    uint8_t b = bytes[i];
    if (b == '\\' || b == '|' || b == '\n' || b == '\r' || b == 0x04 || b == 0x00) {
      put_byte(w, '\\');
      if (b == '\\') put_byte(w, '\\');
      else if (b == '|') put_byte(w, 'p');
      else if (b == '\n') put_byte(w, 'n');
      else if (b == '\r') put_byte(w, 'r');
      else {
        put_byte(w, 'x');
        put_byte(w, (uint8_t)HEX[b >> 4]);
        put_byte(w, (uint8_t)HEX[b & 15]);
      }
    } else {
      put_byte(w, b);
    }
  }
}

static void put_text(frame_writer *w, const char *text) { put_field(w, (const uint8_t *)text, strlen(text)); }

static void begin(frame_writer *w, hl_client *c, const char *command) {
  w->c = c;
  w->length = 0;
  w->overflow = 0;
  while (*command) put_byte(w, (uint8_t)*command++);
}

static int finish(frame_writer *w) {
  if (w->overflow) return HL_ERR_TOO_LONG;
  w->c->tx[w->length++] = '\n';
  return w->c->io.write(w->c->io.ctx, (const uint8_t *)w->c->tx, w->length) < 0 ? HL_ERR_IO : HL_OK;
}

/* ------------------------------------------------------------------ input */

static int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Unescapes a field in place; returns its new length (escapes only ever shrink it). */
static size_t unescape(char *field, size_t n) {
  size_t in = 0, out = 0;
  while (in < n) {
    char ch = field[in++];
    if (ch == '\\' && in < n) {
      char e = field[in++];
      if (e == 'p') ch = '|';
      else if (e == 'n') ch = '\n';
      else if (e == 'r') ch = '\r';
      else if (e == 'x' && in + 1 < n && hex_value(field[in]) >= 0 && hex_value(field[in + 1]) >= 0) {
        ch = (char)(hex_value(field[in]) << 4 | hex_value(field[in + 1]));
        in += 2;
      } else ch = e; /* \\ and anything the server would never send */
    }
    field[out++] = ch;
  }
  field[out] = '\0';
  return out;
}

/* The next byte from the transport, through the input buffer. */
static int next_byte(hl_client *c, uint8_t *byte) {
  if (c->input_pos == c->input_length) {
    int got = c->io.read(c->io.ctx, c->input, sizeof c->input);
    if (got <= 0) return HL_ERR_IO;
    c->input_length = (size_t)got;
    c->input_pos = 0;
  }
  *byte = c->input[c->input_pos++];
  return HL_OK;
}

/* Reads one frame (LF, CR LF or EOT ends it) and splits it into unescaped fields. */
static int read_frame(hl_client *c, hl_frame *frame) {
  size_t start, i;
  for (;;) {
    uint8_t byte;
    if (next_byte(c, &byte) != HL_OK) return HL_ERR_IO;
    if (byte == '\n' || byte == 0x04) {
      int skipped = c->rx_skipping;
      c->rx_skipping = 0;
      if (skipped) {
        c->rx_length = 0;
        return HL_ERR_TOO_LONG;
      }
      if (c->rx_length > 0 && c->rx[c->rx_length - 1] == '\r') c->rx_length--;
      if (c->rx_length == 0) continue;
      break;
    }
    if (c->rx_skipping) continue;
    if (c->rx_length == HL_MAX_FRAME) {
      c->rx_skipping = 1;
      continue;
    }
    c->rx[c->rx_length++] = (char)byte;
  }
  c->rx[c->rx_length] = '\0';
  frame->count = 0;
  start = 0;
  for (i = 0; i <= c->rx_length; i++) {
    if (i < c->rx_length && c->rx[i] != '|') continue;
    if (frame->count < HL_MAX_FIELDS) {
      c->rx[i] = '\0';
      frame->field[frame->count] = c->rx + start;
      frame->length[frame->count] = unescape(c->rx + start, i - start);
      frame->count++;
    }
    start = i + 1;
  }
  c->rx_length = 0;
  return HL_OK;
}

static int is(const hl_frame *frame, const char *command) { return strcmp(frame->field[0], command) == 0; }

static void copy_text(char *to, size_t size, const char *from) {
  size_t n = strlen(from);
  if (n >= size) n = size - 1;
  memcpy(to, from, n);
  to[n] = '\0';
}

int hl_poll(hl_client *c, hl_frame *frame) {
  int rc = read_frame(c, frame);
  if (rc != HL_OK) return rc;
  if (is(frame, "MSG") && frame->count >= 3 && c->on_message) {
    c->on_message(c->user, frame->field[1], (const uint8_t *)frame->field[2], frame->length[2]);
  } else if (is(frame, "HALYARD") && frame->count >= 3) {
    copy_text(c->nonce, sizeof c->nonce, frame->field[2]);
  } else if (is(frame, "ERR") && frame->count >= 3) {
    copy_text(c->error_code, sizeof c->error_code, frame->field[1]);
    copy_text(c->error_reason, sizeof c->error_reason, frame->field[2]);
  }
  return HL_OK;
}

/* Reads until the answer to the request just sent: MSG and WAIT frames are not answers. */
static int await_answer(hl_client *c, const char *expected) {
  hl_frame frame;
  for (;;) {
    int rc = hl_poll(c, &frame);
    if (rc != HL_OK) return rc;
    if (is(&frame, "MSG") || is(&frame, "WAIT")) continue;
    if (is(&frame, "ERR")) return HL_ERR_SERVER;
    return is(&frame, expected) ? HL_OK : HL_ERR_PROTOCOL;
  }
}

static int request(frame_writer *w, const char *expected) {
  int rc = finish(w);
  return rc != HL_OK ? rc : await_answer(w->c, expected);
}

/* ------------------------------------------------------------------ requests */

int hl_await_greeting(hl_client *c) { return await_answer(c, "HALYARD"); }

int hl_auth_hmac(hl_client *c, const char *device_id, const uint8_t key[32]) {
  uint8_t mac[32];
  char hex[65];
  frame_writer w;
  int i;
  /* The nonce as the greeting showed it (32 hex characters), not decoded. */
  hl_hmac_sha256(key, 32, (const uint8_t *)c->nonce, strlen(c->nonce), mac);
  for (i = 0; i < 32; i++) {
    hex[i * 2] = HEX[mac[i] >> 4];
    hex[i * 2 + 1] = HEX[mac[i] & 15];
  }
  hex[64] = '\0';
  begin(&w, c, "AUTH");
  put_text(&w, device_id);
  put_text(&w, hex);
  return request(&w, "OK");
}

int hl_auth_token(hl_client *c, const char *device_id, const char *token) {
  frame_writer w;
  begin(&w, c, "AUTH");
  put_text(&w, device_id);
  put_text(&w, "TOKEN");
  put_text(&w, token);
  return request(&w, "OK");
}

int hl_publish(hl_client *c, const char *topic, const uint8_t *payload, size_t payload_len, int qos) {
  frame_writer w;
  begin(&w, c, "PUB");
  put_text(&w, topic);
  put_field(&w, payload, payload_len);
  if (qos == 0) put_text(&w, "0");
  return request(&w, "OK");
}

static int one_field(hl_client *c, const char *command, const char *value, const char *expected) {
  frame_writer w;
  begin(&w, c, command);
  if (value) put_text(&w, value);
  return request(&w, expected);
}

int hl_subscribe(hl_client *c, const char *filter) { return one_field(c, "SUB", filter, "OK"); }
int hl_unsubscribe(hl_client *c, const char *filter) { return one_field(c, "UNSUB", filter, "OK"); }
int hl_ping(hl_client *c) { return one_field(c, "PING", NULL, "PONG"); }
int hl_bye(hl_client *c) { return one_field(c, "BYE", NULL, "BYE"); }
int hl_close(hl_client *c) { return one_field(c, "CLOSE", NULL, "BYE"); }

int hl_send(hl_client *c, const char *dest, const char *type, const char *const *fields, int count) {
  frame_writer w;
  int i;
  begin(&w, c, "SEND");
  put_text(&w, dest);
  put_text(&w, type);
  for (i = 0; i < count; i++) put_text(&w, fields[i]);
  return request(&w, "OK");
}

int hl_from_hex(const char *hex, uint8_t *out, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    int high = hex_value(hex[i * 2]);
    int low = high < 0 ? -1 : hex_value(hex[i * 2 + 1]);
    if (low < 0) return -1;
    out[i] = (uint8_t)(high << 4 | low);
  }
  return hex[len * 2] == '\0' ? 0 : -1;
}
