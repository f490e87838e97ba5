/* PNG integrity, checked before stb_image decodes: stb checks neither the
 * chunks' CRC-32 nor the zlib stream's Adler-32, so a damaged data chunk
 * decodes to wrong pixels without a word. libpng and PIL refuse such
 * files; so does this. Cost: one pass of crc32 over the file and one
 * inflate of the image data into a scratch buffer (zlib, linked already),
 * small next to stb's own decoding and filtering. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "io/io_private.h"

static const unsigned char png_sig[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
  (void)opaque;
  size_t bytes;
  return ev__mul(items, size, &bytes) ? ev__malloc(bytes) : NULL;
}
static void z_free(voidpf opaque, voidpf p) {
  (void)opaque;
  ev__free(p);
}

static ev_status corrupt(const char *path, const char *what) {
  return ev__fail(EV_ERR_FORMAT,
                  "%s: damaged PNG: %s: the file was changed or cut after "
                  "it was written; replace it with a good copy",
                  path, what);
}

/* Inflate the concatenated IDAT data to its end, which makes zlib check
 * the Adler-32 of the pixels. The chunks are fed one by one, in order. */
typedef struct idat_check {
  z_stream z;
  int started, ended, failed;
  unsigned char out[16384];
} idat_check;

static ev_status feed(idat_check *c, const unsigned char *d, size_t n,
                      const char *path) {
  if (c->ended || c->failed) return EV_OK; /* extra data: judged at the end */
  c->z.next_in = (Bytef *)d;
  c->z.avail_in = (uInt)n;
  while (c->z.avail_in > 0) {
    c->z.next_out = c->out;
    c->z.avail_out = sizeof c->out;
    int r = inflate(&c->z, Z_NO_FLUSH);
    if (r == Z_STREAM_END) {
      c->ended = 1;
      break;
    }
    if (r == Z_MEM_ERROR)
      return ev__nomem("checking a PNG's compressed data", 1 << 16);
    if (r != Z_OK && r != Z_BUF_ERROR) {
      c->failed = 1;
      return corrupt(path, r == Z_DATA_ERROR && c->z.msg &&
                                   strstr(c->z.msg, "check")
                               ? "the image data's Adler-32 checksum does "
                                 "not match"
                               : "the image data's zlib stream is invalid");
    }
  }
  return EV_OK;
}

ev_status ev__png_check(const unsigned char *data, size_t len,
                        const char *path) {
  if (len < 8 || memcmp(data, png_sig, 8) != 0) return EV_OK; /* not PNG */
  idat_check *c = ev__calloc(1, sizeof *c);
  if (!c) return ev__nomem("checking a PNG", sizeof *c);
  c->z.zalloc = z_alloc;
  c->z.zfree = z_free;
  ev_status st = EV_OK;
  int apple = 0, seen_iend = 0; /* CgBI: Apple's raw deflate, no Adler-32 */
  size_t i = 8;
  while (!st && !seen_iend && i + 12 <= len) {
    uint32_t n = be32(data + i);
    const unsigned char *type = data + i + 4;
    if (n > len - i - 12) break; /* cut short: stb says so */
    uint32_t crc = (uint32_t)crc32(0L, type, (uInt)n + 4);
    if (crc != be32(data + i + 8 + n)) {
      char what[96];
      snprintf(what, sizeof what,
               "the CRC of its %.4s chunk at byte %zu does not match",
               (const char *)type, i);
      for (char *p = what; *p; p++)
        if ((unsigned char)*p < 32 || (unsigned char)*p > 126) *p = '?';
      st = corrupt(path, what);
      break;
    }
    if (memcmp(type, "CgBI", 4) == 0) apple = 1;
    if (memcmp(type, "IEND", 4) == 0) seen_iend = 1;
    if (memcmp(type, "IDAT", 4) == 0 && !apple) {
      if (!c->started) {
        if (inflateInit(&c->z) != Z_OK) {
          st = ev__nomem("checking a PNG's compressed data", 1 << 16);
          break;
        }
        c->started = 1;
      }
      st = feed(c, data + i + 8, n, path);
    }
    i += 12 + (size_t)n;
  }
  if (!st && c->started && !c->ended && !c->failed && seen_iend)
    st = corrupt(path, "the image data's zlib stream ends early");
  if (c->started) inflateEnd(&c->z);
  ev__free(c);
  return st;
}
