# shellcheck shell=bash
# The mount part of scripts/bench: cairn mount vs restic mount vs borg mount.
# Sourced by scripts/bench (not run on its own); its header says what is
# measured.  It uses scripts/bench's settings and helpers (WORK, DATA, TOOLS,
# RUNS, CAIRN, PW, cold, tool_env, restored_root, median, ...).
# shellcheck disable=SC2154,SC2034 # variables set by scripts/bench, or read by it

M_TIMEOUT=1800 # seconds for one timed operation (a hung mount fails, not hangs)
M_READY=120    # seconds a mount may take to answer
M_STEPS=(mls cold warm lsr cp)
declare -A M_NAME=([mls]="mount -> first ls" [cold]="cold read 96 MiB" [warm]="warm re-read"
	[lsr]="ls -lR (cold)" [cp]="cp -a subtree")
declare -A MW MRSS MPEAK # tool:step -> wall seconds; tool:step -> VmHWM KiB; tool -> peak KiB per run
M_MOUNTS=()              # every mountpoint used (the EXIT trap unmounts them all)
M_PIDS=()                # every mount process started (the trap ends those left)
MPID=""                  # the current mount process (restic/borg: our child; cairn: its daemon)
M_SUB="" M_SUB_BYTES=0   # the subtree copied with cp -a
M_CACHE_GONE=0           # bytes of cairn's on-disk chunk cache deleted before cold steps

re_escape() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }

alive() { # pid: running (not gone, not a zombie)
	local st
	[[ -r /proc/$1/stat ]] || return 1
	read -r st <"/proc/$1/stat" 2>/dev/null || return 1
	st=${st##*) }
	[[ ${st%% *} != Z ]]
}

m_mounted() { awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo; }

hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# timeit cmd...: runs it, TI = wall seconds; returns the command's status.
timeit() {
	local t0 t1 rc=0
	t0=${EPOCHREALTIME/,/.}
	"$@" || rc=$?
	t1=${EPOCHREALTIME/,/.}
	TI=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	return "$rc"
}

# The subtree of the data set closest to 130 MB among those of small files.
m_pick_subtree() {
	local d b n best="" bestd=-1 dist
	for d in "$DATA"/*/; do
		d=${d%/}
		b=$(du -sb "$d" | cut -f1) n=$(file_count "$d")
		((n > 0 && b / n < 262144)) || continue # small files: mean < 256 KiB
		dist=$((b > 130000000 ? b - 130000000 : 130000000 - b))
		if ((bestd < 0 || dist < bestd)); then best=$d bestd=$dist M_SUB_BYTES=$b; fi
	done
	[[ -n $best ]] || die "no subtree of small files in $DATA for the cp -a step"
	M_SUB=${best##*/}
	echo "mount:   cp -a subtree: $M_SUB ($(mb "$M_SUB_BYTES") MB, $(file_count "$best") files," \
		"$(entry_count "$best") entries; the one closest to 130 MB)"
}

# m_snapdir tool -> the folder of the first backup's snapshot inside the mount
# (ENV set by tool_env).
m_snapdir() {
	local first='import json, sys; s = json.load(sys.stdin); print(min(s, key=lambda x: x["time"])[sys.argv[1]])'
	case $1 in
	cairn) "${ENV[@]}" "$CAIRN" snapshots --json | python3 -c "$first" name ;;
	restic) printf 'ids/%s\n' "$("${ENV[@]}" restic snapshots --json | python3 -c "$first" short_id)" ;;
	borg) echo backup1 ;;
	esac
}

# m_start tool mnt log: starts the mount, sets MPID.  cairn mount returns once
# mounted (its daemon is found by its command line); restic and borg (-f)
# stay in the foreground, so they run in the background here.
m_start() {
	local tool=$1 mnt=$2 log=$3
	MPID=""
	case $tool in
	cairn)
		"${ENV[@]}" "$CAIRN" mount "$mnt" >>"$log" 2>&1 || return 1
		MPID=$(pgrep -x -f -- "$(re_escape "$CAIRN mount $mnt")" | head -n 1) || true
		if [[ -z $MPID ]]; then
			echo "cairn mount returned, but no daemon with the command line '$CAIRN mount $mnt'" >>"$log"
			return 1
		fi
		;;
	restic) "${ENV[@]}" restic mount "$mnt" >>"$log" 2>&1 & MPID=$! ;;
	borg) "${ENV[@]}" borg mount -f :: "$mnt" >>"$log" 2>&1 & MPID=$! ;;
	esac
	M_PIDS+=("$MPID")
	return 0
}

