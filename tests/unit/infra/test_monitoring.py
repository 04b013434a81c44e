"""Alert rules and the dashboard only name metrics the code really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import prometheus_client
import yaml

import infra.metrics  # noqa: F401 - registers the pipeline's metrics
import projections.metrics  # noqa: F401 - registers the projection metrics

MONITORING = Path(__file__).parents[3] / "infra" / "monitoring"
PROCESS_METRICS = {"process_resident_memory_bytes"}
TYPE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def exported_names() -> set[str]:
    names = set(PROCESS_METRICS)
    for metric in prometheus_client.REGISTRY.collect():
        names.add(metric.name)
        # Labelled metrics have no samples until first used: derive the exposed series names.
        names.update(metric.name + s for s in TYPE_SUFFIXES.get(metric.type, ()))
    return names


def referenced(expr: str) -> set[str]:
    tokens = set(re.findall(r"\b([a-z_]+(?:_total|_seconds(?:_bucket)?|_depth|_utilization|_lag|"
                            r"_state|_bytes|_partitions))\b", expr))
    return tokens


def test_alert_rules_are_valid_and_use_exported_metrics() -> None:
    doc = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    names = exported_names()
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert {"AnalysisErrorRateHigh", "AnalysisBacklogGrowing", "AnalysisSlow",
            "WorkerMemoryHigh"} <= {r["alert"] for r in rules}
    for rule in rules:
        assert rule["expr"].strip() and rule["labels"]["severity"]
        assert rule["annotations"]["summary"]
        unknown = referenced(rule["expr"]) - names
        assert not unknown, f"{rule['alert']} uses unknown metrics {unknown}"
    promtool = shutil.which("promtool")
    if promtool:
        result = subprocess.run([promtool, "check", "rules", str(MONITORING / "alerts.yml")],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_panels_use_exported_metrics() -> None:
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    names = exported_names()
    assert len(dash["panels"]) >= 8
    for panel in dash["panels"]:
        for target in panel["targets"]:
            unknown = referenced(target["expr"]) - names
            assert not unknown, f"{panel['title']}: unknown metrics {unknown}"


def test_latency_alert_and_panel_use_end_to_end_not_the_analysers_cpu_time() -> None:
    # feature="total" is the analyser's own CPU seconds (streams/analysis/core.py); the wall
    # time including the wait for a pool worker is feature="end_to_end" (handler.py).
    doc = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    (slow,) = [r for g in doc["groups"] for r in g["rules"] if r["alert"] == "AnalysisSlow"]
    assert 'feature="end_to_end"' in slow["expr"] and 'feature="total"' not in slow["expr"]
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    (panel,) = [p for p in dash["panels"] if p["title"].startswith("Analysis time")]
    latency = [t for t in panel["targets"] if "end to end" in t["legendFormat"]]
    assert {t["legendFormat"] for t in latency} == {"p50 end to end", "p95 end to end"}
    assert all('feature="end_to_end"' in t["expr"] for t in latency)
    handler = (MONITORING.parents[1] / "streams" / "agents" / "handler.py").read_text()
    assert 'ANALYSIS_DURATION.labels("end_to_end")' in handler
