#!/bin/bash
# The command line: version, usage errors, help, JSON output, stats,
# --quiet, and the progress line (only on a terminal).
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# json_like FILE: FILE is one line holding a JSON object or array whose
# brackets and braces balance outside strings (no jq on a fresh Debian).
json_like() {
	awk '
		{ lines++ }
		{
			n = length($0); depth = 0; instr = 0; esc = 0
			for (i = 1; i <= n; i++) {
				c = substr($0, i, 1)
				if (instr) {
					if (esc) esc = 0
					else if (c == "\\") esc = 1
					else if (c == "\"") instr = 0
					continue
				}
				if (c == "\"") instr = 1
				else if (c == "{" || c == "[") depth++
				else if (c == "}" || c == "]") { depth--; if (depth < 0) bad = 1 }
				else if (depth == 0 && c !~ /[ \t]/) bad = 1
			}
			if (depth != 0 || instr) bad = 1
		}
		END { exit (lines == 1 && !bad) ? 0 : 1 }
	' "$1"
}

test_expect "version prints the version" '
	expect_rc 0 cairn version
	grep -q "^cairn [0-9]\+\.[0-9]\+\.[0-9]\+ (zstd [0-9.]*, lz4 [0-9.]*, .*SQLite [0-9.]*)$" out
	test "$(wc -l <out)" = 1
	test ! -s err
'

test_expect "an unknown command exits 2 with the usage" '
	expect_rc 2 cairn frobnicate
	grep -q "unknown command .frobnicate." err
	grep -q "^usage: cairn " err
	test ! -s out
'

test_expect "an unknown global option exits 2 with the usage" '
	expect_rc 2 cairn --frobnicate snapshots
	grep -q "unknown or incomplete option .--frobnicate." err
	grep -q "^usage: cairn " err
'

test_expect "an unknown command option exits 2 with that command's usage" '
	expect_rc 2 cairn backup --frobnicate src
	grep -q "^usage: cairn backup " err
	expect_rc 2 cairn restore latest --frobnicate x
	grep -q "^usage: cairn restore " err
	expect_rc 2 cairn snapshots --frobnicate
	grep -q "^usage: cairn snapshots " err
'

test_expect "a missing or extra argument exits 2 with the usage" '
	expect_rc 2 cairn
	grep -q "^usage: cairn " err
	expect_rc 2 cairn backup
	grep -q "^usage: cairn backup " err
	expect_rc 2 cairn restore latest
	grep -q "^usage: cairn restore " err
	expect_rc 2 cairn backup a b
	expect_rc 2 cairn backup --exclude
'

test_expect "-h prints the usage on stdout and exits 0" '
	expect_rc 0 cairn -h
	grep -q "^usage: cairn " out
	expect_rc 0 cairn backup -h
	grep -q "^usage: cairn backup " out
'

test_expect "--help prints the usage on stdout and exits 0" '
	expect_rc 0 cairn --help
	grep -q "^usage: cairn " out
	for c in init backup restore snapshots ls check stats key repair; do
		expect_rc 0 cairn "$c" --help
		grep -q "^usage: cairn $c" out
	done
'

test_expect "snapshots --json is an empty JSON array on a new repository" '
	expect_rc 0 cairn init
	expect_rc 0 cairn snapshots --json
	test "$(cat out)" = "[]"
'

test_expect "snapshots --json is a JSON array with one object per snapshot" '
	make_tree src
	expect_rc 0 cairn backup src
	expect_rc 0 cairn backup --tag again src
	expect_rc 0 cairn snapshots --json
	cat out
	test "$(head -c 1 out)" = "["
	json_like out
	test "$(grep -o "\"short_id\":\"[0-9a-f]\{8\}\"" out | wc -l)" = 2
	test "$(grep -o "\"id\":\"[0-9a-f]\{64\}\"" out | wc -l)" = 2
	# back to back, the two may share a second: the second is then "-2"
	test "$(grep -o "\"name\":\"@[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]-[0-9]\{6\}\(-2\)\?\"" out | wc -l)" = 2
	grep -q "\"sources\":\[{\"name\":\"src\"" out
	grep -q "\"tags\":\[\"again\"\]" out
	grep -q "\"stats\":{\"files_new\":[0-9]*" out
'

test_expect "snapshots lists them in a table with a count" '
	expect_rc 0 cairn snapshots
	grep -q "^ID  *Folder  *Time" out
	grep -qx "2 snapshots" out
	test "$(grep -c "^[0-9a-f]\{8\}  @" out)" = 2
'

test_expect "ls --json prints one JSON object per entry" '
	expect_rc 0 cairn ls --json latest
	test "$(wc -l <out)" = "$(find src -printf x | wc -c)"
	head -n 1 out >first.json
	json_like first.json
	grep -q "\"path\":\"/src/links/dangling\",\"type\":\"symlink\"" out
	grep -q "\"target\":\"does/not/exist\"" out
'

test_expect "stats shows a deduplication ratio" '
	export CAIRN_REPO=file://$WORK/dedup
	mkdir -p twice/a
	head -c 1000000 /dev/urandom >twice/a/one
	head -c 1000000 /dev/urandom >twice/two
	expect_rc 0 cairn init
	expect_rc 0 cairn backup twice
	echo "not much" >twice/three
	expect_rc 0 cairn backup twice
	expect_rc 0 cairn stats
	cat out
	# Two snapshots of the same 2 MB: each byte stored once for two.
	grep -q "^deduplication: *2\.00x$" out
	grep -q "^compression: *[0-9.]*x$" out
'

