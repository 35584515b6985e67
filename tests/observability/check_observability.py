"""Structural checks of examples/observability, and the metrics they use.

Checks that every alert rule has an expression, a severity, a summary and a
runbook that is a heading of docs/operations.md, and that every dashboard
panel queries the templated Prometheus data source. Prints each Warden metric
name the rules and the dashboard reference, one per line, after "metric: ";
the Rust test compares them with what Warden exports.
Usage: check_observability.py REPO_ROOT. Exits 1 on any problem.
"""

import json
import pathlib
import re
import sys

import yaml

METRIC = re.compile(r"\bwarden_[a-z0-9_]+")


def anchors(markdown):
    """GitHub-style anchors of the headings in a Markdown text."""
    found = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^a-z0-9 _-]", "", title)
            found.add(title.replace(" ", "-"))
    return found


def main(root):
    root = pathlib.Path(root)
    problems = []
    expressions = []
    runbooks = anchors((root / "docs/operations.md").read_text())

    rules = yaml.safe_load((root / "examples/observability/alerts.yaml").read_text())
    names = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert", "?")
            if name in names:
                problems.append(f"alert {name} is defined twice")
            names.add(name)
            if not rule.get("expr"):
                problems.append(f"alert {name} has no expr")
            expressions.append(rule.get("expr", ""))
            if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
                problems.append(f"alert {name} has no severity warning|critical")
            annotations = rule.get("annotations", {})
            if not annotations.get("summary") or not annotations.get("description"):
                problems.append(f"alert {name} lacks a summary or description")
            runbook = annotations.get("runbook", "")
            page, _, anchor = runbook.partition("#")
            if page != "docs/operations.md" or anchor not in runbooks:
                problems.append(f"alert {name}: runbook {runbook!r} is not a heading of docs/operations.md")

    dashboard = json.loads((root / "examples/observability/grafana-dashboard.json").read_text())
    if not dashboard.get("uid") or not dashboard.get("title"):
        problems.append("dashboard lacks uid or title")
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
    if "datasource" not in variables:
        problems.append("dashboard has no datasource variable")
    ids = set()
    for panel in dashboard["panels"]:
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            problems.append(f"panel id {panel.get('id')} is used twice")
        ids.add(panel.get("id"))
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {title!r} does not use the datasource variable")
        if not panel.get("targets"):
            problems.append(f"panel {title!r} has no query")
        for target in panel.get("targets", []):
            if not target.get("expr"):
                problems.append(f"panel {title!r} has a target without expr")
            expressions.append(target.get("expr", ""))

    for metric in sorted({m for e in expressions for m in METRIC.findall(e)}):
        print(f"metric: {metric}")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
