"""Guards the Kubernetes deployment in deploy/k8s without a cluster.

Every YAML file parses; every path a kustomization names exists; every container of
the base runs non-root with resource requests and limits and readiness and liveness
probes (gRPC probes on the service's own port); every service with a database
migrates it in an initContainer, which gets PGPASSWORD with the server from the
postgres component; every key a process refuses to start without in prod reaches it
from the Secret; the production overlay runs every process on no sandbox provider; no
secret-looking env var carries a literal value, and every key of the Secret is documented.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gateway.config import GatewaySettings
from services.booking.config import BookingSettings
from services.cards.config import CardsSettings
from services.identity.config import IdentitySettings
from services.notify.config import NotifySettings
from services.runtime.pii import PiiCipher

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
GRPC_PORTS = {"identity": 50051, "booking": 50052, "cards": 50053, "notify": 50054}
# A key id names a key (MINTONG_NOTIFY_SMS_KEY_ID) and is no secret itself.
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SECRET|KEY(?!_ID)", re.IGNORECASE)
DATABASE_SERVICES = ("booking", "identity", "notify", "cards")
SECRET = "mintong-secrets"
# What each process refuses to start without when MINTONG_ENV=prod (the ConfigMap's
# setting), in every container of its pod: migrate loads the same settings.
REQUIRED_SECRETS = {
    "gateway": {"MINTONG_RECEIPT_SECRET": "receipt-secret"},
    "identity": {
        "MINTONG_TOKEN_SIGNING_KEYS": "token-signing-keys",
        "MINTONG_PII_KEYS": "pii-keys",
        "MINTONG_PII_LOOKUP_KEY": "pii-lookup-key",
    },
    "notify": {"MINTONG_PII_KEYS": "pii-keys", "MINTONG_PII_LOOKUP_KEY": "pii-lookup-key"},
    "cards": {
        "MINTONG_PII_KEYS": "pii-keys",
        "MINTONG_PII_LOOKUP_KEY": "pii-lookup-key",
        "MINTONG_COURIER_CALLBACK_SECRET": "courier-callback-secret",
    },
}


def _docs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def _manifests(root: Path) -> list[dict[str, Any]]:
    return [d for p in sorted(root.rglob("*.yaml")) for d in _docs(p)]


def _workloads(root: Path) -> list[dict[str, Any]]:
    return [d for d in _manifests(root) if d.get("kind") in ("Deployment", "StatefulSet")]


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod(workload)
    return pod.get("containers", []) + pod.get("initContainers", [])


def _deployment(root: Path, name: str) -> dict[str, Any]:
    (found,) = [w for w in _workloads(root) if w["kind"] == "Deployment" and w["metadata"]["name"] == name]
    return found


def _secret_refs(container: dict[str, Any]) -> dict[str, str]:
    """Env var name -> key of mintong-secrets, for the vars taken from that Secret."""
    refs = {}
    for env in container.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef", {})
        if ref.get("name") == SECRET:
            refs[env["name"]] = ref["key"]
    return refs


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


def test_secret_name_pattern() -> None:
    for name in ("MINTONG_PII_KEYS", "MINTONG_PII_LOOKUP_KEY", "MINTONG_NOTIFY_SMS_SECRET", "PGPASSWORD"):
        assert SECRET_NAME.search(name), name
    for name in ("MINTONG_NOTIFY_SMS_KEY_ID", "MINTONG_NOTIFY_SMS_URL", "PGDATA"):
        assert not SECRET_NAME.search(name), name


def test_no_literal_secrets() -> None:
    for workload in _workloads(K8S):
        for container in _containers(workload):
            for env in container.get("env", []):
                if SECRET_NAME.search(env["name"]):
                    assert "value" not in env and "secretKeyRef" in env.get("valueFrom", {}), (
                        f"{workload['metadata']['name']}: {env['name']} must come from a Secret"
                    )
    for config in (d for d in _manifests(K8S) if d.get("kind") == "ConfigMap"):
        leaked = [key for key in config.get("data", {}) if SECRET_NAME.search(key)]
        assert not leaked, f"ConfigMap {config['metadata']['name']} holds {leaked}"


def test_services_with_a_database_migrate_first() -> None:
    for name in DATABASE_SERVICES:
        pod = _pod(_deployment(K8S / "base", name))
        (server,) = pod["containers"]
        (migrate,) = [c for c in pod.get("initContainers", []) if c["name"] == "migrate"]
        assert migrate["command"] == ["python", "-m", f"services.{name}", "migrate"], name
        for field in ("image", "envFrom", "resources", "securityContext", "volumeMounts"):
            assert migrate[field] == server[field], (name, field)
        assert _secret_refs(migrate) == _secret_refs(server), name


def test_postgres_component_gives_every_database_service_its_password() -> None:
    component = K8S / "components" / "postgres"
    (kust,) = _docs(component / "kustomization.yaml")
    patched: set[str] = set()
    for patch in kust["patches"]:
        for doc in _docs(component / patch["path"]):
            if doc["kind"] != "Deployment":
                continue
            name = doc["metadata"]["name"]
            patched.add(name)
            containers = {c["name"]: c for c in _containers(doc)}
            assert set(containers) == {name, "migrate"}, name
            for container in containers.values():
                assert _secret_refs(container) == {"PGPASSWORD": "postgres-password"}, name
    assert patched == set(DATABASE_SERVICES)


def test_prod_secrets_reach_every_container_that_needs_them() -> None:
    for name, needed in REQUIRED_SECRETS.items():
        for container in _containers(_deployment(K8S / "base", name)):
            refs = _secret_refs(container)
            assert needed.items() <= refs.items(), f"{name}/{container['name']}"


# A value each Secret key's setting accepts, to load the production settings with.
SAMPLE_SECRETS = {
    "receipt-secret": "r" * 32,
    "qr-secret": "q" * 32,
    "token-signing-keys": Ed25519PrivateKey.generate()
    .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    .decode(),
    "pii-keys": PiiCipher.generate_key(),
    "pii-lookup-key": PiiCipher.generate_key(),
    "postgres-password": "p" * 16,
    "wechat-apps": '{"haikou": {"appid": "wx0123456789", "secret": "s"}}',
    "sms-url": "https://sms.example.test/v1/messages",
    "sms-key-id": "mintong-prod",
    "sms-secret": "s" * 32,
    "courier-callback-secret": "c" * 32,
    "cards-production-url": "https://cards.example.test/v1",
    "cards-production-key-id": "mintong-prod",
    "cards-production-secret": "m" * 32,
    "cards-courier-url": "https://courier.example.test/v1",
    "cards-courier-key-id": "mintong-prod",
    "cards-courier-secret": "k" * 32,
}
PROCESS_SETTINGS = {
    "gateway": GatewaySettings,
    "identity": IdentitySettings,
    "booking": BookingSettings,
    "notify": NotifySettings,
    "cards": CardsSettings,
}


def _overlay_env(overlay: Path, name: str, container: str) -> dict[str, str]:
    """What one container of the overlay gets: the ConfigMap (base, patched by the
    overlay) and its Secret references (base and overlay patches), with sample values."""
    (config,) = [
        d
        for d in _manifests(K8S / "base")
        if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "mintong-config"
    ]
    env = dict(config["data"])
    for patch in _manifests(overlay):
        if patch.get("kind") == "ConfigMap" and patch["metadata"]["name"] == config["metadata"]["name"]:
            env.update(patch["data"])
    for workload in [_deployment(K8S / "base", name)] + [
        d for d in _manifests(overlay) if d.get("kind") == "Deployment" and d["metadata"]["name"] == name
    ]:
        for found in (c for c in _containers(workload) if c["name"] == container):
            for var in found.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef", {})
                if ref.get("name") == SECRET and not ref.get("optional"):
                    env[var["name"]] = SAMPLE_SECRETS[ref["key"]]
    return {k: str(v) for k, v in env.items()}


def test_production_runs_on_no_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    # Item 10 of issue 9: MINTONG_ENV=prod refuses a sandbox unless MINTONG_ALLOW_SANDBOX
    # names it; the production overlay names none, and every process (migrate too)
    # loads its settings on real providers, or on channels switched off.
    overlay = K8S / "overlays" / "production"
    for name, settings_class in PROCESS_SETTINGS.items():
        for container in _containers(_deployment(K8S / "base", name)):
            env = _overlay_env(overlay, name, container["name"])
            assert env["MINTONG_ENV"] == "prod" and "MINTONG_ALLOW_SANDBOX" not in env
            for key in [k for k in os.environ if k.startswith("MINTONG_")]:
                monkeypatch.delenv(key)
            for key, value in env.items():
                monkeypatch.setenv(key, value)
            settings = settings_class()
            assert settings.sandboxes() == frozenset(), f"{name}/{container['name']}"
    env = _overlay_env(overlay, "notify", "notify")
    assert env["MINTONG_NOTIFY_SMS_PROVIDER"] == "http"
    assert _overlay_env(overlay, "identity", "identity")["MINTONG_WECHAT_OAUTH"] == "http"
    cards = _overlay_env(overlay, "cards", "cards")
    assert cards["MINTONG_CARDS_PRODUCTION_PROVIDER"] == cards["MINTONG_CARDS_COURIER_PROVIDER"] == "http"


def test_every_secret_key_is_documented() -> None:
    readme = (K8S / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([a-z0-9-]+)` ", readme, re.MULTILINE))
    used = {key for w in _workloads(K8S) for c in _containers(w) for key in _secret_refs(c).values()}
    assert used <= table, f"undocumented Secret keys: {sorted(used - table)}"
    created = set(re.findall(r"--from-literal=([a-z0-9-]+)=", readme))
    assert created == table, "the create command and the table disagree"
