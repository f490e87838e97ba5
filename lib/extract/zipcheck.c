/* A TorchScript file is a zip archive (PKWARE APPNOTE 6.3: end of central
 * directory record, central directory, local headers). libtorch 1.13's
 * PyTorchStreamReader throws from its constructor when the archive opens
 * but its first entry is not in a folder or the version record is missing,
 * unreadable or out of range, and then never closes the archive: every
 * such file leaked about 1.3 KB (found by fuzz/fuzz_model.c). These are
 * the same checks, made first, so libtorch only sees archives it accepts.
 * Zip64 archives (over 4 GiB) are left to libtorch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "extract/zipcheck.h"

#define EOCD_SIZE 22
#define CDIR_SIZE 46
#define LOCAL_SIZE 30
#define MAX_COMMENT 65535

static unsigned rd16(const unsigned char *p) { return p[0] | p[1] << 8; }
static unsigned long rd32(const unsigned char *p) {
  return (unsigned long)rd16(p) | (unsigned long)rd16(p + 2) << 16;
}

typedef struct zip_entry {
  unsigned method, flags;
  unsigned long crc, csize, usize, offset;
} zip_entry;

static ev_status bad(const char *path, const char *why) {
  return ev__fail(EV_ERR_FORMAT, "model file %s is not a TorchScript "
                  "archive (%s): save it with torch.jit.save("
                  "torch.jit.script(model), path)", path, why);
}

static int read_at(FILE *f, long off, void *buf, size_t n) {
  return fseek(f, off, SEEK_SET) == 0 && fread(buf, 1, n, f) == n;
}

/* The end of central directory record: entries, size and offset of the
 * central directory. 1 = found, 0 = none, -1 = zip64, -2 = out of memory. */
static int find_eocd(FILE *f, long size, unsigned *entries,
                     unsigned long *cd_size, unsigned long *cd_off) {
  long tail = size < EOCD_SIZE + MAX_COMMENT ? size : EOCD_SIZE + MAX_COMMENT;
  unsigned char *buf = ev__malloc((size_t)tail);
  if (!buf) return -2;
  if (!read_at(f, size - tail, buf, (size_t)tail)) {
    ev__free(buf);
    return 0;
  }
  int found = 0;
  for (long i = tail - EOCD_SIZE; i >= 0 && !found; i--) {
    const unsigned char *p = buf + i;
    if (memcmp(p, "PK\5\6", 4) != 0) continue;
    *entries = rd16(p + 10);
    *cd_size = rd32(p + 12);
    *cd_off = rd32(p + 16);
    found = *entries == 0xFFFF || *cd_off == 0xFFFFFFFFul ? -1 : 1;
  }
  ev__free(buf);
  return found;
}

/* Walk the central directory: the first entry's folder, then the entries
 * of the version records: ver[0] "version", ver[1] ".data/version" (newer
 * torch writes it, and libtorch then prefers it), each with have[i]. */
static ev_status find_version(const char *path, const unsigned char *cd,
                              unsigned long cd_size, unsigned entries,
                              zip_entry ver[2], int have[2]) {
  char folder[256] = "";
  unsigned long p = 0;
  for (unsigned e = 0; e < entries; e++) {
    if (p + CDIR_SIZE > cd_size || memcmp(cd + p, "PK\1\2", 4) != 0)
      return bad(path, "damaged zip central directory");
    const unsigned char *h = cd + p;
    unsigned long nlen = rd16(h + 28), next = p + CDIR_SIZE + nlen +
                                              rd16(h + 30) + rd16(h + 32);
    if (next > cd_size) return bad(path, "damaged zip central directory");
    const char *name = (const char *)h + CDIR_SIZE;
    if (e == 0) {
      const char *slash = memchr(name, '/', nlen);
      if (!slash || (size_t)(slash - name) >= sizeof folder - 16)
        return bad(path, "its first file is not in a folder");
      memcpy(folder, name, (size_t)(slash - name) + 1);
    }
    size_t fl = strlen(folder);
    int kind = -1;
    if (nlen > fl && memcmp(name, folder, fl) == 0) {
      if (nlen - fl == 13 && memcmp(name + fl, ".data/version", 13) == 0)
        kind = 1;
      else if (nlen - fl == 7 && memcmp(name + fl, "version", 7) == 0)
        kind = 0;
    }
    if (kind >= 0 && !have[kind]) {
      have[kind] = 1;
      /* flag bit 0x10000 here: the MS-DOS directory attribute, which
       * makes miniz read the record as a folder */
      ver[kind] = (zip_entry){rd16(h + 10),
                              rd16(h + 8) | (rd32(h + 38) & 0x10) << 12,
                              rd32(h + 16), rd32(h + 20), rd32(h + 24),
                              rd32(h + 42)};
    }
    p = next;
  }
  if (entries == 0) return bad(path, "an empty zip archive");
  return have[0] || have[1] ? EV_OK : bad(path, "no version record");
}