# m_ready mnt path: polls 'ls MNT/PATH' until it answers (the mount process
# must stay alive meanwhile).
m_ready() {
	local end=$((SECONDS + M_READY))
	while ((SECONDS < end)); do
		timeout 30 ls "$1/$2" >/dev/null 2>&1 && return 0
		alive "$MPID" || return 1
		sleep 0.01
	done
	return 1
}

# m_stop mnt: unmounts and waits for the mount process to end (then TERM,
# then KILL, by pid).
m_stop() {
	local mnt=$1 i
	if m_mounted "$mnt"; then
		for ((i = 0; i < 20; i++)); do
			fusermount3 -u "$mnt" 2>/dev/null && break
			sleep 0.25
		done
		((i < 20)) || fusermount3 -uz "$mnt" 2>/dev/null || true
	fi
	[[ -n $MPID ]] || return 0
	for ((i = 0; i < 300; i++)); do
		alive "$MPID" || break
		sleep 0.1
	done
	if alive "$MPID"; then
		echo "  note: mount process $MPID still there 30 s after unmounting; killing it"
		kill -TERM "$MPID" 2>/dev/null || true
		sleep 5
		alive "$MPID" && kill -KILL "$MPID" 2>/dev/null
	fi
	wait "$MPID" 2>/dev/null || true # reap restic/borg (our children)
	MPID=""
}

