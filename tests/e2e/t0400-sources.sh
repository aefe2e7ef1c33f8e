#!/bin/bash
# Sources: every snapshot shows every source, a backup of one carries the
# others over; default source names; --exclude; --tag.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# snap_json N: the Nth snapshot (1 = oldest, -1 = newest) of
# `cairn snapshots --json`, as one line.
snap_json() {
	local all
	all=$("$CAIRN" snapshots --json | sed 's/},{"id":/}\n{"id":/g')
	if [[ $1 == -1 ]]; then
		printf '%s\n' "$all" | tail -n 1
	else
		printf '%s\n' "$all" | sed -n "${1}p"
	fi
}

# snap_id N: the id of the Nth snapshot.
snap_id() {
	snap_json "$1" | grep -o '"id":"[0-9a-f]*"' | head -n 1 | cut -d'"' -f4
}

# top_level SNAPSHOT: the sorted top-level folders of SNAPSHOT.
top_level() {
	"$CAIRN" ls "$1" | grep -v '^/.*/' | LC_ALL=C sort | paste -sd' '
}

test_expect "backup --source A names the snapshot folder A" '
	mkdir -p dirA/sub dirB/x
	echo a >dirA/a.txt
	echo in-sub >dirA/sub/file
	echo b >dirB/x/b.txt
	expect_rc 0 cairn init
	expect_rc 0 cairn backup --source A dirA
	test "$(top_level latest)" = /A
	cairn ls latest >listed
	printf "%s\n" /A /A/a.txt /A/sub /A/sub/file >expected
	diff expected listed
'

test_expect "a backup of source B keeps A in the new snapshot" '
	expect_rc 0 cairn backup --source B dirB
	test "$(top_level latest)" = "/A /B"
	cairn ls latest >listed
	grep -qx /A/sub/file listed
	grep -qx /B/x/b.txt listed
	snap_json -1 >latest.json
	grep -q "\"sources\":\[{\"name\":\"A\",\"path\":\"$WORK/dirA\"" latest.json
	grep -q "{\"name\":\"B\",\"path\":\"$WORK/dirB\"" latest.json
'

test_expect "the first snapshot still has only A" '
	first=$(snap_id 1)
	test -n "$first"
	test "$(top_level "$first")" = /A
	snap_json 1 >first.json
	not grep -q "\"name\":\"B\"" first.json
'

test_expect "backing up A again carries B over unchanged" '
	echo "a, second version" >dirA/a.txt
	echo new >dirA/new
	expect_rc 0 cairn backup --source A dirA
	test "$(top_level latest)" = "/A /B"
	expect_rc 0 cairn restore latest --target both
	compare_trees dirA both/A
	compare_trees dirB both/B
'

test_expect "a source carried over keeps its own path and the other gets the new one" '
	snap_json -1 >latest.json
	grep -q "{\"name\":\"B\",\"path\":\"$WORK/dirB\"" latest.json
	grep -q "{\"name\":\"A\",\"path\":\"$WORK/dirA\"" latest.json
	test "$(grep -o "\"name\":\"[AB]\"" latest.json | wc -l)" = 2
'

test_expect "the default source name is the directory name" '
	mkdir -p "nested/deeper/My Docs"
	echo doc >"nested/deeper/My Docs/doc"
	expect_rc 0 cairn backup "$WORK/nested/deeper/My Docs"
	cairn ls latest >listed
	grep -qx "/My Docs/doc" listed
	not grep -q "^/nested" listed
	not grep -q "^/deeper" listed
'

test_expect "a trailing slash does not change the default source name" '
	mkdir -p slashed/inner
	echo s >slashed/inner/s
	expect_rc 0 cairn backup slashed/
	cairn ls latest >listed
	grep -qx /slashed/inner/s listed
	test "$(grep -c "^/slashed$" listed)" = 1
'

test_expect "--exclude with a name pattern leaves matching names out anywhere" '
	mkdir -p ex/deep/er ex/keep
	echo t >ex/top.tmp
	echo t >ex/deep/er/low.tmp
	echo k >ex/keep/file.txt
	echo k >ex/tmp.txt
	mkdir ex/cache.tmp
	echo c >ex/cache.tmp/inside
	expect_rc 0 cairn backup --source ex1 --exclude "*.tmp" ex
	cairn ls latest:ex1 >listed
	cat listed
	not grep -q "\.tmp$" listed
	not grep -q "cache\.tmp" listed
	grep -qx /ex1/keep/file.txt listed
	grep -qx /ex1/tmp.txt listed
	grep -qx /ex1/deep/er listed
'

test_expect "--exclude with a path pattern leaves out that path only" '
	mkdir -p ex/sub ex/deep/sub
	echo k >ex/sub/keep
	echo k >ex/deep/sub/keep
	expect_rc 0 cairn backup --source ex2 --exclude sub/keep ex
	cairn ls latest:ex2 >listed
	cat listed
	not grep -qx /ex2/sub/keep listed
	grep -qx /ex2/sub listed
	grep -qx /ex2/deep/sub/keep listed
'

test_expect "--exclude with an absolute path leaves that path out" '
	expect_rc 0 cairn backup --source ex3 --exclude "$WORK/ex/deep" ex
	cairn ls latest:ex3 >listed
	not grep -q "^/ex3/deep" listed
	grep -qx /ex3/sub/keep listed
'

test_expect "several --exclude patterns all apply" '
	expect_rc 0 cairn backup --source ex4 --exclude "*.tmp" --exclude keep \
		--exclude deep/er ex
	cairn ls latest:ex4 >listed
	cat listed
	not grep -q "\.tmp$" listed
	not grep -q "/keep" listed
	not grep -q "^/ex4/deep/er" listed
	grep -qx /ex4/deep/sub listed
	grep -qx /ex4/tmp.txt listed
'

test_expect "--tag appears in snapshots --json and in snapshots" '
	expect_rc 0 cairn backup --source A --tag daily --tag "before upgrade" dirA
	snap_json -1 >latest.json
	grep -q "\"tags\":\[\"daily\",\"before upgrade\"\]" latest.json
	snap_json 1 >first.json
	grep -q "\"tags\":\[\]" first.json
	expect_rc 0 cairn snapshots
	grep -q "daily" out
'

test_done
