# Helpers for the CLI tests: each test script sources this with $1 = moe binary, $2 = scratch dir.
set -u
MOE="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error "what" "pattern" cmd...: the command must exit 1 and print exactly one stderr line
# that matches the pattern (grep -E).
expect_error() {
  local what="$1" pattern="$2"
  shift 2
  local err="$WORK/stderr.txt"
  "$@" >/dev/null 2>"$err"
  local rc=$?
  local lines
  lines=$(wc -l <"$err")
  if [ "$rc" -ne 1 ]; then fail "$what: exit code $rc, expected 1 ($(head -c 300 "$err"))"; return; fi
  if [ "$lines" -ne 1 ]; then fail "$what: $lines lines on stderr, expected 1: $(head -c 300 "$err")"; return; fi
  grep -qE -- "$pattern" "$err" || fail "$what: message '$(cat "$err")' does not match '$pattern'"
}

finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
}
