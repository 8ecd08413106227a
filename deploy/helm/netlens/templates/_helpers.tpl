{{/* Chart name, overridable. */}}
{{- define "netlens.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the prefix of every resource name. */}}
{{- define "netlens.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of the Windows resources (DaemonSet, ConfigMap). */}}
{{- define "netlens.windowsName" -}}
{{- printf "%s-windows" (include "netlens.fullname" . | trunc 55 | trimSuffix "-") -}}
{{- end -}}

{{/* Selector labels shared by the Linux and Windows agents (the Service selects both). */}}
{{- define "netlens.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netlens.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end -}}

{{/* Labels of every resource. */}}
{{- define "netlens.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "netlens.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: netlens
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "netlens.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "netlens.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* image reference: repository, then @digest or :tag (default appVersion). Argument: dict "image" .image "root" $ */}}
{{- define "netlens.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "netlens.tokenSecretName" -}}
{{- default (printf "%s-token" (include "netlens.fullname" .)) .Values.auth.token.existingSecret -}}
{{- end -}}

{{- define "netlens.portName" -}}
{{- if .Values.tls.enabled }}https{{ else }}http{{ end -}}
{{- end -}}

{{- define "netlens.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end -}}
{{- end -}}

{{/*
Checks of value combinations the schema cannot express.
*/}}
{{- define "netlens.validate" -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.enabled needs tls.existingSecret: a kubernetes.io/tls Secret with tls.crt and tls.key (e.g. from cert-manager)" -}}
{{- end -}}
{{- if and .Values.auth.metrics (not .Values.auth.token.enabled) -}}
{{- fail "auth.metrics protects /metrics with the agent token: it needs auth.token.enabled" -}}
{{- end -}}
{{- if and .Values.auth.token.existingSecret (not .Values.auth.token.enabled) -}}
{{- fail "auth.token.existingSecret is set but auth.token.enabled is false: the agents would not use the token" -}}
{{- end -}}
{{- if and (not .Values.linux.enabled) (not .Values.windows.enabled) -}}
{{- fail "neither linux.enabled nor windows.enabled: nothing to deploy" -}}
{{- end -}}
{{- end -}}

{{/*
Mount points inside the containers. Windows HostProcess containers on containerd
1.7+ see volume mounts at their mountPath.
*/}}
{{- define "netlens.paths" -}}
{{- if eq . "windows" -}}
{{- dict "config" "C:/netlens/config" "token" "C:/netlens/token" "tls" "C:/netlens/tls" | toJson -}}
{{- else -}}
{{- dict "config" "/etc/netlens" "token" "/etc/netlens-token" "tls" "/etc/netlens-tls" "bpffs" "/host/sys/fs/bpf" "state" "/var/lib/netlens" "tracefs" "/sys/kernel/tracing" | toJson -}}
{{- end -}}
{{- end -}}

{{/*
The agent's configuration file for one operating system: a YAML map of flag names
(without "--") to values. Argument: dict "root" $ "os" "linux"|"windows".
Order of precedence: chart values < agent.extraConfig < windows.extraConfig <
the token and TLS settings (so extraConfig cannot switch them off silently).
*/}}
{{- define "netlens.config" -}}
{{- $v := .root.Values -}}
{{- $paths := include "netlens.paths" .os | fromJson -}}
{{- $c := dict
  "listen-address" (printf ":%d" (int $v.agent.port))
  "log-level" $v.agent.logLevel
  "log-format" $v.agent.logFormat
  "max-pod-series" (int $v.agent.maxPodSeries)
  "cluster-pods" $v.agent.clusterPods
  "history-duration" $v.agent.historyDuration
  "history-interval" $v.agent.historyInterval
-}}
{{- if eq .os "linux" -}}
{{- $_ := set $c "drop-source" $v.agent.dropSource -}}
{{- $_ := set $c "drop-events-per-second" (int $v.agent.dropEventsPerSecond) -}}
{{- $_ := set $c "drop-table-entries" (int $v.agent.dropTableEntries) -}}
{{- $_ := set $c "drain-interval" $v.agent.drainInterval -}}
{{- $_ := set $c "procfs-path" "/proc" -}}
{{- $_ := set $c "state-dir" (ternary $paths.state "" (ne $v.linux.stateDir "")) -}}
{{- $_ := set $c "bpffs-path" (ternary (printf "%s/netlens" $paths.bpffs) "" $v.linux.bpffs.enabled) -}}
{{- if $v.agent.ethtoolInclude -}}
{{- $_ := set $c "ethtool-include" $v.agent.ethtoolInclude -}}
{{- end -}}
{{- end -}}
{{- $c = mustMergeOverwrite $c (deepCopy $v.agent.extraConfig) -}}
{{- if eq .os "windows" -}}
{{- $c = mustMergeOverwrite $c (deepCopy $v.windows.extraConfig) -}}
{{- end -}}
{{- if $v.auth.token.enabled -}}
{{- $_ := set $c "token-file" (printf "%s/%s" $paths.token $v.auth.token.secretKey) -}}
{{- $_ := set $c "metrics-auth" $v.auth.metrics -}}
{{- end -}}
{{- if $v.tls.enabled -}}
{{- $_ := set $c "tls-cert-file" (printf "%s/tls.crt" $paths.tls) -}}
{{- $_ := set $c "tls-key-file" (printf "%s/tls.key" $paths.tls) -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}

{{/* Relabelings of the ServiceMonitor and PodMonitor (Prometheus Operator RelabelConfig). */}}
{{- define "netlens.relabelings" -}}
- action: replace
  sourceLabels: [__meta_kubernetes_pod_node_name]
  targetLabel: node
{{- if .Values.cluster }}
- action: replace
  targetLabel: cluster
  replacement: {{ .Values.cluster | quote }}
{{- end }}
- action: labeldrop
  regex: namespace|pod|container|service|endpoint
{{- end -}}
