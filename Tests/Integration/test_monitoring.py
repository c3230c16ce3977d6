"""deploy/monitoring/: the Prometheus alert rules load in promtool and fire when they should
(promtool's own rule unit tests, Tests/Monitoring/), and every series the rules and the Grafana
dashboard use is one a real token-responder exports on its metrics location.

promtool comes from Debian's prometheus package (scripts/install-deps.sh --tests installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from udesk_it import REPO, FIXTURE_CSV, FastCGIConnection, Responder, cgi_params, run_tokenctl

MONITORING = REPO / "deploy" / "monitoring"
RULES = MONITORING / "token-responder.rules.yml"
DASHBOARD = MONITORING / "token-responder.dashboard.json"
RULE_TESTS = REPO / "Tests" / "Monitoring" / "token-responder.rules.test.yml"

# PromQL words that look like series names in an expression.
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "rate", "irate", "increase", "histogram_quantile",
    "time", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "le",
    "abs", "clamp_min", "clamp_max", "delta", "deriv", "label_values", "topk", "bottomk", "vector", "scalar",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: apt-get install prometheus (scripts/install-deps.sh --tests)")
    return path


def run(*cmd, **kw) -> subprocess.CompletedProcess:
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    return subprocess.run([str(c) for c in cmd], capture_output=True, timeout=60, **kw)


def test_alert_rules_load(promtool):
    cp = run(promtool, "check", "rules", RULES)
    assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()
    assert b"SUCCESS: 5 rules found" in cp.stdout, cp.stdout


def test_alert_rules_fire_when_they_should(promtool):
    """Store unavailable, error rate, p99 over 250 ms, store older than a day, responder down:
    each fires on the series made for it and not on the healthy ones beside them."""
    cp = run(promtool, "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()


def test_alert_rules_cover_what_ops_alert_on():
    text = RULES.read_text()
    for expr in ("token_responder_store_up == 0", "> 0.25", "token_responder_store_age_seconds > 86400",
                 'status=~"5.."'):
        assert expr in text, expr


def series_names(expr: str) -> set[str]:
    """The metric names an expression reads (labels, strings, durations and functions left out)."""
    expr = re.sub(r'"[^"]*"', '""', expr)           # label values, legend strings
    expr = re.sub(r"\{[^}]*\}", "", expr)           # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)          # range selectors
    expr = re.sub(r"\bby\s*\([^)]*\)", "", expr)    # grouping labels
    expr = re.sub(r"\$\w+", "", expr)               # dashboard variables
    expr = re.sub(r"label_values\(([^,()]+),[^)]*\)", r"\1", expr)  # Grafana: the label is not a series
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"\d+(\.\d+)?", n)}


def dashboard_expressions() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    for variable in doc.get("templating", {}).get("list", []):
        query = variable.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else query)
    return exprs


def rule_expressions() -> list[str]:
    return re.findall(r"expr: \|?\s*\n?((?:.+\n?)+?)(?=\s+for:)", RULES.read_text())


@pytest.fixture(scope="module")
def exported(binaries, tmp_path_factory) -> tuple[set[str], str]:
    """The series names a real responder exports (histograms by their _bucket/_count/_sum
    series), after a lookup, a health check and an import, and the exposition text."""
    d = tmp_path_factory.mktemp("monitoring")
    store = d / "tokens.db"
    run_tokenctl("import", FIXTURE_CSV, store=store)
    r = Responder(store, d / "r.sock", d / "r.log").start()
    try:
        with FastCGIConnection(r.socket_path) as conn:
            conn.request(b'{"timestamp": 1501124998, "number": "13800138000"}')
            for endpoint in ("health", "metrics", "metrics"):
                params = cgi_params(b"")
                params["TOKEN_ENDPOINT"] = endpoint
                response = conn.request(b"", params=params)
        text = response.stdout.decode().split("\r\n\r\n", 1)[1]
    finally:
        r.stop()
    names = {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M)}
    return names | {"up"}, text  # `up` is Prometheus' own, per scrape target


def test_exposition_passes_promtool_lint(promtool, exported):
    cp = run(promtool, "check", "metrics", input=exported[1].encode())
    assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()


def test_dashboard_parses_and_reads_only_exported_series(exported):
    doc = json.loads(DASHBOARD.read_text())
    assert doc["title"] and doc["panels"]
    assert all(p.get("targets") for p in doc["panels"])
    used = set().union(*(series_names(e) for e in dashboard_expressions()))
    assert used, "no series found in the dashboard"
    assert used <= exported[0], f"not exported by token-responder: {sorted(used - exported[0])}"
    # every series the responder exports has a place on the dashboard
    shown = {n.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum") for n in used}
    families = {n.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum") for n in exported[0]}
    assert families - {"up"} <= shown, f"not on the dashboard: {sorted(families - shown - {'up'})}"


def test_alert_rules_read_only_exported_series(exported):
    exprs = rule_expressions()
    assert len(exprs) == 5, exprs
    used = set().union(*(series_names(e) for e in exprs))
    assert used <= exported[0], f"not exported by token-responder: {sorted(used - exported[0])}"


def test_series_name_extraction_sees_a_misspelt_name():
    """The check above can fail: a name the responder does not export is found."""
    assert series_names('sum(rate(token_responder_request_total{status=~"5.."}[5m])) by (instance)') \
        == {"token_responder_request_total"}
