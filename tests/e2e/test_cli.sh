#!/bin/sh
# test_cli.sh LOUPE — the command line: version, --help everywhere, info names the device and
# its limits, a bad LOUPE_DEVICE lists the devices, plugins lists relu with version and
# parameters and the dataset plugins, dataset and compare report bad arguments, usage errors
# exit 2.
loupe=$1
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; fi; }
out=$(mktemp)

"$loupe" --version >"$out"; check "--version" "grep -Eq '^loupe [0-9]+\.[0-9]+\.[0-9]+$' $out"
for c in "" "run" "plugins" "info" "dataset" "compare" "analyze" "report"; do
  "$loupe" $c --help >"$out" 2>&1; rc=$?
  check "loupe $c --help exits 0" "[ $rc -eq 0 ]"
  check "loupe $c --help prints usage" "grep -q '^usage: loupe' $out"
done
"$loupe" info >"$out" 2>&1; rc=$?
check "info exits 0" "[ $rc -eq 0 ]"
check "info names the device" "grep -Eq '^device [0-9]+: .+' $out"
check "info names the driver" "grep -q '^driver: ' $out"
check "info shows maxStorageBufferRange" "grep -Eq 'maxStorageBufferRange +[0-9]+' $out"
check "info shows plugin dirs" "grep -q 'plugins' $out"
if grep -q llvmpipe "$out"; then echo "device: llvmpipe"; fi
LOUPE_DEVICE=nope "$loupe" info >"$out" 2>&1; rc=$?
check "LOUPE_DEVICE=nope fails" "[ $rc -ne 0 ]"
check "LOUPE_DEVICE=nope lists devices" "grep -Eq \"LOUPE_DEVICE='nope' matches no device; available: 0: \" $out"
"$loupe" plugins >"$out" 2>&1; rc=$?
check "plugins exits 0" "[ $rc -eq 0 ]"
check "plugins lists relu with kind and version" "grep -Eq '^relu +layer +[0-9]+\.[0-9]+\.[0-9]+ ' $out"
check "plugins lists relu's parameter" "grep -Eq '^ +slope +number +0 ' $out"
check "plugins lists the dataset plugins" "grep -Eq '^indoor67 +dataset ' $out && grep -Eq '^synthetic +dataset ' $out"
"$loupe" frobnicate >"$out" 2>&1; rc=$?
check "unknown command exits 2" "[ $rc -eq 2 ] && grep -q \"unknown command 'frobnicate'\" $out"
"$loupe" run >"$out" 2>&1; rc=$?
check "run without a script exits 2" "[ $rc -eq 2 ] && grep -q 'missing SCRIPT.lua' $out"
"$loupe" run /nonexistent/x.lua >"$out" 2>&1; rc=$?
check "run of a missing script fails naming it" "[ $rc -eq 1 ] && grep -q '/nonexistent/x.lua' $out"
"$loupe" dataset >"$out" 2>&1; rc=$?
check "dataset without a name exits 2" "[ $rc -eq 2 ] && grep -q 'missing NAME' $out"
"$loupe" dataset nosuch >"$out" 2>&1; rc=$?
check "dataset of an unknown plugin fails naming it" "[ $rc -eq 1 ] && grep -q 'nosuch' $out"
"$loupe" dataset synthetic flip_rat=0.1 >"$out" 2>&1; rc=$?
check "a parameter typo is named, with a suggestion" "[ $rc -eq 1 ] && grep -q \"did you mean 'flip_rate'\" $out"
"$loupe" dataset synthetic classes=many >"$out" 2>&1; rc=$?
check "a parameter of the wrong type exits 2" "[ $rc -eq 2 ] && grep -q \"'classes' (integer) cannot be 'many'\" $out"
"$loupe" compare only_one.h5 >"$out" 2>&1; rc=$?
check "compare with one archive exits 2" "[ $rc -eq 2 ]"
"$loupe" compare /nonexistent/a.h5 /nonexistent/b.h5 >"$out" 2>&1; rc=$?
check "compare of a missing file fails naming it" "[ $rc -eq 2 ] && grep -q '/nonexistent/a.h5' $out"
"$loupe" report >"$out" 2>&1; rc=$?
check "report without an archive exits 2" "[ $rc -eq 2 ] && grep -q 'needs a run archive' $out"
"$loupe" report /nonexistent/a.h5 >"$out" 2>&1; rc=$?
check "report of a missing file fails naming it" "[ $rc -eq 2 ] && grep -q '/nonexistent/a.h5' $out"
"$loupe" report /nonexistent/a.h5 --top 0 >"$out" 2>&1; rc=$?
check "report --top 0 is refused" "[ $rc -eq 2 ] && grep -q -- '--top' $out"
"$loupe" info extra >"$out" 2>&1; rc=$?
check "info with an argument exits 2" "[ $rc -eq 2 ]"
rm -f "$out"
[ $fail -eq 0 ] && echo "test_cli: ok"
exit $fail
