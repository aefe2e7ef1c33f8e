#!/bin/bash
# cairn mount when things go wrong: a wrong password, no repository, a bad
# mount point, usage errors, a stale mount, a damaged pack (EIO for that
# file only, named in the log), and stopping a mount by signal or by
# fusermount3.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

M=$WORK/mnt
# shellcheck disable=SC2034 # used in the test bodies
LOG=$XDG_CACHE_HOME/cairn/mount.log

# mounts_under_work: how many mounts there are below $WORK.
mounts_under_work() {
	awk -v w="$WORK/" 'index($5, w) == 1 { n++ } END { print n + 0 }' /proc/self/mountinfo
}

# wait_answers DIR: wait up to 5 s for a mount at DIR that lists @latest.
wait_answers() {
	local i
	for i in $(seq 50); do
		if is_mounted "$1" && [[ -L $1/@latest ]]; then return 0; fi
		sleep 0.1
	done
	echo "$1: no answering mount after 5 s"
	return 1
}

# flip_middle FILE: invert the byte in the middle of FILE.
flip_middle() {
	local size off b
	size=$(stat -c %s "$1")
	off=$((size / 2))
	b=$(od -An -tu1 -j "$off" -N 1 "$1" | tr -d ' ')
	printf %b "\\$(printf %03o $((b ^ 255)))" |
		dd of="$1" bs=1 seek="$off" conv=notrunc status=none
}

# packs REPO: the pack files of a repository, one path a line, sorted.
packs() {
	find "$1/data" -type f | sort
}

# fresh_mount_point: a failed test may have left $M mounted; detach it so
# that the next one starts clean (the failure is already reported).
fresh_mount_point() {
	if is_mounted "$M"; then fusermount3 -uz "$M"; fi
}

# stop_foreground SIGNAL CMD...: start CMD (a foreground mount of $M) in the
# background, wait until the mount answers, send SIGNAL, and expect the
# process to unmount and exit 0.
stop_foreground() {
	local sig=$1 pid st=0
	shift
	fresh_mount_point
	"$@" >fg.out 2>fg.err &
	pid=$!
	wait_answers "$M"
	test "$(daemon_pid "$M")" = "$pid"
	kill -s "$sig" "$pid"
	if ! wait_gone "$pid"; then
		kill -9 "$pid"
		return 1
	fi
	wait "$pid" || st=$?
	echo "exit status $st after SIG$sig"
	cat fg.out fg.err
	not is_mounted "$M"
	test -z "$(ls -A "$M")"
	test ! -s fg.out
	test "$st" = 0
}

test_expect "a repository with a snapshot" '
	mkdir -p src/sub "$M"
	echo hello >src/hello
	echo deeper >src/sub/file
	expect_rc 0 cairn init
	expect_rc 0 cairn backup src
'

test_expect "a wrong password exits 12 with one line and mounts nothing" '
	expect_rc 12 env CAIRN_PASSWORD=wrong "$CAIRN" mount "$M"
	cat err
	test "$(wc -l <err)" = 1
	grep -q "wrong password" err
	test ! -s out
	not is_mounted "$M"
	test -z "$(daemon_pid "$M")"
	test -z "$(ls -A "$M")"
'

test_expect "no repository there exits 10 and mounts nothing" '
	expect_rc 10 env CAIRN_REPO="file://$WORK/nothing-here" "$CAIRN" mount "$M"
	cat err
	grep -q "no cairn repository" err
	grep -qF "$WORK/nothing-here" err
	test ! -e nothing-here
	not is_mounted "$M"
	test -z "$(daemon_pid "$M")"
'

test_expect "a mount point that is missing or not a directory is named" '
	expect_rc 1 cairn mount "$WORK/nowhere"
	cat err
	grep -qF "$WORK/nowhere: No such file or directory" err
	test ! -e nowhere
	echo file >plain
	expect_rc 1 cairn mount "$WORK/plain"
	cat err
	grep -qF "$WORK/plain: not a directory" err
	test "$(cat plain)" = file
	test "$(mounts_under_work)" = 0
