"""docs/architecture.md is a map, and this keeps it true: every path it names exists,
and every refusal code the services and the gateway can answer has a row in its map
of rules naming the file that decides it."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"

#: Exceptions whose first argument is a problem code (NotFound's is the thing not found).
_CODE_FIRST = {"ProblemError", "Refused", "InvalidArgument", "Conflict", "Problem"}
_PATH = re.compile(r"`((?:services|gateway|protos|tests|deploy|docs|bench|gen)/[\w./*-]*?)(?::[\w.]+)?`")


def raised_codes() -> dict[str, set[str]]:
    """Each problem code written in the code, with the files that raise it."""
    found: dict[str, set[str]] = {}
    files = [*ROOT.glob("services/**/*.py"), *ROOT.glob("gateway/**/*.py")]
    for path in files:
        if "migrations" in path.parts:
            continue
        for code in _codes_in(ast.parse(path.read_text(encoding="utf-8"))):
            found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def _codes_in(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        first = node.args[1] if name == "Problem" and len(node.args) > 1 else node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if name in _CODE_FIRST and re.fullmatch(r"[a-z][a-z0-9_]*", first.value):
            yield first.value
        elif name == "NotFound":
            yield f"{first.value}_not_found"


def map_rows() -> dict[str, str]:
    """The rows of the table after "**Refusals**": code → its whole row."""
    rows: dict[str, str] = {}
    table = DOC.read_text(encoding="utf-8").split("**Refusals**", 1)[1].lstrip().split("\n\n", 2)[1]
    for line in table.splitlines():
        first = line.strip("|").split("|")[0]
        for code in re.findall(r"`([a-z][a-z0-9_]*)`", first):
            rows[code] = line
    return rows


def test_every_path_the_document_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = {m.group(1).rstrip(".") for m in _PATH.finditer(text)}
    missing = sorted(p for p in named if not any(ROOT.glob(p)))
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_refusal_code_is_mapped_to_the_file_that_decides_it() -> None:
    rows = map_rows()
    unmapped = {code: files for code, files in raised_codes().items() if code not in rows}
    assert not unmapped, f"codes missing from the map of rules in docs/architecture.md: {unmapped}"
    wrong = {
        code: files
        for code, files in raised_codes().items()
        if not any(f in rows[code] or Path(f).name in rows[code] for f in files)
    }
    assert not wrong, f"map rows that name none of the files raising the code: {wrong}"


def test_the_map_names_no_code_that_nothing_raises() -> None:
    stale = set(map_rows()) - set(raised_codes()) - _RAISED_INDIRECTLY
    assert not stale, f"the map of rules lists codes nothing raises: {sorted(stale)}"


#: Codes built at run time (a variable or a helper), listed in the map all the same.
_RAISED_INDIRECTLY = {"too_many_requests"}
