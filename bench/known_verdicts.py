"""What a verification list costs when Hunter already gave verdicts for most of it.

Collects D domains of N addresses each from the sandbox (a paid plan), where a share of
the Domain Search entries carry Hunter's own fresh verdict (valid, invalid, accept_all),
then verifies every collected address with `novahunt verify --file` and a
`novahunt worker --burst`. Prints the Verifier calls and the credits Hunter billed (the
sandbox's own record) and what novahunt's ledger says, for this checkout and, with
`--before REV`, for an older revision run against the same sandbox (a git worktree).

    python bench/known_verdicts.py [--domains 10] [--per-domain 100] [--known 0.6]
                                   [--before a7d8468]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import KEY, ROOT, SRC, Table, burst, novahunt, novahunt_env, queue_collect

from novahunt.sandbox import BILLED_STATUSES, Sandbox


def run_case(src: Path, domains: int, per_domain: int, known: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(KEY) as box:
        # the share of entries with a verdict is drawn among addresses whose verdict is
        # one Hunter bills (84 % of them here): scale it so `known` of all carry one
        billed = sum(1 for s in box_statuses(box, domains, per_domain) if s in BILLED_STATUSES)
        box.fresh_verdict_share = min(1.0, known * domains * per_domain / max(1, billed))
        names = [f"list{i}.example" for i in range(domains)]
        env = novahunt_env(tmp, box.url, src=src, HUNTER_PAGE_SIZE="100",
                           NOVAHUNT_RATE_DOMAIN_SEARCH="200/s",
                           NOVAHUNT_RATE_EMAIL_VERIFIER="200/s",
                           NOVAHUNT_RATE_EMAIL_COUNT="200/s")
        queue_collect(env, tmp, names)
        burst(env)
        emails = [e for d in names for e in box.emails_of(d)]
        addresses = Path(tmp) / "emails.txt"
        addresses.write_text("\n".join(emails) + "\n")
        before_calls = box.count("email-verifier")
        before_credits = box.verifications_used
        novahunt("verify", "--file", str(addresses), "--json", env=env)
        burst(env)
        stats = json.loads(novahunt("stats", "--json", "--since", "1h", env=env).stdout)
        with_verdict = known_share(env)
        return {"addresses": len(emails), "with_verdict": with_verdict,
                "calls": box.count("email-verifier") - before_calls,
                "billed": box.verifications_used - before_credits,
                "ledger": float(stats["credits"].get("verification", 0))}


def box_statuses(box: Sandbox, domains: int, per_domain: int) -> list[str]:
    for i in range(domains):
        box.add_domain(f"list{i}.example", per_domain)
    return [box.verdict(e) for i in range(domains) for e in box.emails_of(f"list{i}.example")]


def known_share(env: dict[str, str]) -> float:
    """The share of collected addresses whose Domain Search entry carried a verdict."""
    code = ("from novahunt.state import db; d = db.open_state(); print(d.scalar("
            "\"SELECT AVG(CASE WHEN verification_status IS NULL THEN 0.0 ELSE 1.0 END)"
            " FROM contacts\"))")
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                          capture_output=True, text=True)
    return float(done.stdout.strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=10)
    parser.add_argument("--per-domain", type=int, default=100)
    parser.add_argument("--known", type=float, default=0.6,
                        help="share of addresses Domain Search gives a verdict for")
    parser.add_argument("--before", help="a git revision to compare with")
    args = parser.parse_args()
    cases = [("this checkout", SRC)]
    worktree = None
    if args.before:
        worktree = Path(tempfile.mkdtemp()) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree),
                        args.before], check=True, capture_output=True)
        cases.insert(0, (f"before ({args.before})", worktree / "src"))
    try:
        print(f"{args.domains} domains x {args.per_domain} addresses, Domain Search verdicts "
              f"for about {args.known:.0%}; sandbox billing = Hunter's rules")
        table = Table(("code", 22, "", True), ("addresses", 9, ".0f"), ("verdicts", 8, ".0%"),
                      ("Verifier calls", 14, ".0f"), ("credits billed", 14, "g"),
                      ("ledger says", 11, "g"))
        table.header()
        for label, src in cases:
            r = run_case(src, args.domains, args.per_domain, args.known)
            table.row(label, r["addresses"], r["with_verdict"], r["calls"], r["billed"],
                      r["ledger"])
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(worktree)], check=False, capture_output=True)


if __name__ == "__main__":
    main()
