// tests/k8s/schema.mjs - rung 2 of the manifest ladder: would the API
// server accept these objects?
//
//   node schema.mjs RENDERED.yaml... [--sources FILE...]
//
// 1. YAML read as kubectl reads it (lib.mjs): 1.1, duplicate keys fatal.
//    --sources files (the hand-written manifests) are read the same way.
// 2. JSON-schema validation against Kubernetes 1.33 (kubernetes-models,
//    @kubernetes-models/keda for KEDA's ScaledJob).
// 3. Unknown fields: the schema lets `replica:` or `resource:` through, so
//    every key is looked up in the typed models of @kubernetes/client-node.
// 4. Rules the API server enforces beyond the schema: an image in every
//    container, workload selectors that select their own pods, Job
//    restartPolicy and Indexed-Job fields, DNS-1123 names, cron schedules.
// Prints `error: ...` lines; exits 1 when there is any.
import * as k8s from "@kubernetes/client-node";
import { readYamlDocs, podTemplates, containersOf, selects, isObject, Report } from "./lib.mjs";

const args = process.argv.slice(2);
const split = args.indexOf("--sources");
const rendered = split < 0 ? args : args.slice(0, split);
const sources = split < 0 ? [] : args.slice(split + 1);
const report = new Report();

for (const f of sources) readYamlDocs(f).errors.forEach((e) => report.error(null, e));

const objects = [];
for (const f of rendered) {
    const { docs, errors } = readYamlDocs(f);
    errors.forEach((e) => report.error(null, e));
    objects.push(...docs);
}
if (!objects.length) report.error(null, "no objects to check");

async function main() {
    for (const o of objects) {
        if (!isObject(o) || !o.apiVersion || !o.kind) { report.error(o, "not a Kubernetes object (apiVersion/kind missing)"); continue; }
        await schemaCheck(o);
        unknownFields(o);
        serverRules(o);
    }
    process.exit(report.print("schema"));
}

// ------------------------------------------------------------ JSON schema
async function modelClass(apiVersion, kind) {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const spec = group === "keda.sh" ? `@kubernetes-models/keda/keda.sh/${version}`
        : group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
    try { return (await import(spec))[kind]; } catch { return undefined; }
}

async function schemaCheck(o) {
    if (o.kind === "ScaledJob" && o.spec?.jobTargetRef) {
        // @kubernetes-models/keda embeds an old JobSpec: check jobTargetRef
        // as a Kubernetes 1.33 Job spec instead, and the rest with KEDA's.
        const { jobTargetRef, ...rest } = o.spec;
        await validateAs(o, { ...o, spec: { ...rest, jobTargetRef: { template: { spec: { containers: [] } } } } });
        return validateAs(o, { apiVersion: "batch/v1", kind: "Job", metadata: o.metadata, spec: jobTargetRef }, "/spec/jobTargetRef");
    }
    if (o.kind === "Secret" && isObject(o.data)) {
        // Kustomize wraps long base64 values; the API server's decoder
        // (Go's encoding/base64) skips the newlines, the schema's does not.
        const data = Object.fromEntries(Object.entries(o.data).map(([k, v]) => [k, String(v).replace(/[\r\n]/g, "")]));
        return validateAs(o, { ...o, data });
    }
    return validateAs(o, o);
}

async function validateAs(o, obj, prefix = "") {
    const Cls = await modelClass(obj.apiVersion, obj.kind);
    if (!Cls) return report.error(o, `unknown apiVersion/kind ${obj.apiVersion} ${obj.kind} for Kubernetes 1.33`);
    try {
        new Cls(obj).validate();
    } catch (e) {
        for (const d of e.errors ?? [{ instancePath: "", message: e.message }]) {
            const at = (prefix + (d.instancePath || "").replace(/^\/spec/, prefix ? "" : "/spec")) || "/";
            report.error(o, `schema: ${at} ${d.message}${d.params?.allowedValues ? ` (${d.params.allowedValues.join(", ")})` : ""}`);
        }
    }
}

