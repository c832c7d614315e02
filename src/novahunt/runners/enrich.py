"""Fill in the emails of a CSV of leads, cheapest source first, one row per step.

For a row without an email: a contact already in state.db with that name, or a fresh
Email Finder answer on record, costs nothing; then (with `verify`) the domain's pattern
candidates, verified through the cache; then Hunter's Email Finder. Each row's outcome
is committed with the row's item, so a crash resumes at the next row and no row is paid
for twice. Rows without a usable name or domain are reported by row number. An address
on another domain than the lead's (a Finder answer, a contact stored earlier) is never
the lead's email: the row's note names it. The output file is written from the stored
rows when the job completes, whole or not at all, no cell a spreadsheet formula.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypedDict

from novahunt.config import Settings
from novahunt.errors import BadInput, DataClaimed, ItemRefused
from novahunt.inputs import emails, names
from novahunt.inputs.domains import email_on_domain, normalise_domain
from novahunt.inputs.exports import CsvWriter, Encoding, atomic_output
from novahunt.inputs.leads import MAX_ENRICH_ROWS, Leads, first_value
from novahunt.providers.records import Contact
from novahunt.runners import find as find_runner
from novahunt.runners.context import JobContext
from novahunt.runners.kind import JobKind, webhook_param
from novahunt.runners.verify import deliverable, verify_now
from novahunt.state import contacts, items, verifications
from novahunt.state.jobs import NewJob, Progress

TYPE = "enrich"
# what Hunter said about the person found (paid for with the address): output key -> column
PERSON_COLUMNS = {"position": "enriched_position", "company": "enriched_company",
                  "linkedin": "enriched_linkedin", "twitter": "enriched_twitter",
                  "phone_number": "enriched_phone"}
COLUMNS = ["enriched_email", "enriched_confidence", "enriched_source",
           *PERSON_COLUMNS.values(), "verify_status", "verify_result", "enrich_note"]


class Result(TypedDict):
    """An enrich job's result: what became of the rows, and the file written."""

    rows: int
    found: int
    had_email: int
    not_found: int
    refused: int              # Hunter refused the person (a 451 included)
    skipped: int              # rows without a usable name or domain
    skipped_rows: list[str]   # why, by row number (the first 100)
    output: str
    api_calls: int
    credits: float


def plan(settings: Settings, leads: Leads, output: Path, *, verify: bool = False,
         priority: int = 3, tags: list[str] | None = None,
         webhook: str | None = None) -> NewJob:
    if len(leads.rows) > MAX_ENRICH_ROWS:
        raise BadInput(f"{leads.path}: {len(leads.rows)} rows, more than the "
                       f"{MAX_ENRICH_ROWS:,} an enrich job takes: split the file")
    settings.require_key()
    params: dict[str, Any] = {
        "input": str(leads.path), "output": str(output.resolve()), "header": leads.header,
        "columns": leads.columns, "delimiter": leads.dialect, "rows": len(leads.rows),
        "verify": verify, "max_age": settings.verify_max_age, "target": leads.path.name,
        "encoding": {"codec": leads.encoding.codec, "bom": leads.encoding.bom}}
    if leads.numbers != list(range(2, len(leads.rows) + 2)):
        # blank lines or cells with line breaks: notes name the spreadsheet's rows
        params["row_numbers"] = leads.numbers
    if leads.preamble:
        params["preamble"] = leads.preamble
    params.update(webhook_param(settings, webhook))
    return NewJob(
        type=TYPE, priority=priority, tags=tags or [], max_attempts=settings.max_attempts,
        items=[json.dumps(row) for row in leads.rows], params=params,
    )


def _cell(row: list[str], columns: dict[str, int | None], key: str) -> str:
    index = columns.get(key)
    return row[index].strip() if index is not None and index < len(row) else ""


