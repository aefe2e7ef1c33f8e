/* Checking a repository against itself, reading the destination directly
 * (not the catalog): config and keys open; every index object decodes and
 * agrees with its packs' tables; every pack it names exists with the right
 * size; every snapshot decodes and every tree it reaches decodes and
 * references only indexed blobs.  With read_data every pack is read whole,
 * its name verified and every blob authenticated and re-hashed.
 * Each problem is reported naming the object.
 */
#ifndef CAIRN_STORE_CHECK_H
#define CAIRN_STORE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "store/repo.h"

struct check_opts {
	bool read_data;
};

struct check_result {
	uint64_t errors, warnings;
	uint64_t packs, indexes, snapshots, trees, blobs_read;
	/* blobs no snapshot references (left by deleted snapshots or
	 * interrupted backups); not an error */
	uint64_t unused_blobs, unused_bytes;
};

/* 0 if no errors, -EBADMSG if any were found, other -errno if the check
 * itself could not run. */
int check_run(struct repo *r, const struct check_opts *o, struct check_result *res);

#endif
