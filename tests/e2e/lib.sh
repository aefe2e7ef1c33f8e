# shellcheck shell=bash
# Library for end-to-end tests, written like git's t/tNNNN-*.sh:
#
#   #!/bin/bash
#   . "$(dirname "$0")/lib.sh"
#
#   test_expect "a backup restores to an identical tree" '
#       make_tree src
#       cairn init
#       cairn backup src
#       cairn restore latest --target out
#       compare_trees src out/src
#   '
#   test_expect_fail_exit 12 "a wrong password is refused" '
#       CAIRN_PASSWORD=wrong cairn snapshots
#   '
#   test_done
#
# Every body runs in its own subshell with `set -e`, stdin from /dev/null,
# from the work dir: files it makes stay for the next test, variables and
# `cd` do not.  set -e does not stop at a failing command left of && or ||
# or under if/!/while: write one command per line and assert with plain
# commands (test, grep -q, cmp, compare_trees).  A body that starts a
# daemon must send its output elsewhere (>log 2>&1), or the test waits for it.
#
# Environment on load: WORK (a fresh temp dir, the cwd), CAIRN_REPO
# (file://$WORK/repo), CAIRN_PASSWORD, XDG_CACHE_HOME, HOME and
# XDG_CONFIG_HOME inside WORK, TEST_ROOT (the repository), CAIRN (the binary,
# default $TEST_ROOT/cairn) and the function `cairn`.
# KEEP=1 keeps WORK; VERBOSE=1 shows the output of passing tests too.

TEST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 1
CAIRN=${CAIRN:-$TEST_ROOT/cairn}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-e2e.XXXXXX") || exit 1
cd "$WORK" || exit 1
mkdir -p "$WORK/home/.config" "$WORK/cache"
export TEST_ROOT CAIRN WORK
export CAIRN_REPO=file://$WORK/repo CAIRN_PASSWORD=test-password
export XDG_CACHE_HOME=$WORK/cache HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config

cairn() { "$CAIRN" "$@"; }

test_count_ok=0 test_count_fail=0 test_finished=0

# Run a body: sets test_output and test_status, whatever the caller's set -e.
test_run_() {
	local had_e=0
	[[ $- == *e* ]] && had_e=1
	set +e
	test_output=$( (set -e; eval "$1") 2>&1 </dev/null)
	test_status=$?
	if ((had_e)); then set -e; fi
	return 0
}

test_result_() { # PASSED DESCRIPTION BODY [WHY]
	if (($1)); then
		test_count_ok=$((test_count_ok + 1))
		echo "ok - $2"
		[[ -n ${VERBOSE:-} && -n $test_output ]] && printf '%s\n' "$test_output" | sed 's/^/#   /'
	else
		test_count_fail=$((test_count_fail + 1))
		echo "not ok - $2"
		{
			printf '%s\n' "$3" | sed '/^[[:space:]]*$/d'
			echo "--- output${4:+ ($4)}:"
			printf '%s\n' "$test_output"
		} | sed 's/^/#   /'
	fi
	return 0
}

# test_expect DESCRIPTION BODY: passes if BODY exits 0.
test_expect() {
	test_run_ "$2"
	test_result_ "$((test_status == 0))" "$1" "$2" "exit status $test_status"
}

# test_expect_fail_exit CODE DESCRIPTION BODY: passes only if BODY exits CODE.
test_expect_fail_exit() {
	test_run_ "$3"
	test_result_ "$((test_status == $1))" "$2" "$3" \
		"expected exit status $1, got $test_status"
}