def _enrich_row(ctx: JobContext, row: list[str], number: int) -> tuple[str, dict[str, Any]]:
    """(outcome, output) for one row. Outcomes: had_email, found, not_found, skipped,
    refused and claimed (Hunter refused this person: the note says why)."""
    p = ctx.job.params
    columns: dict[str, int | None] = p["columns"]
    if _cell(row, columns, "email"):
        return "had_email", {"note": "already had an email"}
    try:
        who = names.parse(_cell(row, columns, "first"), _cell(row, columns, "last"),
                          _cell(row, columns, "name"))
    except BadInput:
        return "skipped", {"note": f"row {number}: no first and last name"}
    first, last = who.parts
    raw_domain = first_value(_cell(row, columns, "domain"))  # `a.com;b.com`: the first
    try:
        domain = normalise_domain(raw_domain)
    except BadInput:
        return "skipped", {"note": f"row {number}: no usable domain ({raw_domain[:40]!r})"}
    special = emails.special_use_problem(domain)
    if special is not None:  # no mailbox there: the Finder is never paid for it
        return "skipped", {"note": f"row {number}: special-use domain: {special}"}

    known = contacts.contact_by_name(ctx.db, domain, first, last)
    if known is not None and email_on_domain(known["email"], domain):
        return "found", {"email": known["email"], "confidence": known["confidence"],
                         "source": f"state.db ({known['source']})",
                         **{k: known[k] for k in PERSON_COLUMNS}}
    lookup = contacts.person_lookup(ctx.db, domain, first, last,
                                 time.time() - ctx.settings.freshness)
    missed = "Email Finder found nobody"
    if lookup is not None:
        if lookup.email and email_on_domain(lookup.email, domain):
            return "found", {"email": lookup.email, "confidence": lookup.score,
                             "source": f"state.db ({lookup.source})",
                             **find_runner.person_fields(lookup)}
        if lookup.email:  # remembered before addresses elsewhere were refused
            missed = find_runner.elsewhere(lookup.email, domain)
        if not p["verify"]:
            return "not_found", {"note": f"{missed} (remembered)"}
    if p["verify"]:
        facts = contacts.domain_facts(ctx.db, domain) or {}
        for candidate in names.candidates(who.first, who.last, domain,
                                          facts.get("pattern"))[:6]:
            ctx.check()
            checked = verify_now(ctx, candidate, max_age=p["max_age"])
            if deliverable(checked):
                with ctx.db.atomic():
                    contacts.save_contacts(ctx.db, domain, [Contact(
                        email=candidate, first_name=first, last_name=last,
                        verification_status="valid")], source="pattern_verified",
                        job_id=ctx.job.id)
                return "found", {"email": candidate, "confidence": None,
                                 "source": "pattern, verified",
                                 "company": facts.get("organization")}
            if checked is not None and checked.status == "accept_all":
                break  # every candidate would look deliverable: ask the Finder
        if lookup is not None:
            return "not_found", {"note": f"no pattern candidate verified; {missed}"}
    try:
        answer = ctx.call(partial(ctx.hunter().email_finder, domain, first, last),
                          endpoint="email-finder")
    except ItemRefused as exc:
        # about this person only: the row says why and the list goes on. A 451 person
        # asked not to be processed: nothing about them is stored.
        return ("claimed" if isinstance(exc, DataClaimed) else "refused"), {
            "note": str(exc)}
    with ctx.db.atomic():
        lookup = find_runner.remember(ctx.db, answer, first, last, ctx.job.id)
    if lookup.email is None and answer.email:
        return "not_found", {"note": find_runner.elsewhere(answer.email, domain)}
    if answer.email:
        return "found", {"email": answer.email, "confidence": answer.score,
                         "source": "hunter email finder", **find_runner.person_fields(lookup)}
    return "not_found", {"note": "Email Finder found nobody"}


def _row_number(params: Mapping[str, Any], seq: int) -> int:
    """The spreadsheet row of the job's item `seq` (the header is row 1)."""
    numbers: list[int] | None = params.get("row_numbers")
    return numbers[seq] if numbers is not None and seq < len(numbers) else seq + 2


def run(ctx: JobContext) -> Result:
    p = ctx.job.params
    total: int = p["rows"]
    counts = items.outcomes(ctx.db, ctx.job.id)
    while (item := items.next_item(ctx.db, ctx.job.id, time.time())) is not None:
        ctx.check()
        outcome, output = _enrich_row(ctx, json.loads(item.value), _row_number(p, item.seq))
        with ctx.db.atomic():
            items.done(ctx.db, item, outcome, output)
            counts[outcome] = counts.get(outcome, 0) + 1
            done = sum(n for k, n in counts.items() if k != "remaining")
            ctx.commit({"done": done}, Progress(done, total, "enriching",
                                                f"{counts.get('found', 0)} found, "
                                                f"{total - done} remaining"))
    skipped = [o["note"] for _, o in items.outputs(ctx.db, ctx.job.id)
               if o and o.get("note", "").startswith("row ")]
    written = write_output(ctx, Path(p["output"]))
    usage = ctx.usage()
    return {"rows": total, "found": counts.get("found", 0),
            "had_email": counts.get("had_email", 0), "not_found": counts.get("not_found", 0),
            "refused": counts.get("refused", 0) + counts.get("claimed", 0),
            "skipped": len(skipped), "skipped_rows": skipped[:100], "output": str(written),
            "api_calls": usage["api_calls"], "credits": usage["credits"]}


def write_output(ctx: JobContext, out: Path) -> Path:
    """The input's rows in order, with what enrich found added."""
    p = ctx.job.params
    rows = list(items.outputs(ctx.db, ctx.job.id))
    found = verifications.lookup(ctx.db, [o["email"] for _, o in rows if o and o.get("email")])
    # in the input's encoding and BOM (a job queued before that was kept: UTF-8);
    # a crash mid-write leaves no half file
    encoding = Encoding(**p.get("encoding", {}))
    with atomic_output(out, encoding) as fh:
        if p.get("preamble"):  # Excel's `sep=;` line
            fh.write(p["preamble"] + "\r\n")
        writer = CsvWriter(fh, delimiter=p["delimiter"])
        writer.writerow([*p["header"], *COLUMNS])
        for value, o in rows:
            o = o or {}
            v = found.get(o.get("email") or "")
            writer.writerow([*json.loads(value), o.get("email") or "",
                             "" if o.get("confidence") is None else o["confidence"],
                             o.get("source") or "",
                             *(o.get(k) or "" for k in PERSON_COLUMNS), v.status if v else "",
                             (v.result or "") if v else "", o.get("note") or ""])
    return out


# -- what the rest asks about an enrich job ----------------------------------------------


def summary(result: Result) -> str:
    return (f"{result['rows']} rows: {result['found']} found, {result['not_found']} not "
            f"found, {result['skipped']} skipped{_refused(result)}; wrote {result['output']}")


def describe(result: Result) -> str:
    return "completed"


def report(result: Result) -> str:
    """What `novahunt enrich --follow` prints once the job is done."""
    return (f"{result['found']} found, {result['had_email']} had one, {result['not_found']} "
            f"not found, {result['skipped']} skipped{_refused(result)}; wrote {result['output']}")


def _refused(result: Result) -> str:
    return f", {result['refused']} refused by Hunter" if result.get("refused") else ""


def target(params: Mapping[str, Any]) -> str:
    """The leads file's name, for `jobs list` and the bars."""
    return str(params.get("target") or "")


KIND = JobKind(TYPE, run, summary, describe, target=target)
