"""Reporters: a readable table, JSON, SARIF 2.1.0 and JUnit XML. Used by the host audit and `k8s audit`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 - we only write XML here
from collections.abc import Iterable

from juicefs_guard import __version__
from juicefs_guard.audit.model import CheckInfo, Report, Status

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Status.FAIL: "error", Status.WARN: "warning", Status.PASS: "none", Status.SKIP: "none"}
_SARIF_KIND = {Status.FAIL: "fail", Status.WARN: "review", Status.PASS: "pass", Status.SKIP: "notApplicable"}


def to_json(report: Report) -> str:
    document = {
        "tool": report.tool,
        "version": __version__,
        "started": report.started,
        "duration_seconds": round(report.duration_seconds, 3),
        "summary": report.counts(),
        "errors": report.errors,
        "findings": [finding.to_dict() for finding in report.findings],
    }
    return json.dumps(document, indent=2)


def to_sarif(report: Report, catalogue: Iterable[CheckInfo]) -> str:
    rules = [
        {
            "id": check.id,
            "name": check.id.replace("-", ""),
            "shortDescription": {"text": check.title},
            "fullDescription": {"text": check.rationale},
            "help": {"text": check.remediation},
            "properties": {"severity": str(check.severity), "kind": check.kind},
        }
        for check in catalogue
    ]
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    results = []
    for finding in report.findings:
        status = Status(finding.status)
        result = {
            "ruleId": finding.id,
            "kind": _SARIF_KIND[status],
            "level": _SARIF_LEVEL[status],
            "message": {"text": f"[{finding.filesystem}] {finding.title}: {finding.evidence}"},
            "properties": {"filesystem": finding.filesystem, "status": finding.status},
        }
        if finding.id in rule_index:
            result["ruleIndex"] = rule_index[finding.id]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": report.tool,
                        "version": __version__,
                        "informationUri": "https://juicefs.com/",
                        "rules": rules,
                    }
                },
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": not report.errors,
                        "toolExecutionNotifications": [{"message": {"text": e}} for e in report.errors],
                    }
                ],
            }
        ],
    }
    return json.dumps(document, indent=2)


def to_junit(report: Report) -> str:
    counts = report.counts()
    suite = ET.Element(
        "testsuite",
        name=report.tool,
        tests=str(len(report.findings)),
        failures=str(counts.get("fail", 0)),
        skipped=str(counts.get("skip", 0)),
        errors=str(len(report.errors)),
        time=f"{report.duration_seconds:.3f}",
    )
    for finding in report.findings:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{report.tool}.{finding.filesystem}",
            name=f"{finding.id} {finding.title}",
        )
        if finding.status == Status.FAIL:
            failure = ET.SubElement(case, "failure", message=finding.evidence, type=finding.severity)
            failure.text = f"{finding.evidence}\nRemediation: {finding.remediation}"
        elif finding.status == Status.SKIP:
            ET.SubElement(case, "skipped", message=finding.evidence)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{finding.status}: {finding.evidence}"
    for error in report.errors:
        case = ET.SubElement(suite, "testcase", classname=report.tool, name="audit could run")
        ET.SubElement(case, "error", message=error)
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def to_table(report: Report, *, only_problems: bool = False) -> str:
    """One line per finding: status, id, target, title, evidence; remediation under each failure."""
    marks = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}
    lines = []
    for finding in report.findings:
        if only_problems and finding.status in ("pass", "skip"):
            continue
        lines.append(f"{marks[finding.status]:<4}  {finding.id:<7} {finding.filesystem:<16} {finding.title}")
        if finding.evidence:
            lines.append(f"      {'':7} {'':16} {finding.evidence}")
        if finding.status in ("fail", "warn") and finding.remediation:
            lines.append(f"      {'':7} {'':16} fix: {finding.remediation}")
    for error in report.errors:
        lines.append(f"ERROR could not run: {error}")
    counts = report.counts()
    lines.append(
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings, {counts['skip']} skipped"
    )
    return "\n".join(lines) + "\n"
