#!/bin/bash
# Keys (one per password: add, list, remove, passwd) and the local catalog
# (a cache: repair rebuilds it, deleting it loses nothing, --cache-dir).
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# with_pw PASSWORD CMD...: cairn CMD opened with PASSWORD.
with_pw() {
	local pw=$1
	shift
	CAIRN_PASSWORD=$pw "$CAIRN" "$@"
}

# snapshot_ids: the ids from `cairn snapshots --json`, one a line.
snapshot_ids() {
	"$CAIRN" snapshots --json | grep -o '{"id":"[0-9a-f]*"' | cut -d'"' -f4
}

test_expect "setup: a repository with two snapshots" '
	make_tree src
	expect_rc 0 cairn --json init
	grep -o "\"id\":\"[0-9a-f]\{64\}\"" out | cut -d\" -f4 >repo.id
	test -s repo.id
	ls repo/keys >first.key
	expect_rc 0 cairn backup src
	echo more >src/files/more
	expect_rc 0 cairn backup src
	snapshot_ids >ids
	test "$(wc -l <ids)" = 2
'

test_expect "key add with CAIRN_NEW_PASSWORD adds a second key" '
	CAIRN_NEW_PASSWORD=second-password expect_rc 0 cairn key add
	grep -q "^added key [0-9a-f]\{8\}$" out
	sed -n "s/^added key //p" out >second.key
	test "$(ls repo/keys | wc -l)" = 2
	ls repo/keys | grep -q "^$(cat second.key)"
'

test_expect "both passwords open the repository" '
	expect_rc 0 with_pw test-password snapshots
	grep -qx "2 snapshots" out
	expect_rc 0 with_pw second-password snapshots
	grep -qx "2 snapshots" out
	expect_rc 0 with_pw second-password restore latest:src/files/hello.txt --target by-second
	cmp src/files/hello.txt by-second/hello.txt
'

test_expect "key list shows the two keys and marks the one in use with *" '
	first=$(cat first.key) second=$(cat second.key)
	expect_rc 0 with_pw test-password key list
	cat out
	test "$(grep -c "[0-9a-f]\{8\}" out)" = 2
	test "$(grep -c "^\*" out)" = 1
	grep -q "^\*${first:0:8} " out
	grep -q "^ $second " out
	expect_rc 0 with_pw second-password key list
	grep -q "^\*$second " out
	grep -q "^ ${first:0:8} " out
'

test_expect "key remove of the key in use is refused" '
	first=$(cat first.key)
	expect_rc 1 with_pw test-password key remove "${first:0:8}"
	grep -q "is the one in use" err
	test "$(ls repo/keys | wc -l)" = 2
	test -f "repo/keys/$first"
'

test_expect "key remove of the other key works and its password stops working" '
	expect_rc 0 with_pw test-password key remove "$(cat second.key)"
	grep -q "^removed key $(cat second.key)$" out
	test "$(ls repo/keys | wc -l)" = 1
	expect_rc 12 with_pw second-password snapshots
	grep -q "wrong password" err
	expect_rc 0 with_pw test-password snapshots
'

test_expect "key remove of an unknown key fails and removes nothing" '
	expect_rc 1 with_pw test-password key remove ffffffff
	grep -q "not found" err
	test "$(ls repo/keys | wc -l)" = 1
'

test_expect "key passwd replaces the current password" '
	CAIRN_NEW_PASSWORD=third-password expect_rc 0 with_pw test-password key passwd
	test "$(ls repo/keys | wc -l)" = 1
	test ! -e "repo/keys/$(cat first.key)"
	expect_rc 12 with_pw test-password snapshots
	expect_rc 0 with_pw third-password snapshots
	grep -qx "2 snapshots" out
	expect_rc 0 with_pw third-password key list
	test "$(grep -c "^\*" out)" = 1
'

test_expect "key add with --new-password-file reads the new password from a file" '
	printf "from-a-file\n" >newpw
	expect_rc 0 with_pw third-password key add --new-password-file newpw
	expect_rc 0 with_pw from-a-file snapshots
	grep -qx "2 snapshots" out
'

export CAIRN_PASSWORD=third-password

test_expect "repair catalog rebuilds it: snapshots still listed, restore works" '
	expect_rc 0 cairn repair catalog
	grep -q "^catalog rebuilt: 2 snapshots, [0-9]* packs, [0-9]* blobs$" out
	snapshot_ids >after
	diff ids after
	expect_rc 0 cairn restore latest --target after-repair
	compare_trees src after-repair/src
'

test_expect "repair catalog replaces a catalog that is garbage" '
	db=cache/cairn/$(cat repo.id)/catalog.db
	test -f "$db"
	rm -f "$db-wal" "$db-shm"
	head -c 65536 /dev/urandom >"$db"
	expect_rc 0 cairn repair catalog
	snapshot_ids >after
	diff ids after
	expect_rc 0 cairn restore latest:src/files/3m --target after-garbage
	cmp src/files/3m after-garbage/3m
'

test_expect "with the whole cache deleted, snapshots and restore still work" '
	rm -rf cache/cairn
	snapshot_ids >after
	diff ids after
	rm -rf cache/cairn
	expect_rc 0 cairn restore latest --target after-rm
	compare_trees src after-rm/src
	test -f "cache/cairn/$(cat repo.id)/catalog.db"
'

test_expect "with the cache deleted, the next backup adds no data again" '
	rm -rf cache/cairn
	expect_rc 0 cairn backup src
	grep -q "^added:  0 B of new data" out
'

test_expect "--cache-dir puts the catalog where asked" '
	rm -rf cache/cairn mycache
	expect_rc 0 cairn --cache-dir "$WORK/mycache" snapshots
	grep -qx "3 snapshots" out
	test -f "mycache/$(cat repo.id)/catalog.db"
	test ! -e cache/cairn
	expect_rc 0 cairn backup --cache-dir "$WORK/mycache" src
	test ! -e cache/cairn
	test ! -e home/.cache/cairn
'

test_done
