{{/*
The model identity contract, as the CLI reads it (contracts/src/shiplane_contracts/identity.py is the
one definition; tests/chart/test_identity_contract.py fails if these drift).
Aliases are for people, versions are for pods: a predictor is always given a
pinned models:/NAME/VERSION.
*/}}
{{- define "shiplane.identity.modelNameAnnotation" -}}serving.shiplane.io/model-name{{- end }}
{{- define "shiplane.identity.stableVersionAnnotation" -}}serving.shiplane.io/stable-version{{- end }}
{{- define "shiplane.identity.canaryVersionAnnotation" -}}serving.shiplane.io/canary-version{{- end }}
{{- define "shiplane.identity.historyAnnotation" -}}serving.shiplane.io/history{{- end }}
{{- define "shiplane.identity.modelUriEnv" -}}SHIPLANE_SERVING_MODEL_URI{{- end }}
{{- define "shiplane.identity.modelNameEnv" -}}SHIPLANE_SERVING_MODEL_NAME{{- end }}

{{/*
(dict "uri" "models:/NAME/VERSION") -> {"name": NAME, "version": VERSION} as JSON,
{} for anything else (an alias is refused earlier, by validate.yaml).
*/}}
{{- define "shiplane.identity.parse" -}}
{{- $m := regexFindAll "^models:/([^/@]+)/([1-9][0-9]*)/?$" (.uri | default "") -1 }}
{{- if $m }}
{{- $parts := splitList "/" (trimPrefix "models:/" (trimSuffix "/" .uri)) }}
{{- dict "name" (index $parts 0) "version" (index $parts 1) | toJson }}
{{- else }}{}{{ end }}
{{- end }}

{{/*
The model a live predictor serves, as a chart `model` value: {"mlflowUri": ...}
from the runtime's env, or {"storageUri": ...}. Call with the predictor dict.
*/}}
{{- define "shiplane.identity.liveModel" -}}
{{- $uri := "" }}
{{- range ((.model | default dict).env | default list) }}
{{- if eq .name (include "shiplane.identity.modelUriEnv" $) }}{{ $uri = .value }}{{ end }}
{{- end }}
{{- if hasPrefix "models:/" $uri }}
{{- dict "mlflowUri" $uri | toJson }}
{{- else }}
{{- dict "storageUri" ((.model | default dict).storageUri | default "") | toJson }}
{{- end }}
{{- end }}
