"""Guards the Kubernetes deployment in deploy/k8s without a cluster.

Every YAML file parses; every path a kustomization names exists; every container of
the base runs non-root with resource requests and limits and readiness and liveness
probes (gRPC probes on the service's own port); no secret-looking env var carries a
literal value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
GRPC_PORTS = {"identity": 50051, "booking": 50052, "cards": 50053, "notify": 50054}
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SECRET", re.IGNORECASE)


def _docs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def _manifests(root: Path) -> list[dict[str, Any]]:
    return [d for p in sorted(root.rglob("*.yaml")) for d in _docs(p)]


def _workloads(root: Path) -> list[dict[str, Any]]:
    return [d for d in _manifests(root) if d.get("kind") in ("Deployment", "StatefulSet")]


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def test_every_yaml_file_parses() -> None:
    files = sorted(K8S.rglob("*.yaml"))
    assert files, f"no manifests under {K8S}"
    for path in files:
        for doc in _docs(path):
            assert isinstance(doc, dict), path


def test_kustomization_paths_exist() -> None:
    kustomizations = sorted(K8S.rglob("kustomization.yaml"))
    assert {p.parent.relative_to(K8S).as_posix() for p in kustomizations} >= {
        "base",
        "components/postgres",
        "components/nats-cluster",
        "components/tracing",
        "overlays/production",
    }
    for path in kustomizations:
        (kust,) = _docs(path)
        if path.parent.parent.name == "components":
            assert kust["kind"] == "Component", path
            assert kust["apiVersion"] == "kustomize.config.k8s.io/v1alpha1", path
        named = kust.get("resources", []) + kust.get("components", [])
        named += [p["path"] for p in kust.get("patches", []) if "path" in p]
        for entry in named:
            assert (path.parent / entry).exists(), f"{path}: {entry} does not exist"


def test_base_containers_are_hardened_and_bounded() -> None:
    workloads = _workloads(K8S / "base")
    assert {w["metadata"]["name"] for w in workloads} == {*GRPC_PORTS, "gateway"}
    for workload in workloads:
        name = workload["metadata"]["name"]
        assert workload["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mintong"
        pod = _pod(workload)
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{name}/{container['name']}"
            security = container.get("securityContext", {})
            assert security.get("runAsNonRoot") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("capabilities", {}).get("drop") == ["ALL"], where
            assert container.get("resources", {}).get("requests"), where
            assert container.get("resources", {}).get("limits"), where
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            assert "readinessProbe" in container and "livenessProbe" in container, where


def test_grpc_services_probe_their_own_port() -> None:
    for workload in _workloads(K8S / "base"):
        name = workload["metadata"]["name"]
        if name not in GRPC_PORTS:
            continue
        (container,) = _pod(workload)["containers"]
        assert GRPC_PORTS[name] in [p["containerPort"] for p in container["ports"]], name
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe].get("grpc", {}).get("port") == GRPC_PORTS[name], (name, probe)


def test_services_select_a_workload() -> None:
    manifests = _manifests(K8S)
    # Patches are partial Deployments without template labels; they are skipped.
    templates = [w["spec"]["template"] for w in _workloads(K8S)]
    pod_labels = [t["metadata"]["labels"] for t in templates if "metadata" in t]
    for service in (d for d in manifests if d.get("kind") == "Service"):
        selector = service["spec"]["selector"].items()
        assert any(selector <= labels.items() for labels in pod_labels), service["metadata"]["name"]


def test_no_literal_secrets() -> None:
    for workload in _workloads(K8S):
        pod = _pod(workload)
        for container in pod["containers"] + pod.get("initContainers", []):
            for env in container.get("env", []):
                if SECRET_NAME.search(env["name"]):
                    assert "value" not in env and "valueFrom" in env, (
                        f"{workload['metadata']['name']}: {env['name']} must come from a Secret"
                    )
    for config in (d for d in _manifests(K8S) if d.get("kind") == "ConfigMap"):
        leaked = [key for key in config.get("data", {}) if SECRET_NAME.search(key)]
        assert not leaked, f"ConfigMap {config['metadata']['name']} holds {leaked}"
