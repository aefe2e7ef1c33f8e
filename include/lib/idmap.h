/* Hash map from 32-byte ids (keyed hashes, so uniformly distributed) to a
 * fixed-size value stored inline.  Not thread-safe: callers lock. */
#ifndef CAIRN_LIB_IDMAP_H
#define CAIRN_LIB_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#define IDMAP_KEY_LEN 32

struct idmap;

/* value_size may be 0 (a set).  NULL on ENOMEM. */
struct idmap *idmap_new(size_t value_size);
void idmap_free(struct idmap *m);
size_t idmap_count(const struct idmap *m);
/* Pointer to the value for key, or NULL.  Valid until the next insert. */
void *idmap_get(const struct idmap *m, const uint8_t *key);
/* Finds or inserts key; *added tells which.  The value of a new entry is
 * zeroed.  NULL on ENOMEM.  Valid until the next insert. */
void *idmap_put(struct idmap *m, const uint8_t *key, int *added);
/* Removes key; 1 if it was there, 0 if not.  Pointers from earlier gets
 * and puts are invalid afterwards. */
int idmap_del(struct idmap *m, const uint8_t *key);
/* Iterates: start with *pos = 0; returns the key (and *value) or NULL at
 * the end. */
const uint8_t *idmap_next(const struct idmap *m, size_t *pos, void **value);

#endif