// ------------------------------------------------------------ unknown fields
// client-node names its model classes V1Deployment, V2HorizontalPodAutoscaler...
function clientType(apiVersion, kind) {
    const version = apiVersion.split("/").pop();
    return `${version[0].toUpperCase()}${version.slice(1)}${kind}`;
}

function unknownFields(o) {
    if (o.kind === "ScaledJob") {
        // KEDA is not in client-node: its own top level, then the Job spec.
        const known = ["pollingInterval", "successfulJobsHistoryLimit", "failedJobsHistoryLimit",
            "maxReplicaCount", "minReplicaCount", "scalingStrategy", "triggers", "jobTargetRef",
            "rollout", "envSourceContainerName", "rolloutStrategy"];
        for (const k of Object.keys(o.spec ?? {}))
            if (!known.includes(k)) report.error(o, `unknown field spec.${k}`);
        walk(o, o.metadata, "V1ObjectMeta", "metadata");
        walk(o, o.spec?.jobTargetRef, "V1JobSpec", "spec.jobTargetRef");
        return;
    }
    const t = clientType(o.apiVersion, o.kind);
    if (!k8s[t]?.getAttributeTypeMap) return report.error(o, `no typed model ${t} to check fields against`);
    walk(o, o, t, "");
}

function walk(o, value, type, path) {
    if (value === null || value === undefined) return;
    const arr = /^Array<(.+)>$/.exec(type);
    if (arr) {
        if (Array.isArray(value)) value.forEach((v, i) => walk(o, v, arr[1], `${path}[${i}]`));
        return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
        if (isObject(value)) for (const [k, v] of Object.entries(value)) walk(o, v, map[1], `${path}.${k}`);
        return;
    }
    const cls = k8s[type];
    if (!cls?.getAttributeTypeMap || !isObject(value)) return;   // scalars, IntOrString, any
    const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, v] of Object.entries(value)) {
        const p = path ? `${path}.${k}` : k;
        if (!attrs.has(k)) report.error(o, `unknown field ${p} (not in ${type})`);
        else walk(o, v, attrs.get(k), p);
    }
}

// ------------------------------------------------------------ API server rules
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME_KINDS = new Set(["Namespace", "Service", "StatefulSet", "CronJob", "Deployment"]);
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function serverRules(o) {
    const name = o.metadata?.name ?? "";
    const label = LABEL_NAME_KINDS.has(o.kind);
    if (!(label ? DNS_LABEL.test(name) && name.length <= 63 : DNS_SUBDOMAIN.test(name) && name.length <= 253))
        report.error(o, `metadata.name "${name}" is not a DNS-1123 ${label ? "label" : "subdomain"}`);
    if (o.kind === "CronJob" && name.length > 52)
        report.error(o, "a CronJob name may have at most 52 characters (its Jobs add 11)");
    if (o.kind === "CronJob") cronSchedule(o, o.spec?.schedule);

    for (const { where, template, jobSpec, workload } of podTemplates(o)) {
        const spec = template.spec ?? {};
        const labels = template.metadata?.labels ?? {};
        const names = new Set();
        for (const { c } of containersOf(spec)) {
            const cn = c.name ?? "";
            if (!DNS_LABEL.test(cn) || cn.length > 63) report.error(o, `${where}: container name "${cn}" is not a DNS-1123 label`);
            if (names.has(cn)) report.error(o, `${where}: container name "${cn}" used twice`);
            names.add(cn);
            if (typeof c.image !== "string" || !c.image.trim()) report.error(o, `${where}: container "${cn}" has no image`);
            for (const p of c.ports ?? [])
                if (p.name !== undefined && !(IANA_SVC_NAME.test(p.name) && p.name.length <= 15))
                    report.error(o, `${where}: container "${cn}" port name "${p.name}" is not a valid port name`);
        }
        if (!(spec.containers ?? []).length) report.error(o, `${where}: no containers`);

        if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].includes(workload.kind)) {
            const sel = workload.spec?.selector;
            if (!sel) report.error(o, "spec.selector is required");
            else if (!selects(sel, labels)) report.error(o, "spec.selector does not match spec.template.metadata.labels");
            if (workload.kind === "Deployment" && spec.restartPolicy && spec.restartPolicy !== "Always")
                report.error(o, `${where}: restartPolicy must be Always for a ${workload.kind}`);
        }
        if (jobSpec) jobRules(o, where, jobSpec, spec, names);
    }
}

