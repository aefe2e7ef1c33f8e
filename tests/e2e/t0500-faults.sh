#!/bin/bash
# Faults: files that cannot be read (exit 3), damaged packs, indexes and
# snapshots (check and restore name what is hurt), and a failing
# destination (CAIRN_FAULT).
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# as_user CMD...: run CMD as an unprivileged user (nobody) when we are
# root, so that mode-0000 entries really cannot be read.
as_user() {
	if ((EUID == 0)); then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

# use_copy NAME: copy the healthy repository to NAME and print the
# environment for it, with a cache of its own.
use_copy() {
	rm -rf "$WORK/$1" "$WORK/cache-$1"
	cp -a "$WORK/repo" "$WORK/$1"
	echo "CAIRN_REPO=file://$WORK/$1 XDG_CACHE_HOME=$WORK/cache-$1"
}

# on NAME CMD...: run cairn CMD on the copy NAME (with its own cache).
on() {
	local name=$1
	shift
	CAIRN_REPO=file://$WORK/$name XDG_CACHE_HOME=$WORK/cache-$name "$CAIRN" "$@"
}

# flip_middle FILE: invert the byte in the middle of FILE.
flip_middle() {
	local size off b
	size=$(stat -c %s "$1")
	off=$((size / 2))
	b=$(od -An -tu1 -j "$off" -N 1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" |
		dd of="$1" bs=1 seek="$off" conv=notrunc status=none
}

# pack_path ID: the file of pack ID in the repository copy NAME.
pack_path() { # NAME ID
	echo "$WORK/$1/data/${2:0:2}/$2"
}

# manifest_without DIR PATH...: tree_manifest DIR without the lines of PATHs.
manifest_without() {
	local dir=$1 p
	shift
	local -a args=()
	for p in "$@"; do args+=(-e "^$p	"); done
	tree_manifest "$dir" | grep -v "${args[@]}"
}

# ---- files that cannot be read ----

test_expect "a backup that cannot read a file and a directory exits 3" '
	chmod 755 "$WORK" # the unprivileged user must reach its files
	mkdir -p pt/sub pt/locked user/cache
	echo readable >pt/ok
	echo also readable >pt/sub/ok2
	echo secret >pt/secret
	echo hidden >pt/locked/inner
	chmod 755 pt pt/sub pt/locked
	chmod 644 pt/ok pt/sub/ok2 pt/locked/inner
	chmod 000 pt/secret pt/locked
	if ((EUID == 0)); then chown -R 65534:65534 user; fi
	export CAIRN_REPO=file://$WORK/user/repo XDG_CACHE_HOME=$WORK/user/cache HOME=$WORK/user
	expect_rc 0 as_user "$CAIRN" init
	expect_rc 3 as_user "$CAIRN" backup pt
	cp out partial.out
	cp err partial.err
'

test_expect "a warning line names each path that could not be read" '
	cat partial.err
	grep -q "warning: $WORK/pt/secret: " partial.err
	grep -q "warning: $WORK/pt/locked: " partial.err
	not grep -q "pt/ok" partial.err
	not grep -q "pt/sub" partial.err
'

test_expect "the summary says some files could not be read" '
	grep -q "^snapshot [0-9a-f]\{8\} .*some files could not be read" partial.out
'

test_expect "the partial snapshot exists and holds the readable files" '
	export CAIRN_REPO=file://$WORK/user/repo
	expect_rc 0 cairn snapshots
	grep -qx "1 snapshot" out
	cairn ls latest >listed
	grep -qx /pt/ok listed
	grep -qx /pt/sub/ok2 listed
	not grep -qx /pt/locked/inner listed
	expect_rc 0 cairn restore latest --target partial-out
	cmp pt/ok partial-out/pt/ok
	cmp pt/sub/ok2 partial-out/pt/sub/ok2
	expect_rc 0 cairn check --read-data
'

test_expect "the partial snapshot counts only the files it stored" '
	export CAIRN_REPO=file://$WORK/user/repo
	cat partial.out
	grep -q "^files:  2 new, 0 changed, 0 unmodified" partial.out
	cairn snapshots --json | grep -q "\"stats\":{\"files_new\":2,"
'

# ---- damage on the destination ----

test_expect "check --read-data on a healthy repository exits 0 with no errors" '
	mkdir -p src/d src/many
	head -c 8388608 /dev/urandom >src/d/big
	echo small >src/small
	echo top >src/top
	# 200 long random names: a tree blob far larger than the others
	head -c 20000 /dev/urandom | od -An -v -tx1 | tr -d " \n" | fold -w 200 |
		while read -r name || test -n "$name"; do : >"src/many/$name"; done
	test "$(ls src/many | wc -l)" = 200
	expect_rc 0 cairn init
	expect_rc 0 cairn backup src
	# One data pack (big dominates it) and one tree pack (many dominates it).
	find repo/data -type f -printf "%s %f\n" | sort -n >packs
	test "$(wc -l <packs)" = 2
	sed -n 1p packs | cut -d" " -f2 >tree.pack
	sed -n 2p packs | cut -d" " -f2 >data.pack
	ls repo/index >first.index
	test "$(wc -l <first.index)" = 1
	echo second >src/second
	expect_rc 0 cairn backup src
	ls repo/snapshots >snapshot.ids
	test "$(wc -l <snapshot.ids)" = 2
	expect_rc 0 cairn check --read-data
	grep -q "no errors were found" out
	test ! -s err
	expect_rc 0 cairn --json check --read-data
	grep -q "\"errors\":0,\"warnings\":0," out
'

test_expect "a flipped byte in a pack makes check --read-data exit 1 naming the pack" '
	use_copy r-flip >/dev/null
	pack=$(cat data.pack)
	flip_middle "$(pack_path r-flip "$pack")"
	expect_rc 1 on r-flip check --read-data
	cat out err
	grep -q "pack $pack" err
	grep -q "errors found" out
'

test_expect "restore from that pack exits non-zero naming the file, the rest intact" '
	st=0
	on r-flip restore latest --target flip-out >out 2>err || st=$?
	cat out err
	test "$st" != 0
	grep -q "src/d/big" err
	not grep -q "src/small\|src/top\|src/second\|src/many" err
	diff <(manifest_without src d/big) <(manifest_without flip-out/src d/big)
'

test_expect "a truncated pack makes plain check exit 1 naming it" '
	use_copy r-trunc >/dev/null
	pack=$(cat data.pack)
	file=$(pack_path r-trunc "$pack")
	truncate -s $(($(stat -c %s "$file") / 2)) "$file"
	expect_rc 1 on r-trunc check
	cat out err
	grep -q "error: pack $pack" err
'

test_expect "a deleted index object makes check exit 1 naming the packs it listed" '
	use_copy r-noidx >/dev/null
	test "$(ls r-noidx/index | wc -l)" = 2
	rm "r-noidx/index/$(cat first.index)"
	expect_rc 1 on r-noidx check
	cat out err
	grep -q "$(cat data.pack)" err
	grep -q "$(cat tree.pack)" err
'

# Deleting a snapshot object is how a snapshot is forgotten: it is not an
# error, but its data shows as unused and the snapshot list drops it.
test_expect "a deleted snapshot disappears from the list and its data shows as unused" '
	use_copy r-nosnap >/dev/null
	expect_rc 0 on r-nosnap snapshots # the catalog knows both snapshots
	grep -qx "2 snapshots" out
	snap=$(head -n 1 snapshot.ids)
	rm "r-nosnap/snapshots/$snap"
	expect_rc 0 on r-nosnap snapshots
	grep -qx "1 snapshot" out
	not grep -q "^${snap:0:8}" out
	expect_rc 0 on r-nosnap check
	grep -q "blobs (.*) are not used by any snapshot" out
'

test_expect "a corrupted snapshot object makes check exit 1 naming it" '
	use_copy r-badsnap >/dev/null
	snap=$(head -n 1 snapshot.ids)
	flip_middle "r-badsnap/snapshots/$snap"
	expect_rc 1 on r-badsnap check
	cat out err
	grep -q "error: snapshot $snap" err
'

test_expect "a corrupted tree pack makes restore exit 1 naming the directory" '
	use_copy r-tree >/dev/null
	flip_middle "$(pack_path r-tree "$(cat tree.pack)")"
	expect_rc 1 on r-tree restore latest --target tree-out
	cat err
	grep -q "src/many" err
	cmp src/d/big tree-out/src/d/big
	cmp src/small tree-out/src/small
	cmp src/second tree-out/src/second
'

test_expect "ls names the directory whose tree is corrupt" '
	rm -rf cache-r-tree
	expect_rc 1 on r-tree ls latest
	grep -q "/src/many: tree [0-9a-f]\{64\}" err
	grep -qx /src/d/big out
'

test_expect "check exits 1 naming the corrupt tree and its path" '
	expect_rc 1 on r-tree check
	cat out err
	grep -q "error: .* tree [0-9a-f]\{64\} (/src/many): corrupt" err
'

# ---- a failing destination ----

test_expect "CAIRN_FAULT=put@3 makes a backup fail with exit 1 and a message" '
	head -c 300000 /dev/urandom >src/third
	mkdir src/newdir
	echo n >src/newdir/n
	CAIRN_FAULT=put@3 expect_rc 1 cairn backup src
	cat err
	grep -q "error: .*Input/output error" err
	grep -q "no snapshot was written" err
	test "$(ls repo/snapshots | wc -l)" = 2
'

test_expect "the next backup without faults succeeds and check passes" '
	expect_rc 0 cairn backup src
	test "$(ls repo/snapshots | wc -l)" = 3
	expect_rc 0 cairn check --read-data
	grep -q "no errors were found" out
	expect_rc 0 cairn restore latest --target after-fault
	compare_trees src after-fault/src
'

test_done
