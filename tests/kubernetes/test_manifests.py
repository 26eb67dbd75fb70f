"""Every overlay renders and decodes strictly; a misspelt field fails; the
objects say what the README promises."""

from __future__ import annotations

import re
import subprocess
import urllib.request

import yaml

from conftest import REPO, VOXGATE_BIN
from process_harness import Process

OVERLAYS = ["overlays/dev", "overlays/prod", "overlays/mesh-istio",
            "overlays/mesh-linkerd", "monitoring"]


def check(k8s_check, root, *dirs) -> subprocess.CompletedProcess:
    return subprocess.run([str(k8s_check), *dirs], cwd=root, capture_output=True,
                          text=True, timeout=120)


def render(k8s_check, overlay: str) -> dict:
    """kind/name -> object, as the overlay renders."""
    out = subprocess.run([str(k8s_check), "-render", overlay], cwd=REPO / "k8s",
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return {f"{o['kind']}/{o['metadata']['name']}": o
            for o in yaml.safe_load_all(out) if o}


def test_every_overlay_renders_and_decodes_strictly(k8s_check):
    result = check(k8s_check, REPO / "k8s", *OVERLAYS)
    assert result.returncode == 0, result.stderr
    seen = set(re.findall(r": (\w+)/[\w-]+ ok", result.stdout))
    assert {"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget",
            "HorizontalPodAutoscaler", "PodMonitor", "NetworkPolicy",
            "DestinationRule"} <= seen, result.stdout


def test_misspelt_fields_fail_the_check(k8s_check, k8s_copy):
    breakages = [
        ("base/deployment.yaml", "readOnlyRootFilesystem: true",
         "readOnlyRootFileSystem: true", "overlays/prod"),
        ("base/hpa.yaml", "averageUtilization: 70", "averageUtilisation: 70",
         "overlays/prod"),
        ("base/podmonitor.yaml", "podMetricsEndpoints:", "podMetricEndpoints:",
         "overlays/dev"),
        ("components/istio/destinationrule.yaml", "consecutiveGatewayErrors: 5",
         "consecutiveGatewayError: 5", "overlays/mesh-istio"),
        ("monitoring/prometheus-adapter-rules.yaml", "metricsQuery:", "metricQuery:",
         "monitoring"),
    ]
    for path, good, bad, overlay in breakages:
        target = k8s_copy / path
        original = target.read_text()
        assert good in original, path
        target.write_text(original.replace(good, bad))
        result = check(k8s_check, k8s_copy, overlay)
        target.write_text(original)
        assert result.returncode != 0, f"{path}: {bad} passed"
        assert bad.split(":")[0] in result.stderr, result.stderr


def test_pods_are_locked_down_and_drain_without_a_shell(k8s_check):
    for overlay in ("overlays/dev", "overlays/prod"):
        pod = render(k8s_check, overlay)["Deployment/voxgate"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        container = pod["containers"][0]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}}
        assert "lifecycle" not in container  # no preStop: no shell in the image
        env = {e["name"]: e.get("value") for e in container["env"]}
        delay = int(env["VOXGATE_DRAIN_DELAY"].rstrip("s"))
        timeout = int(env["VOXGATE_DRAIN_TIMEOUT"].rstrip("s"))
        assert pod["terminationGracePeriodSeconds"] > delay + timeout
        assert "cpu" in container["resources"]["limits"]  # sizes the worker pool
        assert len(pod["topologySpreadConstraints"]) == 2


def test_dev_is_one_replica_and_prod_three_with_tls_keys_and_redis(k8s_check):
    dev = render(k8s_check, "overlays/dev")
    assert dev["Deployment/voxgate"]["spec"]["replicas"] == 1
    assert "HorizontalPodAutoscaler/voxgate" not in dev
    assert "pools" not in yaml.safe_load(dev["ConfigMap/voxgate"]["data"]["voxgate.yaml"])

    prod = render(k8s_check, "overlays/prod")
    assert prod["Deployment/voxgate"]["spec"]["replicas"] >= 3
    assert prod["HorizontalPodAutoscaler/voxgate"]["spec"]["minReplicas"] >= 3
    container = prod["Deployment/voxgate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["VOXGATE_TLS_CERT_FILE"].startswith("/etc/voxgate/tls/")
    assert env["VOXGATE_KEYS_FILE"] and env["VOXGATE_REDIS_ADDRESS"] == "voxgate-redis:6379"
    assert container["readinessProbe"] == {"httpGet": {"path": "/readyz", "port": "admin"},
                                           "periodSeconds": 5}
    assert "Deployment/voxgate-redis" in prod and "Secret/voxgate-keys" in prod
    # Operation records have a Redis of their own: a full one cannot refuse
    # the limits' writes.
    assert "Deployment/voxgate-redis-operations" in prod
    # Both doors speak TLS there, and the Services say so; dev stays cleartext.
    for service in ("Service/voxgate", "Service/voxgate-headless"):
        protocols = {p["name"]: p.get("appProtocol") for p in prod[service]["spec"]["ports"]}
        assert protocols["grpc"] == protocols["http"] == "https"
        plain = {p["name"]: p.get("appProtocol") for p in dev[service]["spec"]["ports"]}
        assert plain["grpc"] == "kubernetes.io/h2c" and plain["http"] == "http"


def test_services_network_policy_and_mesh(k8s_check):
    prod = render(k8s_check, "overlays/prod")
    assert prod["Service/voxgate-headless"]["spec"]["clusterIP"] == "None"
    assert "clusterIP" not in prod["Service/voxgate"]["spec"]
    ingress = prod["NetworkPolicy/voxgate"]["spec"]["ingress"]
    assert {p["port"] for p in ingress[0]["ports"]} == {"grpc", "http"}
    assert "from" not in ingress[0]
    assert ingress[1]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}
    assert [p["port"] for p in ingress[1]["ports"]] == ["admin"]
    rule = render(k8s_check, "overlays/mesh-istio")["DestinationRule/voxgate"]["spec"]
    assert rule["trafficPolicy"]["loadBalancer"]["simple"] == "LEAST_REQUEST"
    assert "outlierDetection" in rule["trafficPolicy"]
    annotations = render(k8s_check, "overlays/mesh-linkerd")["Deployment/voxgate"][
        "spec"]["template"]["metadata"]["annotations"]
    assert annotations["linkerd.io/inject"] == "enabled"


def test_the_autoscaler_metric_is_one_the_gateway_serves(k8s_check):
    """The HPA's pod metric, the adapter rule's series and the gateway's
    /metrics name the same thing."""
    hpa = render(k8s_check, "overlays/prod")["HorizontalPodAutoscaler/voxgate"]["spec"]
    pods = [m for m in hpa["metrics"] if m["type"] == "Pods"]
    metric = pods[0]["pods"]["metric"]["name"]
    adapter = yaml.safe_load(render(k8s_check, "monitoring")[
        "ConfigMap/prometheus-adapter-voxgate"]["data"]["config.yaml"])
    assert adapter["rules"][0]["name"]["as"] == metric
    assert metric in adapter["rules"][0]["seriesQuery"]
    gateway = Process([VOXGATE_BIN, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                       "--http_listen=off"])
    try:
        line = gateway.wait_for_line(r'"admin_port":(\d+)', 60)
        with urllib.request.urlopen(
                f"http://127.0.0.1:{line.group(1)}/metrics", timeout=10) as reply:
            exposition = reply.read().decode()
        assert re.search(rf"^{metric} \d", exposition, re.M), metric
    finally:
        gateway.stop()
