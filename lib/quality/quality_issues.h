/* Private to lib/quality: confident learning's filter. */
#ifndef EV_LIB_QUALITY_ISSUES_H
#define EV_LIB_QUALITY_ISSUES_H

#include "core/core.h"

/* flag[i * ldf] = 1 for the rows confident learning's default filter
 * (prune by noise rate) marks on the class distributions P (n x c, packed),
 * else 0. Labels are in [0, c). EV_ERR_NOMEM. */
ev_status ev__confident_flags(const double *P, const int32_t *labels,
                              size_t n, size_t c, float *flag, size_t ldf);

#endif
