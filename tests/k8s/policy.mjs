// tests/k8s/policy.mjs - rung 3 of the manifest ladder: the project's
// practices, checked on a rendered overlay (one file = one deployment).
//
//   node policy.mjs RENDERED.yaml [--version X.Y.Z] [--known-env FILE]
//                   [--external-secret NAME]...
//
// Every pod: runAsNonRoot, seccomp RuntimeDefault; every container:
// read-only root FS, no privilege escalation, capabilities drop ALL, CPU and
// memory requests and limits, an image with a tag that is not `latest`.
// Long-running containers have readiness and liveness probes. Stateful
// workloads are StatefulSets. Workloads with more than one replica have a
// PodDisruptionBudget. HPA, Service, PDB and NetworkPolicy selectors select
// a workload; named ports exist. References to ConfigMaps and Secrets
// resolve (Secrets the overlay expects to exist are named with
// --external-secret). $(VAR) in command/args refers to a variable the
// container defines, in an env value to one defined before it (the kubelet
// leaves unknown ones as literal text).
// anon's own containers: one image per overlay, tagged --version; every
// ANON_* variable is one the programs know (--known-env, one name a line);
// Indexed worker Jobs tell drain their completions; the intake's grace
// period covers its preStop sleep and ANON_SHUTDOWN_GRACE; the drain
// containers of the worker Job, the anon-drain CronJob and KEDA's
// ScaledJob are the same.
import { readFileSync } from "node:fs";
import { readYamlDocs, podTemplates, containersOf, selects, mapSelector, Report } from "./lib.mjs";

