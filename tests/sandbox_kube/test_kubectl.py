"""kubectl against the emulator: what a user sees on a real cluster."""

from __future__ import annotations

import json
import subprocess

from tests.plugins.kube_emulator import KUBECTL, KubeEmulatorHandle
from tests.sandbox_kube.conftest import MANIFESTS

WIDGET = MANIFESTS / "widget.yaml"


def _get(kube: KubeEmulatorHandle, *args: str) -> dict:
    return json.loads(kube.kubectl("get", *args, "-o", "json").stdout)


def test_crd_registers_in_discovery_with_short_names_and_categories(kube: KubeEmulatorHandle) -> None:
    resources = kube.kubectl("api-resources", "--api-group=test.qco.dev").stdout
    assert "widgets" in resources
    assert "wg" in resources
    kube.kubectl("apply", "-f", str(WIDGET))
    assert "alpha" in kube.kubectl("get", "qcotest").stdout  # the category
    assert "alpha" in kube.kubectl("get", "wg").stdout  # the short name


def test_apply_fills_metadata_and_defaults(kube: KubeEmulatorHandle) -> None:
    assert "widget.test.qco.dev/alpha created" in kube.kubectl("apply", "-f", str(WIDGET)).stdout
    obj = _get(kube, "widget", "alpha")
    meta = obj["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"]
    assert meta["resourceVersion"]
    assert meta["generation"] == 1
    assert meta["namespace"] == "default"
    assert obj["spec"]["distance"] == "Cosine"  # top-level default
    assert obj["spec"]["vectors"]["dense"]["distance"] == "Dot"  # default inside a map value
    assert "kubectl.kubernetes.io/last-applied-configuration" in meta["annotations"]


