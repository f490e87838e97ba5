/* Private to lib/extract: the checks of a TorchScript file's zip container
 * made before libtorch reads it (zipcheck.c). */
#ifndef EV_LIB_EXTRACT_ZIPCHECK_H
#define EV_LIB_EXTRACT_ZIPCHECK_H

#include "core/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* EV_OK when the zip archive at path has what libtorch's reader checks
 * after it has opened the archive: a first entry inside a folder, and that
 * folder's version record (or .data/version), readable and holding a
 * format version in [min_version, max_version]. Else EV_ERR_FORMAT (or
 * EV_ERR_IO, EV_ERR_NOMEM) with a message naming the file. */
ev_status ev__check_torch_zip(const char *path, unsigned long long min_version,
                              unsigned long long max_version);

#ifdef __cplusplus
}
#endif
#endif
