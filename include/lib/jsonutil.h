/* JSON helpers over jansson. */
#ifndef CAIRN_LIB_JSONUTIL_H
#define CAIRN_LIB_JSONUTIL_H

#include <jansson.h>

/* A JSON string of s; bytes that are not valid UTF-8 (file names need not
 * be) become '?' so the value can always be written.  NULL on ENOMEM. */
json_t *json_string_lossy(const char *s);

#endif
