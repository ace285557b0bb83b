"""docs/SECURITY-TESTS.md: one row per SECURITY.md row (25), each naming tests that exist.

SECURITY.md itself lives outside this repository, so the row count is checked here; every
`tests/...py::name` the table names must be a function defined in that file, at module level
or in a class (read with `ast`, nothing imported).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "SECURITY-TESTS.md"
SECURITY_ROWS = 25
HEADER = re.compile(r"^\|\s*#\s*\|\s*SECURITY\.md row\s*\|")
#: A second table: faults beyond SECURITY.md's rows, covered the same way.
BEYOND = re.compile(r"^\|\s*#\s*\|\s*Beyond SECURITY\.md\s*\|")
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def table_rows(header: re.Pattern[str] = HEADER) -> list[list[str]]:
    """The cells of each body row of the table under `header` (by default the
    `| # | SECURITY.md row |` one)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if header.match(line))
    rows = []
    for line in lines[start + 2 :]:  # past the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


@cache
def defined_functions(path: str) -> frozenset[str]:
    """Names of the functions defined at module level or in a class (at any depth of
    classes) of one test file."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)
    names: set[str] = set()
    scopes: list[list[ast.stmt]] = [tree.body]
    while scopes:
        for node in scopes.pop():
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef):
                scopes.append(node.body)
    return frozenset(names)


def test_the_table_has_one_numbered_row_per_security_row() -> None:
    rows = table_rows()
    assert len(rows) == SECURITY_ROWS
    assert [row[0] for row in rows] == [str(n) for n in range(1, SECURITY_ROWS + 1)]
    assert all(len(row) == 4 and all(row) for row in rows), [
        row[0] for row in rows if len(row) != 4 or not all(row)
    ]


def test_every_row_names_a_test_or_says_it_is_not_covered() -> None:
    bare = [
        row[0]
        for row in [*table_rows(), *table_rows(BEYOND)]
        if not REFERENCE.search(row[3]) and "not covered" not in row[3]
    ]
    assert bare == []


def test_every_named_test_exists() -> None:
    assert table_rows(BEYOND)
    named = {
        match.groups()
        for row in [*table_rows(), *table_rows(BEYOND)]
        for match in REFERENCE.finditer(row[3])
    }
    assert named
    missing_files = sorted({path for path, _ in named if not (ROOT / path).is_file()})
    assert missing_files == []
    missing = sorted(
        f"{path}::{name}" for path, name in named if name not in defined_functions(path)
    )
    assert missing == []


def test_names_outside_backticks_are_not_missed() -> None:
    """A test named without backticks would escape the existence check."""
    text = DOC.read_text(encoding="utf-8")
    assert len(re.findall(r"tests/[\w/]+\.py::\w+", text)) == len(REFERENCE.findall(text))
