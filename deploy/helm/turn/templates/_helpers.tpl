{{/* Chart name, or nameOverride. */}}
{{- define "turn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of the release's objects: fullnameOverride, or RELEASE-CHART unless the release name holds the chart's. */}}
{{- define "turn.fullname" -}}
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

{{- define "turn.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "turn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "turn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "turn.labels" -}}
helm.sh/chart: {{ include "turn.chart" . }}
{{ include "turn.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: relay
app.kubernetes.io/part-of: turn
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "turn.image" -}}
{{- $repository := required "image.repository is required" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the auth secret and the admin key. */}}
{{- define "turn.secretName" -}}
{{- .Values.auth.existingSecret | default (include "turn.fullname" .) -}}
{{- end -}}

{{- define "turn.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- add (int .Values.drain.deadlineSeconds) 60 -}}
{{- else if eq (toString .Values.terminationGracePeriodSeconds) "" -}}
{{- add (int .Values.drain.deadlineSeconds) 60 -}}
{{- else -}}
{{- int .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* Fails the render with a message naming the value when the values cannot work. */}}
{{- define "turn.validate" -}}
{{- $v := .Values -}}
{{- if not (has $v.kind (list "DaemonSet" "Deployment")) -}}
{{- fail (printf "kind must be DaemonSet or Deployment, not %q" (toString $v.kind)) -}}
{{- end -}}
{{- if and (eq $v.kind "Deployment") (lt (int $v.replicas) 1) -}}
{{- fail (printf "replicas must be at least 1, not %v" $v.replicas) -}}
{{- end -}}
{{- $_ := required "realm is required (Auth:Realm)" $v.realm -}}
{{- range $key := list "udp" "tcp" "tls" "http" -}}
{{- $port := int (required (printf "ports.%s is required" $key) (index $v.ports $key)) -}}
{{- if or (lt $port 1) (gt $port 65535) -}}
{{- fail (printf "ports.%s: %v is not a port (1-65535)" $key (index $v.ports $key)) -}}
{{- end -}}
{{- end -}}
{{- if or (eq (int $v.ports.http) (int $v.ports.tcp)) (and $v.tls.enabled (eq (int $v.ports.http) (int $v.ports.tls))) -}}
{{- fail (printf "ports.http (%v) must differ from the TCP and TLS ports" $v.ports.http) -}}
{{- end -}}
{{- if and $v.tls.enabled (eq (int $v.ports.tls) (int $v.ports.tcp)) -}}
{{- fail (printf "ports.tls (%v) must differ from ports.tcp" $v.ports.tls) -}}
{{- end -}}
{{- $min := int (required "relay.minPort is required" $v.relay.minPort) -}}
{{- $max := int (required "relay.maxPort is required" $v.relay.maxPort) -}}
{{- if or (lt $min 1) (gt $max 65535) (gt $min $max) -}}
{{- fail (printf "relay.minPort (%v) and relay.maxPort (%v) must be a range within 1-65535" $v.relay.minPort $v.relay.maxPort) -}}
{{- end -}}
{{- if $v.tls.enabled -}}
{{- $_ := required "tls.secretName is required when tls.enabled is true: a Secret of type kubernetes.io/tls" $v.tls.secretName -}}
{{- end -}}
{{- if and (not $v.auth.existingSecret) $v.auth.secret -}}
{{- range $secret := splitList "," (toString $v.auth.secret) -}}
{{- if lt (len (trim $secret)) 16 -}}
{{- fail "auth.secret: each shared secret must be at least 16 characters" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $key := list "joinTokenSecret" "signalApiKey" -}}
{{- $given := toString (get $v.auth $key | default "") -}}
{{- if and $given (lt (len $given) 32) -}}
{{- fail (printf "auth.%s must be at least 32 characters" $key) -}}
{{- end -}}
{{- end -}}
{{- if lt (int $v.drain.deadlineSeconds) 0 -}}
{{- fail (printf "drain.deadlineSeconds must not be negative, not %v" $v.drain.deadlineSeconds) -}}
{{- end -}}
{{- if le (int (include "turn.terminationGracePeriodSeconds" .)) (int $v.drain.deadlineSeconds) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be longer than drain.deadlineSeconds (%v), or the drain is cut short" (include "turn.terminationGracePeriodSeconds" .) $v.drain.deadlineSeconds) -}}
{{- end -}}
{{- if and $v.serviceMonitor.enabled (not $v.service.enabled) -}}
{{- fail "serviceMonitor.enabled needs service.enabled: the ServiceMonitor scrapes the Service's endpoints" -}}
{{- end -}}
{{- if and $v.serviceMonitor.enabled (not $v.metrics.enabled) -}}
{{- fail "serviceMonitor.enabled needs metrics.enabled" -}}
{{- end -}}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) (ne (toString $v.podDisruptionBudget.minAvailable) "") (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) (ne (toString $v.podDisruptionBudget.maxUnavailable) "") -}}
{{- fail "podDisruptionBudget: set maxUnavailable or minAvailable, not both" -}}
{{- end -}}
{{- end -}}

{{/*
Merges the map in (index . 1) into the map in (index . 0), in place: maps merge key by key,
anything else replaces, and a null removes the key. Unlike sprig's merge, false, 0 and ""
override too.
*/}}
{{- define "turn.mergeInto" -}}
{{- $dst := index . 0 -}}
{{- range $key, $value := index . 1 -}}
{{- if kindIs "invalid" $value -}}
{{- $_ := unset $dst $key -}}
{{- else if and (kindIs "map" $value) (kindIs "map" (get $dst $key)) -}}
{{- include "turn.mergeInto" (list (get $dst $key) $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* turn.json: the keys the chart owns, with .Values.config merged over them. Secrets are not here: they come from the Secret through the environment. */}}
{{- define "turn.config" -}}
{{- $v := .Values -}}
{{- $transports := list "udp" "tcp" -}}
{{- if $v.tls.enabled -}}
{{- $transports = append $transports "tls" -}}
{{- end -}}
{{- $config := dict
  "Listen" (dict "UdpPort" (int $v.ports.udp) "TcpPort" (int $v.ports.tcp) "TlsPort" (int $v.ports.tls) "Transports" $transports)
  "Auth" (dict "Realm" (toString $v.realm))
  "Relay" (dict "ExternalAddresses" ($v.externalAddresses | default list) "MinPort" (int $v.relay.minPort) "MaxPort" (int $v.relay.maxPort))
  "Http" (dict "Urls" (list (printf "http://%s:%d" (include "turn.urlHost" $v.httpAddress) (int $v.ports.http))))
  "Metrics" (dict "Enabled" $v.metrics.enabled)
  "Drain" (dict "DeadlineSeconds" (int $v.drain.deadlineSeconds) "AlternateServer" (toString $v.drain.alternateServer) "ShutdownSeconds" (int $v.drain.shutdownSeconds))
-}}
{{- if $v.publicHost -}}
{{- $_ := set $config "Ice" (dict "PublicHost" (toString $v.publicHost)) -}}
{{- end -}}
{{- if $v.tls.enabled -}}
{{- $_ := set $config "Tls" (dict "CertificateFile" "/etc/ssl/turn/tls.crt" "PrivateKeyFile" "/etc/ssl/turn/tls.key") -}}
{{- if $v.tls.https -}}
{{- $_ := set $config "Http" (dict "Urls" (append $config.Http.Urls (printf "https://%s:%d" (include "turn.urlHost" $v.httpAddress) (int $v.ports.tls)))) -}}
{{- end -}}
{{- end -}}
{{- include "turn.mergeInto" (list $config (deepCopy ($v.config | default dict))) -}}
{{- toPrettyJson $config -}}
{{- end -}}

{{/* An address as the host part of a URL: IPv6 in brackets. */}}
{{- define "turn.urlHost" -}}
{{- $address := . | default "0.0.0.0" | toString -}}
{{- if and (contains ":" $address) (not (hasPrefix "[" $address)) -}}
{{- printf "[%s]" $address -}}
{{- else -}}
{{- $address -}}
{{- end -}}
{{- end -}}

{{/* The HTTP listener as seen from inside the pod, for `turn drain`. */}}
{{- define "turn.localUrl" -}}
{{- $address := .Values.httpAddress | default "0.0.0.0" | toString -}}
{{- if eq $address "0.0.0.0" -}}
{{- $address = "127.0.0.1" -}}
{{- else if eq $address "::" -}}
{{- $address = "::1" -}}
{{- end -}}
{{- printf "http://%s:%d" (include "turn.urlHost" $address) (int .Values.ports.http) -}}
{{- end -}}
