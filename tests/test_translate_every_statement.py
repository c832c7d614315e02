"""Every SQL statement novahunt holds goes through `translate` and PostgreSQL accepts it.

The statements are found by reading the source, not by running it: every call of
`execute`, `executemany`, `query`, `one`, `scalar`, `rows` or `ddl` whose first
argument is SQL text in src/novahunt (a string, a module constant, an f-string, a local
built before the call). An f-string is rendered by evaluating each placeholder with the
module's own globals, the first element of the loop it sits in, the local assignments
before the call, and else a representative value named in REPRESENTATIVE below; a
placeholder with none of those fails the test, naming it, so a new statement cannot slip
past. Then:

- without a server: `translate` accepts each and turns exactly its `?` placeholders
  (outside string literals) into `%s`;
- with NOVAHUNT_TEST_POSTGRES_URL: PostgreSQL parses and analyses each against the
  schema it runs on: a migration's statements against the schema before that migration
  (its DDL executed, in a savepoint rolled back), every other statement with `EXPLAIN`
  against the migrated schema, in a transaction rolled back, its placeholders bound to
  NULL on the client.

Statements that only ever run on SQLite (the SQLite backend's own PRAGMAs, migrate-to's
reads of the source state.db, VACUUM) are named in SQLITE_ONLY and are not sent.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import backends

psycopg = pytest.importorskip("psycopg", reason="the team extra (psycopg) is not installed")

from novahunt.state import migrations, postgres  # noqa: E402
from novahunt.state.base import Database  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "novahunt"
METHODS = {"execute", "executemany", "query", "one", "scalar", "rows", "ddl"}
# huey's own queue.db: the queue's backend, not the state database
NOT_STATE = {"queue/backends.py"}

# Values for placeholders and locals the source cannot give. "module.function.name" wins
# over what the code binds before the call; "module.name" and "name" only fill in what
# it leaves unbound.
REPRESENTATIVE: dict[str, Any] = {
    "db": types.SimpleNamespace(for_update=postgres.PostgresDatabase.for_update,
                                skip_locked=postgres.PostgresDatabase.skip_locked),
    "depth": 1,
    "marks": "?,?",
    "limit": 10,
    "provider": "hunter:search",
    "bounds": (1.0, 10.0),
    "windows": (),  # replaced below, once limiter is imported
    "table": "jobs",
    "status": "pending",
    "base._rollback.name": "sp1",
    "transfer._advance_sequences.column": "id",
    "transfer._copy.names": ["id", "type", "status"],
    "transfer._copy.columns": {"id", "type", "status"},
    "jobs.listing.where": ["status = ?", "type = ?",
                           "id IN (SELECT job_id FROM job_tags WHERE tag = ?)"],
    "jobs._release.where": "lease_until < ? AND worker_id != ?",
    "verifications._listing.where": ["email IN (?,?)", "status = ?"],
}


# Parameters for a statement whose NULLs PostgreSQL cannot type (`CASE WHEN .. THEN ?
# ELSE NULL END` is text when both are NULL), by "module.function" and how many there
# are: sent as the code would send them, typed by psycopg.
PARAMS: dict[str, dict[int, tuple[Any, ...]]] = {
    "jobs._release": {4: (1.0, 1.0, 1.0, "w1")},
}


def _windows() -> Any:
    from novahunt.state import limiter

    return limiter.parse_limit("15/s,500/min")


REPRESENTATIVE["windows"] = _windows()


@dataclass
class Statement:
    where: str       # path:line
    module: str      # "jobs", "migrations", ...
    function: str    # the enclosing function ("" at module level)
    method: str      # execute, ddl, ...
    receiver: str    # "db", "self", "source", ...
    sql: str


def _source_files() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel not in NOT_STATE and path.name != "__main__.py":  # importing runs it
            yield rel, path


def _module_name(rel: str) -> str:
    return "novahunt." + rel.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


# what a placeholder rendered from the wrong representative looks like
_NOT_SQL = re.compile(r"\['|[{}]|<[a-z]+ object|\bNone\b")


class _Unrendered(Exception):
    pass


class _Scope(dict[str, Any]):
    """What a statement's names mean: a function's own representatives, what the code
    bound before the call, the module's representatives, its globals, and last the
    representatives for everybody."""

    def __init__(self, module: str, function: str) -> None:
        super().__init__()
        self.module = module
        prefix = f"{module}.{function}."
        self.fixed = {k.removeprefix(prefix): v for k, v in REPRESENTATIVE.items()
                      if function and k.startswith(prefix)}
        self.update(self.fixed)

    def bind(self, name: str, value: Any) -> None:
        if name not in self.fixed:
            self[name] = value

    def names(self, namespace: dict[str, Any]) -> dict[str, Any]:
        # one flat dict as eval()'s globals: a comprehension inside a statement's
        # expression sees only globals
        merged = {k: v for k, v in REPRESENTATIVE.items() if "." not in k}
        merged.update(namespace)
        prefix = f"{self.module}."
        merged.update({k.removeprefix(prefix): v for k, v in REPRESENTATIVE.items()
                       if k.startswith(prefix) and k.count(".") == 1})
        merged.update(self)
        return merged


def _evaluate(node: ast.expr, namespace: dict[str, Any], scope: _Scope) -> Any:
    code = compile(ast.Expression(node), "<statement>", "eval")
    try:
        return eval(code, scope.names(namespace))
    except NameError as exc:  # a name with neither a value nor a representative
        raise _Unrendered(f"{exc} in `{ast.unparse(node)}`") from None


class _Walker(ast.NodeVisitor):
    def __init__(self, rel: str, tree: ast.Module) -> None:
        self.rel = rel
        self.module = rel.removesuffix(".py").split("/")[-1]
        self.stack: list[ast.AST] = []
        self.found: list[Statement] = []
        self.problems: list[str] = []
        self.visit(tree)

    @functools.cached_property
    def namespace(self) -> dict[str, Any]:
        return vars(importlib.import_module(_module_name(self.rel)))

    def generic_visit(self, node: ast.AST) -> None:
        self.stack.append(node)
        super().generic_visit(node)
        self.stack.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in METHODS and node.args:
            self._call(node, func)
        self.generic_visit(node)

    def _function(self) -> ast.FunctionDef | None:
        for node in reversed(self.stack):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node  # type: ignore[return-value]
        return None

    def _call(self, node: ast.Call, func: ast.Attribute) -> None:
        arg = node.args[0]
        fn = self._function()
        params = {a.arg for a in fn.args.args + fn.args.kwonlyargs} if fn else set()
        free = {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
        in_state = self.rel.startswith("state/")
        text_like = isinstance(arg, ast.Constant | ast.JoinedStr)
        if isinstance(arg, ast.Constant) and not isinstance(arg.value, str):
            return
        if not in_state and not text_like:
            return  # outside state/ only SQL text can be SQL (huey.execute(task) is not)
        if "sql" in free and "sql" in params:
            return  # a backend passing its caller's statement on
        where = f"{self.rel}:{node.lineno}"
        scope = _Scope(self.module, fn.name if fn else "")
        try:
            if fn is not None:
                self._bind_locals(fn, node, scope)
            value = _evaluate(arg, self.namespace, scope)
        except _Unrendered as exc:
            self.problems.append(f"{where}: {exc}: add it to REPRESENTATIVE")
            return
        if not isinstance(value, str) or _NOT_SQL.search(value):
            self.problems.append(f"{where}: `{ast.unparse(arg)}` renders as {value!r}")
            return
        self.found.append(Statement(where, self.module, fn.name if fn else "", func.attr,
                                    ast.unparse(func.value), value))

    def _bind_locals(self, fn: ast.AST, call: ast.Call, scope: _Scope) -> None:
        # the loops around the call: their first element
        for node in self.stack:
            if isinstance(node, ast.For) and _contains(node, call):
                self._bind_first(node.target, node.iter, scope)
            elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
                for gen in node.generators:
                    self._bind_first(gen.target, gen.iter, scope)
        # simple assignments before the call, in source order; `x += ...` too
        steps = sorted((n for n in ast.walk(fn) if isinstance(n, ast.Assign | ast.AugAssign)
                        and n.lineno < call.lineno), key=lambda n: (n.lineno, n.col_offset))
        for step in steps:
            target = step.targets[0] if isinstance(step, ast.Assign) else step.target
            if not isinstance(target, ast.Name) or (
                    isinstance(step, ast.Assign) and len(step.targets) != 1):
                continue
            with contextlib.suppress(_Unrendered, TypeError, AttributeError, ValueError):
                value = _evaluate(step.value, self.namespace, scope)
                if isinstance(step, ast.AugAssign):
                    if target.id not in scope:
                        continue
                    value = scope[target.id] + value
                scope.bind(target.id, value)

    def _bind_first(self, target: ast.expr, values: ast.expr, scope: _Scope) -> None:
        with contextlib.suppress(_Unrendered, TypeError, ValueError, AttributeError):
            for first in _evaluate(values, self.namespace, scope):
                _assign(target, first, scope)
                break


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return any(node is inner for node in ast.walk(outer))


def _assign(target: ast.expr, value: Any, scope: _Scope) -> None:
    if isinstance(target, ast.Name):
        scope.bind(target.id, value)
    elif isinstance(target, ast.Tuple):
        for element, item in zip(target.elts, value, strict=True):
            _assign(element, item, scope)


@functools.cache
def statements() -> tuple[list[Statement], list[str]]:
    found: list[Statement] = []
    problems: list[str] = []
    for rel, path in _source_files():
        walker = _Walker(rel, ast.parse(path.read_text(), str(path)))
        found += walker.found
        problems += walker.problems
    return found, problems


def sqlite_only(s: Statement) -> bool:
    """Run on SQLite and never on PostgreSQL (each case says why)."""
    if s.module == "sqlite":
        return True  # the SQLite backend's own connection setup and BEGIN IMMEDIATE
    if s.module == "transfer" and s.receiver == "source":
        return True  # migrate-to reads the source state.db
    # the PostgreSQL backend's vacuum() sends nothing: autovacuum does that work
    return s.module == "base" and s.function == "vacuum"


CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
_LITERAL = re.compile(r"'(?:[^']|'')*'")


def placeholders(sql: str) -> int:
    """`?` placeholders outside string literals."""
    return _LITERAL.sub("", sql).count("?")


# -- every statement, without a server ---------------------------------------------------

def test_the_source_holds_the_statements_and_each_renders() -> None:
    found, problems = statements()
    assert problems == []
    modules = {s.module for s in found}
    # the table families and the machinery: a walker that lost its way finds far fewer
    assert {"jobs", "items", "contacts", "workers", "quotas", "verifications", "ledger",
            "limiter", "telemetry", "migrations", "transfer", "base", "sqlite"} <= modules
    assert len(found) > 150
    assert not [s.where for s in found if not s.where.startswith("state/")], "SQL outside state/"


def test_translate_accepts_every_statement() -> None:
    found, _ = statements()
    for s in found:
        out = postgres.translate(s.sql)
        assert isinstance(out, str), s.where
        assert out.count("%s") - s.sql.count("%s") == placeholders(s.sql), (s.where, s.sql)
        assert placeholders(out.replace("%%", "")) == 0, (s.where, out)
        if s.method == "ddl":
            assert isinstance(postgres.ddl(s.sql), str)


def test_the_sqlite_only_statements_are_the_expected_ones() -> None:
    found, _ = statements()
    only = {(s.module, s.sql.split()[0].upper()) for s in found if sqlite_only(s)}
    # sqlite's SELECT: the first read of a file opened read-only, on sqlite_master
    assert only <= {("sqlite", "PRAGMA"), ("sqlite", "BEGIN"), ("sqlite", "SELECT"),
                    ("transfer", "PRAGMA"),
                    ("transfer", "SELECT"), ("base", "VACUUM")}, only
    assert postgres.PostgresDatabase.vacuum is not Database.vacuum


# -- on PostgreSQL -----------------------------------------------------------------------

class _Undo(Exception):
    """Leave an atomic() block rolled back."""


def _explain(pg: postgres.PostgresDatabase, s: Statement) -> None:
    translated = postgres.translate(s.sql)
    count = placeholders(s.sql)
    given = PARAMS.get(f"{s.module}.{s.function}", {}).get(count)
    if given is not None:
        pg.conn.execute("EXPLAIN " + translated, given)
        return
    # bound on the client, as literals: NULL fits nearly any type, and EXPLAIN runs nothing
    cursor = psycopg.ClientCursor(pg.conn)
    cursor.execute("EXPLAIN " + translated, [None] * count)


def _check(pg: postgres.PostgresDatabase, s: Statement) -> str | None:
    """None if PostgreSQL accepts `s` where it runs, else why not."""
    try:
        with pg.atomic():
            if s.method == "ddl":
                pg.ddl(s.sql)
            else:
                _explain(pg, s)
            raise _Undo
    except _Undo:
        return None
    except Exception as exc:
        cause = exc.__cause__ or exc
        return f"{s.where} ({type(cause).__name__}: {str(cause).strip()}):\n    {s.sql}"


def test_postgresql_parses_every_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    found, problems = statements()
    assert problems == []
    sent = [s for s in found if not sqlite_only(s)]
    by_migration: dict[str, list[Statement]] = {}
    for s in sent:
        if s.module == "migrations" and s.function.startswith("m0"):
            by_migration.setdefault(s.function, []).append(s)
    failures: list[str] = []

    def checked(migration: migrations.Migration) -> migrations.Migration:
        @functools.wraps(migration)
        def run(db: Database) -> None:
            assert isinstance(db, postgres.PostgresDatabase)
            try:  # the migration's statements, in order, against the schema before it
                with db.atomic():
                    for s in by_migration.get(migration.__name__, []):
                        if (why := _check(db, s)) is not None:
                            failures.append(why)
                            break
                        if s.method == "ddl":
                            db.ddl(s.sql)  # the next statement may need it
                    raise _Undo
            except _Undo:
                pass
            migration(db)
        return run

    control = [s for s in sent if s.sql.lstrip().upper().startswith(CONTROL)]
    sent = [s for s in sent if s not in control]
    with backends.fresh_schema(backends.server_url(backends.POSTGRES)) as url:
        # transaction control where atomic() sends it: inside a transaction and a
        # savepoint (BEGIN there only warns, COMMIT ends it, ROLLBACK after it warns)
        with psycopg.connect(url, autocommit=True) as conn:
            for s in control:
                try:
                    conn.execute("BEGIN")
                    conn.execute("SAVEPOINT sp1")
                    conn.execute(postgres.translate(s.sql), [None] * placeholders(s.sql))
                    conn.execute("ROLLBACK")
                except psycopg.Error as exc:
                    failures.append(f"{s.where} ({exc}):\n    {s.sql}")
                    conn.execute("ROLLBACK")
        monkeypatch.setattr(migrations, "MIGRATIONS", [checked(m) for m in migrations.MIGRATIONS])
        pg = postgres.PostgresDatabase(url)
        assert migrations.schema_version(pg) == len(migrations.MIGRATIONS)
        for s in sent:
            if s.module == "migrations" and s.function.startswith("m0"):
                continue
            with pg.atomic():  # one connection held for the savepoints of _check
                if (why := _check(pg, s)) is not None:
                    failures.append(why)
    # each migration's statements were checked before it ran (m001 ... m013)
    assert set(by_migration) <= {m.__name__ for m in migrations.MIGRATIONS}
    assert len(by_migration) == len(migrations.MIGRATIONS)
    assert failures == [], "\n".join(failures)
