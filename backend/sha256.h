/*
 * sha256.h - SHA-256 (FIPS 180-4), for the checksum files of backups,
 * which `sha256sum -c` reads too.
 */
#ifndef ARCHIVEFS_SHA256_H
#define ARCHIVEFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	unsigned char block[64];
	size_t used;           /* bytes waiting in block */
};

void sha256_init(struct sha256 *c);
void sha256_add(struct sha256 *c, const void *data, size_t n);
/* The digest as 64 lower-case hex digits and a NUL. */
void sha256_hex(struct sha256 *c, char out[65]);

/* The hex digest of the file at path: 0, or -errno. */
int sha256_file(const char *path, char out[65]);

#endif
