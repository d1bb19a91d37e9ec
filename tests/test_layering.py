"""The import layering of src/reinfuse (issue 9), read from the source with ``ast``.

Nothing is imported: every ``import`` and ``from ... import`` of every module under
src/reinfuse (also those inside functions and ``if TYPE_CHECKING:`` blocks) is read from
its syntax tree. Two rules:

1. **Layers.** A module imports only modules of its own layer or of a lower one. The
   layers, lowest first (documented in docs/architecture.md):

   ===  ==========================================================================
   0    foundation: ``errors``, ``findings``, ``options``, ``style``, ``vocabulary``,
        ``_match``, ``_plain``, ``progress``, ``_version`` (leaves: no clinical logic)
   1    ``schema`` (the cohort format)
   2    ``criteria``, ``stats`` (clinical rules, statistics; pure functions)
   3    ``io``, ``cohort``, ``redcap`` (reading and writing sheets and REDCap exports,
        the typed cohort)
   4    ``validate``, ``reconcile``, ``kinetics``, ``registry`` (coercion and rules; raw
        observations graded and summarised, in one layer with validate because validate
        lists their disagreements with the recorded values; the database of validated
        cohorts)
   5    ``flow`` (antigen density from FCS files)
   6    ``derive``, ``variables`` (the analysis frame and its registry)
   7    ``analyze``, ``plan``, ``design``, ``summary``, ``synth``, ``demo`` (results
        from the analysis frame; plans, trial designs, synthetic and demo cohorts)
   8    ``figures``
   9    ``report``
   10   ``pipeline`` and the package root ``reinfuse`` (the public API imports
        every stage)
   11   ``cli``
   ===  ==========================================================================

   The order is the code's own: ``findings`` sits with ``errors`` because the error
   types carry findings; ``plan`` sits with ``analyze`` (figures and the demo read
   plans, derive does not). A new module must be given a layer here.

2. **Private modules.** A private module (a path component starting with ``_``) is
   imported only from inside the package that holds it (``reinfuse.stats._results`` only
   from ``reinfuse.stats``; ``reinfuse._match`` from anywhere in reinfuse), and a private
   name (``_x``) only from inside the same top-level package.

Exceptions are listed in :data:`KNOWN` with their reason; an exception that no longer
occurs fails the test too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "reinfuse"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "findings", "options", "style", "vocabulary", "_match", "_plain",
               "progress", "_version"}),
    frozenset({"schema"}),
    frozenset({"criteria", "stats"}),
    frozenset({"io", "cohort", "redcap"}),
    frozenset({"validate", "reconcile", "kinetics", "registry"}),
    frozenset({"flow"}),
    frozenset({"derive", "variables"}),
    frozenset({"analyze", "analyses", "survival_curves", "plan", "design", "summary",
               "synth", "demo"}),
    frozenset({"figures"}),
    frozenset({"report"}),
    frozenset({"pipeline", ""}),  # "" = the package root, reinfuse/__init__.py
    frozenset({"cli"}),
)

#: (importer unit, imported unit) -> why the upward import stays for now.
KNOWN: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / ROOT).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import of reinfuse."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names
                    if a.name.split(".")[0] == ROOT]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] == ROOT:
                out += [(target, a.name, node.lineno) for a in node.names]
    return out


def _unit(module: str) -> str:
    """The top-level unit of a module: ``reinfuse.stats._x`` -> ``stats``; root -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(unit: str) -> int | None:
    return next((i for i, units in enumerate(LAYERS) if unit in units), None)


@cache
def _edges() -> list[tuple[str, str, str, int]]:
    """(importer, imported module, name, line) for every import, with submodules resolved."""
    modules = _modules()
    edges = []
    for module, path in modules.items():
        for target, name, line in _imports(module, path):
            # "from reinfuse import x" imports the module reinfuse.x when it exists
            if name and f"{target}.{name}" in modules:
                target, name = f"{target}.{name}", ""
            edges.append((module, target, name, line))
    return edges


def test_every_module_has_a_layer() -> None:
    missing = sorted({_unit(m) for m in _modules()} - set().union(*LAYERS))
    assert not missing, (f"give these modules a layer in tests/test_layering.py and "
                         f"docs/architecture.md: {missing}")


def test_no_module_imports_a_higher_layer() -> None:
    found, seen = [], set()
    for module, target, _, line in _edges():
        low, high = _layer(_unit(module)), _layer(_unit(target))
        if low is None or high is None or high <= low:
            continue
        pair = (_unit(module), _unit(target))
        seen.add(pair)
        if pair not in KNOWN:
            found.append(f"{module} (layer {low}) imports {target} (layer {high}), line {line}")
    assert not found, "lower layers import higher ones:\n" + "\n".join(found)
    stale = sorted(set(KNOWN) - seen)
    assert not stale, f"no longer needed, remove from KNOWN: {stale}"


def test_no_module_imports_another_packages_private_module_or_name() -> None:
    found = []
    for module, target, name, line in _edges():
        parts = target.split(".")
        private = [i for i, p in enumerate(parts) if p.startswith("_") and not
                   p.startswith("__")]
        if private:
            owner = ".".join(parts[: private[0]])
            if not (module == owner or module.startswith(owner + ".")):
                found.append(f"{module} imports the private module {target}, line {line}")
        if name.startswith("_") and not name.startswith("__") and _unit(module) != _unit(
                target):
            found.append(f"{module} imports the private name {target}.{name}, line {line}")
    assert not found, "private imports across packages:\n" + "\n".join(found)


def test_the_walk_sees_violations() -> None:
    # The checks above pass vacuously if the walk misses imports: count known edges.
    edges = {(m, t) for m, t, _, _ in _edges()}
    assert ("reinfuse.schema.cohort_v1", "reinfuse.vocabulary") in edges
    assert ("reinfuse.stats._results", "reinfuse._plain") in edges
    assert ("reinfuse.derive", "reinfuse.validate") in edges  # an import inside a function
    assert ("reinfuse.design.text", "reinfuse.design.bayes") in edges
    order = [_layer(unit) for unit in ("vocabulary", "schema", "criteria", "derive", "cli")]
    assert order == sorted(order) and len(set(order)) == 5
