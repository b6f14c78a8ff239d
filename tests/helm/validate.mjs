// Validates the chart's rendered output for one values file:
//
//   node validate.mjs --chart deploy/helm/turn --values tests/helm/values/x.yaml rendered.yaml
//
// Every object is checked against its Kubernetes schema (kubernetes-models, and
// @kubernetes-models/prometheus-operator for the ServiceMonitor); a kind without a schema fails.
// The schemas do not reject fields they do not know, so for built-in kinds every field is also
// looked up in the models' type declarations, as `kubectl apply --validate=strict` would.
// Then the facts the chart promises are checked against the values it was rendered with.
// Prints one line per problem and exits 1 if there is any.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  if (at < 0 || at + 1 >= args.length) {
    usage(`missing ${name}`);
  }
  const value = args[at + 1];
  args.splice(at, 2);
  return value;
};
const chartDir = option("--chart");
const valuesFile = option("--values");
if (args.length !== 1) {
  usage("expected one rendered file");
}
const renderedFile = args[0];
const caseName = basename(valuesFile).replace(/\.ya?ml$/, "");

const problems = [];
const problem = (where, message) => problems.push(`${where}: ${message}`);

const chart = parse(readFileSync(join(chartDir, "Chart.yaml"), "utf8"));
const values = coalesce(parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) ?? {}, parse(readFileSync(valuesFile, "utf8")) ?? {});

function usage(message) {
  console.error(`${message}\nusage: node validate.mjs --chart CHART_DIR --values VALUES.yaml RENDERED.yaml`);
  process.exit(2);
}

// Helm's merge of -f files over values.yaml: maps merge, anything else replaces, null deletes.
function coalesce(base, override) {
  const out = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) {
      delete out[key];
    } else if (isMap(value) && isMap(out[key])) {
      out[key] = coalesce(out[key], value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function isMap(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

async function readStream(text) {
  const out = [];
  const documents = parseAllDocuments(text, { prettyErrors: true });
  if (documents.length === 0) {
    problem("stream", "no documents");
  }
  documents.forEach((document, index) => {
    const where = `document ${index + 1}`;
    for (const error of [...document.errors, ...document.warnings]) {
      problem(where, `YAML: ${error.message}`);
    }
    const comment = document.commentBefore ?? document.contents?.commentBefore ?? "";
    const source = /^ ?Source: (\S+)$/m.exec(comment);
    if (!source || !source[1].startsWith(`${chart.name}/templates/`)) {
      problem(where, `no "# Source: ${chart.name}/templates/..." comment before it`);
    }
    const object = document.toJS();
    if (!isMap(object)) {
      problem(where, "not an object");
      return;
    }
    out.push({ object, where: `${object.kind}/${object.metadata?.name} (${source?.[1] ?? where})` });
  });
  return out;
}

// Where the model of apiVersion/kind lives, if any package has one.
function modelPath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9]+$/.test(kind)) {
    return null;
  }
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates = group === ""
    ? [join(modules, "kubernetes-models", version, kind)]
    : [join(modules, "kubernetes-models", group, version, kind), join(modules, "@kubernetes-models", "prometheus-operator", group, version, kind)];
  return candidates.find((path) => existsSync(`${path}.mjs`)) ?? null;
}

async function validateSchema(object, where) {
  const path = modelPath(object.apiVersion, object.kind);
  if (path === null) {
    problem(where, `no schema for apiVersion ${object.apiVersion} kind ${object.kind}: unknown kind`);
    return;
  }
  const module = await import(`${path}.mjs`);
  const Model = module[object.kind];
  try {
    new Model(object).validate();
  } catch (error) {
    problem(where, `schema: ${error.message}`);
  }
  if (path.includes(`${join(modules, "kubernetes-models")}/`)) {
    checkKnownFields(object, `${path}.d.ts`, "", where);
  }
}

// Property names and types of the interface a .d.ts file declares; null for a type alias.
const declarations = new Map();
function declaration(file) {
  if (declarations.has(file)) {
    return declarations.get(file);
  }
  const text = readFileSync(file, "utf8");
  const imports = new Map();
  for (const match of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
    const from = match[2].startsWith(".") ? resolve(dirname(file), match[2]) : join(modules, match[2]);
    imports.set(match[1], `${from}.d.ts`);
  }
  const body = /^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)^\}/m.exec(text);
  let properties = null;
  if (body) {
    properties = new Map();
    for (const match of body[1].matchAll(/^ {4}"([^"]+)"\??: (.*)$/gm)) {
      properties.set(match[1], typeTarget(match[2], imports));
    }
  }
  declarations.set(file, properties);
  return properties;
}

