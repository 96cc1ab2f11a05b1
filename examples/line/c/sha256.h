/*
 * SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104) for the line protocol's
 * challenge: a few hundred bytes of state on the stack, no allocation.
 */
#ifndef HALYARD_SHA256_H
#define HALYARD_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t state[8];
  uint64_t length; /* bytes hashed so far */
  uint8_t block[64];
  size_t filled;
} hl_sha256;

void hl_sha256_init(hl_sha256 *s);
void hl_sha256_update(hl_sha256 *s, const uint8_t *data, size_t n);
void hl_sha256_final(hl_sha256 *s, uint8_t digest[32]);

/* HMAC-SHA256(key, message) into mac[32]. */
void hl_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *message, size_t message_len,
                    uint8_t mac[32]);

#endif
