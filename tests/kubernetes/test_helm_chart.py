"""The Helm chart (charts/voxgate): `helm lint`, and `helm template` with its
defaults and with TLS, keys and Redis set, each rendering decoded strictly by
k8s/check like the kustomize overlays."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import REPO, TOOLS

HELM = TOOLS / "bin/helm"
CHART = REPO / "charts/voxgate"
KUBE_VERSION = "1.37.0"  # the version k8s/check's k8s.io/api describes


@pytest.fixture(scope="module")
def helm() -> str:
    if not HELM.exists():
        pytest.fail(f"{HELM} is missing: scripts/setup.sh --tests installs it")
    return str(HELM)


def template(helm: str, *values: str) -> str:
    args = [helm, "template", "gw", str(CHART), "--namespace", "voxgate",
            "--kube-version", KUBE_VERSION]
    for value in values:
        args += ["--set", value]
    return subprocess.run(args, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def objects(rendered: str) -> dict:
    return {f"{o['kind']}/{o['metadata']['name']}": o
            for o in yaml.safe_load_all(rendered) if o}


def strict_check(k8s_check, rendered: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(k8s_check), "-manifests", "-"], input=rendered,
                          capture_output=True, text=True, timeout=120)


def test_helm_lint_passes(helm):
    lint = subprocess.run([helm, "lint", "--strict", "--kube-version", KUBE_VERSION,
                           str(CHART)], capture_output=True,
                          text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_defaults_render_what_k8s_base_has(helm, k8s_check):
    rendered = template(helm)
    checked = strict_check(k8s_check, rendered)
    assert checked.returncode == 0, checked.stderr
    found = objects(rendered)
    assert {"Deployment/gw", "Service/gw", "Service/gw-headless", "ConfigMap/gw",
            "HorizontalPodAutoscaler/gw", "PodDisruptionBudget/gw", "PodMonitor/gw",
            "NetworkPolicy/gw"} == set(found)
    pod = found["Deployment/gw"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert "replicas" not in found["Deployment/gw"]["spec"]  # the HPA owns it
    assert pod["containers"][0]["readinessProbe"]["grpc"]["port"] == 50051


def test_tls_keys_and_redis_values_wire_the_pod(helm, k8s_check):
    rendered = template(helm, "tls.secretName=gw-tls", "auth.keysSecretName=gw-keys",
                        "redis.address=redis:6379", "autoscaling.enabled=false",
                        "replicaCount=4")
    checked = strict_check(k8s_check, rendered)
    assert checked.returncode == 0, checked.stderr
    deployment = objects(rendered)["Deployment/gw"]
    assert deployment["spec"]["replicas"] == 4
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["VOXGATE_TLS_CERT_FILE"] == "/etc/voxgate/tls/tls.crt"
    assert env["VOXGATE_KEYS_FILE"] == "/etc/voxgate/keys/keys.yaml"
    assert env["VOXGATE_REDIS_ADDRESS"] == "redis:6379"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "HorizontalPodAutoscaler/gw" not in objects(rendered)
    for service in ("Service/gw", "Service/gw-headless"):
        protocols = {p["name"]: p.get("appProtocol")
                     for p in objects(rendered)[service]["spec"]["ports"]}
        assert protocols["grpc"] == protocols["http"] == "https"


def test_a_misspelt_value_in_a_template_fails_the_strict_check(helm, k8s_check, tmp_path):
    broken = tmp_path / "voxgate"
    subprocess.run(["cp", "-r", str(CHART), str(broken)], check=True)
    deployment = broken / "templates/deployment.yaml"
    deployment.write_text(deployment.read_text().replace(
        "terminationGracePeriodSeconds:", "terminationGracePeriodSecond:"))
    rendered = subprocess.run([helm, "template", "gw", str(broken), "--kube-version",
                               KUBE_VERSION], capture_output=True,
                              text=True, check=True, timeout=120).stdout
    checked = strict_check(k8s_check, rendered)
    assert checked.returncode != 0
    assert "terminationGracePeriodSecond" in checked.stderr