test_cleanup_() {
	local st=$?
	cd / || true
	if ((!test_finished)); then
		echo "not ok - $(basename "$0") stopped before test_done (status $st)"
		st=1
	fi
	# Never leave a mount a test made behind, even with KEEP: a stale FUSE
	# mount hangs whatever walks the work dir next.
	local m
	while read -r _ m _; do
		[[ $m == "$WORK"/* ]] && { fusermount3 -uz "$m" || umount -l "$m"; } 2>/dev/null
	done </proc/mounts
	if [[ -n ${KEEP:-} && ${KEEP:-} != 0 ]]; then
		echo "# kept $WORK"
	else
		find "$WORK" -xdev -type d ! -perm -u=rwx -exec chmod u+rwx {} + 2>/dev/null
		rm -rf --one-file-system "$WORK"
	fi
	exit "$st"
}
trap test_cleanup_ EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# not CMD...: fail if CMD succeeds (under set -e, a line "! CMD" never
# fails a test).
not() {
	if "$@"; then
		echo "unexpectedly succeeded: $*"
		return 1
	fi
}

# expect_rc CODE CMD...: run CMD with stdout in ./out and stderr in ./err;
# fail (showing both) unless it exits CODE.
expect_rc() {
	local want=$1 st=0
	shift
	"$@" >out 2>err || st=$?
	if [[ $st != "$want" ]]; then
		echo "expected exit $want, got $st from: $*"
		echo "--- stdout:" && cat out
		echo "--- stderr:" && cat err
		return 1
	fi
}

# num FIELD < JSON: the first number FIELD has in JSON.
num() {
	grep -o "\"$1\":[0-9.]*" | head -n 1 | cut -d: -f2
}


# is_mounted DIR: DIR is a mount point in this namespace.
is_mounted() {
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# daemon_pid DIR: the pid(s) of the cairn process serving the mount at DIR.
daemon_pid() {
	pgrep -f -- "^$CAIRN (.* )?mount (.* )?$1\$"
}

# gone PID: process PID has ended (a zombie that init has not reaped yet
# counts: the daemon's parent is init, which may take its time).
gone() {
	local state
	state=$(awk "{ print \$3 }" "/proc/$1/stat" 2>/dev/null) || return 0
	[[ -z $state || $state == Z ]]
}

# wait_gone PID: wait up to 5 s for process PID to end.
wait_gone() {
	local i
	for i in $(seq 50); do
		gone "$1" && return 0
		sleep 0.1
	done
	echo "process $1 still running after 5 s"
	return 1
}

test_done() {
	echo "# $test_count_ok passed, $test_count_fail failed"
	test_finished=1
	((test_count_fail == 0))
	exit
}

# make_tree DIR: a tree with every case the engine must preserve.  Names,
# modes, owners and mtimes are fixed; contents are random.  Tests run as
# root; for others it leaves out foreign owners and the mode-0000 file.
make_tree() {
	mkdir -p "$1" && (
		set -e
		cd "$1"
		mkdir files names links hard hard/a hard/b modes deep empty special owners

		: >files/empty
		printf x >files/one-byte
		printf 'hello, cairn\n' >files/hello.txt
		head -c 102400 /dev/urandom >files/100k
		head -c 3145728 /dev/urandom >files/3m
		truncate -s 64M files/sparse
		head -c 4096 /dev/urandom |
			dd of=files/sparse bs=4096 seek=2560 conv=notrunc status=none
		printf old >files/pre-epoch
		printf future >files/y2100

		local p=deep i
		for i in $(seq -w 1 30); do p=$p/d$i; done
		mkdir -p "$p"
		echo bottom >"$p/leaf"

		local n
		for n in "with space" $'new\nline' $'tab\there' 'back\slash' \
			"single'quote" 'double"quote' -leading-dash - ' leading space' \
			'trailing space ' .hidden ... '*glob?[x]' '%s%n%d' \
			'naïve café 日本語 😀' $'raw\xffbyte' \
			"$(printf 'n%.0s' {1..255})" "$(printf 'é%.0s' {1..127})x"; do
			printf '%s\n' "$n" >"names/$n"
		done

		ln -s ../files/hello.txt links/relative
		ln -s /usr/share/doc links/absolute
		ln -s does/not/exist links/dangling
		ln -s ../deep links/to-dir
		ln -s loop links/loop
		ln -s $'odd target\nwith \xff' links/odd-target

		echo pair >hard/a/pair1
		ln hard/a/pair1 hard/b/pair2
		echo triple >hard/a/t1
		ln hard/a/t1 hard/b/t2
		ln hard/a/t1 hard/t3

		mkfifo special/fifo

		# Ownership first: chown clears set-id bits.
		echo owned >owners/file
		mkdir owners/dir
		echo inside >owners/dir/file
		ln -s file owners/link
		if ((EUID == 0)); then
			chown 1234:5678 owners/file owners/dir
			chown 5678:1234 owners/dir/file
			chown -h 1234:5678 owners/link
		fi

		local m modes=(0600 0755 0444 4755 2755)
		((EUID == 0)) && modes+=(0000) # others could not read it back
		for m in "${modes[@]}"; do
			echo "mode $m" >"modes/file$m"
			chmod "$m" "modes/file$m"
		done
		for m in 0700 0555 1777 2775; do
			mkdir "modes/dir$m"
			echo "in $m" >"modes/dir$m/file"
			chmod "$m" "modes/dir$m"
		done

		# Distinct mtimes to the nanosecond, children before parents.
		i=0
		find . -depth -print0 | while IFS= read -r -d '' p; do
			i=$((i + 1))
			printf -v n '%d.%09d' $((1700000000 + i * 3607)) \
				$(((123456789 + i * 1000003) % 1000000000))
			touch -h -d "@$n" "$p"
		done
		touch -h -d @-86400.5 files/pre-epoch
		touch -h -d @4102444800.000000001 files/y2100
	)
}

# tree_manifest DIR: one sorted line per entry (DIR itself is "."):
# path type mode uid:gid size mtime link-target sha256, byte-safe (printf %q
# in the C locale), then one "hardlinks:" line per group of paths that
# share an inode.  Directory sizes are left out (they depend on the fs).
tree_manifest() {
	[[ -d $1 ]] || { echo "tree_manifest: $1: not a directory" >&2; return 2; }
	(
		set -e
		export LC_ALL=C
		cd "$1"
		local -a rec=() files=()
		local -A sums=() links=()
		local i f h q l k line out=()
		while IFS= read -r -d '' f; do rec+=("$f"); done \
			< <(find . -printf '%P\0%y\0%m\0%U\0%G\0%s\0%T@\0%l\0%D:%i\0%n\0')
		for ((i = 0; i < ${#rec[@]}; i += 10)); do
			[[ ${rec[i + 1]} == f ]] && files+=("./${rec[i]}")
		done
		# One sha256sum for all files; -z: NUL-terminated, names unescaped.
		while IFS= read -r -d '' line; do
			h=${line%%  *} f=${line#*  }
			sums[$f]=$h
		done < <(((${#files[@]})) && printf '%s\0' "${files[@]}" | xargs -0 sha256sum -z --)
		for ((i = 0; i < ${#rec[@]}; i += 10)); do
			# path type mode uid gid size mtime link dev:ino nlink
			set -- "${rec[@]:i:10}"
			printf -v q '%q' "${1:-.}"
			h=- l=-
			case $2 in
			f)
				h=${sums[./$1]:?no checksum for $q}
				((${10} > 1)) && links[$9]+=$q$'\n'
				;;
			l) printf -v l '%q' "$8" ;;
			esac
			[[ $2 == f ]] || set -- "$1" "$2" "$3" "$4" "$5" - "${@:7}"
			printf -v line '%s\t%s\t%s\t%s:%s\t%s\t%s\t%s\t%s' \
				"$q" "$2" "$3" "$4" "$5" "$6" "$7" "$l" "$h"
			out+=("$line")
		done
		printf '%s\n' "${out[@]}" | sort
		for k in "${!links[@]}"; do
			[[ ${links[$k]} == *$'\n'*$'\n'* ]] || continue
			printf '%s' "${links[$k]}" | sort | paste -sd' ' | sed 's/^/hardlinks: /'
		done | sort
	)
}

# compare_trees A B: diff the manifests of two trees; non-zero on any
# difference (which it prints).
compare_trees() {
	local a b st=0
	a=$(mktemp) && b=$(mktemp) || return 2
	if tree_manifest "$1" >"$a" && tree_manifest "$2" >"$b"; then
		diff -u --label "$1" --label "$2" "$a" "$b" || st=$?
	else
		st=2
	fi
	rm -f "$a" "$b"
	return "$st"
}

# is_sparse FILE: fewer bytes allocated than half its size.
is_sparse() {
	local size blocks unit
	read -r size blocks unit < <(stat -c '%s %b %B' -- "$1") || return 2
	((blocks * unit < size / 2))
}
