{{/* Chart name. */}}
{{- define "k6gate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, unless the release name already holds the chart name. */}}
{{- define "k6gate.fullname" -}}
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

{{/* chart-version label value. */}}
{{- define "k6gate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels. */}}
{{- define "k6gate.labels" -}}
helm.sh/chart: {{ include "k6gate.chart" . }}
{{ include "k6gate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels. */}}
{{- define "k6gate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "k6gate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Service account name. */}}
{{- define "k6gate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "k6gate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding tokens: an existing one, or the one the chart creates. */}}
{{- define "k6gate.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else if .Values.secrets.create }}
{{- include "k6gate.fullname" . }}
{{- end }}
{{- end }}

{{/* image reference: repository@digest or repository:tag. */}}
{{- define "k6gate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Seconds in a chart duration of whole hours, minutes and seconds (1h, 90s, 1m30s; the
schema allows only these). */}}
{{- define "k6gate.seconds" -}}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+[hms]" . -1 }}
{{- $n := atoi (regexReplaceAll "[hms]$" . "") }}
{{- if hasSuffix "h" . }}{{ $total = add $total (mul $n 3600) }}{{ else if hasSuffix "m" . }}{{ $total = add $total (mul $n 60) }}{{ else }}{{ $total = add $total $n }}{{ end }}
{{- end }}
{{- $total }}
{{- end }}

{{/* The token keys that have a value: from an existing Secret (the key must exist), or from
values for a created one (a key whose token is empty is left out). */}}
{{- define "k6gate.slackTokenKey" -}}
{{- if and .Values.secrets.slackTokenKey (or .Values.secrets.existingSecret (and .Values.secrets.create .Values.secrets.slackToken)) }}{{ .Values.secrets.slackTokenKey }}{{ end }}
{{- end }}
{{- define "k6gate.cloudTokenKey" -}}
{{- if and .Values.secrets.cloudTokenKey (or .Values.secrets.existingSecret (and .Values.secrets.create .Values.secrets.cloudToken)) }}{{ .Values.secrets.cloudTokenKey }}{{ end }}
{{- end }}

{{/* The auth Secret: an existing one, or the one the chart creates from auth.clients. */}}
{{- define "k6gate.authSecretName" -}}
{{- if .Values.auth.existingSecret }}{{ .Values.auth.existingSecret }}{{ else }}{{ include "k6gate.fullname" . }}-auth{{ end }}
{{- end }}

{{/*
The runners callers may use (RUNNERS_ALLOWED): runners.allowed when set; else the pod runners
enabled (local left out: a local script could read the service account token); else local.
*/}}
{{- define "k6gate.runnersAllowed" -}}
{{- if .Values.runners.allowed -}}
{{- join "," .Values.runners.allowed -}}
{{- else if .Values.runners.enabled -}}
{{- join "," .Values.runners.enabled -}}
{{- else -}}
local
{{- end -}}
{{- end }}

{{/* A map of headers as k6gate's PROMETHEUS_RW_HEADERS: Name:value pairs, comma-separated. */}}
{{- define "k6gate.headerList" -}}
{{- $pairs := list }}
{{- range $name, $value := . }}{{ $pairs = append $pairs (printf "%s:%s" $name $value) }}{{ end }}
{{- join "," $pairs }}
{{- end }}
