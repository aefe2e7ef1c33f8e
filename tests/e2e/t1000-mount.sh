#!/bin/bash
# cairn mount: the root layout (@…-HHMMSS, day aliases, @latest), every
# snapshot folder equal to the tree it was taken of, copying out with cp
# and rsync, walking with find/du/ls/stat, EROFS for every write, a
# snapshot taken while mounted, concurrent readers, and unmounting with a
# file open.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Folder names are local time: a zone away from UTC by a non-whole hour
# (no tzdata needed) shows that the mount and date(1) agree on it.
export TZ=CRN-5:45
# shellcheck disable=SC2034 # used in the test bodies
M=$WORK/mnt    # the mount most tests use
# shellcheck disable=SC2034
M2=$WORK/mnt2  # a second mount with a small cache, for the readers

# snapshot_names: the folder of each snapshot, oldest first, worked out
# from `cairn snapshots --json` with date(1): local time, and "-2", "-3"
# for later snapshots of the same second.
snapshot_names() {
	local t n prev='' k=1
	cairn snapshots --json | grep -o '"time":"[^"]*"' | cut -d'"' -f4 |
		while read -r t; do date -d "$t" '+%s%N @%Y-%m-%d-%H%M%S'; done |
		sort -n | while read -r _ n; do
			if [[ $n == "$prev" ]]; then
				k=$((k + 1))
				echo "$n-$k"
			else
				prev=$n k=1
				echo "$n"
			fi
		done
}

# check_root: the mount's root lists exactly the snapshot folders (as
# directories), one alias per day and @latest (as symlinks), each alias
# pointing at the newest snapshot of its day; leaves the folders, oldest
# first, in ./names.
check_root() {
	local n d
	snapshot_names >names
	test -s names
	{
		cat names
		cut -c1-11 names | sort -u
		echo @latest
	} | LC_ALL=C sort >root.want
	find "$M" -mindepth 1 -maxdepth 1 -printf "%f\n" | LC_ALL=C sort >root.got
	diff -u root.want root.got
	# names sort in time order
	LC_ALL=C sort names | diff -u names -
	while read -r n; do
		test -d "$M/$n"
		test ! -L "$M/$n"
	done <names
	cut -c1-11 names | sort -u | while read -r d; do
		test -L "$M/$d"
		test "$(readlink "$M/$d")" = "$(grep "^$d-" names | tail -n 1)"
	done
	test -L "$M/@latest"
	test "$(readlink "$M/@latest")" = "$(tail -n 1 names)"
}

# count0: the number of NUL-terminated records on stdin.
count0() {
	tr -cd '\0' | wc -c
}

# erofs CMD...: CMD fails, saying "Read-only file system".
erofs() {
	if "$@" 2>erofs.err; then
		echo "unexpectedly succeeded: $*"
		return 1
	fi
	if ! grep -q "Read-only file system" erofs.err; then
		echo "$* failed, but not with EROFS:"
		cat erofs.err
		return 1
	fi
}

test_expect "two backups: a tree, then the same tree changed" '
	make_tree src
	cp -a src state1
	expect_rc 0 cairn init
	expect_rc 0 cairn backup src
	# content (same size, and a new size), new and removed entries, a
	# mode, an mtime, a link target, a new hardlink
	printf "changed, cairn\n" >src/files/hello.txt
	printf XXXXXXXX | dd of=src/files/3m bs=1 seek=1000000 conv=notrunc status=none
	touch -d "2001-02-03 04:05:06.123456789" src/files/3m
	head -c 8388608 /dev/urandom >src/files/big
	mkdir src/added
	echo added >src/added/file
	rm src/files/one-byte "src/names/with space"
	rmdir src/empty
	chmod 0640 src/files/100k
	ln -sfn ../files/3m src/links/relative
	ln src/files/100k src/hard/also-100k
	cp -a src state2
	expect_rc 0 cairn backup src
	not cmp -s state1/files/3m state2/files/3m
'

test_expect "mount returns once the folder answers and keeps a daemon" '
	mkdir "$M"
	expect_rc 0 cairn mount "$M"
	grep -qx "mounted $CAIRN_REPO at $M" out
	test ! -s err
	is_mounted "$M"
	grep -q " $M fuse.cairn " /proc/self/mounts
	test -n "$(daemon_pid "$M")"
	test -n "$(ls -A "$M")"
'

test_expect "the root holds the snapshot folders, day aliases and @latest" '
	check_root
	test "$(wc -l <names)" = 2
	cat root.got
'