const argv = process.argv.slice(2);
const opt = (name) => argv.flatMap((a, i) => (a === name ? [argv[i + 1]] : []));
const files = argv.filter((a, i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"));
const version = opt("--version")[0];
const knownEnv = opt("--known-env").flatMap((f) => readFileSync(f, "utf8").split(/\s+/).filter(Boolean));
const externalSecrets = new Set(opt("--external-secret"));
const report = new Report();

const objects = files.flatMap((f) => {
    const { docs, errors } = readYamlDocs(f);
    errors.forEach((e) => report.error(null, e));
    return docs;
});
const byKind = (k) => objects.filter((o) => o.kind === k);
const pods = objects.flatMap((o) => podTemplates(o));
const STATEFUL_IMAGES = /(^|\/)(postgres|postgresql|mysql|mariadb|mongo|redis|rabbitmq|minio|elasticsearch|cassandra|etcd|zookeeper|kafka)(:|@|$)/;
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass", "CustomResourceDefinition"]);
const LONG_RUNNING = new Set(["Deployment", "StatefulSet", "DaemonSet"]);
const isAnon = (c) => /(^|\/)anon(:|@|$)/.test(c.image ?? "");

if (!objects.length) report.error(null, "no objects to check");
for (const o of objects)
    if (!CLUSTER_SCOPED.has(o.kind) && !o.metadata?.namespace) report.error(o, "no namespace");

for (const p of pods) {
    podSecurity(p);
    for (const { c, init } of containersOf(p.template.spec)) container(p, c, init);
}
statefulness();
disruptionBudgets();
selectorsMatch();
references();
anonContainers();
process.exit(report.print("policy"));

// ------------------------------------------------------------ pods
function podSecurity({ workload: o, where, template }) {
    const sc = template.spec?.securityContext ?? {};
    const all = containersOf(template.spec).map(({ c }) => c);
    if (sc.runAsNonRoot !== true && !all.every((c) => c.securityContext?.runAsNonRoot === true))
        report.error(o, `${where}: runAsNonRoot is not true`);
    if (sc.runAsUser === 0 || all.some((c) => c.securityContext?.runAsUser === 0))
        report.error(o, `${where}: runs as uid 0`);
    if (sc.seccompProfile?.type !== "RuntimeDefault" && !all.every((c) => c.securityContext?.seccompProfile?.type === "RuntimeDefault"))
        report.error(o, `${where}: seccompProfile is not RuntimeDefault`);
    for (const k of ["hostNetwork", "hostPID", "hostIPC"])
        if (template.spec?.[k]) report.error(o, `${where}: ${k}`);
}

function container({ workload: o, where, template }, c, init) {
    const at = `${where}: container "${c.name}"`;
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) report.error(o, `${at}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) report.error(o, `${at}: allowPrivilegeEscalation is not false`);
    if (sc.privileged) report.error(o, `${at}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) report.error(o, `${at}: capabilities do not drop ALL`);
    if ((sc.capabilities?.add ?? []).length) report.error(o, `${at}: adds capabilities`);
    for (const kind of ["requests", "limits"])
        for (const r of ["cpu", "memory"])
            if (c.resources?.[kind]?.[r] === undefined) report.error(o, `${at}: no ${r} ${kind.replace(/s$/, "")}`);
    imageTag(o, at, c.image);
    if (LONG_RUNNING.has(o.kind) && !init) {
        if (!c.readinessProbe) report.error(o, `${at}: no readinessProbe`);
        if (!c.livenessProbe) report.error(o, `${at}: no livenessProbe`);
    }
    const portNames = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (typeof port === "string" && !portNames.has(port)) report.error(o, `${at}: ${probe} uses port "${port}", which the container does not name`);
    }
    // The kubelet expands $(VAR) only for variables the container defines.
    const defined = new Set((c.env ?? []).map((e) => e.name));
    const fromSources = (c.envFrom ?? []).flatMap((src) => keysOf(src.configMapRef ? "ConfigMap" : "Secret", (src.configMapRef ?? src.secretRef)?.name));
    fromSources.forEach((k) => defined.add(k));
    for (const word of [...(c.command ?? []), ...(c.args ?? [])])
        for (const m of String(word).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
            if (!defined.has(m[1])) report.error(o, `${at}: $(${m[1]}) in command/args is not a variable the container defines`);
    // In env values, only variables defined before (envFrom, earlier env).
    const before = new Set(fromSources);
    for (const e of c.env ?? []) {
        for (const m of String(e.value ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
            if (!before.has(m[1])) report.error(o, `${at}: env ${e.name} uses $(${m[1]}), which is not defined before it`);
        before.add(e.name);
    }
    void template;
}

function imageTag(o, at, image = "") {
    if (image.includes("@sha256:")) return;
    const last = image.split("/").pop();
    const tag = last.includes(":") ? last.split(":").pop() : "";
    if (!tag) report.error(o, `${at}: image "${image}" has no tag (means :latest)`);
    else if (tag === "latest") report.error(o, `${at}: image "${image}" uses :latest`);
}

// ------------------------------------------------------------ workloads
function statefulness() {
    for (const o of byKind("Deployment").concat(byKind("DaemonSet"), byKind("ReplicaSet"))) {
        const spec = o.spec?.template?.spec ?? {};
        if ((spec.volumes ?? []).some((v) => v.persistentVolumeClaim))
            report.error(o, "mounts a PersistentVolumeClaim: stateful workloads belong in a StatefulSet");
        for (const { c } of containersOf(spec))
            if (STATEFUL_IMAGES.test(c.image ?? "")) report.error(o, `runs ${c.image}: a data service belongs in a StatefulSet`);
    }
    for (const o of byKind("StatefulSet")) {
        const svc = byKind("Service").find((s) => s.metadata?.name === o.spec?.serviceName);
        if (!svc) report.error(o, `serviceName "${o.spec?.serviceName}" is not a Service here`);
        else if (svc.spec?.clusterIP !== "None") report.error(o, `serviceName "${svc.metadata.name}" is not a headless Service`);
    }
}

function replicasOf(o) {
    const hpa = byKind("HorizontalPodAutoscaler").find((h) => h.spec?.scaleTargetRef?.kind === o.kind && h.spec?.scaleTargetRef?.name === o.metadata?.name);
    return Math.max(o.spec?.replicas ?? 1, hpa?.spec?.minReplicas ?? 1);
}

function disruptionBudgets() {
    for (const o of byKind("Deployment").concat(byKind("StatefulSet"))) {
        if (replicasOf(o) <= 1) continue;
        const labels = o.spec?.template?.metadata?.labels;
        if (!byKind("PodDisruptionBudget").some((p) => selects(p.spec?.selector, labels)))
            report.error(o, `${replicasOf(o)} replicas but no PodDisruptionBudget selects its pods`);
    }
}

function selectorsMatch() {
    const workloads = objects.filter((o) => LONG_RUNNING.has(o.kind));
    const allPods = pods.map((p) => p.template.metadata?.labels ?? {});
    for (const h of byKind("HorizontalPodAutoscaler")) {
        const ref = h.spec?.scaleTargetRef ?? {};
        if (!workloads.some((w) => w.kind === ref.kind && w.metadata?.name === ref.name))
            report.error(h, `scaleTargetRef ${ref.kind}/${ref.name} is not a workload here`);
    }
    for (const p of byKind("PodDisruptionBudget"))
        if (!workloads.some((w) => selects(p.spec?.selector, w.spec?.template?.metadata?.labels)))
            report.error(p, "selector selects no workload's pods");
    for (const s of byKind("Service")) {
        const sel = mapSelector(s.spec?.selector);
        if (!sel) continue;
        const matched = workloads.filter((w) => selects(sel, w.spec?.template?.metadata?.labels));
        if (!matched.length) { report.error(s, "selector selects no workload's pods"); continue; }
        for (const port of s.spec?.ports ?? []) {
            if (typeof port.targetPort !== "string") continue;
            const named = matched.some((w) => containersOf(w.spec.template.spec).some(({ c }) => (c.ports ?? []).some((cp) => cp.name === port.targetPort)));
            if (!named) report.error(s, `targetPort "${port.targetPort}" is not a port name of the selected pods`);
        }
    }
    for (const n of byKind("NetworkPolicy")) {
        const sel = n.spec?.podSelector ?? {};
        const empty = !Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length;
        if (!empty && !allPods.some((l) => selects(sel, l))) report.error(n, "podSelector selects no pod");
        for (const rule of [...(n.spec?.ingress ?? []).flatMap((r) => r.from ?? []), ...(n.spec?.egress ?? []).flatMap((r) => r.to ?? [])]) {
            if (!rule.podSelector || rule.namespaceSelector) continue;
            if (!allPods.some((l) => selects(rule.podSelector, l))) report.error(n, "a peer podSelector selects no pod");
        }
    }
}

// ------------------------------------------------------------ references
function keysOf(kind, name) {
    const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
    return o ? Object.keys({ ...(o.data ?? {}), ...(o.stringData ?? {}) }) : [];
}

function references() {
    const exists = (kind, name) => objects.some((x) => x.kind === kind && x.metadata?.name === name) || (kind === "Secret" && externalSecrets.has(name));
    const need = (o, kind, name, key) => {
        if (!exists(kind, name)) return report.error(o, `refers to ${kind} "${name}", which is not here`);
        if (key !== undefined && !(kind === "Secret" && externalSecrets.has(name)) && !keysOf(kind, name).includes(key))
            report.error(o, `refers to key "${key}" of ${kind} "${name}", which has no such key`);
    };
    for (const { workload: o, template } of pods) {
        const spec = template.spec ?? {};
        for (const { c } of containersOf(spec)) {
            for (const src of c.envFrom ?? []) {
                if (src.configMapRef && !src.configMapRef.optional) need(o, "ConfigMap", src.configMapRef.name);
                if (src.secretRef && !src.secretRef.optional) need(o, "Secret", src.secretRef.name);
            }
            for (const e of c.env ?? []) {
                const cm = e.valueFrom?.configMapKeyRef, sk = e.valueFrom?.secretKeyRef;
                if (cm && !cm.optional) need(o, "ConfigMap", cm.name, cm.key);
                if (sk && !sk.optional) need(o, "Secret", sk.name, sk.key);
            }
        }
        for (const v of spec.volumes ?? []) {
            if (v.configMap && !v.configMap.optional) need(o, "ConfigMap", v.configMap.name);
            if (v.secret && !v.secret.optional) need(o, "Secret", v.secret.secretName);
        }
        if (spec.serviceAccountName && spec.serviceAccountName !== "default") need(o, "ServiceAccount", spec.serviceAccountName);
    }
}

// ------------------------------------------------------------ anon's own containers
function envValue(c, name) {
    const e = (c.env ?? []).find((x) => x.name === name);
    if (e && e.value !== undefined) return e.value;
    for (const src of c.envFrom ?? []) {
        const ref = src.configMapRef ?? src.secretRef;
        const o = objects.find((x) => x.kind === (src.configMapRef ? "ConfigMap" : "Secret") && x.metadata?.name === ref?.name);
        if (o?.data?.[name] !== undefined) return src.configMapRef ? o.data[name] : Buffer.from(String(o.data[name]), "base64").toString();
    }
    return undefined;
}

function anonContainers() {
    const anon = pods.flatMap((p) => containersOf(p.template.spec).filter(({ c }) => isAnon(c)).map(({ c }) => ({ ...p, c })));
    const images = new Set(anon.map(({ c }) => c.image));
    if (images.size > 1) report.error(null, `anon's containers use different images: ${[...images].join(", ")}`);
    if (version)
        for (const img of images)
            if (!img.endsWith(`:${version}`)) report.error(null, `anon image ${img} is not tagged with the programs' version ${version}`);

    if (knownEnv.length) {
        const names = new Set();
        for (const o of objects.filter((x) => x.kind === "ConfigMap" || x.kind === "Secret"))
            Object.keys({ ...(o.data ?? {}), ...(o.stringData ?? {}) }).forEach((k) => names.add([o, k]));
        for (const { workload: o, c } of anon) (c.env ?? []).forEach((e) => names.add([o, e.name]));
        for (const [o, k] of names)
            if (k.startsWith("ANON_") && !knownEnv.includes(k)) report.error(o, `${k} is not a setting the programs know (src/base/config.c)`);
    }

    for (const { workload: o, jobSpec, c } of anon) {
        if (jobSpec?.completionMode !== "Indexed") continue;
        const jc = envValue(c, "JOB_COMPLETIONS");
        if (jc !== undefined && Number(jc) !== jobSpec.completions)
            report.error(o, `JOB_COMPLETIONS is ${jc} but the Job has ${jobSpec.completions} completions`);
    }

    for (const { workload: o, template, c } of anon) {
        if (o.kind !== "Deployment") continue;
        const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
        const grace = Number(envValue(c, "ANON_SHUTDOWN_GRACE") ?? 20);
        const tgps = template.spec?.terminationGracePeriodSeconds ?? 30;
        if (tgps < preStop + grace)
            report.error(o, `terminationGracePeriodSeconds ${tgps} < preStop ${preStop} s + ANON_SHUTDOWN_GRACE ${grace} s: in-flight uploads would be killed`);
    }

    // The drain pods of the worker Job, the anon-drain CronJob and KEDA's
    // ScaledJob differ only in per-Job numbers.
    const drains = anon.filter(({ c }) => c.command?.[0]?.endsWith("anonctl") && c.args?.[0] === "drain");
    const shape = ({ c }) => JSON.stringify({ ...c, env: (c.env ?? []).filter((e) => !["JOB_COMPLETIONS", "DRAIN_IDLE_EXIT"].includes(e.name)) });
    for (const d of drains.slice(1))
        if (shape(d) !== shape(drains[0]))
            report.error(d.workload, `drain container differs from ${drains[0].workload.kind}/${drains[0].workload.metadata.name}'s`);
}
