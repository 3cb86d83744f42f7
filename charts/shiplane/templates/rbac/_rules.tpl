{{/*
What `shiplane rollout`, `promote`, `rollback`, `set-traffic` and `status` need:
read and patch InferenceServices (both canary styles are fields of the same
object), read pods for status. Nothing cluster-wide, no create/delete.
*/}}
{{- define "shiplane.rbac.operatorRules" -}}
- apiGroups:
    - serving.kserve.io
  resources:
    - inferenceservices
  verbs:
    - get
    - list
    - watch
    - patch
- apiGroups:
    - ""
  resources:
    - pods
  verbs:
    - get
    - list
    - watch
{{- end }}
