// tests/k8s/podspec.mjs - rung 6 of the ladder: run a rendered container's
// command here, as the kubelet would start it, against the local stack.
//
//   node podspec.mjs get RENDERED.yaml KIND/NAME FIELD
//       FIELD: readiness-path, liveness-path, startup-path, metrics-path,
//              grace, prestop, completions, parallelism, failjob-codes,
//              command (one word a line), env NAME (its resolved value)
//   node podspec.mjs run RENDERED.yaml KIND/NAME [--bin DIR] [--index N]
//                    [--machine NAME=VALUE]... [--set NAME=VALUE]...
//
// `run` resolves the container's environment the kubelet's way (envFrom in
// order, then env; ConfigMap and Secret values from the same rendering;
// $(VAR) references in env values, command and args; fieldRef for the pod's
// name and namespace; JOB_COMPLETION_INDEX for Indexed Jobs), then starts
// command+args exactly, with the program looked up in --bin (the image's
// /usr/local/bin). --set replaces a resolved variable (where the services
// are on this machine, a scratch dir); each one is printed on stderr, and
// one that the manifest does not define is refused, so nothing is slipped
// in that the manifest lacks. --machine is --set for what `scripts/stack
// env` exports: applied only to variables the manifest defines. SIGTERM/SIGINT are passed on; the exit code
// is the program's. Init containers run first, one after the other, as the
// kubelet runs them: the first that fails ends the run with its exit code.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readYamlDocs, podTemplates } from "./lib.mjs";

const [mode, file, ref, ...rest] = process.argv.slice(2);
const { docs, errors } = readYamlDocs(file);
if (errors.length) die(errors.join("\n"));
const [kind, name] = (ref ?? "").split("/");
const obj = docs.find((o) => o.kind === kind && o.metadata?.name === name);
if (!obj) die(`${ref}: not in ${file}`);
const [pod] = podTemplates(obj);
if (!pod) die(`${ref}: has no pod template`);
const spec = pod.template.spec;
const container = spec.containers[0];

if (mode === "get") get(rest[0], rest[1]);
else if (mode === "run") run(rest);
else die("usage: podspec.mjs get|run RENDERED KIND/NAME ...");

function die(msg) { console.error(`podspec: ${msg}`); process.exit(2); }

function get(field, arg) {
    const probe = (p) => container[p]?.httpGet?.path ?? die(`${ref}: no httpGet ${p}`);
    const out = {
        "readiness-path": () => probe("readinessProbe"),
        "liveness-path": () => probe("livenessProbe"),
        "startup-path": () => probe("startupProbe"),
        grace: () => spec.terminationGracePeriodSeconds ?? 30,
        prestop: () => container.lifecycle?.preStop?.sleep?.seconds ?? 0,
        completions: () => pod.jobSpec?.completions ?? 1,
        parallelism: () => pod.jobSpec?.parallelism ?? 1,
        "metrics-path": () => pod.template.metadata?.annotations?.["prometheus.io/path"] ?? die(`${ref}: no prometheus.io/path annotation`),
        "failjob-codes": () => (pod.jobSpec?.podFailurePolicy?.rules ?? [])
            .filter((r) => r.action === "FailJob" && r.onExitCodes?.operator === "In")
            .flatMap((r) => r.onExitCodes.values).join(" "),
        command: () => [...(container.command ?? []), ...(container.args ?? [])].join("\n"),
        env: () => resolveEnv(0)[arg] ?? die(`${ref}: ${arg} is not defined`),
    }[field];
    if (!out) die(`unknown field ${field}`);
    console.log(String(out()));
}

function source(kindOf, refName) {
    return docs.find((o) => o.kind === kindOf && o.metadata?.name === refName);
}

function sourceValue(kindOf, refName, key, optional) {
    const o = source(kindOf, refName);
    const raw = o?.data?.[key] ?? o?.stringData?.[key];
    if (raw === undefined) {
        if (optional) return undefined;
        die(`${ref}: ${kindOf} ${refName} key ${key} is not in the rendering`);
    }
    return kindOf === "Secret" && o.data?.[key] !== undefined ? Buffer.from(String(raw).replace(/\s/g, ""), "base64").toString() : String(raw);
}

// $(VAR) -> value of VAR when defined; $$(VAR) -> $(VAR); else left as is.
function expand(text, env) {
    return String(text).replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) =>
        m === "$$" ? "$" : Object.prototype.hasOwnProperty.call(env, v) ? env[v] : m);
}