/* The version record's bytes, as libtorch reads them (stoull). */
static ev_status check_version(const char *path, FILE *f, long size,
                               const zip_entry *v, unsigned long long lo,
                               unsigned long long hi) {
  unsigned char lh[LOCAL_SIZE];
  if (v->offset > (unsigned long)size - LOCAL_SIZE ||
      !read_at(f, (long)v->offset, lh, LOCAL_SIZE) ||
      memcmp(lh, "PK\3\4", 4) != 0)
    return bad(path, "damaged zip entry of the version record");
  unsigned long data = v->offset + LOCAL_SIZE + rd16(lh + 26) + rd16(lh + 28);
  if (data > (unsigned long)size || v->csize > (unsigned long)size - data)
    return bad(path, "truncated version record");
  if ((v->method != 0 && v->method != 8) || (v->flags & 0x10041))
    return bad(path, "the version record is a folder, encrypted, or "
               "compressed with an unsupported method");
  if (v->method != 0) return EV_OK; /* deflated: torch never writes it so */
  char text[32];
  if (v->usize != v->csize || v->usize == 0 || v->usize >= sizeof text ||
      !read_at(f, (long)data, text, v->usize))
    return bad(path, "unreadable version record");
  if (crc32(0, (const unsigned char *)text, (unsigned)v->usize) != v->crc)
    return bad(path, "the version record fails its CRC check");
  text[v->usize] = 0;
  char *end;
  errno = 0;
  unsigned long long ver = strtoull(text, &end, 10);
  if (end == text || errno || ver < lo || ver > hi)
    return ev__fail(EV_ERR_FORMAT, "model file %s has format version \"%.8s\""
                    ": this libtorch reads versions %llu to %llu; save it "
                    "with a matching torch", path, text, lo, hi);
  return EV_OK;
}

ev_status ev__check_torch_zip(const char *path, unsigned long long min_version,
                              unsigned long long max_version) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return ev__fail(EV_ERR_IO, "cannot open model file %s: %s", path,
                    strerror(errno));
  ev_status st = EV_OK;
  unsigned entries = 0;
  unsigned long cd_size = 0, cd_off = 0;
  long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  int eocd = size >= EOCD_SIZE ? find_eocd(f, size, &entries, &cd_size,
                                           &cd_off) : 0;
  unsigned char *cd = NULL;
  zip_entry ver[2] = {{0}};
  int have[2] = {0, 0};
  if (eocd == -2)
    st = ev__nomem("the end of the model's zip archive", 0);
  else if (eocd == 0)
    st = bad(path, "no zip end of central directory: truncated?");
  else if (eocd > 0 && (cd_off > (unsigned long)size ||
                        cd_size > (unsigned long)size - cd_off))
    st = bad(path, "the zip central directory lies outside the file");
  else if (eocd > 0 && !(cd = ev__malloc(cd_size ? cd_size : 1)))
    st = ev__nomem("the zip central directory", cd_size);
  else if (eocd > 0 && !read_at(f, (long)cd_off, cd, cd_size))
    st = ev__fail(EV_ERR_IO, "cannot read model file %s", path);
  if (!st && eocd > 0)
    st = find_version(path, cd, cd_size, entries, ver, have);
  for (int i = 0; i < 2 && !st && eocd > 0; i++)
    if (have[i])
      st = check_version(path, f, size, &ver[i], min_version, max_version);
  ev__free(cd);
  fclose(f);
  return st;
}
