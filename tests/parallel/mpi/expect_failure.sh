#!/usr/bin/env bash
# Runs a command that must fail: within LIMIT_S seconds, with exit code EXIT_CODE ("nonzero" for
# any failure but a timeout), printing exactly COUNT lines that match the extended regex PATTERN.
# Usage: expect_failure.sh LIMIT_S EXIT_CODE PATTERN COUNT -- command...
set -u
limit=$1 expected=$2 pattern=$3 count=$4
shift 4
[[ ${1:-} == -- ]] && shift

command="$*"
output=$(timeout --kill-after=2 "$limit" "$@" 2>&1)
rc=$?
fail() {
  echo "FAIL: $*"
  echo "--- command: $command"
  echo "--- output:"
  echo "$output"
  exit 1
}
((rc == 124 || rc == 137)) && fail "did not end within ${limit}s"
((rc == 0)) && fail "exited 0, expected a failure"
[[ $expected != nonzero ]] && ((rc != expected)) && fail "exit code $rc, expected $expected"
matches=$(grep -cE -- "$pattern" <<<"$output")
((matches == count)) || fail "$matches lines match '$pattern', expected $count"
echo "ok: exit code $rc, $matches matching line(s)"