function resolveEnv(index, c = container) {
    const env = {};
    for (const src of c.envFrom ?? []) {
        const isCm = !!src.configMapRef;
        const r = src.configMapRef ?? src.secretRef;
        const o = source(isCm ? "ConfigMap" : "Secret", r.name);
        if (!o) { if (r.optional) continue; die(`${ref}: ${isCm ? "ConfigMap" : "Secret"} ${r.name} is not in the rendering`); }
        for (const k of Object.keys({ ...(o.data ?? {}), ...(o.stringData ?? {}) }))
            env[(src.prefix ?? "") + k] = sourceValue(isCm ? "ConfigMap" : "Secret", r.name, k);
    }
    if (pod.jobSpec?.completionMode === "Indexed") env.JOB_COMPLETION_INDEX = String(index);
    for (const e of c.env ?? []) {
        const vf = e.valueFrom;
        let v;
        if (!vf) v = expand(e.value ?? "", env);
        else if (vf.configMapKeyRef) v = sourceValue("ConfigMap", vf.configMapKeyRef.name, vf.configMapKeyRef.key, vf.configMapKeyRef.optional);
        else if (vf.secretKeyRef) v = sourceValue("Secret", vf.secretKeyRef.name, vf.secretKeyRef.key, vf.secretKeyRef.optional);
        else if (vf.fieldRef) v = { "metadata.name": `${name}-${index}`, "metadata.namespace": obj.metadata.namespace ?? "default" }[vf.fieldRef.fieldPath] ?? "";
        else v = "";
        if (v !== undefined) env[e.name] = v;
    }
    return env;
}

function run(args) {
    let bin = "/usr/local/bin", index = 0;
    const sets = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--bin") bin = args[++i];
        else if (args[i] === "--index") index = Number(args[++i]);
        else if (args[i] === "--set") sets.push([args[++i], true]);
        else if (args[i] === "--machine") sets.push([args[++i], false]);
        else die(`unknown option ${args[i]}`);
    }
    // Every container is checked before any starts; a --set must name a
    // variable that one of them defines.
    const starts = [...(spec.initContainers ?? []), container].map((c) => prepare(c, bin, index, sets));
    for (const [s, must] of sets) {
        const k = s.slice(0, s.indexOf("="));
        if (must && !starts.some((st) => st.replaced.has(k))) die(`--set ${k}: the manifest does not define ${k}`);
    }
    const next = (i) => {
        if (i === starts.length) process.exit(0);
        const { prog, argv, env, at } = starts[i];
        console.error(`# ${at}: ${argv.join(" ")}`);
        const child = spawn(prog, argv.slice(1), { env, stdio: "inherit", argv0: argv[0] });
        const forward = (sig) => child.kill(sig);
        for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, forward);
        child.on("exit", (code, signal) => {
            for (const sig of ["SIGTERM", "SIGINT"]) process.off(sig, forward);
            const rc = code ?? (signal ? 128 + 15 : 1);
            if (rc !== 0) process.exit(rc);
            next(i + 1);
        });
        child.on("error", (e) => die(`${prog}: ${e.message}`));
    };
    next(0);
}

// One container's program, argv and environment, with this machine's
// replacements.
function prepare(c, bin, index, sets) {
    const at = c === container ? ref : `${ref} init container ${c.name}`;
    const env = resolveEnv(index, c);
    const replaced = new Set();
    for (const [s] of sets) {
        const eq = s.indexOf("=");
        const k = s.slice(0, eq);
        if (!Object.prototype.hasOwnProperty.call(env, k)) continue;
        console.error(`# ${at}: ${k} set for this machine`);
        env[k] = s.slice(eq + 1);
        replaced.add(k);
    }
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map((w) => expand(w, env));
    if (!argv.length) die(`${at}: no command (the image's ENTRYPOINT would run; the manifests always name it)`);
    const left = argv.filter((w) => /\$\([A-Za-z_]/.test(w));
    if (left.length) die(`${at}: unresolved ${left.join(" ")}`);
    const prog = argv[0].includes("/") ? `${bin}/${argv[0].split("/").pop()}` : `${bin}/${argv[0]}`;
    if (!existsSync(prog)) die(`${at}: ${argv[0]} is not in ${bin}`);
    const base = { PATH: process.env.PATH, HOME: process.env.HOME ?? "/tmp" };
    for (const k of Object.keys(process.env)) if (/^(ASAN|LSAN|UBSAN)_OPTIONS$/.test(k)) base[k] = process.env[k];
    return { prog, argv, env: { ...base, ...env }, at, replaced };
}
