"""The layout keeps its promises: which room may hold SQL, drivers, the terminal; who may
import whom; no import circles; no module past 600 lines.

Read from the source of src/novahunt with `ast` (nothing is imported), the way
test_docs.py keeps the README honest. Each rule is one test whose failure lists every
offender with its file and line.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "novahunt"
MAX_LINES = 600

# every SQL statement lives in the storage package; the queue's SqliteHuey backend
# speaks to its own queue.db and is the one other place allowed
STORAGE = "novahunt.state"
QUEUE_BACKEND = "novahunt.queue.backends"
# a driver belongs to the room that owns the store it talks to
DRIVERS = {
    "sqlite3": (STORAGE, QUEUE_BACKEND),
    "psycopg": (STORAGE,),
    "psycopg_pool": (STORAGE,),
    "redis": (QUEUE_BACKEND,),
}
TERMINAL = ("rich", "typer", "click")
CLI = "novahunt.cli"
SANDBOX = "novahunt.sandbox"


@dataclass(frozen=True)
class Import:
    module: str      # the importing module, e.g. novahunt.state.jobs
    target: str      # what it names: a module when it is one, else the package/module
    line: int
    late: bool       # inside a function: runs when called, not when imported

    @property
    def where(self) -> str:
        return f"{self.module} (line {self.line}{', late' if self.late else ''})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


FILES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES: dict[str, ast.Module] = {
    name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in FILES.items()
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST, late: bool = False
                  ) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under `node`, skipping `if TYPE_CHECKING:` bodies (they
    never run); `late` once inside a function."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, late
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]), late)
        else:
            inner = late or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef
                                       | ast.Lambda)
            yield from _import_nodes(child, inner)


def _base(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if FILES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_of(module: str) -> list[Import]:
    found: list[Import] = []
    for node, late in _import_nodes(TREES[module]):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno, late) for alias in node.names]
            continue
        base = _base(module, node)
        for alias in node.names:
            # `from novahunt.state import jobs` depends on the module novahunt.state.jobs;
            # `from novahunt.state.jobs import Job` on novahunt.state.jobs
            sub = f"{base}.{alias.name}"
            found.append(Import(module, sub if sub in FILES else base, node.lineno, late))
    return found


IMPORTS: list[Import] = [imp for name in FILES for imp in imports_of(name)]


def within(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def _report(rule: str, offenders: list[str]) -> str:
    return f"{rule}:\n  " + "\n  ".join(offenders)


# -- SQL text -------------------------------------------------------------------------------

# keyword-led statements, each with the shape that makes it SQL and not an English
# sentence ("Create the home folder", "Delete finished jobs ..." are help texts)
_NAME = r"[\w.\"]+"
_STATEMENTS = re.compile(
    r"""^\s*(?:
        SELECT\s+(?:DISTINCT\s+)?
            (?:\*|\d|\(|'|\?|%s|\w+\s*\(|[\w.]+\s*,|[\w.]+\s+(?:AS\s+\w+\s+)?FROM\s)
      | INSERT\s+(?:OR\s+\w+\s+)?INTO\s+{name}
      | REPLACE\s+INTO\s+{name}
      | UPDATE\s+{name}\s+SET\s
      | DELETE\s+FROM\s+{name}
      | CREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+)?
            (?:TABLE|INDEX|VIEW|TRIGGER|SCHEMA|SEQUENCE|EXTENSION)\b
      | ALTER\s+TABLE\s+{name}
      | DROP\s+(?:TABLE|INDEX|VIEW|TRIGGER|SCHEMA|SEQUENCE)\b
      | BEGIN(?:\s+(?:IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION))?\s*;?\s*$
      | PRAGMA\s+\w+\s*(?:=|\(|;|$)
      | (?:SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO)\s+\w+\s*;?\s*$
    )""".replace("{name}", _NAME),
    re.IGNORECASE | re.VERBOSE)
# fragments of a statement: a FROM ... WHERE clause, or a column compared with a
# placeholder (`"worker_id = ?"` handed to a function that pastes it into a WHERE)
_FRAGMENTS = re.compile(
    r"\bFROM\s+[\w.\"]+(?:\s+(?:AS\s+)?\w+)?\s+WHERE\b"
    r"|\b\w+\s*(?:=|<|>|<=|>=|!=|<>)\s*(?:\?|%s)(?!\w)")


def is_sql(text: str) -> bool:
    """A statement led by its keyword (any case), or an upper-case SQL fragment: the
    keywords of a fragment inside prose are lower-case, SQL's in this code base are not."""
    return bool(_STATEMENTS.match(text) or _FRAGMENTS.search(text))


def _text_of(node: ast.expr) -> str | None:
    """The text of a string expression, `+` joined, an f-string's fields as a name (what
    a field holds is a column list or a table more often than a value)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "x"
                       for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text_of(node.left), _text_of(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def strings_of(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, text) of every outermost string expression in `tree`."""
    inner: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in inner or not isinstance(node, ast.expr):
            continue
        text = _text_of(node)
        if text is None:
            continue
        inner.update(id(child) for child in ast.walk(node) if child is not node)
        yield node.lineno, text


def test_the_sql_detection_tells_statements_from_prose() -> None:
    for sql in ("SELECT id FROM jobs WHERE status = ?", "select 1", "SELECT COUNT(*) FROM t",
                "INSERT OR IGNORE INTO contacts (email) VALUES (?)",
                "UPDATE jobs SET status = 'queued'", "DELETE FROM jobs", "BEGIN IMMEDIATE",
                "CREATE UNIQUE INDEX x ON t (a)", "ALTER TABLE jobs ADD COLUMN x",
                "pragma synchronous=NORMAL", "DROP TABLE t", "worker_id = ?",
                "lease_until < ? AND worker_id != ?", "id FROM jobs WHERE x", "SELECT a, b"):
        assert is_sql(sql), sql
    for prose in ("Create the home folder, readable by its owner only.",
                  "Delete finished jobs that ended longer ago.", "Select the jobs to show",
                  "Update the job", "Begin here", "replace", "pages from a site where",
                  "Drop the oldest", "Alter nothing", "a = b", "with no emails at Hunter"):
        assert not is_sql(prose), prose


def test_sql_lives_in_the_storage_package() -> None:
    offenders = [
        f"{FILES[name].relative_to(SRC)}:{line}: {text.strip()[:70]!r}"
        for name, tree in TREES.items()
        if not within(name, STORAGE) and name != QUEUE_BACKEND
        for line, text in strings_of(tree) if is_sql(text)
    ]
    assert offenders == [], _report(
        f"SQL text outside {STORAGE} (and {QUEUE_BACKEND}); give it a named function there",
        offenders)


def test_database_and_queue_drivers_stay_in_their_backends() -> None:
    offenders = [
        f"{imp.where} imports {imp.target}"
        for imp in IMPORTS
        for driver, rooms in DRIVERS.items()
        if within(imp.target, driver) and not any(within(imp.module, r) for r in rooms)
    ]
    assert offenders == [], _report(
        "driver imported outside its backend (" + "; ".join(
            f"{d}: {', '.join(r)}" for d, r in DRIVERS.items()) + ")", offenders)


def test_only_the_cli_imports_the_terminal_libraries() -> None:
    offenders = [f"{imp.where} imports {imp.target}" for imp in IMPORTS
                 if any(within(imp.target, lib) for lib in TERMINAL)
                 and not within(imp.module, CLI)]
    assert offenders == [], _report(f"{'/'.join(TERMINAL)} imported outside {CLI}", offenders)


def test_nothing_imports_the_cli() -> None:
    offenders = [f"{imp.where} imports {imp.target}" for imp in IMPORTS
                 if within(imp.target, CLI)
                 and not within(imp.module, CLI) and imp.module != "novahunt.__main__"]
    assert offenders == [], _report(f"{CLI} imported from outside it", offenders)


def test_the_sandbox_imports_nothing_of_novahunt() -> None:
    offenders = [f"{imp.where} imports {imp.target}" for imp in IMPORTS
                 if within(imp.module, SANDBOX) and within(imp.target, "novahunt")
                 and not within(imp.target, SANDBOX)]
    assert offenders == [], _report(f"{SANDBOX} imports novahunt", offenders)


# -- import circles -------------------------------------------------------------------------


def graph() -> dict[str, dict[str, Import]]:
    """module -> {module it imports: the first such import}, novahunt's modules only."""
    edges: dict[str, dict[str, Import]] = {name: {} for name in FILES}
    for imp in IMPORTS:
        if imp.target in FILES and imp.target != imp.module:
            edges[imp.module].setdefault(imp.target, imp)
    return edges


def components(edges: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(members)
    return found


def shortest_circle(edges: dict[str, dict[str, Import]], start: str,
                    members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one component (BFS)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(edges[node]):
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start]
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    return [start]


def circles() -> list[str]:
    """Each component as its shortest circles, one per module not yet on one shown, as
    chains `a (line 12) -> b (line 30, late) -> a`: the line in each module that imports
    the next."""
    edges = graph()
    chains: list[str] = []
    for members in sorted(components(edges), key=sorted):
        covered: set[str] = set()
        for start in sorted(members):
            if start in covered:
                continue
            path = shortest_circle(edges, start, members)
            covered.update(path)
            steps = [f"{a} (line {edges[a][b].line}{', late' if edges[a][b].late else ''})"
                     for a, b in itertools.pairwise(path)]
            chains.append(" -> ".join([*steps, path[-1]]))
        if len(members) > 2:
            chains.append(f"   (one tangle of {len(members)}: {', '.join(sorted(members))})")
    return chains


def test_the_circle_finder_reads_a_chain() -> None:
    def imp(a: str, b: str) -> Import:
        return Import(a, b, 1, False)

    edges = {"a": {"b": imp("a", "b")}, "b": {"c": imp("b", "c")},
             "c": {"a": imp("c", "a")}, "d": {"a": imp("d", "a")}}
    assert components(edges) == [{"a", "b", "c"}]
    assert shortest_circle(edges, "a", {"a", "b", "c"}) == ["a", "b", "c", "a"]


def test_the_import_reader_sees_late_imports_and_skips_type_checking_ones() -> None:
    tree = ast.parse(
        "import a\n"
        "if TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
        "def f():\n    from d import e\n"
        "class K:\n    def m(self):\n        if typing.TYPE_CHECKING:\n            import g\n")
    seen = [(node.names[0].name if isinstance(node, ast.Import) else node.module, late)
            for node, late in _import_nodes(tree)]
    assert seen == [("a", False), ("c", False), ("d", True)]


def test_no_import_circles() -> None:
    found = circles()
    assert found == [], _report(
        "import circles (imports inside functions count, TYPE_CHECKING ones do not)", found)


def test_no_module_over_600_lines() -> None:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines())
               for name, path in FILES.items()}
    offenders = [f"{FILES[name].relative_to(SRC)}: {count} lines"
                 for name, count in sorted(lengths.items(), key=lambda kv: -kv[1])
                 if count > MAX_LINES]
    assert offenders == [], _report(f"modules over {MAX_LINES} lines: split along a seam",
                                    offenders)