def test_printer_columns_including_a_condition_filter(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("apply", "-f", str(WIDGET))
    _mark_ready(kube, "alpha")
    lines = kube.kubectl("get", "widgets").stdout.splitlines()
    assert lines[0].split() == ["NAME", "COLLECTION", "SIZE", "READY", "AGE"]
    assert lines[1].split()[:4] == ["alpha", "alpha-docs", "8", "True"]


def test_schema_violations_are_refused_with_422_naming_the_fields(kube: KubeEmulatorHandle) -> None:
    manifest = """
apiVersion: test.qco.dev/v1
kind: Widget
metadata: {name: bad}
spec: {collectionName: Bad_Name, size: 0, distance: Foo, tags: [a, b, c, d], vectors: {dense: {size: x}}}
"""
    result = kube.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert 'The Widget "bad" is invalid' in result.stderr
    assert 'spec.collectionName: Invalid value: "Bad_Name"' in result.stderr
    assert (
        "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1" in result.stderr
    )
    assert 'spec.distance: Unsupported value: "Foo"' in result.stderr
    assert "spec.tags: Too many: 4: must have at most 3 items" in result.stderr
    assert 'spec.vectors[dense].size: Invalid value: "string"' in result.stderr
    missing = kube.kubectl(
        "apply",
        "-f",
        "-",
        check=False,
        input="apiVersion: test.qco.dev/v1\nkind: Widget\nmetadata: {name: empty}\nspec: {}\n",
    )
    assert "spec.collectionName: Required value" in missing.stderr


def test_unknown_fields_are_refused_by_strict_validation_and_pruned_otherwise(
    kube: KubeEmulatorHandle,
) -> None:
    manifest = (
        "apiVersion: test.qco.dev/v1\nkind: Widget\nmetadata: {name: w}\n"
        "spec: {collectionName: w, bogus: 1}\n"
    )
    result = kube.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert 'strict decoding error: unknown field "spec.bogus"' in result.stderr
    kube.kubectl("apply", "--validate=false", "-f", "-", input=manifest)
    assert "bogus" not in _get(kube, "widget", "w")["spec"]


def test_cel_rules_and_transition_rule_on_update(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("apply", "-f", str(WIDGET))
    changed = kube.kubectl(
        "patch",
        "widget",
        "alpha",
        "--type=merge",
        "-p",
        '{"spec": {"collectionName": "renamed"}}',
        check=False,
    )
    assert changed.returncode != 0
    assert (
        'The Widget "alpha" is invalid: spec.collectionName: Invalid value: "string": '
        "collectionName is immutable" in changed.stderr
    )
    too_many = kube.kubectl(
        "patch", "widget", "alpha", "--type=merge", "-p", '{"spec": {"replicas": 100}}', check=False
    )
    assert 'spec: Invalid value: "object": replicas may not exceed size' in too_many.stderr
    # The transition rule does not run on create: another name is fine for another object.
    kube.kubectl("apply", "-f", "-", input=WIDGET.read_text().replace("alpha", "beta"))


def test_generation_and_resource_version_as_on_a_cluster(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("apply", "-f", str(WIDGET))
    first = _get(kube, "widget", "alpha")["metadata"]
    kube.kubectl("label", "widget", "alpha", "extra=yes")
    labelled = _get(kube, "widget", "alpha")["metadata"]
    assert labelled["generation"] == 1  # metadata changes do not bump generation
    assert int(labelled["resourceVersion"]) > int(first["resourceVersion"])
    kube.kubectl(
        "patch",
        "widget",
        "alpha",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Ready"}, "spec": {"size": 99}}',
    )
    status_written = _get(kube, "widget", "alpha")
    assert status_written["metadata"]["generation"] == 1  # status changes do not bump it either
    assert status_written["spec"]["size"] == 8  # /status ignores everything but status
    kube.kubectl(
        "patch", "widget", "alpha", "--type=merge", "-p", '{"spec": {"size": 16}, "status": {"phase": "X"}}'
    )
    spec_written = _get(kube, "widget", "alpha")
    assert spec_written["metadata"]["generation"] == 2
    assert spec_written["status"]["phase"] == "Ready"  # the main resource ignores status


def test_stale_write_is_refused_with_409(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("apply", "-f", str(WIDGET))
    stale = _get(kube, "widget", "alpha")
    kube.kubectl("patch", "widget", "alpha", "--type=merge", "-p", '{"spec": {"size": 9}}')
    stale["spec"]["size"] = 10
    result = kube.kubectl("replace", "-f", "-", input=json.dumps(stale), check=False)
    assert result.returncode != 0
    assert (
        'Operation cannot be fulfilled on widgets.test.qco.dev "alpha": the object has been modified'
        in result.stderr
    )


def test_wait_for_condition_ready(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("apply", "-f", str(WIDGET))
    waiter = subprocess.Popen(
        [
            KUBECTL,
            "--kubeconfig",
            str(kube.kubeconfig),
            "wait",
            "--for=condition=Ready",
            "widget/alpha",
            "--timeout=60s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        kube.wait_for_watchers("test.qco.dev", "widgets")
        _mark_ready(kube, "alpha")
        out, err = waiter.communicate(timeout=60)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert "condition met" in out


def test_delete_waits_for_finalizers(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("apply", "-f", str(WIDGET))
    kube.kubectl(
        "patch", "widget", "alpha", "--type=merge", "-p", '{"metadata": {"finalizers": ["test/hold"]}}'
    )
    kube.kubectl("delete", "widget", "alpha", "--wait=false")
    held = _get(kube, "widget", "alpha")
    assert held["metadata"]["deletionTimestamp"]
    deleter = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(kube.kubeconfig), "delete", "widget", "alpha", "--timeout=60s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        kube.wait_for_watchers("test.qco.dev", "widgets")  # kubectl deletes, then watches until gone
        kube.kubectl(
            "patch",
            "widget",
            "alpha",
            "--type=json",
            "-p",
            '[{"op": "remove", "path": "/metadata/finalizers"}]',
        )
        _, err = deleter.communicate(timeout=60)
    finally:
        deleter.kill()
    assert deleter.returncode == 0, err
    assert kube.kubectl("get", "widget", "alpha", check=False).returncode != 0


def test_label_selectors(kube: KubeEmulatorHandle) -> None:
    for name, tier in (("a", "gold"), ("b", "silver"), ("c", "gold")):
        kube.kubectl(
            "create",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "test.qco.dev/v1",
                    "kind": "Widget",
                    "metadata": {"name": name, "labels": {"tier": tier}},
                    "spec": {"collectionName": name},
                }
            ),
        )

    def names(*selector: str) -> list[str]:
        return kube.kubectl("get", "widgets", *selector, "-o", "name").stdout.split()

    assert names("-l", "tier=gold") == ["widget.test.qco.dev/a", "widget.test.qco.dev/c"]
    assert names("-l", "tier!=gold") == ["widget.test.qco.dev/b"]
    assert names("-l", "tier in (silver)") == ["widget.test.qco.dev/b"]
    assert names("--field-selector", "metadata.name=c") == ["widget.test.qco.dev/c"]
    kube.kubectl("delete", "widgets", "-l", "tier=gold")
    assert names() == ["widget.test.qco.dev/b"]


def test_server_side_apply(kube: KubeEmulatorHandle) -> None:
    manifest = WIDGET.read_text()
    out = kube.kubectl("apply", "--server-side", "-f", "-", input=manifest).stdout
    assert "serverside-applied" in out
    obj = _get(kube, "widget", "alpha")
    assert obj["spec"]["size"] == 8
    assert obj["spec"]["distance"] == "Cosine"
    # Dropping a field from the applied configuration removes it; changing one updates it.
    kube.kubectl(
        "apply",
        "--server-side",
        "-f",
        "-",
        input=manifest.replace("  size: 8\n", "").replace("tier: gold", "tier: silver"),
    )
    obj = _get(kube, "widget", "alpha", "--show-managed-fields")
    assert obj["spec"]["size"] == 4  # back to the default, because the field is no longer applied
    assert obj["metadata"]["labels"] == {"tier": "silver"}
    assert obj["metadata"]["managedFields"][0]["manager"] == "kubectl"


def test_builtin_kinds_and_namespace_deletion(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("create", "namespace", "team")
    kube.kubectl(
        "apply",
        "-f",
        "-",
        input="""
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: key, namespace: team}
stringData: {apiKey: s3cret}
""",
    )
    kube.kubectl(
        "apply",
        "-f",
        "-",
        input="""
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {a: "2", b: "3"}
""",
    )
    assert _get(kube, "configmap", "settings", "-n", "team")["data"] == {"a": "2", "b": "3"}
    assert "settings" in kube.kubectl("get", "cm", "-n", "team").stdout
    kube.kubectl("delete", "namespace", "team", "--timeout=60s")
    assert kube.kubectl("get", "namespace", "team", check=False).returncode != 0
    assert kube.emulator.store.count_in_namespace("team") == 0


def test_get_watch_streams_changes(kube: KubeEmulatorHandle) -> None:
    kube.kubectl("apply", "-f", str(WIDGET))
    watcher = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(kube.kubeconfig), "get", "widgets", "-w", "--request-timeout=5s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        kube.wait_for_watchers("test.qco.dev", "widgets")
        kube.kubectl("patch", "widget", "alpha", "--type=merge", "-p", '{"spec": {"size": 12}}')
        out, _ = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    assert out.splitlines()[0].split()[:3] == ["NAME", "COLLECTION", "SIZE"]
    assert any(line.split()[:3] == ["alpha", "alpha-docs", "12"] for line in out.splitlines())


def _mark_ready(kube: KubeEmulatorHandle, name: str) -> None:
    """Set the widget's Ready condition through the status subresource, as a controller would."""
    kube.kubectl(
        "patch",
        "widget",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"conditions": [{"type": "Ready", "status": "True"}]}}',
    )
