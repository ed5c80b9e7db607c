"""system.py - the batch system the chaos campaign runs and breaks.

A private local stack (scripts/stack with a 3-node RabbitMQ cluster, its
own state directory and port block), the intake, N `anonctl drain` workers,
TCP proxies between worker 0 and each service (scripts/chaos-proxy, so
that its network alone can be cut), and `anonctl retry` passes on a timer.
A supervisor thread restarts what exits, as Kubernetes would: the intake
(a Deployment) after a short delay, workers (Job pods) after a second.

Port block (20 ports): +0..12 the stack's own (see scripts/stack), +13
worker 0's PostgreSQL proxy, +14 its S3 proxy, +15..17 its AMQP proxies
(one per node), +18 the intake.
"""
import base64
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import zlib

PY = "/usr/bin/python3"


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_port_base(root):
    """A free block of 20 ports: 40 above the running test stack's when
    there is one (svc_cluster takes +20), else derived from the checkout."""
    if os.environ.get("ANON_STACK_PORT_BASE"):
        start = int(os.environ["ANON_STACK_PORT_BASE"]) + 40
    else:
        start = 20000 + (zlib.crc32((root + "/chaos").encode()) % 600) * 20
    for k in range(40):
        base = 20000 + (start - 20000 + 20 * k) % 12000
        if all(port_free(base + i) for i in range(20)):
            return base
    raise SystemExit("chaos: no free block of 20 ports found")


class Log:
    """Timestamped lines to stderr and the campaign's event log."""

    def __init__(self, path, quiet=False):
        self.t0 = time.monotonic()
        self.f = open(path, "a", buffering=1)
        self.quiet = quiet
        self.lock = threading.Lock()

    def __call__(self, msg, file_only=False):
        line = f"[{time.monotonic() - self.t0:7.1f}s] {msg}"
        with self.lock:
            self.f.write(line + "\n")
            if not (self.quiet or file_only):
                print("# " + line, flush=True)

    def elapsed(self):
        return time.monotonic() - self.t0


class Stack:
    def __init__(self, root, state_dir, base, log):
        self.root, self.dir, self.base, self.log = root, state_dir, base, log
        self.env = {}
        self.lock = threading.Lock()   # one scripts/stack at a time

    def run(self, *args, check=True, timeout=600):
        env = dict(os.environ, ANON_STACK_DIR=self.dir, ANON_STACK_PORT_BASE=str(self.base))
        with self.lock:
            with open(os.path.join(os.path.dirname(self.dir), "logs", "stack.log"), "a") as out:
                p = subprocess.run([os.path.join(self.root, "scripts/stack"), *args], env=env,
                                   stdout=subprocess.PIPE, stderr=out, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"scripts/stack {' '.join(args)} failed (exit {p.returncode}; "
                               f"see {os.path.dirname(self.dir)}/logs/stack.log)")
        return p

    def up(self):
        self.run("up", "--rabbit-nodes", "3")
        for line in self.run("env").stdout.splitlines():
            if line.startswith("export "):
                k, _, v = line[7:].partition("=")
                self.env[k] = v.strip("'")

    def down(self):
        self.run("down", check=False)

    def amqp_port(self, n):
        return self.base + n

    def mgmt_port(self, n):
        return self.base + 6 + n


def mgmt(stack, path, body=None, node=None):
    """A RabbitMQ management API call on the first node that answers."""
    nodes = [node] if node else [1, 2, 3]
    last = None
    for n in nodes:
        req = urllib.request.Request(f"http://127.0.0.1:{stack.mgmt_port(n)}/api/{path}",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     method="POST" if body is not None else "GET")
        req.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except (OSError, ValueError) as e:
            last = e
    raise RuntimeError(f"management API {path}: {last}")


