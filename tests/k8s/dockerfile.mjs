// tests/k8s/dockerfile.mjs - rung 4 of the ladder: the Dockerfile's hygiene.
//
//   node dockerfile.mjs Dockerfile...
//
// Multi-stage; every FROM pinned (a tag that is not `latest`, or a digest;
// earlier stages by name); the final stage's USER numeric and not 0; no ADD
// of URLs or git repositories (COPY, or download in a RUN you can check);
// ENTRYPOINT and CMD in exec form; every `apt-get install` with -y and
// --no-install-recommends, in the same RUN as its `apt-get update` and the
// removal of /var/lib/apt/lists; no apt-get upgrade; no secrets in ENV/ARG.
import { readFileSync } from "node:fs";

let failed = 0;
for (const file of process.argv.slice(2)) {
    const errors = check(readFileSync(file, "utf8"));
    for (const e of errors) console.log(`error: dockerfile: ${file}: ${e}`);
    failed += errors.length;
}
process.exit(failed ? 1 : 0);

// Joins continuation lines, drops comments: [{line, op, rest}].
function instructions(text) {
    const out = [];
    let buf = "", start = 0;
    text.split("\n").forEach((raw, i) => {
        const line = raw.replace(/\r$/, "");
        if (!buf && /^\s*(#|$)/.test(line)) return;
        if (buf && /^\s*#/.test(line)) return;
        if (!buf) start = i + 1;
        if (/\\\s*$/.test(line)) { buf += line.replace(/\\\s*$/, " "); return; }
        buf += line;
        const m = /^\s*(\w+)\s*(.*)$/s.exec(buf);
        if (m) out.push({ line: start, op: m[1].toUpperCase(), rest: m[2].trim() });
        buf = "";
    });
    return out;
}

function check(text) {
    const errors = [];
    const ins = instructions(text);
    const stages = [];
    const err = (i, msg) => errors.push(`line ${i.line}: ${i.op}: ${msg}`);
    for (const i of ins) {
        if (i.op === "FROM") {
            const words = i.rest.split(/\s+/).filter((w) => !w.startsWith("--"));
            const image = words[0] ?? "";
            const alias = /\bAS\s+(\S+)/i.exec(i.rest)?.[1];
            stages.push({ alias, user: undefined, line: i.line });
            if (stages.some((s) => s.alias && s.alias === image) || image === "scratch") continue;
            if (image.includes("$")) { err(i, `image "${image}" comes from a build argument: pin it`); continue; }
            if (image.includes("@sha256:")) continue;
            const last = image.split("/").pop();
            const tag = last.includes(":") ? last.split(":").pop() : "";
            if (!tag) err(i, `image "${image}" has no tag (means :latest)`);
            else if (tag === "latest") err(i, `image "${image}" uses :latest`);
        } else if (i.op === "USER") {
            if (stages.length) stages[stages.length - 1].user = { value: i.rest, line: i.line };
        } else if (i.op === "ADD") {
            if (/(^|\s)(https?|ftp):\/\//i.test(i.rest) || /(^|\s)git@|\.git(\s|$)/.test(i.rest))
                err(i, "ADD of a URL or git repository: use COPY, or fetch in a RUN with a checksum");
        } else if (i.op === "ENTRYPOINT" || i.op === "CMD") {
            let exec = false;
            try { exec = Array.isArray(JSON.parse(i.rest)); } catch { exec = false; }
            if (!exec) err(i, `shell form: use the exec form ${i.op} ["prog", "arg"] so the program gets signals as PID 1`);
        } else if (i.op === "RUN") {
            aptHygiene(i, err);
        } else if (i.op === "ENV" || i.op === "ARG") {
            if (/\b\w*(PASSWORD|SECRET|TOKEN|PRIVATE_KEY)\w*\s*=\s*\S/i.test(i.rest))
                err(i, "a secret baked into the image: pass it at run time");
        }
    }
    if (stages.length < 2) errors.push("not a multi-stage build (build tools would stay in the image)");
    const final = stages[stages.length - 1];
    if (!final) errors.push("no FROM");
    else if (!final.user) errors.push("the final stage has no USER: the container would run as root");
    else {
        const [user, group] = final.user.value.split(":");
        if (!/^\d+$/.test(user)) errors.push(`line ${final.user.line}: USER "${final.user.value}" is not numeric (Kubernetes' runAsNonRoot can only verify a numeric uid)`);
        else if (Number(user) === 0) errors.push(`line ${final.user.line}: USER is root`);
        if (group !== undefined && !/^\d+$/.test(group)) errors.push(`line ${final.user.line}: USER group "${group}" is not numeric`);
    }
    return errors;
}

function aptHygiene(i, err) {
    const cmd = i.rest;
    if (/apt-get\s+(-\S+\s+)*(dist-)?upgrade/.test(cmd)) err(i, "apt-get upgrade: pin a newer base image instead");
    if (/(^|[;&|]\s*)apt\s+install/.test(cmd)) err(i, "use apt-get, not apt, in scripts");
    if (!/apt-get\s+(.*\s)?install\b/.test(cmd)) return;
    for (const part of cmd.split(/&&|;/).filter((p) => /apt-get\s+(.*\s)?install\b/.test(p))) {
        if (!/--no-install-recommends/.test(part)) err(i, "apt-get install without --no-install-recommends");
        if (!/(\s-y\b|\s-[a-z]*y|--yes|--assume-yes)/.test(part)) err(i, "apt-get install without -y");
    }
    if (!/apt-get\s+(.*\s)?update/.test(cmd)) err(i, "apt-get install without apt-get update in the same RUN (a stale cached layer)");
    if (!/rm\s+-[a-z]*r[a-z]*f?\s+(\S+\s+)*\/var\/lib\/apt\/lists/.test(cmd) && !/rm\s+-[a-z]*f[a-z]*r?\s+(\S+\s+)*\/var\/lib\/apt\/lists/.test(cmd))
        err(i, "apt lists are not removed (rm -rf /var/lib/apt/lists/*) in the same RUN");
}
