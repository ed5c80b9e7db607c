// tests/k8s/lib.mjs - what the manifest checks share: reading rendered
// (or source) YAML the way the Kubernetes tools will, and walking the pod
// templates inside workloads.
//
// YAML is parsed as YAML 1.1, as kubectl's sigs.k8s.io/yaml does (there `n`,
// `no`, `on`, `off`, `y` are booleans and 0755 is octal), with duplicate
// keys as errors. A scalar that YAML 1.2 (kustomize's parser) reads
// differently is an error too: the two tools would disagree about it.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

export function readYamlDocs(file, text = readFileSync(file, "utf8")) {
    const errors = [];
    const v11 = parseAllDocuments(text, { version: "1.1", uniqueKeys: true });
    const v12 = parseAllDocuments(text, { version: "1.2", uniqueKeys: true });
    const docs = [];
    v11.forEach((doc, i) => {
        for (const e of doc.errors) errors.push(`${file}: YAML: ${e.message.split("\n")[0]}`);
        if (doc.errors.length) return;
        const a = doc.toJS({ maxAliasCount: 100 });
        const b = v12[i] && !v12[i].errors.length ? v12[i].toJS({ maxAliasCount: 100 }) : undefined;
        for (const d of yamlVersionDiffs(a, b, "")) errors.push(`${file}: ${d}`);
        if (a !== null && a !== undefined) docs.push(a);
    });
    return { docs, errors };
}

// Paths whose value YAML 1.1 and YAML 1.2 read differently.
function yamlVersionDiffs(a, b, path) {
    if (Array.isArray(a) && Array.isArray(b))
        return a.flatMap((x, i) => yamlVersionDiffs(x, b[i], `${path}[${i}]`));
    if (isObject(a) && isObject(b))
        return Object.keys(a).flatMap((k) => yamlVersionDiffs(a[k], b[k], `${path}.${k}`));
    if (a !== b && !(Number.isNaN(a) && Number.isNaN(b)))
        return [`${path || "."}: YAML 1.1 reads ${JSON.stringify(a)} but YAML 1.2 reads ${JSON.stringify(b)}: quote it`];
    return [];
}

export const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

export const objName = (o) => `${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;

// The pod templates inside an object, with the workload's own fields that
// matter for them: [{where, template, jobSpec, workload}].
export function podTemplates(o) {
    const s = o.spec ?? {};
    switch (o.kind) {
        case "Deployment": case "StatefulSet": case "DaemonSet": case "ReplicaSet":
            return s.template ? [{ where: "spec.template", template: s.template, workload: o }] : [];
        case "Job":
            return s.template ? [{ where: "spec.template", template: s.template, jobSpec: s, workload: o }] : [];
        case "CronJob": {
            const js = s.jobTemplate?.spec;
            return js?.template ? [{ where: "spec.jobTemplate.spec.template", template: js.template, jobSpec: js, workload: o }] : [];
        }
        case "ScaledJob": {
            const js = s.jobTargetRef;
            return js?.template ? [{ where: "spec.jobTargetRef.template", template: js.template, jobSpec: js, workload: o }] : [];
        }
        default:
            return [];
    }
}

export function containersOf(podSpec) {
    return [
        ...(podSpec?.initContainers ?? []).map((c) => ({ c, init: true })),
        ...(podSpec?.containers ?? []).map((c) => ({ c, init: false })),
    ];
}

// Does a LabelSelector select these labels?
export function selects(selector, labels = {}) {
    if (!selector) return false;
    for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
        if (labels[k] !== v) return false;
    for (const e of selector.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        const v = labels[e.key];
        if (e.operator === "In" && !(has && e.values.includes(v))) return false;
        if (e.operator === "NotIn" && has && e.values.includes(v)) return false;
        if (e.operator === "Exists" && !has) return false;
        if (e.operator === "DoesNotExist" && has) return false;
    }
    return true;
}

// A Service's plain map selector as a LabelSelector.
export const mapSelector = (m) => (m && Object.keys(m).length ? { matchLabels: m } : null);

export class Report {
    constructor() { this.errors = []; }
    error(o, msg) { this.errors.push(o ? `${objName(o)}: ${msg}` : msg); }
    print(label) {
        for (const e of this.errors) console.log(`error: ${label}: ${e}`);
        return this.errors.length ? 1 : 0;
    }
}
