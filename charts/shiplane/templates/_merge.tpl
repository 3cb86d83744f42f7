{{/*
Deep merge of two maps, returned as JSON: keys of "over" win, maps merge
recursively. Sprig's merge/mergeOverwrite cannot be used for
inferenceServiceDefaults: they treat false and 0 as "unset", so an entry's
`enabled: false` or `trafficPercent: 0` (a dark launch) would be ignored.
Call with (dict "base" $defaults "over" $entry) and pipe to fromJson.
*/}}
{{- define "shiplane.merge" -}}
{{- $out := deepCopy .base }}
{{- range $key, $value := .over }}
{{- $baseValue := index $.base $key }}
{{- if and (kindIs "map" $value) (kindIs "map" $baseValue) }}
{{- $_ := set $out $key (include "shiplane.merge" (dict "base" $baseValue "over" $value) | fromJson) }}
{{- else }}
{{- $_ := set $out $key $value }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* An InferenceService entry merged over inferenceServiceDefaults. Call with (dict "root" $ "entry" $entry); pipe to fromJson. */}}
{{- define "shiplane.inferenceService" -}}
{{- include "shiplane.merge" (dict "base" .root.Values.inferenceServiceDefaults "over" .entry) }}
{{- end }}
