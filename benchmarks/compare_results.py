"""Compare two results.json files number for number (a speed change must not move them).

Run: python benchmarks/compare_results.py BEFORE/results.json AFTER/results.json

The run stamp (date, package versions) is ignored; so is ``figures[*].files``. Every other
difference is printed with its path; the exit code is 1 when there is one.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

_IGNORED = {("stamp",), ("reinfuse_version",)}


def differences(a: Any, b: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Paths where ``a`` and ``b`` differ (floats equal to 12 significant digits)."""
    if path in _IGNORED or (len(path) >= 2 and path[-1] == "files"):
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{'/'.join(path)}/{k}: only in {'before' if k in a else 'after'}"
               for k in sorted(set(a) ^ set(b))]
        for key in sorted(set(a) & set(b)):
            out += differences(a[key], b[key], (*path, str(key)))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{'/'.join(path)}: {len(a)} items before, {len(b)} after"]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += differences(x, y, (*path, str(i)))
        return out
    if (isinstance(a, float) and isinstance(b, float | int)
            and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)):
        return []
    if a != b:
        return [f"{'/'.join(path)}: {a!r} -> {b!r}"[:300]]
    return []


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        before = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        after = json.load(f)
    found = differences(before, after)
    for line in found[:200]:
        print(line)
    print(f"{len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