def psql(env, sql, timeout=30):
    """One query, unaligned, tab-separated; None when PostgreSQL is down."""
    try:
        p = subprocess.run(["psql", env["ANON_DB_URL"], "-qAtX", "-F", "\t", "-c", sql],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return p.stdout if p.returncode == 0 else None


class Proc:
    """One supervised program: started again by the supervisor when it exits."""

    def __init__(self, name, argv, env, log_path, restart_delay):
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.restart_delay = restart_delay   # seconds, or a (min, max) range
        self.p = None
        self.generation = 0
        self.down_since = None
        self.started_at = None
        self.backoff = None        # the next restart delay after quick failures
        self.exits = []            # (generation, exit code)
        self.hold = False          # the supervisor leaves it down

    def start(self):
        self.generation += 1
        with open(self.log_path, "a") as out:
            out.write(f"--- start {self.name} generation {self.generation}\n")
            out.flush()
            self.p = subprocess.Popen(self.argv(self.generation), env=self.env, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.down_since = None
        self.started_at = time.monotonic()

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def pid(self):
        return self.p.pid if self.alive() else None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            os.kill(self.p.pid, sig)

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL; returns the exit code."""
        self.hold = True
        if self.p is None:
            return None
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


class System:
    def __init__(self, root, work, stack, bindir, workers, log):
        self.root, self.work, self.stack, self.bin = root, work, stack, bindir
        self.log = log
        self.logs = os.path.join(work, "logs")
        self.n_workers = workers
        self.base_env = None
        self.intake = None
        self.workers = []
        self.proxies = {}            # service -> Popen
        self.stopping = threading.Event()
        self.supervisor = None

    # ------------------------------------------------------------ set-up
    def env_for(self, **extra):
        env = dict(self.base_env)
        env.update(extra)
        return env

    def prepare(self, preset):
        st = self.stack
        env = dict(os.environ)
        env.update(st.env)
        env.update(ANON_PRESET=preset,
                   ANON_MODEL_DIR=os.environ.get("ANON_MODEL_DIR",
                                                 os.path.join(self.root, ".cache/models")),
                   ANON_INTAKE_LISTEN=f"127.0.0.1:{st.base + 18}",
                   ANON_INTAKE_URL=f"http://127.0.0.1:{st.base + 18}")
        env.pop("JOB_COMPLETION_INDEX", None)
        env.pop("ANON_ACCEPT_DAMAGED", None)    # the checks expect damaged photos rejected
        self.base_env = env
        self.intake_url = env["ANON_INTAKE_URL"]
        # Production durability: the stack's throwaway settings would lose
        # commits already acknowledged on an immediate shutdown.
        psql(env, "ALTER SYSTEM SET synchronous_commit = on")
        psql(env, "SELECT pg_reload_conf()")
        self.anonctl("migrate", check=True)

    def anonctl(self, *args, check=False, timeout=300, env=None):
        p = subprocess.run([os.path.join(self.bin, "anonctl"), *args], env=env or self.base_env,
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"anonctl {args[0]} failed: {p.stderr.strip()[-500:]}")
        return p

    def start_proxies(self):
        st, base = self.stack, self.stack.base
        routes = {
            "postgres": [(base + 13, base)],
            "s3": [(base + 14, base + 11)],
            "rabbitmq": [(base + 14 + n, st.amqp_port(n)) for n in (1, 2, 3)],
        }
        for service, pairs in routes.items():
            argv = [PY, os.path.join(self.root, "scripts/chaos-proxy")]
            for listen, target in pairs:
                argv += ["--route", f"127.0.0.1:{listen}=127.0.0.1:{target}"]
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(
                os.path.join(self.logs, f"proxy-{service}.log"), "a"), text=True)
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"chaos-proxy for {service} did not start")
            self.proxies[service] = p
        amqp = ",".join(f"amqp://guest:guest@127.0.0.1:{base + 14 + n}/%2f" for n in (1, 2, 3))
        return {"ANON_DB_URL": f"postgresql://anon:anon@127.0.0.1:{base + 13}/anon",
                "ANON_S3_ENDPOINT": f"http://127.0.0.1:{base + 14}",
                "ANON_AMQP_URL": amqp}

    def cut(self, service, on):
        self.proxies[service].send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)

    def start(self):
        proxied = self.start_proxies()
        self.intake = Proc("intake", lambda g: [os.path.join(self.bin, "anon-intake")],
                           self.env_for(), os.path.join(self.logs, "intake.log"), (1.0, 3.0))
        self.intake.start()
        self.wait_intake()
        for i in range(self.n_workers):
            extra = dict(proxied) if i == 0 else {}
            w = Proc(f"worker{i}", self.worker_argv(i), self.env_for(**extra),
                     os.path.join(self.logs, f"worker{i}.log"), 1.0)
            w.start()
            self.workers.append(w)
        self.supervisor = threading.Thread(target=self.supervise, daemon=True)
        self.supervisor.start()

    def worker_argv(self, i):
        return lambda g: [os.path.join(self.bin, "anonctl"), "drain", "--idle-exit", "30",
                          "--prefetch", "2", "--worker-id", f"w{i}.{g}"]

    def worker_by_id(self, worker_id):
        """The worker whose current generation wrote worker_id, or None."""
        for i, w in enumerate(self.workers):
            if worker_id == f"w{i}.{w.generation}":
                return w
        return None

    def wait_intake(self, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(self.intake_url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    # ------------------------------------------------------------ supervisor
    def supervise(self):
        while not self.stopping.is_set():
            for proc in [self.intake] + self.workers:
                if proc.hold or proc.alive():
                    continue
                now = time.monotonic()
                if proc.down_since is None:
                    proc.down_since = now
                    rc = proc.p.returncode if proc.p else None
                    proc.exits.append((proc.generation, rc))
                    proc.restart_at = now + self.restart_delay(proc, rc, now)
                    self.log(f"{proc.name} (generation {proc.generation}) exited {rc}",
                             file_only=True)
                elif now >= proc.restart_at:
                    proc.start()
                    self.log(f"{proc.name} started again (generation {proc.generation})",
                             file_only=True)
            time.sleep(0.1)

    @staticmethod
    def restart_delay(proc, rc, now):
        """As Kubernetes restarts pods: at once after a kill, with a doubling
        delay (CrashLoopBackOff, up to 30 s) while it keeps failing quickly."""
        d = proc.restart_delay
        delay = random.uniform(*d) if isinstance(d, tuple) else d
        if rc not in (0, -9) and now - proc.started_at < 10:
            proc.backoff = min(30.0, (proc.backoff or delay) * 2)
            return proc.backoff
        proc.backoff = None
        return delay

    def shutdown(self):
        self.stopping.set()
        if self.supervisor:
            self.supervisor.join()
        codes = {}
        for w in self.workers:
            codes[w.name] = w.stop()
        if self.intake:
            codes["intake"] = self.intake.stop()
        for p in self.proxies.values():
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        return codes


class RetryLoop(threading.Thread):
    """`anonctl retry --json` then `anonctl purge --json` every `period`
    seconds, as the CronJob runs them (purge only when retry succeeded, as
    its init container must), with the ages scaled down to the campaign's
    length."""

    def __init__(self, system, period, ages):
        super().__init__(daemon=True)
        self.system, self.period, self.ages = system, period, ages
        self.stop_event = threading.Event()
        self.passes = 0
        self.failed_passes = 0
        self.actions = {}
        self.log_path = os.path.join(system.logs, "retry.log")

    def args(self):
        r, q, p = self.ages
        return ["retry", "--json", "--received-age", str(r), "--queued-age", str(q),
                "--processing-age", str(p)]

    def run_logged(self, args):
        """One command; its output to the log, its actions counted. The exit
        code, or None when it timed out."""
        try:
            p = self.system.anonctl(*args, timeout=300)
        except subprocess.TimeoutExpired:
            return None
        with open(self.log_path, "a") as f:
            f.write(f"--- pass {self.passes} {args[0]} exit {p.returncode}\n{p.stdout}{p.stderr}")
        for line in p.stdout.splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if "action" in ev:
                key = ev["action"] + (" (dead letter)" if ev.get("dead_letter") else "")
                key = "originals deleted (purge)" if args[0] == "purge" else key
                self.actions[key] = self.actions.get(key, 0) + 1
        return p.returncode

    def once(self):
        self.passes += 1
        rc = self.run_logged(self.args())
        if rc == 0:
            rc = self.run_logged(["purge", "--json"])
        self.failed_passes += rc != 0

    def run(self):
        while not self.stop_event.wait(self.period):
            self.once()
