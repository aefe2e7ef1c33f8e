#!/bin/bash
# Deduplication: shifted content costs a few chunks, unchanged trees cost
# nothing, unchanged files are not read again, equal files are stored once.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MiB=1048576
export MiB

# data_blobs: unique data blobs in the repository = every blob (stats)
# minus the trees (check).
data_blobs() {
	local blobs trees
	blobs=$("$CAIRN" stats --json | num blobs)
	trees=$("$CAIRN" check --json | num trees)
	echo $((blobs - trees))
}

# data_bytes: bytes in the packs under repo/data.
data_bytes() {
	find repo/data -type f ! -name '*.tmp-*' -printf '%s\n' | awk '{s += $1} END {print s + 0}'
}

# pack_count: packs under repo/data.
pack_count() {
	find repo/data -type f ! -name '*.tmp-*' | wc -l
}

# latest_stat FIELD: FIELD of the stats of the newest snapshot.
latest_stat() {
	"$CAIRN" snapshots --json | sed 's/},{"id":/}\n{"id":/g' | tail -n 1 |
		grep -o '"stats":{[^}]*}' | num "$1"
}

test_expect "a 100 MiB file with one byte inserted at the start adds at most 3 data blobs" '
	mkdir big
	head -c $((100 * MiB)) /dev/urandom >big/first
	expect_rc 0 cairn init
	expect_rc 0 cairn backup big
	blobs1=$(data_blobs) bytes1=$(data_bytes)
	echo "after the first backup: $blobs1 data blobs, $bytes1 bytes of packs"
	test "$blobs1" -ge 25 # 100 MiB in chunks of at most 4 MiB
	{ printf Z; cat big/first; } >big/second
	expect_rc 0 cairn backup big
	blobs2=$(data_blobs) bytes2=$(data_bytes)
	echo "after the second backup: $blobs2 data blobs, $bytes2 bytes of packs"
	test $((blobs2 - blobs1)) -ge 1
	test $((blobs2 - blobs1)) -le 3
	echo $((bytes2 - bytes1)) >grown
'

test_expect "... and the repository grows by less than 3 chunks of 4 MiB" '
	grown=$(cat grown)
	echo "grown by $grown bytes"
	test "$grown" -gt 0
	test "$grown" -lt $((3 * 4 * MiB + MiB / 4))
'

test_expect "... and both files restore byte for byte" '
	expect_rc 0 cairn restore latest:big --target big-out
	cmp big/first big-out/first
	cmp big/second big-out/second
'

test_expect "a second backup of an unchanged tree writes no pack and finds nothing new" '
	make_tree src
	expect_rc 0 cairn backup src
	packs=$(pack_count) bytes=$(data_bytes)
	nfiles=$(find src -type f -printf x | wc -c)
	expect_rc 0 cairn backup src
	grep -q "^files:  0 new, 0 changed, $nfiles unmodified" out
	test "$(pack_count)" = "$packs"
	test "$(data_bytes)" = "$bytes"
	test "$(latest_stat files_new)" = 0
	test "$(latest_stat files_changed)" = 0
	test "$(latest_stat files_unmodified)" = "$nfiles"
	test "$(latest_stat bytes_added)" = 0
'

test_expect "a changed file is counted changed and the others unmodified" '
	nfiles=$(find src -type f -printf x | wc -c)
	printf "edited\n" >>src/files/hello.txt
	expect_rc 0 cairn backup src
	grep -q "^files:  0 new, 1 changed, $((nfiles - 1)) unmodified" out
	test "$(latest_stat files_changed)" = 1
	test "$(latest_stat files_new)" = 0
	test "$(latest_stat files_unmodified)" = $((nfiles - 1))
'

test_expect "only the changed file is read again (backup --json bytes_read)" '
	printf "edited again\n" >>src/files/100k
	size=$(stat -c %s src/files/100k)
	expect_rc 0 cairn --json backup src
	cat out
	test "$(num files_changed <out)" = 1
	test "$(num bytes_read <out)" = "$size"
'

test_expect "identical files in different directories are stored once" '
	mkdir -p same/a same/b/c same/d
	head -c $((3 * MiB)) /dev/urandom >same/a/one
	cp same/a/one same/b/c/two
	cp same/a/one same/d/three
	cp same/a/one same/d/four
	blobs1=$(data_blobs) bytes1=$(data_bytes)
	expect_rc 0 cairn backup same
	blobs2=$(data_blobs) bytes2=$(data_bytes)
	echo "data blobs $blobs1 -> $blobs2, pack bytes $bytes1 -> $bytes2"
	test $((blobs2 - blobs1)) -ge 1
	test $((bytes2 - bytes1)) -gt $((3 * MiB))
	test $((bytes2 - bytes1)) -lt $((3 * MiB + MiB / 4))
	expect_rc 0 cairn restore latest:same --target same-out
	cmp same/a/one same-out/d/four
	cmp same/a/one same-out/b/c/two
'

test_expect "a file backed up again under another source name adds no data" '
	blobs1=$(data_blobs)
	expect_rc 0 cairn backup --source copy-of-same same
	test "$(data_blobs)" = "$blobs1"
	test "$(latest_stat bytes_added)" -lt 65536 # trees only
'

test_done
