"""faults.py - the chaos campaign's fault schedule and how each is injected.

Faults run one after another with a pause between them, while uploads and
workers go on. Each is undone before the next starts (the node restarted,
the endpoint back, the link restored); the supervisor in system.py restarts
killed workers and intakes.
"""
import random
import signal
import threading
import time

from chaoslib.system import mgmt, psql

KINDS = {
    "worker-kill": "worker kill -9 mid-image",
    "intake-kill": "intake kill -9 during uploads",
    "rabbit-kill": "RabbitMQ node of the clients kill -9, restarted",
    "pg-fast": "PostgreSQL restart (fast shutdown)",
    "pg-immediate": "PostgreSQL restart (immediate shutdown)",
    "s3-outage": "S3 endpoint unreachable",
    "net-cut": "worker 0's network to one service cut",
}

FULL = {"worker-kill": 6, "intake-kill": 3, "rabbit-kill": 2, "pg-fast": 2, "pg-immediate": 2,
        "s3-outage": 2, "net-cut": 3}
SHORT = {k: 1 for k in KINDS}
# About how long each fault lasts, seconds (an outage 10-30 s, a cut link
# 20-45 s, a node's restart 10-25 s), for pacing the uploads over the
# schedule; the uploads' held-back tail covers what runs longer.
LASTS = {"worker-kill": 3, "intake-kill": 5, "rabbit-kill": 25, "pg-fast": 5,
         "pg-immediate": 5, "s3-outage": 25, "net-cut": 40}
GAP = (8, 20)


def expected_seconds(plan):
    """The schedule's expected length with the full version's gaps."""
    return sum(LASTS[k] for k in plan) + len(plan) * sum(GAP) / 2


def schedule(counts, seed):
    """The order: shuffled, with the intake kills spread over the first two
    thirds (they must land while uploads go on)."""
    rng = random.Random(seed + 2)
    rest = [k for k, n in counts.items() if k != "intake-kill" for _ in range(n)]
    rng.shuffle(rest)
    kills = counts.get("intake-kill", 0)
    for j in range(kills):
        rest.insert(min(len(rest), round((j + 0.5) * (2 * len(rest) / 3) / kills) + j),
                    "intake-kill")
    return rest


class Faults(threading.Thread):
    def __init__(self, system, uploads, plan, seed, short, log):
        super().__init__(daemon=True)
        self.system, self.uploads, self.plan, self.log = system, uploads, plan, log
        self.rng = random.Random(seed + 3)
        self.short = short
        self.events = []               # (kind, detail, seconds it lasted)
        self.stray_kills = 0           # worker kills that landed between images
        self.cut_services = ["postgres", "rabbitmq", "s3"]
        self.rng.shuffle(self.cut_services)
        self.error = None

    def gap(self):
        return self.rng.uniform(2, 3) if self.short else self.rng.uniform(*GAP)

    def run(self):
        try:
            self.warm_up()
            for kind in self.plan:
                t0 = time.monotonic()
                detail = getattr(self, kind.replace("-", "_"))()
                self.events.append((kind, detail, time.monotonic() - t0))
                self.log(f"fault {kind}: {detail}")
                time.sleep(self.gap())
        except Exception as e:            # reported by the campaign, which then fails
            self.error = f"{type(e).__name__}: {e}"
            self.log(f"fault injection failed: {self.error}")
        finally:
            self.uploads.faults_done.set()

    def warm_up(self):
        """Starts once workers are finishing images."""
        end = time.monotonic() + 120
        while time.monotonic() < end:
            done = psql(self.system.base_env, "SELECT count(*) FROM images WHERE status = 'done'")
            if done and int(done) >= 3:
                return
            time.sleep(1)

    # ------------------------------------------------------------ the faults
    def worker_kill(self):
        end = time.monotonic() + 120
        while time.monotonic() < end:
            out = psql(self.system.base_env,
                       "SELECT worker FROM images WHERE status = 'processing'") or ""
            busy = [w for w in out.split() if self.system.worker_by_id(w)]
            if not busy:
                time.sleep(0.05)
                continue
            wid = self.rng.choice(busy)
            proc = self.system.worker_by_id(wid)
            if proc is None:
                continue
            proc.kill(signal.SIGKILL)
            still = psql(self.system.base_env,
                         f"SELECT id FROM images WHERE status = 'processing' AND worker = '{wid}'")
            if still and still.strip():
                return f"{wid} killed while on image {still.split()[0]}"
            self.stray_kills += 1   # it finished the image first; try again
        raise RuntimeError("no worker was ever caught mid-image")

    def intake_kill(self):
        """Kills the intake while an `anonctl upload` batch is sending."""
        end = time.monotonic() + 120
        while self.uploads.cli_active == 0 and not self.uploads.finished.is_set():
            if time.monotonic() > end:
                break
            time.sleep(0.02)
        time.sleep(self.rng.uniform(0.1, 0.4))
        during = self.uploads.cli_active > 0
        pid = self.system.intake.pid()
        self.system.intake.kill(signal.SIGKILL)
        return f"pid {pid} killed{' with uploads in flight' if during else ' (uploads were over)'}"

    def rabbit_kill(self):
        st = self.system.stack
        conns = mgmt(st, "connections")
        by_node = {}
        for c in conns:
            n = int(c["node"].split("@")[0][len("anon"):])
            by_node[n] = by_node.get(n, 0) + 1
        node = max(by_node, key=lambda n: (by_node[n], -n)) if by_node else 1
        st.run("kill", f"rabbitmq{node}")
        down = self.rng.uniform(3, 8)
        time.sleep(down)
        t0 = time.monotonic()
        st.run("start", f"rabbitmq{node}")
        return (f"node {node} ({by_node.get(node, 0)} of {sum(by_node.values())} client "
                f"connections) down {down:.0f} s, restart took {time.monotonic() - t0:.0f} s")

    def pg_restart(self, mode):
        st = self.system.stack
        st.run("stop", "postgres", *(["--immediate"] if mode == "immediate" else []))
        down = self.rng.uniform(0.5, 3)
        time.sleep(down)
        st.run("start", "postgres")
        return f"{mode} shutdown, down {down:.1f} s"

    def pg_fast(self):
        return self.pg_restart("fast")

    def pg_immediate(self):
        return self.pg_restart("immediate")

    def s3_outage(self):
        st = self.system.stack
        st.run("kill", "s3")           # the endpoint clients use: connections refused
        down = 10 if self.short else self.rng.uniform(10, 30)
        time.sleep(down)
        st.run("start", "s3")
        return f"unreachable {down:.0f} s"

    def net_cut(self):
        service = self.cut_services.pop(0)
        self.cut_services.append(service)
        # Long enough, in the full run, for a job bounced by worker 0 (its
        # backoff doubles from 1 s) to reach the queue's delivery limit.
        down = 10 if self.short else self.rng.uniform(20, 45)
        self.system.cut(service, True)
        time.sleep(down)
        self.system.cut(service, False)
        return f"worker 0 <-> {service} cut {down:.0f} s"
