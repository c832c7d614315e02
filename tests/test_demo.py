"""`novahunt demo` runs the whole flow with no key and no network."""

from __future__ import annotations

from pathlib import Path

from helpers import novahunt_env, run_process


def test_demo_collects_the_sandbox_domains_in_its_own_home(home: Path) -> None:
    env = novahunt_env()
    env.pop("HUNTER_API_KEY", None)
    env.pop("NOVAHUNT_HUNTER_URL", None)
    done = run_process("demo", env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout  # a pipe gets plain lines
    assert "globex-logistics.example" in done.stdout and "340 emails" in done.stdout
    assert "completed" in done.stdout
    demo_home = home / "demo"
    assert (demo_home / "state.db").exists()
    # the user's own state (a shared database too, when one is set) gets no demo jobs
    own = run_process("jobs", "list", "--json", env=env)
    assert own.returncode == 0 and own.stdout.strip() == "[]"
    demo_env = {k: v for k, v in env.items() if k not in ("NOVAHUNT_DATABASE_URL",
                                                          "NOVAHUNT_QUEUE_URL")}
    listing = run_process("jobs", "list", "--json",
                          env={**demo_env, "NOVAHUNT_HOME": str(demo_home)})
    assert listing.returncode == 0 and listing.stdout.count('"status": "completed"') == 4
