"""The audit's reports: text, Markdown (for an issue or a job summary) and versioned JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TextIO

from checker.findings import Count, Finding, counts, finding_counts, plural, summary_line
from checker.inputs.live import CLUSTER_CONFIG
from checker.inputs.yamldoc import format_path
from checker.report.escape import code, code_block, finding_text, markdown
from checker.report.escape import text as plain
from checker.report.style import Style, TextOptions, write_statistics
from checker.workflows.audit.drift import plan_name, plan_state
from checker.workflows.audit.model import LIVE_PREFIX, Audit, Drift, show_value

FORMAT_VERSION = 1


# --- reports -------------------------------------------------------------------------------------------


def _origin(finding: Finding) -> str:
    return "live" if finding.path.startswith(LIVE_PREFIX) else "repository"


def to_json(audit: Audit) -> dict[str, Any]:
    """The versioned JSON report. Every key is always present; null when it does not apply."""
    from checker.report.json_report import finding_to_dict

    findings = []
    for finding in audit.findings:
        entry = finding_to_dict(finding)
        entry["origin"] = _origin(finding)
        introduced = audit.introduced.get(finding.fingerprint)
        entry["introduced_by"] = introduced.to_dict() if introduced else None
        findings.append(entry)
    live: dict[str, Any] | None = None
    if audit.live is not None:
        state = audit.live
        live = {
            "source": state.source,
            "checked_against": {"version": audit.live_target or None, "why": audit.live_target_why},
            "clusterconfig": {
                "object": state.config_ref,
                "read": CLUSTER_CONFIG in state.read,
                "present": state.cluster_config is not None,
                "persisted_by": audit.persisted_by or None,
            },
            "plans": [{"name": plan_name(p), "state": plan_state(p)} for p in state.plans],
            "nodes": [
                {
                    "name": n.name,
                    "role": n.role,
                    "kubelet": n.kubelet_text or None,
                    "k0s_version": n.k0s_version or None,
                }
                for n in state.nodes
            ],
        }
    cluster = audit.cluster
    return {
        "version": FORMAT_VERSION,
        "kind": "audit",
        "tool": {"name": "k0s-policy", "version": audit.tool_version},
        "generated_at": audit.generated.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "needs_action": audit.needs_action,
        "fail_on": audit.fail_on,
        "repository": {
            "paths": audit.paths,
            "ref": audit.ref,
            "commit": audit.commit or None,
            "cluster": cluster.name if cluster else None,
            "target": cluster.patch.version if cluster and cluster.patch else None,
        },
        "findings": findings,
        "drift": [d.to_dict() for d in audit.drift],
        "live": live,
        "remediation": audit.remediation.to_dict() if audit.remediation else None,
        "notes": audit.notes,
        "skipped": audit.repository.skipped,
        "input_errors": audit.repository.input_errors,
        "summary": {
            "repository": counts(audit.repository.findings),
            "live": counts(audit.live_findings),
            "stale_pins": len(audit.stale_pins),
            "drift": {"total": len(audit.drift), "needs_action": len(audit.drift_to_act_on)},
            "files_read": audit.repository.files_read,
            "documents_checked": audit.repository.documents,
        },
    }


def write_json(audit: Audit, out: TextIO) -> None:
    json.dump(to_json(audit), out, indent=2, default=str)
    out.write("\n")


def _where(finding: Finding) -> str:
    if finding.path.startswith(LIVE_PREFIX):
        return f"{finding.path} {finding.node}".strip()
    return f"{finding.path}:{finding.line}:{finding.column}"


def _headline(audit: Audit) -> str:
    return "action needed" if audit.needs_action else "nothing to do"


def _checked(audit: Audit) -> str:
    what = ", ".join(plain(p) for p in audit.paths) or "."
    at = f"at {plain(audit.ref)}" if audit.ref else "in the work tree"
    commit = f" (commit {audit.commit[:12]})" if audit.commit else ""
    return f"{what} {at}{commit}"


def write_markdown(audit: Audit, out: TextIO) -> None:
    """A report for an issue or a job summary."""
    write = out.write
    write(f"# k0s-policy audit: {_headline(audit)}\n\n")
    stamp = audit.generated.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    write(
        f"Repository {markdown(_checked(audit))}, checked with k0s-policy {audit.tool_version} on {stamp}.  \n"
    )
    live = audit.live
    write(f"Live state: {markdown(live.source) if live else 'not read'}.\n\n")
    repo_counts, live_counts = counts(audit.repository.findings), counts(audit.live_findings)
    write("| | errors | warnings | info |\n|---|---|---|---|\n")
    write(f"| repository | {repo_counts['error']} | {repo_counts['warning']} | {repo_counts['info']} |\n")
    if live:
        write(
            f"| live cluster | {live_counts['error']} | {live_counts['warning']} | {live_counts['info']} |\n"
        )
    write("\n")
    if live:
        write(
            f"Drift: {len(audit.drift)} difference(s) between the repository and the cluster, "
            f"{len(audit.drift_to_act_on)} needing action.\n\n"
        )
    stale = audit.stale_pins
    if stale:
        write("## Stale pins in the repository\n\n")
        write("| where | pin | introduced by |\n|---|---|---|\n")
        for finding in stale:
            commit = audit.introduced.get(finding.fingerprint)
            who = markdown(commit.describe()) if commit else "not committed, or no git history"
            write(f"| {code(_where(finding), table=True)} | {code(finding.node, table=True)} | {who} |\n")
        write("\n")
    _markdown_findings(out, "Repository findings", audit.repository.active)
    if live:
        write("## Live cluster\n\n")
        if live.cluster_config is not None:
            persisted = (
                f" It carries the default images of {markdown(audit.persisted_by)}, persisted by a controller of that release."
                if audit.persisted_by
                else " It carries no release's default images."
            )
            target = (
                f" Checked against k0s {markdown(audit.live_target)}: {markdown(audit.live_target_why)}."
                if audit.live_target
                else ""
            )
            write(f"- ClusterConfig {code(live.config_ref)}.{persisted}{target}\n")
        elif CLUSTER_CONFIG in live.read:
            write(f"- No ClusterConfig object {code(live.config_ref)} in the cluster.\n")
        for plan in live.plans:
            write(f"- Plan {code(plan_name(plan))}: {markdown(plan_state(plan))}\n")
        write("\n")
        if live.nodes:
            write("| node | role | kubelet | k0s version |\n|---|---|---|---|\n")
            for node in live.nodes:
                write(
                    f"| {markdown(node.name)} | {markdown(node.role)} | {markdown(node.kubelet_text)} "
                    f"| {markdown(node.k0s_version)} |\n"
                )
            write("\n")
        _markdown_findings(
            out, "Findings on the live objects", [f for f in audit.live_findings if not f.suppressed_by], 3
        )
        _markdown_drift(out, audit.drift)
    if audit.remediation is not None:
        fix = audit.remediation
        write("## Remediation\n\n")
        write(
            f"Remove the persisted default images from {code(f'clusterconfig/{fix.namespace}/{fix.name}')}:\n\n"
        )
        write(code_block(fix.kubectl, "sh") + "\n")
        write("or, on a controller, `k0s config edit` and delete: ")
        write(", ".join(code(format_path(p)) for p in fix.remove) + ".\n\n")
        if fix.kept:
            kept = ", ".join(code(format_path(p)) for p in fix.kept)
            write(
                f"Left in place because the repository pins them too (fix the repository first): {kept}.\n\n"
            )
    if audit.notes or audit.repository.skipped:
        write("## Notes\n\n")
        for note in [*audit.notes, *audit.repository.skipped]:
            write(f"- {markdown(note)}\n")
        write("\n")


def _markdown_findings(out: TextIO, title: str, findings: list[Finding], level: int = 2) -> None:
    if not findings:
        return
    out.write(f"{'#' * level} {title}\n\n")
    for finding in findings:
        said = finding.message
        if finding.fix:
            said += ("" if said.endswith((".", "?", "!")) else ".") + f" Fix: {finding.fix}"
        where = code(_where(finding))
        out.write(f"- **{markdown(finding.severity)} {markdown(finding.rule)}** {where}: {markdown(said)}\n")
    out.write("\n")


def _markdown_drift(out: TextIO, drift: list[Drift]) -> None:
    if not drift:
        return
    out.write("### Drift\n\n")
    act = [d for d in drift if d.needs_action]
    rest = [d for d in drift if not d.needs_action]

    def table(rows: list[Drift]) -> None:
        out.write("| object | field | repository | cluster | note |\n|---|---|---|---|---|\n")
        for d in rows:
            out.write(
                f"| {markdown(d.object)} | {code(d.field, table=True)} "
                f"| {code(show_value(d.repository, d.in_repository), table=True)} "
                f"| {code(show_value(d.live, d.in_live), table=True)} | {markdown(d.note)} |\n"
            )
        out.write("\n")

    if act:
        table(act)
    if rest:
        out.write(f"<details><summary>{len(rest)} difference(s) that need no action</summary>\n\n")
        table(rest)
        out.write("</details>\n\n")


def write_text(
    audit: Audit,
    out: TextIO,
    remediate: bool = False,
    verbose: bool = False,
    text: TextOptions | None = None,
) -> None:
    """The terminal report: one line per finding (its fix below it, with ``verbose`` its detail) and
    per drift, then a verdict. ``text``: --quiet (findings and drift only), --statistics, --color."""
    from checker.report.text import finding_line, wrap_detail

    options = text or TextOptions()
    style = Style.of(options, out)
    write = out.write
    if not options.quiet:
        write(
            f"audit of {_checked(audit)}; live state: {plain(audit.live.source) if audit.live else 'not read'}\n\n"
        )
    if options.statistics:
        write_statistics(audit.active, out, style)
    else:
        for shown in audit.active:
            finding = finding_text(shown)
            write(finding_line(finding, style, _where(finding)))
            if finding.fix:
                write(f"    {style.dim('fix:')} {finding.fix}\n")
            if verbose and finding.detail:
                write(wrap_detail(finding.detail))
            commit = audit.introduced.get(shown.fingerprint)
            if commit is not None:
                write(f"    introduced by {plain(commit.describe())}\n")
    if audit.active and not options.quiet:
        write("\n")
    if audit.live is not None and audit.persisted_by and not options.quiet:
        write(
            f"live {plain(audit.live.config_ref)}: carries the default images of {plain(audit.persisted_by)}\n"
        )
    for d in audit.drift:
        mark = "drift" if d.needs_action else "drift (no action)"
        note = f" ({d.note})" if d.note else ""
        write(f"{mark} {plain(d.object)} {plain(d.describe())}{plain(note)}\n")
    if options.quiet:
        return
    if audit.drift or (audit.live is not None and audit.persisted_by):
        write("\n")
    if audit.remediation is not None:
        if remediate:
            write("remediation (removes the persisted default images from the live object):\n")
            write(f"  {plain(audit.remediation.kubectl)}\n")
            write(f"  or: {plain(audit.remediation.edit)}\n\n")
        else:
            write("run with --remediate to print the kubectl patch that removes the persisted defaults\n\n")
    for note in [*audit.notes, *audit.repository.skipped]:
        write(f"note: {plain(note)}\n")
    write(f"{_headline(audit)}: {summary(audit)}\n")


def summary(audit: Audit) -> str:
    """`2 files, 2 documents: 19 errors, 4 warnings; live: 1 error, 1 of 2 drift entries needs action`."""
    repository = audit.repository
    scope: list[Count] = [(repository.files_read, "file"), (repository.documents, "document")]
    text = summary_line(scope, finding_counts(repository.findings))
    if audit.live is None:
        return text
    acting, total = len(audit.drift_to_act_on), len(audit.drift)
    drift = f"{acting} of {plural(total, 'drift entry', 'drift entries')} {'needs' if acting == 1 else 'need'} action"
    live = summary_line((), finding_counts(audit.live_findings))
    return f"{text}; live: {live}, {drift if total else 'no drift'}"


AUDIT_FORMATS = ("text", "json", "markdown", "sarif", "junit", "github", "gitlab", "policyreport")


def write_format(
    audit: Audit,
    format_name: str,
    out: TextIO,
    *,
    remediate: bool = False,
    verbose: bool = False,
    text: TextOptions | None = None,
) -> None:
    """One report of the audit: its own text, JSON and Markdown, or any check format over its
    findings (repository and live), so code scanning and CI dashboards read audits too."""
    if format_name == "text":
        write_text(audit, out, remediate=remediate, verbose=verbose, text=text)
    elif format_name == "json":
        write_json(audit, out)
    elif format_name == "markdown":
        write_markdown(audit, out)
    elif format_name == "policyreport":
        from checker.report.policyreport import write_audit

        write_audit(audit, out)
    else:
        from checker.report import writer
        from checker.report.model import report_input

        report = report_input(audit.repository)
        report.findings = sorted(audit.findings, key=Finding.sort_key)
        report.fail_on = audit.fail_on
        report.notes = list(audit.notes)
        writer(format_name)(report, out)
