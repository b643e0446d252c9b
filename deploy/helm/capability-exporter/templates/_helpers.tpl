{{/* The chart's name, truncated to the 63 characters of a DNS label. */}}
{{- define "capability-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the objects: the release name, with the chart's name
unless the release name already contains it.
*/}}
{{- define "capability-exporter.fullname" -}}
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

{{- define "capability-exporter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "capability-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "capability-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "capability-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "capability-exporter.labels" -}}
helm.sh/chart: {{ include "capability-exporter.chart" . }}
{{ include "capability-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "capability-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "capability-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "capability-exporter.image" -}}
{{- with .Values.image.registry }}{{ . }}/{{ end }}
{{- .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- with .Values.image.digest }}@{{ . }}{{ end }}
{{- end }}

{{/*
Whether a Prometheus Operator object is on: true, false, or auto (on when the
cluster serves monitoring.coreos.com/v1, the Prometheus Operator's CRDs).
`helm template` knows no cluster: it needs --api-versions monitoring.coreos.com/v1.
Called with (list <value> <root context> <value's name>); renders "true" or "".
*/}}
{{- define "capability-exporter.enabled" -}}
{{- $on := index . 0 }}
{{- $root := index . 1 }}
{{- if kindIs "string" $on }}
{{- if ne $on "auto" }}
{{- fail (printf "%s: want true, false or auto, got %q" (index . 2) $on) }}
{{- end }}
{{- if $root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- else if $on }}true{{ end }}
{{- end }}

{{/*
The exporter's config file from clusterName, sources, facts, overrides, thresholds, impact and rules. With
scopeSourcesToCluster, the prometheus and loki sources that set no matchers
of their own get clusterLabel="clusterName".
*/}}
{{- define "capability-exporter.config" -}}
{{- include "capability-exporter.checkNames" . }}
{{- $sources := deepCopy (.Values.sources | default dict) }}
{{- if .Values.scopeSourcesToCluster }}
{{- if not .Values.clusterName }}
{{- fail "scopeSourcesToCluster needs clusterName" }}
{{- end }}
{{- $matcher := printf "%s=%q" .Values.clusterLabel .Values.clusterName }}
{{- range $kind := list "prometheus" "loki" }}
{{- $source := index $sources $kind }}
{{- if and $source (not (hasKey $source "matchers")) }}
{{- $_ := set $source "matchers" (list $matcher) }}
{{- end }}
{{- end }}
{{- end }}
{{- $config := dict "sources" $sources }}
{{- with .Values.clusterName }}
{{- $_ := set $config "cluster" . }}
{{- end }}
{{- with .Values.facts }}
{{- $_ := set $config "facts" . }}
{{- end }}
{{- with .Values.overrides }}
{{- $_ := set $config "overrides" . }}
{{- end }}
{{- with .Values.thresholds }}
{{- $_ := set $config "thresholds" . }}
{{- end }}
{{- with .Values.impact }}
{{- $_ := set $config "impact" . }}
{{- end }}
{{- if .Values.rules }}
{{- $_ := set $config "rules_file" "rules.yml" }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
Fails the render on a name under facts: or thresholds: that the rules in
force neither read nor define, naming it. With rules: empty those are the
default rules (values.schema.json refuses such a name first); with rules:
extending them (extends: default), the default rules and rules: together.
files/default-rules-names.yaml, generated from the default rules, lists
theirs. Rules that replace the defaults are left to the exporter, which
checks every name against them when it loads the config. Renders nothing.
*/}}
{{- define "capability-exporter.checkNames" -}}
{{- $rules := .Values.rules | default dict }}
{{- if kindIs "string" $rules }}
{{- $rules = fromYaml $rules }}
{{- end }}
{{- if or (not .Values.rules) (eq (toString $rules.extends) "default") }}
{{- $defaults := .Files.Get "files/default-rules-names.yaml" | fromYaml }}
{{- /* adopted dates adoptions: no rule reads it, and the exporter always takes it. */}}
{{- $facts := concat (list "adopted") $defaults.facts }}
{{- range $name := keys ($rules.signals | default dict) | sortAlpha }}
{{- $facts = concat $facts (include "capability-exporter.sourceFacts" (index $rules.signals $name) | splitList "\n" | compact) }}
{{- end }}
{{- $thresholds := concat $defaults.thresholds (keys ($rules.thresholds | default dict) | sortAlpha) }}
{{- $from := ternary "the default rules" "the default rules and the rules value" (not .Values.rules) }}
{{- range $name := keys (.Values.facts | default dict) | sortAlpha }}
{{- if not (has $name $facts) }}
{{- fail (printf "facts.%s: unknown fact (%s read: %s)" $name $from (join ", " ($facts | uniq))) }}
{{- end }}
{{- end }}
{{- range $name := keys (.Values.thresholds | default dict) | sortAlpha }}
{{- if not (has $name $thresholds) }}
{{- fail (printf "thresholds.%s: unknown threshold (%s define: %s)" $name $from (join ", " ($thresholds | uniq))) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The facts a rules file's signal source reads, one a line: its fact:, and
those of its first_known: alternatives.
*/}}
{{- define "capability-exporter.sourceFacts" -}}
{{- if kindIs "map" . }}
{{- with .fact }}{{ . }}{{ "\n" }}{{ end }}
{{- range .first_known }}{{ include "capability-exporter.sourceFacts" . }}{{ end }}
{{- end }}
{{- end }}
