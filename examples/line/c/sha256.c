#include "sha256.h"

#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(hl_sha256 *s, const uint8_t *block) {
  uint32_t w[64];
  uint32_t a, b, c, d, e, f, g, h;
  int i;
  for (i = 0; i < 16; i++) {
    w[i] = (uint32_t)block[i * 4] << 24 | (uint32_t)block[i * 4 + 1] << 16 |
           (uint32_t)block[i * 4 + 2] << 8 | (uint32_t)block[i * 4 + 3];
  }
  for (i = 16; i < 64; i++) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = s->state[0], b = s->state[1], c = s->state[2], d = s->state[3];
  e = s->state[4], f = s->state[5], g = s->state[6], h = s->state[7];
  for (i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  s->state[0] += a, s->state[1] += b, s->state[2] += c, s->state[3] += d;
  s->state[4] += e, s->state[5] += f, s->state[6] += g, s->state[7] += h;
}

void hl_sha256_init(hl_sha256 *s) {
  static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->state, initial, sizeof initial);
  s->length = 0;
  s->filled = 0;
}

void hl_sha256_update(hl_sha256 *s, const uint8_t *data, size_t n) {
  s->length += n;
  while (n > 0) {
    size_t take = 64 - s->filled;
    if (take > n) take = n;
    memcpy(s->block + s->filled, data, take);
    s->filled += take;
    data += take;
    n -= take;
    if (s->filled == 64) {
      compress(s, s->block);
      s->filled = 0;
    }
  }
}

void hl_sha256_final(hl_sha256 *s, uint8_t digest[32]) {
  uint64_t bits = s->length * 8;
  uint8_t pad = 0x80;
  uint8_t length[8];
  int i;
  hl_sha256_update(s, &pad, 1);
  pad = 0;
  while (s->filled != 56) hl_sha256_update(s, &pad, 1);
  for (i = 0; i < 8; i++) length[i] = (uint8_t)(bits >> (56 - 8 * i));
  hl_sha256_update(s, length, 8);
  for (i = 0; i < 8; i++) {
    digest[i * 4] = (uint8_t)(s->state[i] >> 24);
    digest[i * 4 + 1] = (uint8_t)(s->state[i] >> 16);
    digest[i * 4 + 2] = (uint8_t)(s->state[i] >> 8);
    digest[i * 4 + 3] = (uint8_t)s->state[i];
  }
}

void hl_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *message, size_t message_len,
                    uint8_t mac[32]) {
  uint8_t block[64];
  uint8_t inner[32];
  hl_sha256 s;
  size_t i;
  memset(block, 0, sizeof block);
  if (key_len > 64) {
    hl_sha256_init(&s);
    hl_sha256_update(&s, key, key_len);
    hl_sha256_final(&s, block);
  } else {
    memcpy(block, key, key_len);
  }
  for (i = 0; i < 64; i++) block[i] ^= 0x36;
  hl_sha256_init(&s);
  hl_sha256_update(&s, block, 64);
  hl_sha256_update(&s, message, message_len);
  hl_sha256_final(&s, inner);
  for (i = 0; i < 64; i++) block[i] ^= 0x36 ^ 0x5c;
  hl_sha256_init(&s);
  hl_sha256_update(&s, block, 64);
  hl_sha256_update(&s, inner, 32);
  hl_sha256_final(&s, mac);
}
