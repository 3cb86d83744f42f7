{{/*
The data a batch workload (training, scoring) may reach beyond the chart's own
mounts: extra env (a map, plus values from Secrets), envFrom, and named volumes
with their mounts. Called with (dict "root" $ "values" .Values.X "who" "X").
*/}}
{{- define "shiplane.workload.env" -}}
{{- $v := .values }}
{{- with (include "shiplane.envMap" ($v.env | default dict) | trim) }}
{{ . }}
{{- end }}
{{- range $name, $ref := ($v.secretEnv | default dict) }}
{{- if hasKey ($v.env | default dict) $name }}
{{- fail (printf "%s.secretEnv.%s: also set in %s.env; keep one" $.who $name $.who) }}
{{- end }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- end }}

{{- define "shiplane.workload.volumeMounts" -}}
{{- $v := .values }}
{{- range $name, $mount := ($v.volumeMounts | default dict) }}
{{- if not (hasKey ($v.volumes | default dict) $name) }}
{{- fail (printf "%s.volumeMounts.%s: %s.volumes has no volume of that name" $.who $name $.who) }}
{{- end }}
{{- if regexMatch "^/(config|tmp)(/|$)" $mount.mountPath }}
{{- fail (printf "%s.volumeMounts.%s.mountPath: %s is under /config or /tmp, which the chart mounts itself" $.who $name $mount.mountPath) }}
{{- end }}
- name: {{ $name }}
  {{- toYaml $mount | nindent 2 }}
{{- end }}
{{- end }}

{{- define "shiplane.workload.volumes" -}}
{{- range $name, $source := (.values.volumes | default dict) }}
{{- if has $name (list "config" "tmp") }}
{{- fail (printf "%s.volumes.%s: config and tmp are the chart's own volumes; pick another name" $.who $name) }}
{{- end }}
- name: {{ $name }}
  {{- toYaml $source | nindent 2 }}
{{- end }}
{{- end }}
