#!/bin/bash
# Backup and restore give back the same tree: every kind of entry
# make_tree builds, older snapshots, parts of a snapshot, every way to name
# a snapshot, ls, and an unencrypted repository.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# snap_field N FIELD: FIELD (a string) of the Nth snapshot (1 = oldest) in
# `cairn snapshots --json`.
snap_field() {
	"$CAIRN" snapshots --json | sed 's/},{"id":/}\n{"id":/g' | sed -n "${1}p" |
		grep -o "\"$2\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4
}

# compare_contents A B: like compare_trees, but leaves out the line of the
# top directory itself (a restore target keeps its own mode and times).
compare_contents() {
	diff -u --label "$1" --label "$2" <(tree_manifest "$1" | grep -v '^\.	') \
		<(tree_manifest "$2" | grep -v '^\.	')
}

deep=deep/d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30
export deep

test_expect "a backup of every kind of entry restores to an identical tree" '
	make_tree src
	cp -a src v1
	expect_rc 0 cairn init
	expect_rc 0 cairn backup src
	grep -q "^snapshot [0-9a-f]\{8\} (@[0-9-]\{17\}) saved" out
	expect_rc 0 cairn restore latest --target out1
	compare_trees src out1/src
'

test_expect "file contents, modes and owners are restored" '
	cmp src/files/3m out1/src/files/3m
	cmp src/files/100k out1/src/files/100k
	test "$(stat -c %a out1/src/modes/file4755)" = 4755
	test "$(stat -c %a out1/src/modes/file2755)" = 2755
	test "$(stat -c %a out1/src/modes/dir1777)" = 1777
	if test "$(id -u)" = 0; then # make_tree makes these only as root
		test "$(stat -c %a out1/src/modes/file0000)" = 0
		test "$(stat -c %u:%g out1/src/owners/file)" = 1234:5678
		test "$(stat -c %u:%g out1/src/owners/dir/file)" = 5678:1234
		test "$(stat -c %u:%g out1/src/owners/link)" = 1234:5678
	fi
'

test_expect "mtimes are restored to the nanosecond, before 1970 and after 2100 too" '
	test "$(stat -c %.9Y out1/src/files/y2100)" = 4102444800.000000001
	test "$(stat -c %.9Y out1/src/files/pre-epoch)" = "$(stat -c %.9Y src/files/pre-epoch)"
	test "$(stat -c %.9Y out1/src/$deep/leaf)" = "$(stat -c %.9Y src/$deep/leaf)"
	test "$(stat -c %.9Y out1/src/modes/dir0555)" = "$(stat -c %.9Y src/modes/dir0555)"
	test "$(stat -c %.9Y out1/src/links/dangling)" = "$(stat -c %.9Y src/links/dangling)"
'

test_expect "symlinks are restored with their targets, dangling ones too" '
	test "$(readlink out1/src/links/relative)" = ../files/hello.txt
	test "$(readlink out1/src/links/absolute)" = /usr/share/doc
	test -L out1/src/links/dangling
	test "$(readlink out1/src/links/dangling)" = does/not/exist
	test "$(readlink out1/src/links/loop)" = loop
	test "$(readlink out1/src/links/odd-target)" = "$(printf "odd target\nwith \377")"
	test "$(cat out1/src/links/relative)" = "hello, cairn"
'

test_expect "hardlinks are restored as hardlinks" '
	test "$(stat -c %h out1/src/hard/a/pair1)" = 2
	test "$(stat -c %i out1/src/hard/a/pair1)" = "$(stat -c %i out1/src/hard/b/pair2)"
	test "$(stat -c %h out1/src/hard/t3)" = 3
	test "$(stat -c %i out1/src/hard/a/t1)" = "$(stat -c %i out1/src/hard/b/t2)"
	test "$(stat -c %i out1/src/hard/a/t1)" = "$(stat -c %i out1/src/hard/t3)"
	test "$(stat -c %i out1/src/hard/a/t1)" != "$(stat -c %i out1/src/hard/a/pair1)"
'

test_expect "a sparse file is restored sparse, with its data in place" '
	test "$(stat -c %s out1/src/files/sparse)" = 67108864
	is_sparse out1/src/files/sparse
	cmp src/files/sparse out1/src/files/sparse
'

test_expect "empty files, empty directories and a FIFO are restored" '
	test -f out1/src/files/empty
	test ! -s out1/src/files/empty
	test -d out1/src/empty
	test -z "$(ls -A out1/src/empty)"
	test -p out1/src/special/fifo
'

test_expect "255-byte names and names with odd bytes are restored" '
	long=$(printf "n%.0s" {1..255})
	test "$(cat "out1/src/names/$long")" = "$long"
	test -f "out1/src/names/$(printf "é%.0s" {1..127})x"
	test -f "out1/src/names/$(printf "raw\377byte")"
	test -f "out1/src/names/$(printf "new\nline")"
	test -f "out1/src/names/$(printf "tab\there")"
	test -f "out1/src/names/*glob?[x]"
	test -f "out1/src/names/-"
	test -f "out1/src/names/ leading space"
	test -f "out1/src/names/naïve café 日本語 😀"
	test "$(ls -A out1/src/names | wc -l)" = "$(ls -A src/names | wc -l)"
'

test_expect "a 30-level deep tree is restored" '
	test "$(cat out1/src/$deep/leaf)" = bottom
'

