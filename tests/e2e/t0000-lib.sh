#!/bin/bash
# Self-test of lib.sh: make_tree builds what it promises, compare_trees finds
# a tree equal to its `cp -a` copy and finds each single change.  No cairn.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# only_change COPY WHAT: compare src with COPY; they must differ, and every
# added or removed manifest line must mention WHAT.
only_change() {
	local out
	if out=$(compare_trees src "$1"); then
		echo "compare_trees found no difference between src and $1"
		return 1
	fi
	printf '%s\n' "$out"
	printf '%s\n' "$out" | sed 1,2d | grep '^[-+]' >"$1.changes"
	test -s "$1.changes"
	if grep -vF -- "$2" "$1.changes"; then
		echo "unexpected differences (above) besides $2"
		return 1
	fi
}

# set_mtime_plus_1ns PATH
set_mtime_plus_1ns() {
	local t sec ns
	t=$(stat -c %.9Y -- "$1")
	sec=${t%.*} ns=$((10#${t#*.}))
	if ((ns == 999999999)); then ns=$((ns - 1)); else ns=$((ns + 1)); fi
	touch -h -d "@$sec.$(printf %09d "$ns")" -- "$1"
}

test_expect "make_tree builds every case" '
	make_tree src
	test -f "src/names/$(printf "n%.0s" {1..255})"
	test -f "src/names/$(printf "é%.0s" {1..127})x"
	test -f "src/names/$(printf "raw\377byte")"
	test -f "src/names/$(printf "new\nline")"
	test -f src/deep/d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30/leaf
	test "$(stat -c %s src/files/empty)" = 0
	test "$(stat -c %s src/files/one-byte)" = 1
	test "$(stat -c %s src/files/100k)" = 102400
	test "$(stat -c %s src/files/3m)" = 3145728
	is_sparse src/files/sparse
	not is_sparse src/files/3m
	test "$(stat -c %h src/hard/a/pair1)" = 2
	test "$(stat -c %h src/hard/a/t1)" = 3
	test -p src/special/fifo
	test -L src/links/dangling
	test "$(readlink src/links/absolute)" = /usr/share/doc
	test "$(stat -c %a src/modes/dir1777)" = 1777
	test "$(stat -c %a src/modes/file4755)" = 4755
	test "$(stat -c %.9Y src/files/y2100)" = 4102444800.000000001
	if test "$(id -u)" = 0; then
		test "$(stat -c %u:%g src/owners/file)" = 1234:5678
		test "$(stat -c %u:%g src/owners/link)" = 1234:5678
	fi
'

test_expect "the manifest has one line per entry and one per hardlink group" '
	tree_manifest src >manifest
	entries=$(find src -printf x | wc -c)
	test "$(grep -vc "^hardlinks: " manifest)" = "$entries"
	grep -x "hardlinks: hard/a/pair1 hard/b/pair2" manifest
	grep -x "hardlinks: hard/a/t1 hard/b/t2 hard/t3" manifest
	grep -F "names/raw\\377byte" manifest
	grep -F "$(printf "%s\t" "files/sparse" f 644)" manifest
'

test_expect "a tree equals its cp -a copy" '
	cp -a src copy
	compare_trees src copy
	is_sparse copy/files/sparse
'

test_expect "one changed byte is found" '
	cp -a src c-byte
	b=$(od -An -tu1 -j 1000 -N 1 c-byte/files/3m)
	printf "\\$(printf %03o $((b ^ 1)))" |
		dd of=c-byte/files/3m bs=1 seek=1000 conv=notrunc status=none
	touch -h -r src/files/3m c-byte/files/3m
	only_change c-byte files/3m
'

test_expect "one changed mode is found" '
	cp -a src c-mode
	chmod 0640 c-mode/modes/file0600
	only_change c-mode modes/file0600
'

test_expect "a file mtime one nanosecond off is found" '
	cp -a src c-mtime
	set_mtime_plus_1ns c-mtime/files/hello.txt
	only_change c-mtime files/hello.txt
'

test_expect "a directory mtime one nanosecond off is found" '
	cp -a src c-dirtime
	set_mtime_plus_1ns c-dirtime/empty
	only_change c-dirtime "empty	d"
'

test_expect "a changed symlink target is found" '
	cp -a src c-link
	ln -sfn ../files/one-byte c-link/links/relative
	touch -h -r src/links/relative c-link/links/relative
	touch -h -r src/links c-link/links
	only_change c-link links/relative
'

test_expect "a broken hardlink is found" '
	cp -a src c-hard
	cp -p c-hard/hard/b/t2 c-hard/t2.tmp
	mv c-hard/t2.tmp c-hard/hard/b/t2
	touch -h -r src/hard/b c-hard/hard/b
	touch -h -r src c-hard
	only_change c-hard "hardlinks: hard/a/t1"
'

test_expect "an added file is found" '
	cp -a src c-add
	: >c-add/empty/new
	touch -h -r src/empty c-add/empty
	only_change c-add empty/new
'

test_expect_fail_exit 3 "test_expect_fail_exit sees the exact exit code" '
	true
	(exit 3)
	echo not reached
'

test_done
