"""The SLOs and alerts as code (deploy/prometheus/): `promtool check rules`, the rules'
unit tests (`promtool test rules`: each alert firing and not firing), the
configuration `make observe` writes (`promtool check config`), every alert's runbook
section in docs/operations.md, and every metric the rules use declared in the code.

promtool is Debian's `prometheus` package (`make prometheus`): missing, these tests
fail under CI=true and are skipped elsewhere."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.config import GatewaySettings
from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
OPERATIONS = ROOT / "docs" / "operations.md"

# deploy/prometheus/observe.py, what `make observe` runs (a script, not a package).
_spec = importlib.util.spec_from_file_location("observe", PROMETHEUS / "observe.py")
assert _spec is not None and _spec.loader is not None
observe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(observe)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing("promtool (Debian's prometheus package: `make prometheus`)")
    assert found is not None
    return found


def run(*args: str, cwd: Path = ROOT) -> None:
    result = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_are_valid() -> None:
    assert RULES
    run("check", "rules", *map(str, RULES))


def test_each_alert_fires_and_stays_quiet_as_its_unit_tests_say() -> None:
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    run("test", "rules", *(t.name for t in tests), cwd=PROMETHEUS / "tests")


def test_make_observe_writes_a_valid_configuration_scraping_every_process(tmp_path: Path) -> None:
    settings = GatewaySettings(
        booking_metrics_port=19462,
        cards_metrics_port=0,
        grpc_host="0.0.0.0",
        gateway_workers=2,
        booking_workers=3,
        database_url="postgresql://localhost/mintong",
    )
    document = observe.config(settings)
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in document["scrape_configs"]}
    assert targets == {
        "mintong-gateway": ["127.0.0.1:9460", "127.0.0.1:9470"],
        "mintong-identity": ["127.0.0.1:9461"],
        "mintong-booking": ["127.0.0.1:19462", "127.0.0.1:19472", "127.0.0.1:19482"],
        "mintong-notify": ["127.0.0.1:9464"],
    }  # cards serves no metrics (port 0); 0.0.0.0 is scraped on loopback; each worker
    # of the gateway and booking serves its own, 10 ports apart
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    run("check", "config", str(path))


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def alerts() -> list[dict]:
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_every_alert_links_to_its_section_of_the_runbook() -> None:
    sections = anchors(OPERATIONS.read_text(encoding="utf-8"))
    assert alerts()
    for alert in alerts():
        link = alert["annotations"]["runbook_url"]
        assert link.startswith("docs/operations.md#"), alert["alert"]
        assert link.partition("#")[2] in sections, (alert["alert"], link)
        assert alert["labels"]["severity"] in ("page", "ticket"), alert["alert"]
        assert alert["annotations"]["summary"] and alert["annotations"]["description"], alert["alert"]


def test_every_metric_the_rules_use_is_one_the_code_declares() -> None:
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("services", "gateway")
        for path in (ROOT / folder).rglob("*.py")
    )
    used = set()
    for path in RULES:
        used |= set(re.findall(r"\b(mintong_[a-z_]+)", path.read_text(encoding="utf-8")))
    assert used
    for name in sorted(used):
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert f'"{base}"' in code, f"{name}: no metric {base!r} is declared in services/ or gateway/"


@pytest.mark.parametrize("name", ["up"])
def test_the_scrape_jobs_are_the_ones_the_target_alert_watches(name: str) -> None:
    [down] = [a for a in alerts() if a["alert"] == "MintongTargetDown"]
    assert down["expr"].startswith(f'{name}{{job=~"mintong-.*"}}')
    jobs = [job["job_name"] for job in observe.config(GatewaySettings())["scrape_configs"]]
    assert all(re.fullmatch("mintong-.*", job) for job in jobs) and len(jobs) == 5
