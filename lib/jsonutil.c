/* JSON helpers (include/lib/jsonutil.h). */
#include "lib/jsonutil.h"

#include <stdlib.h>
#include <string.h>

json_t *json_string_lossy(const char *s)
{
	json_t *j = json_string(s ? s : "");
	if (j)
		return j;
	char *t = strdup(s);
	if (!t)
		return NULL;
	/* Replace every non-ASCII byte: simpler than finding which sequences
	 * are invalid, and these strings are for people and scripts to read. */
	for (unsigned char *p = (unsigned char *)t; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(t);
	free(t);
	return j;
}
