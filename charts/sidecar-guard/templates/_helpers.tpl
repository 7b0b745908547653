{{/* The app name: app.kubernetes.io/name and part-of. */}}
{{- define "sidecar-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Every object's name (Service, Secret, webhook configurations, RBAC): the release
name, unless it already contains the chart name (`helm install sidecar-guard ...`
gives "sidecar-guard", the names of manifests/).
*/}}
{{- define "sidecar-guard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "sidecar-guard.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "sidecar-guard.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The Secret the replicas keep the CA and serving certificate in. */}}
{{- define "sidecar-guard.tlsSecret" -}}
{{- printf "%s-tls" (include "sidecar-guard.fullname" .) -}}
{{- end -}}

{{/* The labels of manifests/ plus Helm's standard ones (object metadata only, never selectors). */}}
{{- define "sidecar-guard.labels" -}}
app.kubernetes.io/name: {{ include "sidecar-guard.name" . }}
app.kubernetes.io/part-of: {{ include "sidecar-guard.name" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* What the Service, the PodDisruptionBudget and the anti-affinity select. */}}
{{- define "sidecar-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sidecar-guard.name" . }}
app.kubernetes.io/component: webhook
{{- end -}}

{{/* The ServiceAccount every binding names. */}}
{{- define "sidecar-guard.subject" -}}
- kind: ServiceAccount
  name: {{ include "sidecar-guard.fullname" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{/* The webhook rules: Sidecars in every served version, for the given operations. */}}
{{- define "sidecar-guard.sidecarRules" -}}
- apiGroups: ["networking.istio.io"]
  apiVersions: ["v1", "v1beta1", "v1alpha3"]
  resources: ["sidecars"]
  operations: {{ toJson . }}
  scope: Namespaced
{{- end -}}

{{/*
What values.schema.json cannot express (it does not know the release namespace),
refused with a message that says what to change. (helm lint reports a template
`fail` as [INFO] only; helm template and install fail.)
*/}}
{{- define "sidecar-guard.checks" -}}
{{- if and (eq .Values.webhook.failurePolicy "FailWhenReady") (has .Release.Namespace .Values.webhook.excludeNamespaces) -}}
{{- fail (printf "webhook.excludeNamespaces must not list the release namespace %q with webhook.failurePolicy FailWhenReady: the reachability probe is judged there" .Release.Namespace) -}}
{{- end -}}
{{- end -}}
