{{- define "voxgate.name" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "voxgate.selectorLabels" -}}
app.kubernetes.io/name: voxgate
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "voxgate.labels" -}}
{{ include "voxgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