// What a property's type leads to: { file, array } for a declared interface, or null for a leaf.
function typeTarget(type, imports) {
  const match = /^(Array<)?(\w+)>?;$/.exec(type);
  if (!match || !imports.has(match[2])) {
    return null;
  }
  return { file: imports.get(match[2]), array: Boolean(match[1]) };
}

function checkKnownFields(value, file, path, where) {
  const properties = declaration(file);
  if (properties === null || !isMap(value)) {
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (!properties.has(key)) {
      problem(where, `unknown field ${path}${path ? "." : ""}${key}`);
      continue;
    }
    const target = properties.get(key);
    if (target === null) {
      continue;
    }
    const childPath = `${path}${path ? "." : ""}${key}`;
    if (target.array && Array.isArray(child)) {
      child.forEach((item, i) => checkKnownFields(item, target.file, `${childPath}[${i}]`, where));
    } else if (!target.array) {
      checkKnownFields(child, target.file, childPath, where);
    }
  }
}

const fullname = values.fullnameOverride || (values.nameOverride ? `turn-${values.nameOverride}` : "turn");
const selectorLabels = { "app.kubernetes.io/name": values.nameOverride || chart.name, "app.kubernetes.io/instance": "turn" };

function checkMetadata(object, where) {
  const labels = object.metadata?.labels ?? {};
  const expected = {
    ...selectorLabels,
    "app.kubernetes.io/managed-by": "Helm",
    "helm.sh/chart": `${chart.name}-${chart.version}`,
    "app.kubernetes.io/version": String(values.image.tag || chart.appVersion),
  };
  for (const [key, value] of Object.entries(expected)) {
    if (labels[key] !== value) {
      problem(where, `label ${key} is ${JSON.stringify(labels[key])}, expected ${JSON.stringify(value)}`);
    }
  }
  if (!object.metadata?.namespace) {
    problem(where, "no metadata.namespace");
  }
}