test_expect "a snapshot folder has the snapshot's time and holds its sources" '
	check_root
	cairn snapshots --json | grep -o "\"time\":\"[^\"]*\"" | cut -d\" -f4 >times
	test "$(wc -l <times)" = 2
	i=0
	while read -r n; do
		i=$((i + 1))
		test "$(stat -c %Y "$M/$n")" = "$(date -d "$(sed -n "${i}p" times)" +%s)"
		test "$(ls -A "$M/$n")" = src
	done <names
'

test_expect "each snapshot shows its state: bytes, modes, owners, mtimes, links" '
	check_root
	compare_trees state1 "$M/$(sed -n 1p names)/src"
	compare_trees state2 "$M/$(sed -n 2p names)/src"
	# spot checks the manifest covers too, in other words
	s=$M/$(sed -n 1p names)/src
	test "$(stat -c "%a %u:%g %y" "$s/owners/file")" = "$(stat -c "%a %u:%g %y" state1/owners/file)"
	if ((EUID == 0)); then
		test "$(stat -c %u:%g "$s/owners/dir/file")" = 5678:1234
		test "$(stat -c %u:%g "$s/owners/link")" = 1234:5678
	fi
	test "$(stat -c %Y.%y "$s/files/pre-epoch")" = "$(stat -c %Y.%y state1/files/pre-epoch)"
	test "$(stat -c %y "$s/files/y2100")" = "$(stat -c %y state1/files/y2100)"
	test "$(stat -c %a "$s/modes/file4755")" = 4755
	test "$(readlink "$s/links/relative")" = ../files/hello.txt
	test "$(readlink "$M/@latest/src/links/relative")" = ../files/3m
	test "$(readlink "$s/links/odd-target")" = "$(readlink state1/links/odd-target)"
	test -p "$s/special/fifo"
	cmp "$s/files/hello.txt" state1/files/hello.txt
	cmp "$M/@latest/src/files/hello.txt" state2/files/hello.txt
	test -e "$s/files/one-byte"
	test ! -e "$M/@latest/src/files/one-byte"
	test -d "$s/empty"
	test ! -e "$M/@latest/src/empty"
'

test_expect "hardlinks share one inode number in the mount; others do not" '
	check_root
	for n in $(cat names); do
		s=$M/$n/src
		t1=$(stat -c %i "$s/hard/a/t1")
		test "$(stat -c %i "$s/hard/b/t2")" = "$t1"
		test "$(stat -c %i "$s/hard/t3")" = "$t1"
		test "$(stat -c %h "$s/hard/t3")" = 3
		p1=$(stat -c %i "$s/hard/a/pair1")
		test "$(stat -c %i "$s/hard/b/pair2")" = "$p1"
		test "$p1" != "$t1"
		# as many distinct inodes as the source has
		test "$(find "$s" -printf "%i\n" | sort -u | wc -l)" = \
			"$(find "state$(grep -nx "$n" names | cut -d: -f1)" -printf "%i\n" | sort -u | wc -l)"
	done
	s=$M/$(sed -n 2p names)/src
	test "$(stat -c %i "$s/hard/also-100k")" = "$(stat -c %i "$s/files/100k")"
	test "$(stat -c %h "$s/files/100k")" = 2
	s=$M/$(sed -n 1p names)/src
	test "$(stat -c %h "$s/files/100k")" = 1
'

