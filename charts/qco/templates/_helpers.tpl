{{/* Chart name, overridable. */}}
{{- define "qco.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name used as the prefix of every object: <release>-qco unless the release already says qco. */}}
{{- define "qco.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "qco.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "qco.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: qco
{{- end }}

{{/* Labels that select the operator pods (immutable once installed). */}}
{{- define "qco.selectorLabels" -}}
app.kubernetes.io/name: {{ include "qco.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "qco.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "qco.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image: digest wins over tag; the tag defaults to the chart's appVersion. */}}
{{- define "qco.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when kopf peering is on: asked for, or needed because several replicas run. */}}
{{- define "qco.peering" -}}
{{- if or .Values.peering.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/* Where the default Qdrant API key is mounted (QCO_QDRANT_API_KEY_FILE). */}}
{{- define "qco.apiKeyDir" -}}/var/run/secrets/qco/qdrant{{- end }}

{{- /* Rules for objects in the watched namespaces: a ClusterRole when watching the whole
cluster, else the same rules in a Role per watched namespace. */}}
{{- define "qco.namespacedRules" -}}
# qco's own resources: watched by kopf, finalizers and kopf's annotations patched.
- apiGroups: ["qco.dev"]
  resources: {{ toJson .plurals }}
  verbs: ["get", "list", "watch", "patch", "update"]
# CollectionDeployment revisions are child QdrantCollections that qco creates and deletes.
- apiGroups: ["qco.dev"]
  resources: ["qdrantcollections"]
  verbs: ["create", "delete"]
- apiGroups: ["qco.dev"]
  resources: {{ toJson (.statusResources) }}
  verbs: ["get", "patch", "update"]
# Needed where OwnerReferencesPermissionEnforcement is on (blockOwnerDeletion on child objects).
- apiGroups: ["qco.dev"]
  resources: {{ toJson (.finalizerResources) }}
  verbs: ["update"]
# One Event per change made in Qdrant (qco), warnings from kopf.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# API keys referenced by spec.connection.apiKeySecretRef: read one by name, never listed.
- apiGroups: [""]
  resources: ["secrets"]
  {{- with .secretNames }}
  resourceNames: {{ toJson . }}
  {{- end }}
  verbs: ["get"]
{{- if .accessKeys }}
# Access keys (accessKeys.enabled): the token Secrets qco creates, rotates and deletes. Kubernetes
# cannot limit create by name; qco writes only Secrets it owns (ownerReference), never others.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "update", "delete"]
{{- end }}
# Canary routing: a CanaryRollout's routing ConfigMap, read by name, created once (owned by the
# rollout) and one key patched; never listed, watched or replaced.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch"]
{{- if and .peering .namespaced }}
# kopf peering (several replicas, namespaced mode): keep-alives in the KopfPeering's status.
- apiGroups: ["kopf.dev"]
  resources: ["kopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}
