/* Open-addressing id map with linear probing (include/lib/idmap.h).  Ids
 * are keyed hashes, so their first eight bytes are already a good hash. */
#include "lib/idmap.h"

#include <stdlib.h>
#include <string.h>

struct idmap {
	size_t vsize, slot, cap, count;
	uint8_t *used;
	uint8_t *slots;
};

struct idmap *idmap_new(size_t value_size)
{
	struct idmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->vsize = value_size;
	m->slot = IDMAP_KEY_LEN + ((value_size + 7) & ~(size_t)7);
	m->cap = 64;
	m->used = calloc(m->cap, 1);
	m->slots = malloc(m->cap * m->slot);
	if (!m->used || !m->slots) {
		idmap_free(m);
		return NULL;
	}
	return m;
}

void idmap_free(struct idmap *m)
{
	if (!m)
		return;
	free(m->used);
	free(m->slots);
	free(m);
}

size_t idmap_count(const struct idmap *m) { return m->count; }

static size_t hash(const uint8_t *key)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return (size_t)h;
}

static size_t find(const struct idmap *m, const uint8_t *key, int *found)
{
	size_t i = hash(key) & (m->cap - 1);
	while (m->used[i]) {
		if (!memcmp(m->slots + i * m->slot, key, IDMAP_KEY_LEN)) {
			*found = 1;
			return i;
		}
		i = (i + 1) & (m->cap - 1);
	}
	*found = 0;
	return i;
}

void *idmap_get(const struct idmap *m, const uint8_t *key)
{
	int found;
	size_t i = find(m, key, &found);
	return found ? m->slots + i * m->slot + IDMAP_KEY_LEN : NULL;
}

static int grow(struct idmap *m)
{
	struct idmap n = *m;
	n.cap = m->cap * 2;
	n.count = 0;
	n.used = calloc(n.cap, 1);
	n.slots = malloc(n.cap * n.slot);
	if (!n.used || !n.slots) {
		free(n.used);
		free(n.slots);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->used[i])
			continue;
		int found;
		size_t j = find(&n, m->slots + i * m->slot, &found);
		n.used[j] = 1;
		memcpy(n.slots + j * n.slot, m->slots + i * m->slot, m->slot);
		n.count++;
	}
	free(m->used);
	free(m->slots);
	*m = n;
	return 0;
}

void *idmap_put(struct idmap *m, const uint8_t *key, int *added)
{
	if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return NULL;
	int found;
	size_t i = find(m, key, &found);
	uint8_t *s = m->slots + i * m->slot;
	if (!found) {
		m->used[i] = 1;
		memcpy(s, key, IDMAP_KEY_LEN);
		memset(s + IDMAP_KEY_LEN, 0, m->slot - IDMAP_KEY_LEN);
		m->count++;
	}
	if (added)
		*added = !found;
	return s + IDMAP_KEY_LEN;
}

int idmap_del(struct idmap *m, const uint8_t *key)
{
	int found;
	size_t i = find(m, key, &found);
	if (!found)
		return 0;
	/* Backward-shift deletion: move later members of the probe run into
	 * the hole so lookups never need tombstones. */
	size_t mask = m->cap - 1, hole = i, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->used[j])
			break;
		size_t home = hash(m->slots + j * m->slot) & mask;
		/* j may move to the hole only if its home is not between the
		 * hole and j (cyclically) */
		int between = hole <= j ? (home > hole && home <= j)
					: (home > hole || home <= j);
		if (between)
			continue;
		memcpy(m->slots + hole * m->slot, m->slots + j * m->slot, m->slot);
		hole = j;
	}
	m->used[hole] = 0;
	m->count--;
	return 1;
}

const uint8_t *idmap_next(const struct idmap *m, size_t *pos, void **value)
{
	for (size_t i = *pos; i < m->cap; i++) {
		if (!m->used[i])
			continue;
		*pos = i + 1;
		if (value)
			*value = m->slots + i * m->slot + IDMAP_KEY_LEN;
		return m->slots + i * m->slot;
	}
	*pos = m->cap;
	return NULL;
}
