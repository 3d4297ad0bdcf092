"""check_docs.py ROOT — the example plugin shown in docs/PLUGINS.md is, verbatim, the one the
test suite builds (docs/examples/scale/), so the documentation cannot drift from working code."""
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
doc = (root / "docs/PLUGINS.md").read_text(encoding="utf-8")
bad = 0
for name in ("scale.c", "scale.comp"):
    src = (root / "docs/examples/scale" / name).read_text(encoding="utf-8")
    if src.strip() not in doc:
        print(f"FAIL: docs/PLUGINS.md does not contain docs/examples/scale/{name} verbatim")
        bad += 1
for needle in ("lp_plugin_init", "LOUPE_PLUGIN_PATH", "loupe_add_plugin"):
    if needle not in doc:
        print(f"FAIL: docs/PLUGINS.md never mentions {needle}")
        bad += 1
print("check_docs: ok" if not bad else f"check_docs: {bad} problem(s)")
sys.exit(1 if bad else 0)
