/* Writer leases (DESIGN §5): a writer stores locks/<random id>, a small
 * sealed object naming the host, process, purpose and an expiry time, and
 * renews it while it works.  Readers never look at leases.  Whatever
 * deletes data (pruning) must not run while an unexpired lease exists, and
 * may ignore expired ones left by a crashed writer. */
#ifndef CAIRN_STORE_LEASE_H
#define CAIRN_STORE_LEASE_H

#include <stdint.h>

#include "store/repo.h"

/* A lease lasts this long unless renewed; it is renewed at a third of it. */
#define LEASE_SECONDS 1800

struct lease;

/* Stores a lease and starts a thread that renews it.  0 or -errno. */
int lease_take(struct repo *r, const char *purpose, struct lease **out);
/* Stops renewing and deletes the lease object.  NULL is allowed. */
void lease_release(struct lease *l);

#endif
