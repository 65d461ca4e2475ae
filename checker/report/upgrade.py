"""Reports of `k0s-policy upgrade`: text (one block per step), Markdown (an upgrade ticket or a PR
description) and versioned JSON with ``steps``, ``findings`` and ``actions``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any, TextIO

from checker.findings import Count, Finding, finding_counts, summary_line
from checker.report.escape import code, code_block, finding_text, markdown
from checker.report.escape import text as plain
from checker.report.json_report import finding_to_dict
from checker.report.style import Style, TextOptions, write_statistics
from checker.report.text import finding_line
from checker.workflows.upgrade.model import (
    BLOCKED,
    CLEAN_OBJECT,
    FORMAT,
    FORMAT_VERSION,
    IMAGES,
    VERIFY,
    VERSION,
    Action,
    ClusterUpgrade,
    Step,
    Upgrade,
)

KIND_LETTERS = {CLEAN_OBJECT: "a", IMAGES: "b", VERSION: "c", VERIFY: "d"}


def lettered(actions: list[Action]) -> list[tuple[str, Action]]:
    """(a) clean the object, (b) images, (c) the version change, (d) checks after the step; a kind
    with several actions numbers them (a1, a2)."""
    kinds = [a.kind for a in actions]
    seen: dict[str, int] = {}
    result: list[tuple[str, Action]] = []
    for action in actions:
        letter = KIND_LETTERS.get(action.kind, "-")
        if kinds.count(action.kind) > 1:
            seen[action.kind] = seen.get(action.kind, 0) + 1
            letter += str(seen[action.kind])
        result.append((letter, action))
    return result


def _detail(finding: Finding) -> str:
    return str(getattr(finding, "detail", "") or finding.data.get("detail", "") or "")


def _current(entry: ClusterUpgrade) -> str:
    if entry.current is None:
        return "current release unknown"
    shown = entry.current.patch.version
    if entry.current.version != shown:
        shown += f" (stated as {entry.current.version})"
    return f"runs {shown}, from {entry.current.source}"


# --- JSON --------------------------------------------------------------------------------------------------


def _finding(finding: Finding, step: Step, cluster: str) -> dict[str, Any]:
    entry = finding_to_dict(finding)
    entry["cluster"] = finding.cluster or cluster
    entry["step"] = step.number
    entry["blocking"] = finding in step.blocking
    if _detail(finding):
        entry["detail"] = _detail(finding)
    return entry


def to_json(upgrade: Upgrade) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    for entry in upgrade.clusters:
        current = entry.current
        clusters.append(
            {
                "name": entry.name,
                "current": {
                    "version": current.version,
                    "release": current.patch.version,
                    "source": current.source,
                }
                if current is not None
                else None,
                "target": entry.target.version,
                "verdict": entry.verdict,
                "steps": [s.number for s in entry.steps],
                "blockers": entry.blockers,
                "error": entry.error,
                "notes": entry.notes,
            }
        )
        for step in entry.steps:
            steps.append(
                {
                    "cluster": entry.name,
                    "number": step.number,
                    "from": step.source.version,
                    "to": step.target.version,
                    "kubernetes": step.target.kubernetes,
                    "verdict": step.verdict,
                    "blocking": len(step.blocking),
                    "missing_images": step.missing_images,
                    "notes": step.notes,
                }
            )
            findings += [_finding(f, step, entry.name) for f in step.findings]
            actions += [a.to_dict(step.number, entry.name) for a in step.actions]
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "tool": {"name": "k0s-policy", "version": upgrade.tool_version},
        "generated": upgrade.generated.isoformat(timespec="seconds"),
        "to": upgrade.requested,
        "target": upgrade.target.version,
        "verdict": upgrade.verdict,
        "exit_code": upgrade.exit_code,
        "live": upgrade.live_source,
        "clusters": clusters,
        "steps": steps,
        "findings": findings,
        "actions": actions,
        "notes": upgrade.notes,
        "input_errors": upgrade.input_errors,
    }


def write_json(upgrade: Upgrade, out: TextIO) -> None:
    out.write(json.dumps(to_json(upgrade), indent=2))
    out.write("\n")


# --- text --------------------------------------------------------------------------------------------------


def _text_action(out: TextIO, letter: str, action: Action) -> None:
    out.write(f"    {letter}) {plain(action.title)}\n")
    for command in action.commands:
        out.write(f"         $ {plain(command)}\n")
    said = " ".join(action.commands)
    if not all(item in said for item in action.items):  # the edit command already names each field
        for item in action.items:
            out.write(f"         - {plain(item)}\n")
    for name, content in action.files.items():
        out.write(f"         file {plain(name)}:\n")
        for line in content.splitlines():
            out.write(f"           {plain(line)}\n")
    for note in action.notes:
        out.write(f"         note: {plain(note)}\n")


def _text_finding(out: TextIO, finding: Finding, verbose: bool, style: Style) -> None:
    finding = finding_text(finding)
    out.write(finding_line(finding, style, indent="    "))
    if finding.fix:
        out.write(f"        {style.dim('fix:')} {finding.fix}\n")
    if verbose and _detail(finding):
        out.write(f"        why: {plain(_detail(finding))}\n")


def summary(upgrade: Upgrade) -> str:
    """`1 cluster, 2 steps: 19 errors, 4 warnings, 2 blocked steps` (checker.findings.summary_line)."""
    steps = [step for entry in upgrade.clusters for step in entry.steps]
    findings = [finding for step in steps for finding in step.active]
    blocked = sum(1 for step in steps if step.verdict == BLOCKED)
    scope: list[Count] = [(len(upgrade.clusters), "cluster"), (len(steps), "step")]
    outcome: list[Count] = [
        *finding_counts(findings),
        (len(upgrade.input_errors), "input error"),
        (blocked, "blocked step"),
    ]
    return summary_line(scope, outcome)


def write_text(upgrade: Upgrade, out: TextIO, verbose: bool = False, text: TextOptions | None = None) -> None:
    options = text or TextOptions()
    style = Style.of(options, out)
    if options.quiet:  # the findings of every step, one line each
        for entry in upgrade.clusters:
            for step in entry.steps:
                for finding in map(finding_text, step.active):
                    out.write(finding_line(finding, style))
        return
    out.write(f"k0s-policy upgrade to {upgrade.target.version}: {upgrade.verdict.upper()}\n")
    for note in upgrade.notes:
        out.write(f"note: {plain(note)}\n")
    for entry in upgrade.clusters:
        count = len(entry.steps)
        out.write(
            f"\ncluster {plain(entry.name)}: {plain(_current(entry))}; {count} step{'s' if count != 1 else ''}: "
            f"{entry.verdict.upper()}\n"
        )
        if entry.error:
            out.write(f"  could not run: {plain(entry.error)}\n")
        for blocker in entry.blockers:
            out.write(f"  blocked: {plain(blocker)}\n")
        for note in entry.notes:
            out.write(f"  note: {plain(note)}\n")
        for step in entry.steps:
            out.write(
                f"\n  step {step.number}: {step.source.version} -> {step.target.version} "
                f"(Kubernetes {step.target.kubernetes}): {step.verdict.upper()}\n"
            )
            if options.statistics and step.active:
                out.write("    findings by rule:\n")
                buffer = io.StringIO()
                write_statistics(step.active, buffer, style)
                out.write("".join(f"      {line}\n" for line in buffer.getvalue().splitlines()))
            else:
                _step_findings(out, step, verbose, style)
            if step.missing_images:
                out.write(
                    "    images the nodes would lack: " + ", ".join(map(plain, step.missing_images)) + "\n"
                )
            for note in step.notes:
                out.write(f"    note: {plain(note)}\n")
            if step.actions:
                out.write("    what to do, in order:\n")
                for letter, action in lettered(step.actions):
                    _text_action(out, letter, action)
    for error in upgrade.input_errors:
        out.write(f"\ninput error: {plain(error)}\n")
    out.write(f"\n{upgrade.verdict}: {summary(upgrade)}\n")


def _step_findings(out: TextIO, step: Step, verbose: bool, style: Style) -> None:
    blocking = step.blocking
    if blocking:
        out.write(f"    {len(blocking)} blocking finding{'s' if len(blocking) != 1 else ''}:\n")
        for finding in blocking:
            _text_finding(out, finding, verbose, style)
    others = [f for f in step.active if f not in blocking]
    if others:
        out.write(f"    not blocking ({len(others)}):\n")
        for finding in map(finding_text, others):
            out.write(finding_line(finding, style, f"{finding.path}:{finding.line}", indent="    "))


# --- Markdown ----------------------------------------------------------------------------------------------


def write_markdown(upgrade: Upgrade, out: TextIO) -> None:
    out.write(f"# Upgrade to k0s {upgrade.target.version}: {upgrade.verdict}\n\n")
    for note in upgrade.notes:
        out.write(f"> {markdown(note)}\n")
    for entry in upgrade.clusters:
        current = markdown(_current(entry).capitalize())
        out.write(f"\n## {markdown(entry.name)}\n\n{current}. Verdict: **{entry.verdict}**.\n\n")
        if entry.error:
            out.write(f"Could not run: {markdown(entry.error)}\n\n")
        for blocker in entry.blockers:
            out.write(f"- **Blocked:** {markdown(blocker)}\n")
        for note in entry.notes:
            out.write(f"- {markdown(note)}\n")
        if entry.steps:
            out.write("\n| Step | From | To | Kubernetes | Verdict | Blocking | Missing images |\n")
            out.write("|---|---|---|---|---|---|---|\n")
            for step in entry.steps:
                out.write(
                    f"| {step.number} | {step.source.version} | {step.target.version} | {step.target.kubernetes} "
                    f"| {step.verdict} | {len(step.blocking)} | {len(step.missing_images)} |\n"
                )
        for step in entry.steps:
            out.write(
                f"\n### Step {step.number}: {step.source.version} → {step.target.version} ({step.verdict})\n\n"
            )
            if step.blocking:
                out.write("| Where | Rule | Finding | Fix |\n|---|---|---|---|\n")
                for f in step.blocking:
                    where = code(f"{f.path}:{f.line}", table=True)
                    out.write(
                        f"| {where} | {markdown(f.rule)} | {markdown(f.message)} | {markdown(f.fix)} |\n"
                    )
                out.write("\n")
            others = [f for f in step.active if f not in step.blocking]
            if others:
                out.write(
                    "Not blocking: "
                    + "; ".join(f"{markdown(f.rule)} at {code(f'{f.path}:{f.line}')}" for f in others)
                    + ".\n\n"
                )
            if step.missing_images:
                out.write(
                    "Images the nodes would lack: " + ", ".join(code(i) for i in step.missing_images) + "\n\n"
                )
            for note in step.notes:
                out.write(f"- {markdown(note)}\n")
            for letter, action in lettered(step.actions):
                out.write(f"\n**{letter}) {markdown(action.title)}**\n\n")
                if action.commands:
                    out.write(code_block("\n".join(action.commands), "sh") + "\n")
                for item in action.items:
                    out.write(f"- {code(item)}\n")
                for name, content in action.files.items():
                    out.write(f"{code(name)}:\n\n{code_block(content, 'yaml')}\n")
                for note in action.notes:
                    out.write(f"- {markdown(note)}\n")
    for error in upgrade.input_errors:
        out.write(f"\n**Input error:** {markdown(error)}\n")


WRITERS: dict[str, Callable[[Upgrade, TextIO], None]] = {
    "text": write_text,
    "markdown": write_markdown,
    "json": write_json,
}