test_expect "after a change, the first snapshot restores the old tree and the second the new" '
	sleep 1 # a new second: the two snapshots get different @names
	printf "changed\n" >src/files/hello.txt
	head -c 1000 /dev/urandom >>src/files/100k
	expect_rc 0 cairn backup src
	cp -a src v2
	first=$(snap_field 1 id)
	test -n "$first"
	expect_rc 0 cairn restore "$first" --target old
	compare_trees v1 old/src
	expect_rc 0 cairn restore latest --target new
	compare_trees v2 new/src
	test "$(cat old/src/files/hello.txt)" = "hello, cairn"
	test "$(cat new/src/files/hello.txt)" = changed
'

test_expect "restore SNAPSHOT:PATH of a directory puts its contents into the target" '
	expect_rc 0 cairn restore latest:src/hard --target part
	test -d part/a
	test ! -e part/hard
	test ! -e part/src
	compare_contents v2/hard part
	expect_rc 0 cairn restore latest:/src/files/ --target part2
	test -f part2/3m
	compare_contents v2/files part2
'

test_expect "restore of a single file path puts the file into the target" '
	expect_rc 0 cairn restore latest:src/files/3m --target single
	test "$(ls -A single)" = 3m
	cmp v2/files/3m single/3m
	test "$(stat -c %a:%.9Y single/3m)" = "$(stat -c %a:%.9Y v2/files/3m)"
	expect_rc 0 cairn restore latest:src/links/dangling --target single-link
	test "$(readlink single-link/dangling)" = does/not/exist
'

test_expect "restore of a path that is not in the snapshot fails naming it" '
	expect_rc 1 cairn restore latest:src/no/such/thing --target nothing
	grep -q "src/no/such/thing" err
'

test_expect "a snapshot is found by a prefix of its id" '
	first=$(snap_field 1 id)
	expect_rc 0 cairn restore "${first:0:8}:src/files/hello.txt" --target by-id8
	test "$(cat by-id8/hello.txt)" = "hello, cairn"
	expect_rc 0 cairn restore "${first:0:4}:src/files/hello.txt" --target by-id4
	test "$(cat by-id4/hello.txt)" = "hello, cairn"
'

test_expect "latest names the newest snapshot" '
	expect_rc 0 cairn restore latest:src/files/hello.txt --target by-latest
	test "$(cat by-latest/hello.txt)" = changed
'

test_expect "@YYYY-MM-DD-HHMMSS names a snapshot by its folder name" '
	name1=$(snap_field 1 name)
	name2=$(snap_field 2 name)
	echo "names: $name1 $name2"
	[[ $name1 =~ ^@[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}$ ]]
	test "$name1" != "$name2"
	expect_rc 0 cairn restore "$name1:src/files/hello.txt" --target by-name1
	test "$(cat by-name1/hello.txt)" = "hello, cairn"
	expect_rc 0 cairn restore "$name2:src/files/hello.txt" --target by-name2
	test "$(cat by-name2/hello.txt)" = changed
'

test_expect "@YYYY-MM-DD names the newest snapshot of that day" '
	name2=$(snap_field 2 name)
	day=${name2:0:11}
	[[ $day =~ ^@[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]
	expect_rc 0 cairn restore "$day:src/files/hello.txt" --target by-day
	test "$(cat by-day/hello.txt)" = changed
'

test_expect "an unknown snapshot name fails and says so" '
	expect_rc 1 cairn restore @1999-01-01 --target never
	grep -q "snapshot @1999-01-01 not found" err
	expect_rc 1 cairn ls ffffffffff
	grep -q "snapshot ffffffffff not found" err
'

test_expect "ls latest lists every path of the source" '
	find src -printf "/%p\n" | LC_ALL=C sort >expected
	cairn ls latest | LC_ALL=C sort >listed
	diff expected listed
'

test_expect "ls SNAPSHOT:PATH lists that directory and everything below it" '
	find src/hard -printf "/%p\n" | LC_ALL=C sort >expected
	cairn ls latest:src/hard | LC_ALL=C sort >listed
	diff expected listed
'

test_expect "ls -l shows modes, owners, sizes and symlink targets" '
	expect_rc 0 cairn ls -l latest
	grep -q "^lrwxrwxrwx .* /src/links/relative -> \.\./files/hello\.txt$" out
	grep -q " /src/links/dangling -> does/not/exist$" out
	grep -q " /src/links/absolute -> /usr/share/doc$" out
	grep -q "^-rwsr-xr-x .* /src/modes/file4755$" out
	grep -q "^drwxrwxrwt .* /src/modes/dir1777$" out
	if test "$(id -u)" = 0; then
		grep -q "^-rw-r--r-- *1234 *5678 *6 .* /src/owners/file$" out
	fi
	grep -q "^-rw-r--r-- .* 3145728 .* /src/files/3m$" out
'

test_expect "the encrypted repository holds no file content or name in clear" '
	not grep -rqF "hello, cairn" repo
	not grep -rqF "odd target" repo
	not grep -rqF "naïve café" repo
	not grep -rqF "pair1" repo
'

test_expect "an unencrypted repository round-trips the same tree" '
	export CAIRN_REPO=file://$WORK/plain
	expect_rc 0 env -u CAIRN_PASSWORD "$CAIRN" init --no-encryption
	expect_rc 0 env -u CAIRN_PASSWORD "$CAIRN" backup src
	expect_rc 0 env -u CAIRN_PASSWORD "$CAIRN" restore latest --target plain-out
	compare_trees src plain-out/src
	is_sparse plain-out/src/files/sparse
	expect_rc 0 env -u CAIRN_PASSWORD "$CAIRN" check --read-data
	grep -q "no errors were found" out
'

test_done
