"""A Kubernetes API emulator for tests and `qco sandbox`, built on kmock's KubernetesEmulator.

kubectl and kopf work against it as against a cluster: discovery and CRD registration,
resourceVersion/generation, the status subresource, patches and server-side apply with
managedFields and conflicts between field managers, name validation, selectors, watches with
replay, finalizers, namespaces, schema, list-type and CEL validation, and server-side tables.

Known gaps against a real API server (by design, for a test double):
- field ownership of built-in kinds knows only ObjectMeta's lists and the lists kubectl merges by
  key (containers, env, ...); other lists of built-ins are owned atomically;
- one stored version per CRD is assumed (no conversion webhooks; objects keep the written body);
- core/v1 and events.k8s.io/v1 Events are stored separately;
- protobuf request bodies are decoded only for Namespace, ConfigMap, Secret and ServiceAccount
  (what `kubectl create <kind>` sends); other kinds must be sent as JSON/YAML (`kubectl apply`);
- `continue` reads the current objects after the last key served, not the first page's snapshot
  (and an old token never gets 410); no RBAC, no admission webhooks, no controllers except
  namespace cleanup and ownerReference garbage collection.
"""

from qco.sandbox.kube.kubeconfig import kubeconfig, write_kubeconfig
from qco.sandbox.kube.sandbox import KubeSandbox
from qco.sandbox.kube.server import KubeEmulator

__all__ = ["KubeEmulator", "KubeSandbox", "kubeconfig", "write_kubeconfig"]