function same(where, what, actual, expected) {
  if (JSON.stringify(sortKeys(actual)) !== JSON.stringify(sortKeys(expected))) {
    problem(where, `${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

function check(where, condition, message) {
  if (!condition) {
    problem(where, message);
  }
}

function containsAll(where, what, actual, expected) {
  for (const [key, value] of Object.entries(expected ?? {})) {
    same(where, `${what}.${key}`, actual?.[key], value);
  }
}

// The facts the chart promises, derived from the values it was rendered with.
function checkRelease(all) {
  const seen = new Set();
  for (const object of all) {
    const key = `${object.kind}/${object.metadata?.name}`;
    check(key, !seen.has(key), "rendered twice");
    seen.add(key);
  }

  const find = (kind) => all.filter((o) => o.kind === kind);
  const workloads = all.filter((o) => o.kind === "DaemonSet" || o.kind === "Deployment");
  if (workloads.length !== 1) {
    problem("release", `expected one DaemonSet or Deployment, found ${workloads.length}`);
    return;
  }
  const workload = workloads[0];
  const w = `${workload.kind}/${workload.metadata.name}`;
  same(w, "kind", workload.kind, values.kind);
  same(w, "name", workload.metadata.name, fullname);
  same(w, "spec.selector.matchLabels", workload.spec.selector.matchLabels, selectorLabels);
  containsAll(w, "pod labels", workload.spec.template.metadata.labels, { ...selectorLabels, ...values.podLabels });
  containsAll(w, "pod annotations", workload.spec.template.metadata.annotations, values.podAnnotations);

  const pod = workload.spec.template.spec;
  if (values.kind === "Deployment") {
    same(w, "replicas", workload.spec.replicas, values.replicas);
    same(w, "strategy.rollingUpdate.maxSurge", workload.spec.strategy?.rollingUpdate?.maxSurge, 0);
    const terms = pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    check(w, terms.some((t) => t.topologyKey === "kubernetes.io/hostname" && JSON.stringify(sortKeys(t.labelSelector?.matchLabels)) === JSON.stringify(sortKeys(selectorLabels))),
      "no required pod anti-affinity on kubernetes.io/hostname for the release's pods");
  } else {
    check(w, workload.spec.replicas === undefined, "a DaemonSet has no replicas");
    same(w, "updateStrategy.rollingUpdate.maxSurge", workload.spec.updateStrategy?.rollingUpdate?.maxSurge, 0);
  }
  for (const [key, value] of Object.entries(values.affinity ?? {})) {
    if (key !== "podAntiAffinity") {
      same(w, `affinity.${key}`, pod.affinity?.[key], value);
    }
  }

  same(w, "hostNetwork", pod.hostNetwork, values.hostNetwork);
  same(w, "dnsPolicy", pod.dnsPolicy, values.dnsPolicy || (values.hostNetwork ? "ClusterFirstWithHostNet" : "ClusterFirst"));
  same(w, "nodeSelector", pod.nodeSelector ?? {}, values.nodeSelector ?? {});
  same(w, "tolerations", pod.tolerations ?? [], values.tolerations ?? []);
  same(w, "priorityClassName", pod.priorityClassName ?? "", values.priorityClassName ?? "");
  same(w, "automountServiceAccountToken", pod.automountServiceAccountToken, false);

  check(w, pod.containers.length === 1, "expected one container");
  const c = pod.containers[0];
  const tag = values.image.tag || chart.appVersion;
  same(w, "image", c.image, values.image.digest ? `${values.image.repository}@${values.image.digest}` : `${values.image.repository}:${tag}`);
  same(w, "command", [...c.command, ...c.args], ["turn", "serve", "--config", "/etc/turn/turn.json"]);

  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
  check(w, !Object.keys(env).some((name) => name.startsWith("DOTNET_SYSTEM_NET_SOCKETS_")), "the daemon needs no socket tuning in its environment");
  const secretName = values.auth.existingSecret || fullname;
  same(w, "env TURN_Auth__Secrets", env.TURN_Auth__Secrets?.valueFrom?.secretKeyRef, { name: secretName, key: values.auth.secretKeys.authSecret });
  same(w, "env TURN_Admin__ApiKey", env.TURN_Admin__ApiKey?.valueFrom?.secretKeyRef, { name: secretName, key: values.auth.secretKeys.adminApiKey });
  const redis = values.signal?.redis ?? {};
  if (redis.existingSecret) {
    same(w, "env TURN_Signal__Redis", env.TURN_Signal__Redis?.valueFrom?.secretKeyRef, { name: redis.existingSecret, key: redis.secretKey });
  } else if (redis.url) {
    same(w, "env TURN_Signal__Redis", env.TURN_Signal__Redis?.value, redis.url);
  } else {
    check(w, env.TURN_Signal__Redis === undefined, "no Signal:Redis unless signal.redis names one");
  }
  for (const extra of values.env ?? []) {
    same(w, `env ${extra.name}`, env[extra.name], extra);
  }

  const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p]));
  same(w, "port turn-udp", ports["turn-udp"], { name: "turn-udp", containerPort: values.ports.udp, protocol: "UDP" });
  same(w, "port turn-tcp", ports["turn-tcp"], { name: "turn-tcp", containerPort: values.ports.tcp, protocol: "TCP" });
  same(w, "port http", ports.http, { name: "http", containerPort: values.ports.http, protocol: "TCP" });
  same(w, "port turns", ports.turns, values.tls.enabled ? { name: "turns", containerPort: values.ports.tls, protocol: "TCP" } : undefined);

  same(w, "livenessProbe.httpGet", c.livenessProbe?.httpGet, { path: "/healthz", port: "http" });
  same(w, "readinessProbe.httpGet", c.readinessProbe?.httpGet, { path: "/readyz", port: "http" });

  const preStop = c.lifecycle?.preStop?.exec?.command;
  if (values.drain.preStop) {
    const host = { "0.0.0.0": "127.0.0.1", "::": "[::1]" }[values.httpAddress] ?? (values.httpAddress.includes(":") ? `[${values.httpAddress}]` : values.httpAddress);
    same(w, "preStop", preStop, ["turn", "drain", "--wait", "--url", `http://${host}:${values.ports.http}`]);
  } else {
    same(w, "preStop", preStop, undefined);
  }
  const grace = pod.terminationGracePeriodSeconds;
  check(w, Number.isInteger(grace) && grace > values.drain.deadlineSeconds,
    `terminationGracePeriodSeconds ${grace} is not longer than drain.deadlineSeconds ${values.drain.deadlineSeconds}`);
  if (values.terminationGracePeriodSeconds === "" || values.terminationGracePeriodSeconds == null) {
    same(w, "terminationGracePeriodSeconds", grace, values.drain.deadlineSeconds + 60);
  }

  const podSecurity = pod.securityContext ?? {};
  const security = c.securityContext ?? {};
  check(w, (security.runAsNonRoot ?? podSecurity.runAsNonRoot) === true, "not runAsNonRoot");
  check(w, (security.runAsUser ?? podSecurity.runAsUser ?? 1) !== 0, "runs as uid 0");
  same(w, "securityContext.readOnlyRootFilesystem", security.readOnlyRootFilesystem, true);
  same(w, "securityContext.allowPrivilegeEscalation", security.allowPrivilegeEscalation, false);
  same(w, "securityContext.capabilities", security.capabilities, { add: ["NET_BIND_SERVICE"], drop: ["ALL"] });
  check(w, c.resources && Object.keys(c.resources).length > 0, "no resources");
  same(w, "resources", c.resources, values.resources);

  const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
  const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
  same(w, "/tmp volume", volumes[mounts["/tmp"]?.name]?.emptyDir, {});
  same(w, "/etc/turn volume", volumes[mounts["/etc/turn"]?.name]?.configMap?.name, fullname);
  same(w, "/etc/turn read-only", mounts["/etc/turn"]?.readOnly, true);
  if (values.tls.enabled) {
    same(w, "/etc/ssl/turn volume", volumes[mounts["/etc/ssl/turn"]?.name]?.secret?.secretName, values.tls.secretName);
    same(w, "/etc/ssl/turn read-only", mounts["/etc/ssl/turn"]?.readOnly, true);
  } else {
    check(w, !mounts["/etc/ssl/turn"], "a TLS mount without tls.enabled");
  }

  checkConfig(find("ConfigMap"), workload);
  checkSecret(find("Secret"));
  checkService(find("Service"));
  checkBudget(find("PodDisruptionBudget"));
  checkServiceMonitor(find("ServiceMonitor"), find("Service"));
}

function checkConfig(configMaps, workload) {
  const where = `ConfigMap/${fullname}`;
  if (configMaps.length !== 1 || configMaps[0].metadata.name !== fullname) {
    problem(where, `expected one ConfigMap named ${fullname}`);
    return;
  }
  const text = configMaps[0].data?.["turn.json"];
  let config;
  try {
    config = JSON.parse(text);
  } catch (error) {
    problem(where, `turn.json is not JSON: ${error.message}`);
    return;
  }

  const digest = createHash("sha256").update(text.replace(/\n$/, "")).digest("hex");
  same(`${workload.kind}/${fullname}`, "checksum/config annotation", workload.spec.template.metadata.annotations?.["checksum/config"], digest);

  // What the values set, before the config passthrough is merged over it.
  const expected = {
    Listen: { UdpPort: values.ports.udp, TcpPort: values.ports.tcp, TlsPort: values.ports.tls, Transports: values.tls.enabled ? ["udp", "tcp", "tls"] : ["udp", "tcp"] },
    Auth: { Realm: String(values.realm) },
    Relay: { ExternalAddresses: values.externalAddresses ?? [], MinPort: values.relay.minPort, MaxPort: values.relay.maxPort },
    Http: { Urls: [`http://${values.httpAddress.includes(":") ? `[${values.httpAddress}]` : values.httpAddress}:${values.ports.http}`] },
    Metrics: { Enabled: values.metrics.enabled },
    Drain: { DeadlineSeconds: values.drain.deadlineSeconds, AlternateServer: values.drain.alternateServer, ShutdownSeconds: values.drain.shutdownSeconds },
  };
  if (values.publicHost) {
    expected.Ice = { PublicHost: values.publicHost };
  }
  if (values.tls.enabled) {
    expected.Tls = { CertificateFile: "/etc/ssl/turn/tls.crt", PrivateKeyFile: "/etc/ssl/turn/tls.key" };
    if (values.tls.https) {
      // HTTPS shares the TLS port with TURN over TLS.
      expected.Http.Urls.push(`https://${values.httpAddress.includes(":") ? `[${values.httpAddress}]` : values.httpAddress}:${values.ports.tls}`);
    }
  }
  same(where, "turn.json", sortKeys(config), sortKeys(mergeConfig(expected, values.config ?? {})));
  check(where, values.config?.Auth?.Secrets !== undefined || config.Auth?.Secrets === undefined, "turn.json carries Auth:Secrets: secrets belong in the Secret");
  check(where, config.Admin?.ApiKey === undefined, "turn.json carries Admin:ApiKey: it belongs in the Secret");
}

function mergeConfig(base, override) {
  const out = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) {
      delete out[key];
    } else if (isMap(value) && isMap(out[key])) {
      out[key] = mergeConfig(out[key], value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function sortKeys(value) {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (isMap(value)) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

function checkSecret(secrets) {
  if (values.auth.existingSecret) {
    same("release", "Secrets rendered with auth.existingSecret", secrets.length, 0);
    return;
  }
  const where = `Secret/${fullname}`;
  if (secrets.length !== 1 || secrets[0].metadata.name !== fullname) {
    problem(where, `expected one Secret named ${fullname}`);
    return;
  }
  const data = secrets[0].data ?? {};
  const decode = (key) => (data[key] === undefined ? undefined : Buffer.from(data[key], "base64").toString("utf8"));
  const authSecret = decode(values.auth.secretKeys.authSecret);
  const adminApiKey = decode(values.auth.secretKeys.adminApiKey);
  check(where, authSecret !== undefined && authSecret.split(",").every((s) => s.trim().length >= 16), "the auth secret is missing or shorter than 16 characters");
  check(where, adminApiKey !== undefined && adminApiKey.length >= 16, "the admin API key is missing or shorter than 16 characters");
  if (values.auth.secret) {
    same(where, "auth secret", authSecret, values.auth.secret);
  }
  if (values.auth.adminApiKey) {
    same(where, "admin API key", adminApiKey, values.auth.adminApiKey);
  }
}

function checkService(services) {
  if (!values.service.enabled) {
    same("release", "Services rendered with service.enabled false", services.length, 0);
    return;
  }
  const where = `Service/${fullname}`;
  if (services.length !== 1) {
    problem(where, "expected one Service");
    return;
  }
  const spec = services[0].spec;
  same(where, "type", spec.type, values.service.type);
  same(where, "selector", spec.selector, selectorLabels);
  same(where, "ports", spec.ports, [{ name: "http", port: values.ports.http, targetPort: "http", protocol: "TCP" }]);
}

function checkBudget(budgets) {
  if (!values.podDisruptionBudget.enabled) {
    same("release", "PodDisruptionBudgets rendered with podDisruptionBudget.enabled false", budgets.length, 0);
    return;
  }
  const where = `PodDisruptionBudget/${fullname}`;
  if (budgets.length !== 1) {
    problem(where, "expected one PodDisruptionBudget");
    return;
  }
  const spec = budgets[0].spec;
  same(where, "selector", spec.selector, { matchLabels: selectorLabels });
  if (values.podDisruptionBudget.minAvailable !== "" && values.podDisruptionBudget.minAvailable != null) {
    same(where, "minAvailable", spec.minAvailable, values.podDisruptionBudget.minAvailable);
  } else {
    same(where, "maxUnavailable", spec.maxUnavailable, values.podDisruptionBudget.maxUnavailable);
  }
}

function checkServiceMonitor(monitors, services) {
  if (!values.serviceMonitor.enabled) {
    same("release", "ServiceMonitors rendered with serviceMonitor.enabled false", monitors.length, 0);
    return;
  }
  const where = `ServiceMonitor/${fullname}`;
  if (monitors.length !== 1) {
    problem(where, "expected one ServiceMonitor");
    return;
  }
  const monitor = monitors[0];
  same(where, "namespace", monitor.metadata.namespace, values.serviceMonitor.namespace || "default");
  containsAll(where, "labels", monitor.metadata.labels, values.serviceMonitor.labels);
  same(where, "namespaceSelector", monitor.spec.namespaceSelector, { matchNames: ["default"] });
  const service = services[0];
  const selected = Object.entries(monitor.spec.selector.matchLabels ?? {}).every(([k, v]) => service?.metadata.labels?.[k] === v);
  check(where, selected, "its selector does not select the release's Service");
  const endpoint = monitor.spec.endpoints?.[0] ?? {};
  same(where, "endpoint port", endpoint.port, service?.spec.ports[0].name);
  same(where, "endpoint path", endpoint.path, "/metrics");
  same(where, "endpoint interval", endpoint.interval, values.serviceMonitor.interval);
}

// Facts written out for particular entries of the matrix, independent of values.yaml's defaults.
function checkCase(name, all) {
  const workload = all.find((o) => o.kind === "DaemonSet" || o.kind === "Deployment");
  const config = JSON.parse(all.find((o) => o.kind === "ConfigMap")?.data?.["turn.json"] ?? "{}");
  const kinds = all.map((o) => o.kind).sort();
  const pod = workload?.spec.template.spec;
  const where = `case ${name}`;
  switch (name) {
    case "default":
      same(where, "kinds", kinds, ["ConfigMap", "DaemonSet", "PodDisruptionBudget", "Secret", "Service"]);
      same(where, "hostNetwork", pod?.hostNetwork, true);
      same(where, "dnsPolicy", pod?.dnsPolicy, "ClusterFirstWithHostNet");
      same(where, "terminationGracePeriodSeconds", pod?.terminationGracePeriodSeconds, 3660);
      same(where, "Listen", [config.Listen?.UdpPort, config.Listen?.TcpPort], [3478, 3478]);
      same(where, "Relay range", [config.Relay?.MinPort, config.Relay?.MaxPort], [49152, 65535]);
      same(where, "Http:Urls", config.Http?.Urls, ["http://0.0.0.0:8080"]);
      same(where, "Auth:Realm", config.Auth?.Realm, "turn");
      same(where, "image", pod?.containers[0].image, `turn:${chart.appVersion}`);
      same(where, "PodDisruptionBudget maxUnavailable", all.find((o) => o.kind === "PodDisruptionBudget")?.spec.maxUnavailable, 1);
      break;
    case "deployment":
      same(where, "kind", workload?.kind, "Deployment");
      same(where, "replicas", workload?.spec.replicas, 3);
      break;
    case "existing-secret":
      check(where, !kinds.includes("Secret"), "a Secret is rendered although auth.existingSecret is set");
      same(where, "secret name", pod?.containers[0].env.find((e) => e.name === "TURN_Auth__Secrets")?.valueFrom.secretKeyRef.name, "turn-credentials");
      break;
    case "tls":
      same(where, "Tls", config.Tls, { CertificateFile: "/etc/ssl/turn/tls.crt", PrivateKeyFile: "/etc/ssl/turn/tls.key" });
      same(where, "Listen:TlsPort", config.Listen?.TlsPort, 443);
      break;
    case "shared-tls-port":
      same(where, "Http:Urls", config.Http?.Urls, ["http://0.0.0.0:8080", "https://0.0.0.0:443"]);
      same(where, "Listen:TlsPort", config.Listen?.TlsPort, 443);
      break;
    case "service-monitor":
      same(where, "kinds", kinds, ["ConfigMap", "DaemonSet", "PodDisruptionBudget", "Secret", "Service", "ServiceMonitor"]);
      break;
    case "custom":
      same(where, "Auth:Realm", config.Auth?.Realm, "turn.example.org");
      same(where, "Relay:ExternalAddresses", config.Relay?.ExternalAddresses, ["203.0.113.7/10.0.0.5"]);
      same(where, "Relay range", [config.Relay?.MinPort, config.Relay?.MaxPort], [40000, 40999]);
      same(where, "Listen", [config.Listen?.UdpPort, config.Listen?.TcpPort], [3479, 3480]);
      same(where, "Http:Urls", config.Http?.Urls, ["http://0.0.0.0:9090"]);
      same(where, "Ice:PublicHost", config.Ice?.PublicHost, "turn.example.org");
      same(where, "Relay:MaxAllocations", config.Relay?.MaxAllocations, 500);
      same(where, "Drain", config.Drain, { AlternateServer: "203.0.113.8:3478", DeadlineSeconds: 600, ShutdownSeconds: 20 });
      same(where, "terminationGracePeriodSeconds", pod?.terminationGracePeriodSeconds, 660);
      break;
    case "pod-network":
      same(where, "hostNetwork", pod?.hostNetwork, false);
      same(where, "dnsPolicy", pod?.dnsPolicy, "ClusterFirst");
      break;
    case "minimal":
      same(where, "kinds", kinds, ["ConfigMap", "DaemonSet", "Secret"]);
      same(where, "Metrics:Enabled", config.Metrics?.Enabled, false);
      same(where, "preStop", pod?.containers[0].lifecycle, undefined);
      break;
    default:
      break;
  }
}

// Runs after every declaration above is initialised.
const objects = await readStream(readFileSync(renderedFile, "utf8"));

for (const { object, where } of objects) {
  await validateSchema(object, where);
  checkMetadata(object, where);
}

checkRelease(objects.map((o) => o.object));
checkCase(caseName, objects.map((o) => o.object));

for (const line of problems) {
  console.log(`FAIL ${line}`);
}
console.log(`${caseName}: ${objects.length} objects, ${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