function jobRules(o, where, js, podSpec, containerNames) {
    const rp = podSpec.restartPolicy;
    if (rp !== "Never" && rp !== "OnFailure")
        report.error(o, `${where}: a Job's restartPolicy must be Never or OnFailure (got ${rp ?? "unset, i.e. Always"})`);
    const indexed = js.completionMode === "Indexed";
    if (indexed && !(Number.isInteger(js.completions) && js.completions > 0))
        report.error(o, "an Indexed Job needs completions");
    if (indexed && js.parallelism > js.completions)
        report.error(o, "parallelism above completions starts pods that have no index to run");
    if (js.backoffLimitPerIndex !== undefined && !indexed)
        report.error(o, "backoffLimitPerIndex needs completionMode: Indexed");
    if (js.maxFailedIndexes !== undefined && js.backoffLimitPerIndex === undefined)
        report.error(o, "maxFailedIndexes needs backoffLimitPerIndex");
    if (js.maxFailedIndexes > js.completions)
        report.error(o, "maxFailedIndexes must not exceed completions");
    if (js.podFailurePolicy) {
        if (rp !== "Never") report.error(o, "podFailurePolicy needs the pod's restartPolicy to be Never");
        for (const r of js.podFailurePolicy.rules ?? []) {
            const ex = r.onExitCodes;
            if (!ex) continue;
            if (ex.containerName && !containerNames.has(ex.containerName))
                report.error(o, `podFailurePolicy names container "${ex.containerName}", which the pod does not have`);
            if (ex.operator === "In" && (ex.values ?? []).includes(0))
                report.error(o, "podFailurePolicy onExitCodes In must not list 0");
            if (r.action === "FailIndex" && js.backoffLimitPerIndex === undefined)
                report.error(o, "podFailurePolicy action FailIndex needs backoffLimitPerIndex");
        }
    }
}

// A standard 5-field schedule (minute hour day-of-month month day-of-week).
function cronSchedule(o, schedule) {
    const RANGES = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
    const NAMES = [null, null, null,
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]];
    if (typeof schedule !== "string") return report.error(o, "spec.schedule is missing");
    if (/TZ=|CRON_TZ=/.test(schedule)) return report.error(o, "spec.schedule must not set TZ: use spec.timeZone");
    const fields = schedule.trim().split(/\s+/);
    if (fields.length !== 5) return report.error(o, `spec.schedule "${schedule}" has ${fields.length} fields, not 5`);
    fields.forEach((f, i) => {
        const [lo, hi] = RANGES[i];
        const num = (t) => {
            const n = NAMES[i]?.indexOf(t.toUpperCase());
            return n !== undefined && n >= 0 ? n + (i === 3 ? 1 : 0) : /^\d+$/.test(t) ? Number(t) : NaN;
        };
        for (const part of f.split(",")) {
            const m = /^(\*|\?|[^/-]+(?:-[^/-]+)?)(?:\/(\d+))?$/.exec(part);
            let ok = !!m && (m[2] === undefined || Number(m[2]) > 0);
            if (ok && m[1] !== "*" && m[1] !== "?") {
                const [a, b = a] = m[1].split("-").map(num);
                ok = a >= lo && b <= hi && a <= b;
            }
            if (!ok) report.error(o, `spec.schedule "${schedule}": field ${i + 1} "${f}" is not valid (${lo}-${hi})`);
        }
    });
}

await main();
