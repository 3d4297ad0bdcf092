#!/bin/sh
# expect_fail.sh PATTERN... -- COMMAND [ARGS...]
# Passes when COMMAND exits non-zero (and not by a signal) and its stderr matches every PATTERN
# (grep -E). Used for the tests of error messages.
patterns=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do patterns="$patterns
$1"; shift; done
[ "$1" = "--" ] || { echo "usage: expect_fail.sh PATTERN... -- COMMAND" >&2; exit 2; }
shift
err=$(mktemp)
"$@" >/dev/null 2>"$err"
rc=$?
cat "$err" >&2
status=0
if [ $rc -eq 0 ]; then echo "FAIL: '$*' succeeded; it should have failed" >&2; status=1; fi
if [ $rc -ge 128 ]; then echo "FAIL: '$*' died of signal $((rc - 128))" >&2; status=1; fi
echo "$patterns" | while IFS= read -r p; do
  [ -z "$p" ] && continue
  grep -Eq -- "$p" "$err" || { echo "FAIL: stderr lacks /$p/" >&2; exit 1; }
done || status=1
rm -f "$err"
[ $status -eq 0 ] && echo "expect_fail: ok ($rc)"
exit $status
