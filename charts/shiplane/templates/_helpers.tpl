{{/*
Names. Kubernetes object names and label values are limited to 63 characters
(DNS-1123 labels), so every generated name is cut to 63 and loses a trailing
"-" the cut may leave. Component suffixes are appended before the cut.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "shiplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-scoped prefix of every object: fullnameOverride, or "<release>-<chart>",
or just the release name when it already contains the chart name (so a release
called "shiplane" does not give "shiplane-shiplane").
*/}}
{{- define "shiplane.fullname" -}}
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

{{/*
"<fullname>-<component>" within 63 characters. The prefix is cut, never the
suffix, so that two components of a long release never end up with one name.
Call with (dict "root" $ "component" "mlflow").
*/}}
{{- define "shiplane.componentName" -}}
{{- $prefix := include "shiplane.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-" }}
{{- printf "%s-%s" $prefix .component }}
{{- end }}

{{/* Chart label value: "<name>-<version>", "+" is not allowed in label values. */}}
{{- define "shiplane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the life of a release. Never put the chart version
(helm.sh/chart) here: selectors are immutable, an upgrade would fail.
Call with (dict "root" $ "component" "router").
*/}}
{{- define "shiplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shiplane.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every label of an object. Call with (dict "root" $ "component" "router"). */}}
{{- define "shiplane.labels" -}}
helm.sh/chart: {{ include "shiplane.chart" .root }}
{{ include "shiplane.selectorLabels" . }}
app.kubernetes.io/part-of: shiplane
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels shared by every Shiplane pod of the release (for NetworkPolicies). */}}
{{- define "shiplane.releaseSelector" -}}
app.kubernetes.io/name: {{ include "shiplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
A Shiplane image reference. Call with (dict "root" $ "image" .Values.router.image).
The tag falls back to image.tag, then to the chart's appVersion.
*/}}
{{- define "shiplane.image" -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- printf "%s/%s:%s" .root.Values.image.registry .image.repository $tag }}
{{- end }}

{{/* ServiceAccount name of a component. Call with (dict "root" $ "component" "serving"). */}}
{{- define "shiplane.serviceAccountName" -}}
{{- $sa := index .root.Values.serviceAccounts .component }}
{{- if $sa.create }}
{{- default (include "shiplane.componentName" .) $sa.name }}
{{- else }}
{{- default "default" $sa.name }}
{{- end }}
{{- end }}

{{/* Name of the ServingRuntime. */}}
{{- define "shiplane.servingRuntimeName" -}}
{{- default (include "shiplane.componentName" (dict "root" . "component" "sklearn")) .Values.servingRuntime.name }}
{{- end }}

{{/*
MLflow tracking URI the trainer, the model servers and the rollout use:
mlflow.trackingUri, else the in-cluster server when mlflow.enabled, else "".
*/}}
{{- define "shiplane.mlflowTrackingUri" -}}
{{- if .Values.mlflow.trackingUri }}
{{- .Values.mlflow.trackingUri }}
{{- else if .Values.mlflow.enabled }}
{{- printf "http://%s.%s.svc:%d" (include "shiplane.componentName" (dict "root" . "component" "mlflow")) .Release.Namespace (int .Values.mlflow.port) }}
{{- end }}
{{- end }}

{{/* The MLflow tracking URI, or a clear failure naming who needs it. Call with (dict "root" $ "who" "training"). */}}
{{- define "shiplane.requireMlflowTrackingUri" -}}
{{- $uri := include "shiplane.mlflowTrackingUri" .root }}
{{- if not $uri }}
{{- fail (printf "%s needs an MLflow tracking server: set mlflow.enabled=true (in-cluster server) or mlflow.trackingUri (an external one)" .who) }}
{{- end }}
{{- $uri }}
{{- end }}

{{/*
Restricted pod security (Pod Security Standards "restricted"): non-root with a
fixed high UID, RuntimeDefault seccomp. Container level below.
*/}}
{{- define "shiplane.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "shiplane.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod-level scheduling and pull secrets shared by every pod. */}}
{{- define "shiplane.podScheduling" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A name-to-value map as a container env list, sorted by name. */}}
{{- define "shiplane.envMap" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
Checkov checks that do not apply to a Shiplane workload, each with the reason,
as checkov.io/skipN annotations (checkov's inline suppression for Kubernetes).
*/}}
{{- define "shiplane.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_43=Images are pinned by tag (the chart's appVersion); users who mirror images pin digests with image.tag "x@sha256:..."
checkov.io/skip2: CKV_K8S_15=IfNotPresent is right for immutable release tags; image.pullPolicy can be set to Always
{{- end }}