# The EXIT trap's part: nothing mounted, no mount process left.
m_cleanup() {
	local m p
	for m in "${M_MOUNTS[@]}"; do fusermount3 -uz "$m" 2>/dev/null || true; done
	for p in "${M_PIDS[@]}" $(pgrep -f -- "^$(re_escape "$CAIRN") mount " 2>/dev/null); do
		alive "$p" || continue
		kill -TERM "$p" 2>/dev/null || true
		sleep 1
		alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# Before a cold step: cairn's on-disk chunk cache must be empty too (its
# catalog stays, as restic's cache of trees and indexes does).
m_cold() { # dir
	local c
	cold
	for c in "$1"/cache/cairn/*/chunks; do
		[[ -d $c ]] || continue
		M_CACHE_GONE=$((M_CACHE_GONE + $(du -sb "$c" | cut -f1)))
		rm -rf "$c"
	done
}

m_fail() { # label log...: a failed step
	local f
	echo "  FAILED: $1"
	shift
	for f in "$@"; do [[ -s $f ]] && tail -n 12 "$f" | sed 's/^/    | /'; done
	FAILED=$((FAILED + 1))
	return 0
}

m_line() { # label seconds [bytes] [rss-kib]
	printf '  %-28s %8.3f s' "$1" "$2"
	if [[ -n ${3:-} ]]; then printf '  %8.1f MB/s' "$(awk -v b="$3" -v s="$2" 'BEGIN { print (s > 0) ? b / 1e6 / s : 0 }')"; else printf '  %13s' ""; fi
	[[ -n ${4:-} ]] && printf '   mount RSS %7.1f MB' "$(rss_mb "$4")"
	echo
}

m_record() { # tool step seconds [rss-kib]
	MW[$1:$2]+="$3 "
	[[ -n ${4:-} ]] && MRSS[$1:$2]+="$4 "
	return 0
}

# m_rereads file: TI = the median of M_REREADS back-to-back reads of a file
# already read once (a ~20 ms step: one sample is mostly noise).  The same
# wrapper (timeout) for every tool and ext4.  Returns non-zero on a failure.
M_REREADS=5
m_rereads() {
	local i reads=() rc=0
	for ((i = 0; i < M_REREADS; i++)); do
		timeit timeout "$M_TIMEOUT" cat "$1" >/dev/null || rc=$?
		((rc == 0)) || return "$rc"
		reads+=("$TI")
	done
	TI=$(printf '%s\n' "${reads[@]}" | sort -n | sed -n "$(((M_REREADS + 1) / 2))p")
}

# m_ext4 tag: the same reads, listing and copy straight from the data set.
m_ext4() {
	local tag=$1 f=$DATA/random.bin dst=$WORK/cp-ext4-$1
	cold
	timeit timeout "$M_TIMEOUT" cat "$f" >/dev/null
	m_record ext4 cold "$TI"
	m_line "ext4-$tag cold read" "$TI" "$RANDOM_BYTES"
	m_rereads "$f"
	m_record ext4 warm "$TI"
	m_line "ext4-$tag second read" "$TI" "$RANDOM_BYTES"
	cold
	timeit ls -lR "$DATA" >/dev/null
	m_record ext4 lsr "$TI"
	m_line "ext4-$tag ls -lR" "$TI"
	rm -rf "$dst"
	mkdir -p "$dst"
	cold
	timeit cp -a "$DATA/$M_SUB" "$dst/"
	m_record ext4 cp "$TI"
	m_line "ext4-$tag cp -a $M_SUB" "$TI" "$M_SUB_BYTES"
	rm -rf "$dst"
}

# m_tool tool tag dir: the sequence on one repository (tag: the run number,
# for the labels).  Every step has its own fresh mount after dropping the
# page cache (the warm re-read shares the cold read's), waited for with
# 'ls MOUNT/<snapshot>'; each mount process's VmHWM is read before it is
# unmounted.
m_tool() {
	local tool=$1 tag=$2 dir=$3 mnt=$WORK/mnt-$1 snap rel root peak=0 h rc
	local log=$WORK/mount-$tool-$tag.log dlog=$dir/cache/cairn/mount.log
	tool_env "$tool" "$dir"
	if [[ ! -d $dir/repo ]] || ! snap=$(m_snapdir "$tool" 2>"$log") || [[ -z $snap ]]; then
		m_fail "$tool-$tag: no repository or snapshot to mount in $dir" "$log"
		return 0
	fi
	mkdir -p "$mnt"
	[[ " ${M_MOUNTS[*]} " == *" $mnt "* ]] || M_MOUNTS+=("$mnt")
	: >"$log"

	# 1. mount -> first ls
	m_cold "$dir"
	local t0 t1
	t0=${EPOCHREALTIME/,/.}
	if ! m_start "$tool" "$mnt" "$log"; then
		m_fail "$tool-$tag: $tool mount failed" "$log" "$dlog"
		m_stop "$mnt"
		return 0
	fi
	if ! m_ready "$mnt" "$snap"; then
		m_fail "$tool-$tag: the mount did not answer 'ls $mnt/$snap' (within $M_READY s, or its process ended)" "$log" "$dlog"
		m_stop "$mnt"
		return 0
	fi
	t1=${EPOCHREALTIME/,/.}
	TI=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	if ! root=$(restored_root "$mnt/$snap" "$DATA"); then
		m_fail "$tool-$tag: no random.bin under $mnt/$snap (at /, /$(basename "$DATA") or $DATA)" "$log"
		m_stop "$mnt"
		return 0
	fi
	rel=${root#"$mnt"/}
	h=$(hwm_kib "$MPID")
	m_stop "$mnt"
	m_record "$tool" mls "$TI" "$h"
	((h > peak)) && peak=$h
	m_line "$tool-$tag mount -> ls" "$TI" "" "$h"
	[[ $tag == 1 ]] && echo "    (ls MOUNT/$snap; the data set is at MOUNT/$rel)"

	# 2. + 3. cold read, then warm re-read in the same mount
	m_cold "$dir"
	if m_start "$tool" "$mnt" "$log" && m_ready "$mnt" "$snap"; then
		rc=0
		timeit timeout "$M_TIMEOUT" cat "$mnt/$rel/random.bin" >/dev/null 2>>"$log" || rc=$?
		if ((rc == 0)); then
			local tc=$TI
			m_rereads "$mnt/$rel/random.bin" 2>>"$log" || rc=$?
			h=$(hwm_kib "$MPID")
			((h > peak)) && peak=$h
			m_record "$tool" cold "$tc" "$h"
			m_line "$tool-$tag cold read" "$tc" "$RANDOM_BYTES" "$h"
			if ((rc == 0)); then
				m_record "$tool" warm "$TI" "$h"
				m_line "$tool-$tag warm re-read" "$TI" "$RANDOM_BYTES"
			fi
		fi
		((rc == 0)) || m_fail "$tool-$tag: cat $mnt/$rel/random.bin (exit status $rc)" "$log" "$dlog"
	else
		m_fail "$tool-$tag: mount for the reads" "$log" "$dlog"
	fi
	m_stop "$mnt"

	# 4. ls -lR of the whole snapshot
	m_cold "$dir"
	if m_start "$tool" "$mnt" "$log" && m_ready "$mnt" "$snap"; then
		rc=0
		timeit timeout "$M_TIMEOUT" ls -lR "$mnt/$snap" >/dev/null 2>>"$log" || rc=$?
		h=$(hwm_kib "$MPID")
		((h > peak)) && peak=$h
		if ((rc == 0)); then
			m_record "$tool" lsr "$TI" "$h"
			m_line "$tool-$tag ls -lR" "$TI" "" "$h"
		else
			m_fail "$tool-$tag: ls -lR $mnt/$snap (exit status $rc)" "$log" "$dlog"
		fi
	else
		m_fail "$tool-$tag: mount for ls -lR" "$log" "$dlog"
	fi
	m_stop "$mnt"

	# 5. cp -a of the subtree, checked with diff -r
	local dst=$WORK/cp-$tool-$tag
	rm -rf "$dst"
	mkdir -p "$dst"
	m_cold "$dir"
	if m_start "$tool" "$mnt" "$log" && m_ready "$mnt" "$snap"; then
		rc=0
		timeit timeout "$M_TIMEOUT" cp -a "$mnt/$rel/$M_SUB" "$dst/" 2>>"$log" || rc=$?
		h=$(hwm_kib "$MPID")
		((h > peak)) && peak=$h
		if ((rc == 0)); then
			m_record "$tool" cp "$TI" "$h"
			m_line "$tool-$tag cp -a $M_SUB" "$TI" "$M_SUB_BYTES" "$h"
		else
			m_fail "$tool-$tag: cp -a $mnt/$rel/$M_SUB (exit status $rc)" "$log" "$dlog"
		fi
	else
		m_fail "$tool-$tag: mount for cp -a" "$log" "$dlog"
		rc=1
	fi
	m_stop "$mnt"
	if ((rc == 0)) && ! diff -r --no-dereference "$DATA/$M_SUB" "$dst/$M_SUB" >"$WORK/diff.mount-$tool-$tag" 2>&1; then
		echo "  COPY DIFFERS: $tool-$tag: $(wc -l <"$WORK/diff.mount-$tool-$tag") line(s) of diff -r --no-dereference $DATA/$M_SUB $dst/$M_SUB; first:"
		head -n 5 "$WORK/diff.mount-$tool-$tag" | sed 's/^/    | /'
		DIFFERED=$((DIFFERED + 1))
	fi
	rm -rf "$dst"
	((peak > 0)) && MPEAK[$tool]+="$peak "
	((peak > 0)) && printf '  %-28s peak RSS of its mount processes: %.1f MB\n' "$tool-$tag sequence" "$(rss_mb "$peak")"
	return 0
}

# ---- the whole mount part --------------------------------------------------
mount_part() {
	local r tool dir
	((MOUNT == 2)) || hr
	echo "mount part: cairn mount vs restic mount vs borg mount, on each tool's repository from its first backup"
	command -v python3 >/dev/null || die "python3 is missing (borgbackup depends on it)"
	command -v fusermount3 >/dev/null || die "fusermount3 is missing (apt-get install fuse3)"
	local py
	py=$(sed -n '1s/^#! *//p' "$(command -v borg)" | cut -d' ' -f1)
	if has_tool borg && ! "${py:-python3}" -c 'import llfuse' 2>/dev/null && ! "${py:-python3}" -c 'import pyfuse3' 2>/dev/null; then
		echo "bench: borg mount needs python3-llfuse or python3-pyfuse3 (scripts/install-deps --bench)" >&2
	fi
	m_pick_subtree
	echo "         cairn mount (defaults), restic mount, borg mount -f (in the background); every step a fresh mount"
	echo "         after dropping the page cache, cairn's on-disk chunk cache emptied (<cache>/cairn/<repo id>/chunks);"
	echo "         ext4 = the same operations on $DATA; RSS = VmHWM of the mount process before unmounting"
	if ((MOUNT == 2)); then
		echo "         repositories: one per tool, made now by a first backup of $DATA"
		for tool in "${TOOLS[@]}"; do bench_tool "$tool" M "$DATA" backup1; done
	else
		echo "         repositories: run N uses run N's (first + unchanged backup; the first backup's snapshot is mounted)"
	fi
	t_mount0=$(date +%s)
	for ((r = 1; r <= RUNS; r++)); do
		echo "mount run $r/$RUNS ($(cut -d' ' -f1-3 /proc/loadavg) load)"
		m_ext4 "$r"
		for tool in "${TOOLS[@]}"; do
			dir=$WORK/$tool-$r
			((MOUNT == 2)) && dir=$WORK/$tool-M
			m_tool "$tool" "$r" "$dir"
		done
	done
	t_mount1=$(date +%s)
	mount_table
}

mount_table() {
	local tool step key w b rs pk
	hr
	printf 'mount results: median of %d run(s); wall range min-max; MB = 10^6 bytes\n' "$RUNS"
	printf '%-7s %-22s %9s %15s %9s %14s\n' tool step "wall s" "wall range" "MB/s" "mount RSS MB"
	for tool in ext4 "${TOOLS[@]}"; do
		for step in "${M_STEPS[@]}"; do
			[[ $tool == ext4 && $step == mls ]] && continue
			key=$tool:$step
			local name=${M_NAME[$step]}
			[[ $step == cp ]] && name="cp -a $M_SUB (cold)"
			[[ $tool == ext4 && $step == warm ]] && name="second read"
			w=$(med MW "$key")
			if [[ -z $w ]]; then
				printf '%-7s %-22s %9s\n' "$tool" "$name" FAILED
				continue
			fi
			b=""
			case $step in cold | warm) b=$RANDOM_BYTES ;; cp) b=$M_SUB_BYTES ;; esac
			rs=$(med MRSS "$key")
			# shellcheck disable=SC2086 # space-separated numbers
			printf '%-7s %-22s %9.3f %15s %9s %14s\n' "$tool" "$name" "$w" "$(minmax3 ${MW[$key]})" \
				"$([[ -n $b ]] && awk -v b="$b" -v s="$w" 'BEGIN { printf "%.1f", (s > 0) ? b / 1e6 / s : 0 }' || echo -)" \
				"$([[ -n $rs ]] && rss_mb "$rs" || echo -)"
		done
		[[ $tool == ext4 ]] && continue
		pk=$(m_peak "$tool")
		printf '%-7s %-22s %9s %15s %9s %14s\n' "$tool" "peak RSS (sequence)" "" "" "" \
			"$( ((pk > 0)) && rss_mb "$pk" || echo -)"
	done

	has_tool cairn || return 0
	echo
	local o parts a
	for o in restic borg; do
		has_tool "$o" || continue
		parts=()
		for step in "${M_STEPS[@]}"; do
			a=$(m_ratio "$step" "$o")
			parts+=("${M_NAME[$step]/ (cold)/} ${a:-n/a}")
		done
		(IFS=,; printf 'cairn/%-7s %s\n' "$o:" "${parts[*]/#/ }")
	done
	printf 'cairn/%-7s  warm re-read %s (ext4: the second read of %s)\n' "ext4:" "$(a=$(m_ratio warm ext4); echo "${a:-n/a}")" "$DATA/random.bin"
	pk=$(m_peak cairn)
	echo "cairn mount peak RSS: $( ((pk > 0)) && echo "$(rss_mb "$pk") MB" || echo n/a) (highest VmHWM of any cairn mount process, all runs)"
	((M_CACHE_GONE > 0)) && echo "cairn on-disk chunk cache: $(mb "$M_CACHE_GONE") MB deleted in all before cold steps"
	echo
	echo "targets (mount):"
	target "mount -> first ls < 1 s (cairn, s)" "$(med MW cairn:mls)" "<" 1
	target "cold read wall <= 0.33x restic" "$(m_ratio cold restic)" "<=" 0.33
	target "warm re-read <= 2x ext4" "$(m_ratio warm ext4)" "<=" 2
	target "ls -lR wall <= 0.1x restic" "$(m_ratio lsr restic)" "<=" 0.1
	target "cp -a wall <= 0.33x restic" "$(m_ratio cp restic)" "<=" 0.33
	target "mount peak RSS <= 100 MB" "$( ((pk > 0)) && rss_mb "$pk")" "<=" 100
}

minmax3() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }'; }

m_ratio() { # step other -> cairn/other of the medians, or nothing
	local a b
	a=$(med MW "cairn:$1") b=$(med MW "$2:$1")
	[[ -n $a && -n $b ]] && ratio "$a" "$b"
	return 0
}

m_peak() { # tool -> the highest peak RSS (KiB) of any run, or 0
	local v max=0
	# shellcheck disable=SC2086 # space-separated numbers
	for v in ${MPEAK[$1]:-}; do ((v > max)) && max=$v; done
	echo "$max"
}
