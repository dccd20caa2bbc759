"""A Kubernetes API emulator for tests and `qco sandbox`, built on kmock's KubernetesEmulator.

kubectl and kopf work against it as against a cluster: discovery and CRD registration,
resourceVersion/generation, the status subresource, patches and server-side apply,
selectors, watches with replay, finalizers, namespaces, schema and CEL validation, and
server-side tables for printer columns.
"""

from qco.sandbox.kube.kubeconfig import kubeconfig, write_kubeconfig
from qco.sandbox.kube.sandbox import KubeSandbox
from qco.sandbox.kube.server import KubeEmulator

__all__ = ["KubeEmulator", "KubeSandbox", "kubeconfig", "write_kubeconfig"]