'

test_expect "a non-empty directory is refused, and accepted with -o nonempty" '
	mkdir full
	echo keep >full/keep
	expect_rc 1 cairn mount "$WORK/full"
	cat err
	grep -q "not empty" err
	grep -q -- "-o nonempty" err
	not is_mounted "$WORK/full"
	test "$(cat full/keep)" = keep
	expect_rc 0 cairn mount -o nonempty "$WORK/full"
	is_mounted "$WORK/full"
	test ! -e full/keep
	test -L full/@latest
	cmp full/@latest/src/hello src/hello
	expect_rc 0 cairn umount "$WORK/full"
	not is_mounted "$WORK/full"
	test "$(cat full/keep)" = keep
'

test_expect "mounting twice on one mount point is refused" '
	expect_rc 0 cairn mount "$M"
	pid=$(daemon_pid "$M")
	test -n "$pid"
	expect_rc 1 cairn mount "$M"
	cat err
	grep -q "already mounted" err
	expect_rc 1 cairn mount -o nonempty "$M"
	grep -q "already mounted" err
	test "$(mounts_under_work)" = 1
	test "$(daemon_pid "$M")" = "$pid"
	cmp "$M/@latest/src/sub/file" src/sub/file
	expect_rc 0 cairn umount "$M"
	wait_gone "$pid"
	test "$(mounts_under_work)" = 0
'

test_expect "usage errors exit 2 and mount nothing" '
	expect_rc 2 cairn mount
	grep -q "^usage: cairn mount MOUNTPOINT" err
	expect_rc 2 cairn mount "$M" "$WORK/full"
	grep -q "^usage: cairn mount" err
	expect_rc 2 cairn mount --cache-size abc "$M"
	grep -q -- "--cache-size abc" err
	expect_rc 2 cairn mount --cache-size 10 "$M"
	grep -q -- "--cache-size 10" err
	expect_rc 2 cairn mount --cache-size
	expect_rc 2 cairn mount -o bogus "$M"
	grep -q -- "-o bogus" err
	expect_rc 2 cairn mount --frobnicate "$M"
	expect_rc 2 cairn umount
	grep -q "^usage: cairn umount" err
	expect_rc 2 cairn umount "$M" "$WORK/full"
	test "$(mounts_under_work)" = 0
	test -z "$(daemon_pid "$M")"
'

test_expect "umount of a directory that is not mounted fails and says so" '
	expect_rc 1 cairn umount "$M"
	cat err
	grep -qF "$M" err
	expect_rc 1 cairn umount "$WORK/nowhere"
'

test_expect "a stale mount is named; umount clears it and a new mount works" '
	expect_rc 0 cairn mount "$M"
	pid=$(daemon_pid "$M")
	kill -9 "$pid"
	wait_gone "$pid"
	not ls "$M" 2>ls.err
	grep -q "Transport endpoint is not connected" ls.err
	expect_rc 1 cairn mount "$M"
	cat err
	grep -q "stale mount" err
	grep -qF "cairn umount $M" err
	expect_rc 0 cairn umount "$M"
	not is_mounted "$M"
	expect_rc 0 cairn mount "$M"
	cmp "$M/@latest/src/hello" src/hello
	expect_rc 0 cairn umount "$M"
	test "$(mounts_under_work)" = 0
'

test_expect "-r, --password-file and --cache-dir reach the daemon; its log goes there" '
	fresh_mount_point
	printf "%s\n" "$CAIRN_PASSWORD" >pw
	expect_rc 0 env -u CAIRN_REPO -u CAIRN_PASSWORD "$CAIRN" -r "file://$WORK/repo" \
		--password-file pw --cache-dir "$WORK/other-cache" mount "$M"
	pid=$(daemon_pid "$M")
	test -n "$pid"
	cmp "$M/@latest/src/hello" src/hello
	test -f other-cache/mount.log
	# the daemon found the repository and password without the environment
	tr "\0" "\n" <"/proc/$pid/environ" >environ
	not grep -q "^CAIRN_REPO=" environ
	not grep -q "^CAIRN_PASSWORD=" environ
	expect_rc 0 cairn umount "$M"
	wait_gone "$pid"
