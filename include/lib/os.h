/* Facts about the running system: host and user names, the clock, CPUs. */
#ifndef CAIRN_LIB_OS_H
#define CAIRN_LIB_OS_H

#include <stddef.h>
#include <stdint.h>

/* Short host name; "unknown" if it cannot be had. */
void os_hostname(char *out, size_t n);
/* Login name of the real uid, or the uid in decimal. */
void os_username(char *out, size_t n);
/* Wall-clock time in ns since the epoch. */
int64_t os_now_ns(void);
/* Monotonic time in ns, for durations and rates. */
int64_t os_mono_ns(void);
/* CPUs this process may run on (at least 1). */
int os_ncpu(void);

#endif