test_expect "stats --json gives the same ratio as a number" '
	export CAIRN_REPO=file://$WORK/dedup
	expect_rc 0 cairn stats --json
	cat out
	json_like out
	test "$(num dedup_ratio <out)" = 2.000
	test "$(num snapshots <out)" = 2
	test "$(num total_bytes <out)" = $((2000000 + 2000009))
'

test_expect "backup --quiet prints nothing on stdout" '
	echo q >src/quiet
	expect_rc 0 cairn backup --quiet src
	test ! -s out
	echo q2 >src/quiet2
	expect_rc 0 cairn -q backup src
	test ! -s out
	test ! -s err
	expect_rc 0 cairn snapshots
	grep -qx "4 snapshots" out
'

test_expect "backup --json prints one summary object" '
	echo j >src/json
	expect_rc 0 cairn --json backup src
	cat out err
	test "$(wc -l <out)" = 1
	json_like out
	grep -q "\"snapshot_id\":\"[0-9a-f]\{64\}\"" out
	test "$(num files_new <out)" = 1
	test "$(num exit_code <out)" = 0
	for f in files_changed files_unmodified bytes_added blobs_added; do
		grep -q "\"$f\":[0-9]" out
	done
'

test_expect "backup --json blobs_added is what the repository gained" '
	before=$(cairn stats --json | num blobs)
	head -c 3000000 /dev/urandom >src/json-data
	expect_rc 0 cairn --json backup src
	after=$(cairn stats --json | num blobs)
	test "$(num blobs_added <out)" = $((after - before))
'

test_expect "progress lines never appear when stderr is not a terminal" '
	mkdir slow
	head -c 2000000 /dev/urandom >slow/data
	# delay=: every call to the destination waits, so the backup takes
	# seconds and the progress line (4 a second) would be drawn.
	start=$(date +%s%N)
	CAIRN_FAULT=delay=150 expect_rc 0 cairn backup slow
	took=$((($(date +%s%N) - start) / 1000000))
	echo "took $took ms"
	test "$took" -ge 1000
	not grep -q "ETA" err
	not grep -q "$(printf "\r")" err
	test ! -s err
	CAIRN_FAULT=delay=150 expect_rc 0 cairn restore latest:slow --target slow-out
	not grep -q "ETA" err
	test ! -s err
'

if command -v script >/dev/null; then
	test_expect "progress lines do appear when stderr is a terminal" '
		echo more >>slow/data
		CAIRN_FAULT=delay=150 script -qec "$CAIRN backup slow" /dev/null >tty.out </dev/null
		grep -q "ETA" tty.out
		grep -q "$(printf "\r")" tty.out
	'
fi

# same_second: in a new repository ./same, backs up a tiny tree twice back
# to back (a file "first", then a file "second") until both snapshots fall
# in the same second (at most 20 tries); leaves their names, as
# `cairn snapshots --json` gives them, in ./names.
same_second() {
	local i
	export CAIRN_REPO=file://$WORK/same
	expect_rc 0 cairn init
	for i in $(seq 20); do
		rm -rf tiny
		mkdir tiny
		echo "$i" >tiny/first
		expect_rc 0 cairn backup -q tiny
		mv tiny/first tiny/second
		expect_rc 0 cairn backup -q tiny
		cairn snapshots --json | grep -o "\"name\":\"@[^\"]*\"" | cut -d\" -f4 |
			tail -n 2 >names
		cat names
		if [[ $(sed -n 2p names) == "$(sed -n 1p names)-2" ]]; then
			return 0
		fi
	done
	echo "no two backups in the same second after 20 tries"
	return 1
}

test_expect "snapshots of the same second are named as in the mount: -2 for the second" '
	same_second
	first=$(sed -n 1p names)
	second=$(sed -n 2p names)
	[[ $first =~ ^@[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}$ ]]
	test "$second" = "$first-2"
	expect_rc 0 cairn snapshots
	cat out
	test "$(grep -c "^[0-9a-f]\{8\}  $second  " out)" = 1
	test "$(grep -c "^[0-9a-f]\{8\}  $first  " out)" = 1
	# the name with no suffix is the first of that second, -2 the second
	expect_rc 0 cairn ls "$second"
	cat out
	grep -qx /tiny/second out
	not grep -q /tiny/first out
	expect_rc 0 cairn ls "$first"
	grep -qx /tiny/first out
	not grep -q /tiny/second out
	# the day is still the newest of that day
	expect_rc 0 cairn ls "${first:0:11}"
	grep -qx /tiny/second out
	# a -N that no folder has is not found; a malformed one is a usage error
	expect_rc 1 cairn ls "$first-3"
	grep -q "snapshot $first-3 not found" err
	expect_rc 1 cairn ls "$first-1"
	expect_rc 2 cairn ls "$first-x"
	grep -q "@YYYY-MM-DD\[-HHMMSS\[-N\]\]" err
'

test_expect "backup names the snapshot it made by its folder name, -2 included" '
	export CAIRN_REPO=file://$WORK/same
	second=$(sed -n 2p names)
	expect_rc 0 cairn snapshots --json
	grep -q "\"name\":\"$second\"" out
	# backups back to back until one falls in the same second as the one
	# before: its summary must say -2 as well
	for i in $(seq 20); do
		echo "$i" >tiny/third
		expect_rc 0 cairn --json backup tiny
		made=$(grep -o "\"name\":\"@[^\"]*\"" out | cut -d\" -f4)
		last=$(cairn snapshots --json | grep -o "\"name\":\"@[^\"]*\"" | cut -d\" -f4 | tail -n 1)
		echo "backup said $made, snapshots says $last"
		test "$made" = "$last"
		[[ $made == *-[0-9]*-[0-9] ]] && break
	done
	[[ $made =~ ^@[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}-[0-9]+$ ]]
'

test_done
