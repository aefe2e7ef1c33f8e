#!/bin/bash
# The mount's on-disk read cache: kept chunks are served without the
# destination, --cache-size caps it, a local destination is read directly
# unless a size is given, and a damaged entry is read again.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# chunks_bytes: bytes of the entries in the read cache (0 if there is none).
chunks_bytes() {
	local d
	for d in cache/cairn/*/chunks; do
		[[ -d $d ]] || continue
		find "$d" -type f ! -name lock -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
		return
	done
	echo 0
}

# unmount_wait: unmounts mnt and waits for the daemon's closing log line.
unmount_wait() {
	local n
	n=$(grep -c "read cache:" cache/cairn/mount.log 2>/dev/null || true)
	cairn umount mnt
	for _ in $(seq 50); do
		(($(grep -c "read cache:" cache/cairn/mount.log 2>/dev/null || true) > ${n:-0})) && return
		sleep 0.1
	done
	echo "no read-cache line in the log after unmounting"
	return 1
}

test_expect "set-up: a repository with two random files" '
	mkdir -p src mnt
	head -c 6000000 /dev/urandom >src/a
	head -c 3000000 /dev/urandom >src/b
	cairn init >/dev/null
	cairn backup src >/dev/null
'

test_expect "a local destination is read directly by default" '
	cairn mount mnt >/dev/null
	cmp src/a mnt/@latest/src/a
	cairn umount mnt
	test ! -d cache/cairn/*/chunks
'

test_expect "with --cache-size the chunks read are kept on disk" '
	cairn mount --cache-size 64M mnt >/dev/null
	cmp src/a mnt/@latest/src/a
	unmount_wait
	bytes=$(chunks_bytes)
	test "$bytes" -ge 6000000
	test "$bytes" -le 6300000
	tail -n 1 cache/cairn/mount.log | grep -q "0 hits, [1-9][0-9]* misses"
'

test_expect "kept chunks are read without the destination" '
	mv repo/data repo/data.away
	cairn mount --cache-size 64M mnt >/dev/null
	cmp src/a mnt/@latest/src/a
	not cat mnt/@latest/src/b >/dev/null 2>&1
	unmount_wait
	mv repo/data.away repo/data
	grep "read cache:" cache/cairn/mount.log | tail -n 1 | grep -q " [1-9][0-9]* hits, [1-9][0-9]* misses"
'

test_expect "--cache-size caps the cache, dropping the oldest" '
	cairn mount --cache-size 4M mnt >/dev/null
	cmp src/b mnt/@latest/src/b
	cmp src/a mnt/@latest/src/a
	unmount_wait
	test "$(chunks_bytes)" -le 4194304
	grep "read cache:" cache/cairn/mount.log | tail -n 1 | grep -q " [1-9][0-9]* evicted"
'

test_expect "a damaged cache entry is read again from the destination" '
	cairn mount --cache-size 64M mnt >/dev/null
	cmp src/b mnt/@latest/src/b
	unmount_wait
	for f in cache/cairn/*/chunks/data*; do
		printf "\377\377\377\377" | dd of="$f" bs=1 seek=1000 conv=notrunc status=none
	done
	cairn mount --cache-size 64M mnt >/dev/null
	cmp src/b mnt/@latest/src/b
	unmount_wait
	grep -q "read cache .*: damaged; reading the destination" cache/cairn/mount.log
	grep "read cache:" cache/cairn/mount.log | tail -n 1 | grep -q " [1-9][0-9]* damaged"
'

test_expect "--cache-size 0 turns the cache off" '
	rm -rf cache/cairn/*/chunks
	cairn mount --cache-size 0 mnt >/dev/null
	cmp src/a mnt/@latest/src/a
	cairn umount mnt
	test ! -d cache/cairn/*/chunks
'

test_expect_fail_exit 2 "a --cache-size below 1M is refused" '
	cairn mount --cache-size 1000 mnt
'

test_done
