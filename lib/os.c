/* System facts (include/lib/os.h). */
#include "lib/os.h"

#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

void os_hostname(char *out, size_t n)
{
	if (gethostname(out, n) < 0 || !out[0])
		snprintf(out, n, "unknown");
	out[n - 1] = 0;
}

void os_username(char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char tmp[2048];
	if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(out, n, "%s", res->pw_name);
	else
		snprintf(out, n, "%u", (unsigned)getuid());
}

int64_t os_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t os_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int os_ncpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}
