"""The demo: a sandbox preloaded with four made-up companies, and
`python -m novahunt.sandbox` serving it until Ctrl-C."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Sequence
from typing import Any

from .server import Sandbox

DEMO_DOMAINS: Sequence[tuple[str, int, dict[str, Any]]] = (
    ("acme-robotics.example", 8, {"organization": "Acme Robotics", "pattern": "{first}"}),
    ("globex-logistics.example", 340, {"organization": "Globex Logistics"}),
    (
        "initech-software.example",
        60,
        {"organization": "Initech Software", "pattern": "{f}{last}", "flaky": 0.15},
    ),
    ("umbrella-bakery.example", 0, {"organization": "Umbrella Bakery"}),
)


def demo_sandbox(
    port: int = 0, *, api_key: str = "demo", free_plan: bool = False, single_credit: bool = False
) -> Sandbox:
    """A sandbox preloaded with the demo domains (not started).

    A small domain (8 addresses), a big one that takes four pages at page size 100 (340), a
    flaky one that answers 429 to about 15% of searches (60) and one that has no addresses.
    `free_plan` and `single_credit` choose the plan, as in `Sandbox`.
    """
    sandbox = Sandbox(api_key, port=port, free_plan=free_plan, single_credit=single_credit)
    for domain, emails, options in DEMO_DOMAINS:
        sandbox.add_domain(domain, emails, **options)
    return sandbox


def _iter_demo_lines(sandbox: Sandbox) -> Iterator[str]:
    yield f"novahunt sandbox (Hunter API v2 look-alike) serving on {sandbox.url}"
    yield (f"API key: {sandbox.api_key}   (as the X-API-KEY header, Authorization: Bearer, "
           "or ?api_key=)")
    plan = "free plan (10 emails per domain)" if sandbox.free_plan else "paid plan"
    quotas = "one credits bucket" if sandbox.single_credit else "separate search/verify quotas"
    yield f"Plan: {plan}, {quotas}"
    for domain in sandbox.domains():
        yield f"  {domain:<28} {len(sandbox.emails_of(domain)):>4} emails"
    yield "Press Ctrl-C to stop."


def main(argv: list[str] | None = None) -> None:
    """`python -m novahunt.sandbox --port 8765 [--key demo] [--free-plan] [--single-credit]`:
    serve the demo until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m novahunt.sandbox",
        description="Serve a local, made-up Hunter.io API v2 for demos and tests.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any)")
    parser.add_argument("--key", default="demo", help="API key the sandbox accepts")
    parser.add_argument("--free-plan", action="store_true",
                        help="answer like Hunter's free plan (Domain Search: limit + offset <= 10)")
    parser.add_argument("--single-credit", action="store_true",
                        help="one credits bucket; a billed verification costs 0.5 credit")
    args = parser.parse_args(argv)
    sandbox = demo_sandbox(args.port, api_key=args.key, free_plan=args.free_plan,
                           single_credit=args.single_credit)
    sandbox.start()
    for line in _iter_demo_lines(sandbox):
        print(line, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
