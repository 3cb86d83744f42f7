{{/* True ("true") when MLflow keeps anything on the PVC (SQLite or local artifacts). */}}
{{- define "shiplane.mlflow.usesPvc" -}}
{{- if and .Values.mlflow.persistence.enabled (or (not .Values.mlflow.backendStore.existingSecret) (not .Values.mlflow.artifacts.s3Bucket)) }}true{{ end }}
{{- end }}

{{/* Host header values of the in-cluster Service, for MLflow's --allowed-hosts. */}}
{{- define "shiplane.mlflow.allowedHosts" -}}
{{- $svc := include "shiplane.componentName" (dict "root" . "component" "mlflow") }}
{{- $hosts := list "localhost" }}
{{- range $name := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- $hosts = append $hosts $name }}
{{- $hosts = append $hosts (printf "%s:%d" $name (int $.Values.mlflow.port)) }}
{{- end }}
{{- concat $hosts .Values.mlflow.extraAllowedHosts | join "," }}
{{- end }}
