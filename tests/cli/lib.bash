# Helpers for the CLI tests: each test script sources this with $1 = moe binary, $2 = scratch dir.
set -u
MOE="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error "what" "pattern" cmd...: the command must exit 1 and print exactly one stderr line
# that matches the pattern (grep -E). With PROGRESS set, stderr lines matching it (progress a
# command printed before the error) are not counted.
expect_error() {
  local what="$1" pattern="$2"
  shift 2
  local err="$WORK/stderr.txt"
  "$@" >/dev/null 2>"$err"
  local rc=$?
  if [ -n "${PROGRESS:-}" ]; then
    grep -vE -- "$PROGRESS" "$err" >"$err.kept"
    mv "$err.kept" "$err"
  fi
  local lines
  lines=$(wc -l <"$err")
  if [ "$rc" -ne 1 ]; then fail "$what: exit code $rc, expected 1 ($(head -c 300 "$err"))"; return; fi
  if [ "$lines" -ne 1 ]; then fail "$what: $lines lines on stderr, expected 1: $(head -c 300 "$err")"; return; fi
  grep -qE -- "$pattern" "$err" || fail "$what: message '$(cat "$err")' does not match '$pattern'"
}

# expect_job_error "what" "pattern" cmd...: an MPI job (or any command that may abort) must end
# within 20 s with a non-zero exit (exactly $JOB_EXIT_CODE when set) and print exactly one
# "moe: error" line matching the pattern; other ranks' abort chatter is allowed.
expect_job_error() {
  local what="$1" pattern="$2"
  shift 2
  timeout 20 "$@" >/dev/null 2>"$WORK/err.txt"
  local rc=$?
  [ "$rc" -ne 0 ] || fail "$what: exit code 0"
  [ "$rc" -ne 124 ] || fail "$what: still running after 20 s"
  [ -z "${JOB_EXIT_CODE:-}" ] || [ "$rc" -eq "$JOB_EXIT_CODE" ] || fail "$what: exit code $rc, expected $JOB_EXIT_CODE"
  local n
  n=$(grep -c "^moe: error" "$WORK/err.txt")
  [ "$n" -eq 1 ] || fail "$what: $n error lines: $(cat "$WORK/err.txt")"
  grep -qE -- "$pattern" "$WORK/err.txt" || fail "$what: $(grep '^moe: error' "$WORK/err.txt") does not match $pattern"
}

finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
}
