{{/*
A predictor (spec.predictor or spec.canary[].predictor) running the Shiplane
runtime. Call with (dict "root" $ "key" $key "isvc" $isvc "model" $model "name" ""),
plus "canary" true for an entry of spec.canary[].
The model URI reaches the server through SHIPLANE_SERVING_MODEL_URI: an MLflow URI
is resolved by the server itself; a storageUri is downloaded by KServe's storage
initializer to /mnt/models, which the server then loads.
*/}}
{{- define "shiplane.predictor" -}}
{{- $root := .root }}
{{- $isvc := .isvc }}
{{- $autoscaling := $isvc.autoscaling }}
{{- if .name }}
name: {{ .name }}
{{- end }}
serviceAccountName: {{ include "shiplane.serviceAccountName" (dict "root" $root "component" "serving") }}
automountServiceAccountToken: false
{{- if not .canary }}
{{- /* A Standard canary runs fixed replicas that KServe derives from the stable
predictor and the traffic share; its validator refuses autoscaling fields there. */}}
minReplicas: {{ int $autoscaling.minReplicas }}
maxReplicas: {{ int $autoscaling.maxReplicas }}
scaleMetric: {{ $autoscaling.scaleMetric }}
scaleTarget: {{ int $autoscaling.scaleTarget }}
{{- end }}
{{- if $isvc.containerConcurrency }}
containerConcurrency: {{ int $isvc.containerConcurrency }}
{{- end }}
timeout: {{ int $isvc.timeoutSeconds }}
labels:
  {{- include "shiplane.selectorLabels" (dict "root" $root "component" "serving") | nindent 2 }}
  shiplane.dev/inference-service: {{ .key }}
securityContext:
  {{- include "shiplane.podSecurityContext" $root | nindent 2 }}
{{- with (include "shiplane.podScheduling" $root | trim) }}{{ . | nindent 0 }}{{ end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 1Gi
model:
  runtime: {{ include "shiplane.servingRuntimeName" $root }}
  modelFormat:
    name: sklearn
  {{- if .model.storageUri }}
  storageUri: {{ .model.storageUri | quote }}
  {{- end }}
  env:
    - name: SHIPLANE_SERVING_MODEL_URI
      value: {{ .model.mlflowUri | default "/mnt/models" | quote }}
    - name: SHIPLANE_SERVING_MODEL_NAME
      value: {{ $isvc.modelName | default .key | quote }}
    {{- if .model.mlflowUri }}
    - name: MLFLOW_TRACKING_URI
      value: {{ include "shiplane.mlflowTrackingUri" $root | quote }}
    {{- end }}
  resources:
    {{- toYaml ($isvc.resources | default $root.Values.servingRuntime.resources) | nindent 4 }}
  securityContext:
    {{- include "shiplane.containerSecurityContext" $root | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end }}
