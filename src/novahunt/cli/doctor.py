"""`novahunt doctor`: check the installation and say what is wrong, one line a check."""

from __future__ import annotations

import typer

from novahunt.cli.common import out, print_json

_COLOUR = {"ok": "green", "warn": "yellow", "fail": "red"}


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    json_: bool = typer.Option(False, "--json",
                               help="Print a list of {check, status, message} as JSON."),
) -> None:
    """Check where state and the queue live, the API key, state.db, workers, stuck jobs
    and disk space.

    Each line is ok, warn or fail with a short reason. The API key is asked about at
    Hunter's account endpoint (free) and shown as its first 3 and last 4 characters at
    most; a database or queue URL is shown with its password as ***. Exit code: 0 when
    nothing fails, 3 when only the configuration or the key fails, 1 otherwise.

    Example: novahunt doctor --json
    """
    from novahunt.cli.plain import plain
    from novahunt.ops import doctor as doctor_core

    checks = doctor_core.run()
    if json_:
        print_json([c.to_dict() for c in checks])
    else:
        width = max(len(c.check) for c in checks)
        for c in checks:
            colour = _COLOUR[str(c.status)]
            out.print(f"[{colour}]{c.status!s:<4}[/] {c.check:<{width}}  {plain(c.message)}")
    code = doctor_core.exit_code(checks)
    if code:
        raise typer.Exit(code)