'

# ---- a damaged pack ----

test_expect "two files backed up one after the other land in separate packs" '
	export CAIRN_REPO=file://$WORK/repo2
	expect_rc 0 cairn init
	mkdir two
	# 6 MiB each: at least two chunks (the most a chunk holds is 4 MiB)
	head -c 6291456 /dev/urandom >two/a
	packs repo2 >packs.0
	expect_rc 0 cairn backup two
	packs repo2 >packs.1
	head -c 6291456 /dev/urandom >two/b
	expect_rc 0 cairn backup two
	packs repo2 >packs.2
	# the data pack of the first backup holds a; the second has its own
	comm -13 packs.0 packs.1 | xargs stat -c "%s %n" | sort -n | tail -n 1 >pack-a
	cat pack-a
	test "$(cut -d" " -f1 pack-a)" -gt 6000000
	cut -d" " -f2 pack-a >pack-a.path
	comm -13 packs.1 packs.2 | xargs stat -c "%s %n" | sort -n | tail -n 1 >pack-b
	test "$(cut -d" " -f1 pack-b)" -gt 6000000
	test "$(cut -d" " -f2 pack-b)" != "$(cat pack-a.path)"
'

test_expect "a damaged chunk gives EIO for its file only, named in the log" '
	export CAIRN_REPO=file://$WORK/repo2
	p=$(cat pack-a.path)
	id=$(basename "$p")
	flip_middle "$p"
	: >"$LOG"
	fresh_mount_point
	expect_rc 0 cairn mount "$M"
	f=$M/@latest/two/a
	not cat "$f" >/dev/null 2>cat.err
	cat cat.err
	grep -q "Input/output error" cat.err
	# the file is fine up to and after the damaged chunk: 256 KiB blocks
	# read back right or fail with EIO, and both happen
	good=0 bad=0
	for i in $(seq 0 23); do
		if dd if="$f" bs=262144 skip="$i" count=1 iflag=fullblock status=none >blk 2>dd.err; then
			dd if=two/a bs=262144 skip="$i" count=1 status=none | cmp - blk
			good=$((good + 1))
		else
			grep -q "Input/output error" dd.err
			bad=$((bad + 1))
		fi
	done
	echo "$good blocks read, $bad failed"
	test "$good" -gt 0
	test "$bad" -gt 0
	# the other file reads right, in both snapshots where it is
	cmp "$M/@latest/two/b" two/b
	# the log names the pack (and the blob)
	cat "$LOG"
	grep -q "blob [0-9a-f]\{64\} in pack $id: " "$LOG"
	# still answering, and still failing the same way
	test -L "$M/@latest"
	ls "$M/@latest/two" >/dev/null
	not cat "$f" >/dev/null 2>/dev/null
	not cmp -s "$M/$(ls "$M" | grep -- "-[0-9]\{6\}\$" | head -n 1)/two/a" two/a
	cmp "$M/@latest/two/b" two/b
	expect_rc 0 cairn umount "$M"
	not is_mounted "$M"
'

# ---- stopping ----

test_expect "--foreground: SIGTERM unmounts, and the process exits 0" '
	stop_foreground TERM "$CAIRN" mount --foreground "$M"
'

# A background job of a script starts with SIGINT ignored, and libfuse
# leaves an ignored signal alone (as a shell user would expect): give the
# mount the default disposition, as a terminal would.
test_expect "--foreground: SIGINT unmounts, and the process exits 0" '
	stop_foreground INT env --default-signal=INT "$CAIRN" mount --foreground "$M"
'

test_expect "fusermount3 -u unmounts a background mount and its process exits" '
	fresh_mount_point
	expect_rc 0 cairn mount "$M"
	pid=$(daemon_pid "$M")
	test -n "$pid"
	fusermount3 -u "$M"
	not is_mounted "$M"
	wait_gone "$pid"
	test -z "$(ls -A "$M")"
'

test_done
