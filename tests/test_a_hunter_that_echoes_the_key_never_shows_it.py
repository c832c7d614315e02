"""A Hunter answer that echoes the API key back (in a 222's details, in a 200's fields,
in a 200 that cannot be read, in an error id) never gets the key onto the terminal, into
state.db or into novahunt.log (issue 17: 41 lines on the terminal, 17 rows, 3 log lines)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import KEY, Cli, drain
from novahunt.sandbox import Fault, Sandbox
from novahunt.worker.runtime import WorkerRuntime

# the key as a server could hide it: plain, upper-cased, behind JSON escapes
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in KEY)


def test_nothing_hunter_echoes_puts_the_key_anywhere(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, home: Path) -> None:
    page = ('{"data": {"domain": "echo.example", "organization": "Org ' + KEY + '",'
            ' "pattern": "' + ESCAPED + '", "emails": [{"value": "ann@echo.example",'
            ' "position": "' + KEY.upper() + '", "sources": [{"uri": "' + KEY + '"}]}, 7,'
            ' {"' + KEY + '": 1}]}, "meta": {"results": "' + KEY + '"}}')
    sandbox.inject(Fault(body=page), domain="echo.example")
    # a 200 that cannot be read, with the key in it; an error whose id is the key
    sandbox.inject(Fault(body='{"data": "' + KEY + '", "x'), domain="broken.example")
    sandbox.inject(Fault(body='{"errors": [{"id": "' + ESCAPED + '", "details": "bad key '
                                + ESCAPED + '"}]}', status=400), domain="refused.example")
    # a verifier's 222, its details echoing the key, on every try
    sandbox.inject(*[Fault(status=222, error_id="smtp_failure",
                           details=f"remote server said {KEY}")] * 5,
                   *[Fault(status=222, body='{"errors": [{"id": "smtp_failure", "details":'
                                            ' "remote server said ' + ESCAPED + '"}]}')] * 5,
                   email="ann@echo.example")
    for domain in ("echo.example", "broken.example", "refused.example"):
        sandbox.add_domain(domain, 3)
    code, out, err = cli("collect", "echo.example", "broken.example", "refused.example",
                         "--json")
    assert code == 0, err
    outputs = [out, err]
    code, out, err = cli("verify", "ann@echo.example", "--json")
    outputs += [out, err]
    drain(inline_worker)
    for args in (("jobs", "list"), ("jobs", "list", "--json"), ("results", "echo.example"),
                 ("results", "echo.example", "--format", "json"), ("stats",)):
        code, out, err = cli(*args)
        outputs += [out, err]
    for job in json.loads(cli("jobs", "list", "--json")[1]):
        for shape in ((), ("--json",)):
            code, out, err = cli("jobs", "show", str(job["id"]), *shape)
            outputs += [out, err]
    shown = "\n".join(outputs)
    # it was all said, only without the key
    assert "Org [redacted]" in shown and "remote server said [redacted]" in shown
    assert "bad key [redacted]" in shown
    assert KEY.lower() not in shown.lower()
    inline_worker.db.close()
    for path in home.rglob("*"):  # state.db and its journal, queue.db, novahunt.log
        if path.is_file():
            assert KEY.lower().encode() not in path.read_bytes().lower(), path