test_expect "a sparse file reads back zeros; sizes and blocks are plausible" '
	check_root
	s=$M/$(sed -n 1p names)/src
	test "$(stat -c %s "$s/files/sparse")" = 67108864
	cmp -n 10485760 "$s/files/sparse" /dev/zero
	cmp -i 10485760:10485760 -n 4096 "$s/files/sparse" state1/files/sparse
	cmp -i 10489856:0 "$s/files/sparse" /dev/zero 2>&1 | grep -q "EOF on $s/files/sparse"
	cmp "$s/files/sparse" state1/files/sparse
	# no file claims more blocks than its size needs, none fewer than
	# its bytes unless it is sparse
	find "$s" -type f -printf "%b %s %p\n" >blocks
	test "$(wc -l <blocks)" -gt 20
	awk "\$1 * 512 >= \$2 + 512 { print \"too many blocks: \" \$0; bad = 1 }
	     \$1 * 512 < \$2 && \$3 !~ /sparse\$/ { print \"too few blocks: \" \$0; bad = 1 }
	     END { exit bad }" blocks
	# du sees the sizes: apparent size of all files and links, each inode
	# once, and of the directories, whatever size the mount gives them
	want=$(find state2 \( -type f -o -type l \) -printf "%i %s\n" | sort -u | awk "{ s += \$2 } END { print s }")
	dirs=$(find state2 -type d -print0 | count0)
	want=$((want + dirs * $(stat -c %s "$M/@latest/src")))
	test "$(du -sb "$M/@latest/src" | cut -f1)" = "$want"
	test "$(du -sk "$M/@latest/src" | cut -f1)" -ge $((want / 1024))
'

test_expect "statfs works and reports the repository size" '
	stat -f -c "%b %S %l %T" "$M" >statfs
	cat statfs
	read -r blocks bsize namemax type <statfs
	test "$blocks" -gt 0
	test "$namemax" = 255
	packs=$(find repo/data -type f -printf "%s\n" | awk "{ s += \$1 } END { print s }")
	test $((blocks * bsize)) -ge "$packs"
	test $((blocks * bsize)) -lt $((packs + bsize))
	df -P "$M" >df.out
	cat df.out
	test "$(awk "NR == 2 { print \$2 }" df.out)" -gt 0
'

test_expect "cp -a and rsync -aH copy snapshots out identical to their sources" '
	check_root
	cp -a "$M/@latest/src" out-cp
	compare_trees state2 out-cp
	rsync -aH "$M/$(sed -n 1p names)/src/" out-rsync/
	compare_trees state1 out-rsync
	rm -rf out-cp out-rsync
'

test_expect "find, du, ls -lR and stat walk the whole mount" '
	check_root
	ndays=$(cut -c1-11 names | sort -u | wc -l)
	n1=$(find state1 -print0 | count0)
	n2=$(find state2 -print0 | count0)
	# the root, per snapshot its folder and its tree, the aliases, @latest
	find "$M" -print0 >find.out
	test "$(count0 <find.out)" = $((1 + 2 + n1 + n2 + ndays + 1))
	# find -L follows @latest and the aliases into their snapshots
	test "$(find -L "$M" -mindepth 1 -maxdepth 1 -type d | wc -l)" = $((2 + ndays + 1))
	du -s "$M" >du.out
	test "$(cut -f1 du.out)" -gt 0
	ls -lRbA "$M" >ls.out
	# as many files, fifos and links (plus the aliases and @latest)
	ls -lRbA state1 state2 >ls.states
	test "$(grep -c "^-" ls.out)" = "$(grep -c "^-" ls.states)"
	test "$(grep -c "^p" ls.out)" = "$(grep -c "^p" ls.states)"
	test "$(grep -c "^l" ls.out)" = $(($(grep -c "^l" ls.states) + ndays + 1))
	# per snapshot, ls shows what it shows of the source (but the size and
	# link count of directories)
	i=0
	while read -r n; do
		i=$((i + 1))
		(cd "$M/$n/src" && ls -lRbA --time-style=+%s.%N .) >ls.got
		(cd "state$i" && ls -lRbA --time-style=+%s.%N .) >ls.want
		for f in ls.got ls.want; do
			awk "/^total / { next } /^d/ { \$2 = \"-\"; \$5 = \"-\" } { \$1 = \$1; print }" $f >$f.n
		done
		diff -u ls.want.n ls.got.n
	done <names
	xargs -0 stat --printf "%n %a %s %Y %i\0" -- <find.out >stat.out
	test "$(count0 <stat.out)" = "$(count0 <find.out)"
	# a deep path and a 255-byte name, straight from the root
	s=$M/@latest/src
	test "$(cat "$s"/deep/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/d*/leaf)" = bottom
	long=$(printf "n%.0s" {1..255})
	test "$(cat "$s/names/$long")" = "$long"
	not ls "$s/names/${long}n" 2>/dev/null
'

test_expect "every write fails with EROFS and changes nothing" '
	check_root
	s=$M/@latest/src
	f=$s/files/hello.txt
	first=$M/$(sed -n 1p names)
	erofs touch "$f"
	erofs touch -d @0 "$f"
	erofs sh -c "echo x >\"\$1\"" - "$f"
	erofs sh -c "echo x >>\"\$1\"" - "$f"
	erofs truncate -s 0 "$f"
	erofs mkdir "$s/newdir"
	erofs rm "$f"
	erofs rmdir "$first/src/empty"
	erofs rm -r "$s/added"
	erofs mv "$f" "$s/files/moved"
	erofs mv "$f" "$first/src/files/hello.txt"
	erofs chmod 600 "$f"
	erofs chown 1:1 "$f"
	erofs ln -s x "$s/newlink"
	erofs ln "$f" "$s/newhard"
	erofs touch "$s/newfile"
	erofs cp state1/files/one-byte "$s/files/"
	erofs mkfifo "$s/newfifo"
	if command -v setfattr >/dev/null; then
		erofs setfattr -n user.x -v 1 "$f"
	fi
	# the root
	erofs touch "$M/newfile"
	erofs mkdir "$M/@2000-01-01-000000"
	erofs rm "$M/@latest"
	erofs ln -sfn "$(sed -n 1p names)" "$M/@latest"
	erofs mv "$first" "$M/renamed"
	erofs rmdir "$first"
	erofs chmod 700 "$first"
	erofs touch "$first"
	erofs ln -s x "$M/newlink"
	# nothing changed
	compare_trees state2 "$s"
	test -d "$first/src/empty"
	ls -A "$M" | LC_ALL=C sort | diff -u root.want -
	cmp "$f" state2/files/hello.txt
'

test_expect "a backup taken while mounted appears within 5 s as @latest" '
	check_root
	day=$(tail -n 1 names | cut -c1-11)
	readlink -v "$M/$day" >/dev/null # the kernel now holds the alias
	echo third >src/files/third
	printf "more\n" >>src/files/hello.txt
	cp -a src state3
	expect_rc 0 cairn backup src
	third=$(snapshot_names | tail -n 1)
	test "$third" != "$(tail -n 1 names)"
	# while waiting, the day alias must keep resolving (to the old or
	# the new snapshot) and never vanish
	seen=0
	for i in $(seq 100); do
		readlink -v "$M/$day" >/dev/null
		if [[ $(readlink "$M/@latest") == "$third" ]]; then seen=1; break; fi
		sleep 0.05
	done
	test "$seen" = 1
	check_root
	test "$(wc -l <names)" = 3
	test "$(tail -n 1 names)" = "$third"
	compare_trees state3 "$M/@latest/src"
	cmp "$M/@latest/src/files/third" state3/files/third
	# the older ones did not move
	compare_trees state1 "$M/$(sed -n 1p names)/src"
	compare_trees state2 "$M/$(sed -n 2p names)/src"
'

test_expect "eight concurrent readers, same file and different files, get the right bytes" '
	mkdir "$M2"
	# a fresh daemon with a 1 MiB cache: cold, and evicting all the time
	expect_rc 0 cairn mount --cache-size 1M "$M2"
	snapshot_names >names
	s1=$M2/$(sed -n 1p names)/src s3=$M2/$(sed -n 3p names)/src
	pids=()
	for i in 1 2 3 4; do
		cmp "$s3/files/big" state3/files/big &
		pids+=($!)
	done
	cmp "$s1/files/3m" state1/files/3m & pids+=($!)
	cmp "$s3/files/3m" state3/files/3m & pids+=($!)
	cmp "$s1/files/sparse" state1/files/sparse & pids+=($!)
	cmp "$s1/files/100k" state1/files/100k & pids+=($!)
	test "${#pids[@]}" = 8
	failed=0
	for p in "${pids[@]}"; do
		wait "$p" || failed=$((failed + 1))
	done
	test "$failed" = 0
'

test_expect "eight concurrent readers at scattered offsets get the right bytes" '
	snapshot_names >names
	s=$M2/$(sed -n 2p names)/src
	pids=()
	for i in 0 1 2 3 4 5 6 7; do
		off=$(((7 - i) * 1048576 + i * 4099))
		(
			dd if="$s/files/big" bs=65536 iflag=skip_bytes,count_bytes \
				skip="$off" count=300000 status=none >"slice$i"
			dd if=state2/files/big bs=65536 iflag=skip_bytes,count_bytes \
				skip="$off" count=300000 status=none | cmp - "slice$i"
			test "$(stat -c %s "slice$i")" = 300000
		) &
		pids+=($!)
	done
	failed=0
	for p in "${pids[@]}"; do
		wait "$p" || failed=$((failed + 1))
	done
	test "$failed" = 0
	rm -f slice*
	pid=$(daemon_pid "$M2")
	expect_rc 0 cairn umount "$M2"
	not is_mounted "$M2"
	wait_gone "$pid"
'

test_expect "umount with a file open detaches; the daemon ends when it is closed" '
	pid=$(daemon_pid "$M")
	test -n "$pid"
	exec 3<"$M/@latest/src/files/big"
	expect_rc 0 cairn umount "$M"
	cat err
	grep -q "busy" err
	not is_mounted "$M"
	# the open file still reads, from the daemon that still runs
	not gone "$pid"
	cmp - state3/files/big <&3
	exec 3<&-
	wait_gone "$pid"
	not is_mounted "$M"
	test -z "$(ls -A "$M")"
'

test_expect "the mount log holds no error" '
	cat "$XDG_CACHE_HOME/cairn/mount.log" || true
	not grep -q "error" "$XDG_CACHE_HOME/cairn/mount.log"
'

test_done
