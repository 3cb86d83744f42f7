{{/* Pod template of the trainer, shared by the Job and the CronJob. */}}
{{- define "shiplane.training.podTemplate" -}}
metadata:
  labels:
    {{- include "shiplane.selectorLabels" (dict "root" . "component" "training") | nindent 4 }}
  annotations:
    checksum/config: {{ toYaml .Values.training.config | sha256sum }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "shiplane.serviceAccountName" (dict "root" . "component" "training") }}
  automountServiceAccountToken: false
  securityContext:
    {{- include "shiplane.podSecurityContext" . | nindent 4 }}
  {{- with (include "shiplane.podScheduling" . | trim) }}{{ . | nindent 2 }}{{ end }}
  containers:
    - name: trainer
      image: {{ include "shiplane.image" (dict "root" . "image" .Values.training.image) }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - python
        - -m
        - shiplane_training
      args:
        - --config
        - /config/train.yaml
      env:
        - name: MLFLOW_TRACKING_URI
          value: {{ include "shiplane.requireMlflowTrackingUri" (dict "root" . "who" "training") | quote }}
        - name: HOME
          value: /tmp
        {{- with (include "shiplane.workload.env" (dict "root" . "values" .Values.training "who" "training") | trim) }}{{ . | nindent 8 }}{{ end }}
      {{- with .Values.training.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:
        {{- toYaml .Values.training.resources | nindent 8 }}
      securityContext:
        {{- include "shiplane.containerSecurityContext" . | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /config
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- with (include "shiplane.workload.volumeMounts" (dict "root" . "values" .Values.training "who" "training") | trim) }}{{ . | nindent 8 }}{{ end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "shiplane.componentName" (dict "root" . "component" "training") }}
    - name: tmp
      emptyDir:
        sizeLimit: 4Gi
    {{- with (include "shiplane.workload.volumes" (dict "root" . "values" .Values.training "who" "training") | trim) }}{{ . | nindent 4 }}{{ end }}
{{- end }}
