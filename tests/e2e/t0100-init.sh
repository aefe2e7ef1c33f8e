#!/bin/bash
# cairn init, and how every command treats a missing repository, a missing
# or wrong password and a missing CAIRN_REPO.
# Test bodies are single-quoted and eval'd, helpers called only from them:
# shellcheck disable=SC2016,SC2317 source-path=SCRIPTDIR

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# nopw CMD...: cairn with no password in the environment and no terminal
# to prompt on (setsid: no controlling tty).
nopw() {
	env -u CAIRN_PASSWORD -u CAIRN_PASSWORD_FILE setsid -w "$CAIRN" "$@" </dev/null
}

# listing DIR: every path under DIR with its type, size and mtime.
listing() {
	(cd "$1" && find . -printf '%p %y %s %T@\n' | LC_ALL=C sort)
}

test_expect "init creates a repository with a config and one key" '
	expect_rc 0 cairn init
	grep -q "^created cairn repository [0-9a-f]\{8\} at file://$WORK/repo (encrypted" out
	test -s repo/config
	test -d repo/keys
	ls repo/keys >keys
	test "$(wc -l <keys)" = 1
	grep -qx "[0-9a-f]\{64\}" keys
'

test_expect "init again refuses, says a repository exists and changes nothing" '
	listing repo >before
	cp repo/config config.before
	expect_rc 1 cairn init
	grep -q "file://$WORK/repo: a repository exists there already" err
	listing repo >after
	diff before after
	cmp config.before repo/config
'

test_expect "an encrypted repository opens with its password" '
	expect_rc 0 cairn snapshots
	grep -qx "0 snapshots" out
'

test_expect "init --no-encryption makes a repository that needs no password" '
	mkdir plain-src
	echo "no secrets here" >plain-src/file
	expect_rc 0 nopw -r "file://$WORK/plain" init --no-encryption
	grep -q "NOT encrypted" out
	test -s plain/config
	expect_rc 0 nopw -r "file://$WORK/plain" backup plain-src
	expect_rc 0 nopw -r "file://$WORK/plain" snapshots
	grep -qx "1 snapshot" out
	expect_rc 0 nopw -r "file://$WORK/plain" restore latest --target plain-out
	cmp plain-src/file plain-out/plain-src/file
'

test_expect "init without a password and without --no-encryption fails clearly" '
	expect_rc 1 nopw -r "file://$WORK/nopw" init
	grep -q "no password" err
	grep -q -- "--no-encryption" err
	test ! -e nopw/config
'

test_expect "init with an empty password is refused" '
	expect_rc 1 env CAIRN_PASSWORD= "$CAIRN" -r "file://$WORK/emptypw" init
	grep -q "empty password" err
	test ! -e emptypw/config
'

test_expect "commands on a missing path exit 10 with a line naming the path" '
	mkdir -p some-src
	echo x >some-src/f
	for args in snapshots "ls latest" "backup some-src" check stats \
		"restore latest --target nowhere" "key list" "repair catalog"; do
		# shellcheck disable=SC2086 # one word per argument
		expect_rc 10 cairn -r "file://$WORK/missing" $args
		grep -q "file://$WORK/missing: there is no cairn repository here" err
	done
	test ! -e missing
	test ! -e nowhere
'

test_expect "commands on an empty directory or a plain file exit 10 naming it" '
	mkdir empty-dir
	echo data >plain-file
	expect_rc 10 cairn -r "$WORK/empty-dir" snapshots
	grep -q "$WORK/empty-dir: there is no cairn repository here" err
	expect_rc 10 cairn -r "file://$WORK/empty-dir" backup some-src
	grep -q "file://$WORK/empty-dir: there is no cairn repository here" err
	test -z "$(ls -A empty-dir)"
	expect_rc 10 cairn -r "$WORK/plain-file" snapshots
	grep -q "$WORK/plain-file: there is no cairn repository here" err
'

test_expect "a wrong password exits 12 and writes nothing to the repository" '
	mkdir -p some-src
	echo x >some-src/f
	expect_rc 0 cairn backup some-src
	listing repo >before
	for args in snapshots "ls latest" "backup some-src" check "check --read-data" \
		stats "restore latest --target wrong-out" "key list" "key add" "key passwd"; do
		# shellcheck disable=SC2086 # one word per argument
		CAIRN_NEW_PASSWORD=other expect_rc 12 env CAIRN_PASSWORD=not-the-password \
			"$CAIRN" $args
		grep -q "file://$WORK/repo: wrong password" err
		test ! -s out
	done
	test ! -e wrong-out
	listing repo >after
	diff before after
'

test_expect "an encrypted repository without a password says how to give one" '
	expect_rc 1 nopw snapshots
	grep -q "file://$WORK/repo is encrypted: set CAIRN_PASSWORD" err
'

test_expect "a password file works instead of CAIRN_PASSWORD" '
	printf "%s\n" "$CAIRN_PASSWORD" >pwfile
	expect_rc 0 nopw --password-file pwfile snapshots
	grep -qx "1 snapshot" out
	printf "wrong\n" >badpw
	expect_rc 12 nopw --password-file badpw snapshots
'

test_expect "a missing CAIRN_REPO is a usage error (exit 2)" '
	for args in snapshots init "backup some-src" check; do
		# shellcheck disable=SC2086 # one word per argument
		expect_rc 2 env -u CAIRN_REPO "$CAIRN" $args
		grep -q "no repository given: use -r URL or set CAIRN_REPO" err
	done
'

test_done
