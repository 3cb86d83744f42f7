{{/* Egress rules to the MLflow tracking server: the in-cluster one, or an external one by port. */}}
{{- define "shiplane.netpol.mlflowEgress" -}}
{{- if .Values.mlflow.trackingUri }}
{{- $url := urlParse .Values.mlflow.trackingUri }}
{{- $hostPort := splitList ":" $url.host }}
{{- $port := ternary (last $hostPort) (ternary "443" "80" (eq $url.scheme "https")) (gt (len $hostPort) 1) }}
- ports:
    - protocol: TCP
      port: {{ $port }}
{{- else if .Values.mlflow.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "shiplane.selectorLabels" (dict "root" . "component" "mlflow") | nindent 10 }}
  ports:
    - protocol: TCP
      port: {{ .Values.mlflow.port }}
{{- end }}
{{- end }}

{{/* Egress on TCP 443 (S3, HTTPS endpoints), limited to networkPolicy.httpsEgressCidrs when set. */}}
{{- define "shiplane.netpol.httpsEgress" -}}
- ports:
    - protocol: TCP
      port: 443
  {{- with .Values.networkPolicy.httpsEgressCidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end }}

{{/* "from"/"to" peers for the namespaces of networkPolicy.ingressNamespaces. */}}
{{- define "shiplane.netpol.ingressNamespacePeers" -}}
{{- range .Values.networkPolicy.ingressNamespaces }}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . }}
{{- end }}
{{- end }}

{{/* Prometheus's namespace as a peer. */}}
{{- define "shiplane.netpol.prometheusPeer" -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .Values.networkPolicy.prometheusNamespace }}
{{- end }}

{{/* NetworkPolicy metadata. Call with (dict "root" $ "component" "serving"). */}}
{{- define "shiplane.netpol.metadata" -}}
metadata:
  name: {{ include "shiplane.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "shiplane.labels" . | nindent 4 }}
{{- end }}
