"""uploads.py - sends the photo set to the intake as users would.

About 70 % go in batches through `anonctl upload DIR --camera C --json`
(a directory of hard links per batch); when some files of a batch end
`failed` (the intake was down or answered 503 past the client's own
retries) the whole command is run again, which is idempotent: what the
intake has answers 200. The rest go one by one as raw `curl -F` multipart
POSTs, retried on no answer, 5xx and 429. Units are paced over a target
duration so that the faults land while uploads and processing go on; the
last few of each kind are held back and trickled out one at a time until
the fault schedule has finished (faults_done), so that a fault that needs
work in flight (a worker killed mid-image) still finds some when the
schedule runs longer than expected.

Every response is recorded per photo: the first 2xx time and the image id
each 2xx named, 4xx refusals with their reason.
"""
import json
import os
import random
import subprocess
import threading
import time

CURL_SHARE = 0.3
RESERVE_SHARE = 0.05  # of each kind of unit, trickled out while faults remain
GIVE_UP_AFTER = 900   # seconds one file may keep failing before the campaign says so


class Uploads:
    def __init__(self, system, manifest, seed, batch, duration, log):
        self.system, self.manifest, self.log = system, manifest, log
        self.batch, self.duration = batch, duration
        self.rng = random.Random(seed + 1)
        self.active = 0                # upload units in flight
        self.cli_active = 0            # `anonctl upload` batches in flight, for the intake kills
        self.lock = threading.Lock()
        self.reruns = 0                # `anonctl upload` run again after failures
        self.curl_retries = 0
        self.finished = threading.Event()
        self.faults_done = threading.Event()   # set by the fault schedule when it ends
        self.trickle = 3 if duration <= 60 else 5
        for p in manifest:
            p.update(ids=set(), accepted_at=None, refused=None, via=None, camera=None)
        self.cli_units, self.curl_units = self.plan()

    def plan(self):
        photos = list(self.manifest)
        self.rng.shuffle(photos)
        n_curl = round(len(photos) * CURL_SHARE)
        curl, cli = photos[:n_curl], photos[n_curl:]
        for p in curl:
            p.update(via="curl", camera=f"cam-curl-{self.rng.randint(1, 3)}")
        units = []
        root = os.path.join(self.system.work, "batches")
        for k in range(0, len(cli), self.batch):
            group = cli[k:k + self.batch]
            camera = f"cam-{'abcd'[(k // self.batch) % 4]}"
            d = os.path.join(root, f"b{k // self.batch:03d}")
            os.makedirs(d, exist_ok=True)
            for p in group:
                p.update(via="anonctl upload", camera=camera)
                os.link(p["path"], os.path.join(d, p["name"]))
            units.append((d, camera, group))
        return units, curl

    # ------------------------------------------------------------ running
    def paced(self, units, handle):
        reserve = max(1, round(len(units) * RESERVE_SHARE)) if len(units) > 1 else 0
        regular, held = units[:len(units) - reserve], units[len(units) - reserve:]
        t0 = time.monotonic()
        step = self.duration / max(1, len(regular))
        for k, unit in enumerate(regular):
            delay = t0 + k * step - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.send(unit, handle)
        for unit in held:
            self.faults_done.wait(self.trickle)
            self.send(unit, handle)

    def send(self, unit, handle):
        with self.lock:
            self.active += 1
        try:
            handle(unit)
        finally:
            with self.lock:
                self.active -= 1

    def run(self):
        threads = [threading.Thread(target=self.paced, args=(self.cli_units, self.upload_batch)),
                   threading.Thread(target=self.paced, args=(self.curl_units, self.post_one))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.finished.set()

    def upload_batch(self, unit):
        d, camera, group = unit
        by_name = {p["name"]: p for p in group}
        started = time.monotonic()
        while True:
            with self.lock:
                self.cli_active += 1
            try:
                p = self.system.anonctl("upload", "--json", "--jobs", "2", "--camera", camera, d,
                                        timeout=600)
            finally:
                with self.lock:
                    self.cli_active -= 1
            try:
                results = json.loads(p.stdout)["results"]
            except (ValueError, KeyError):
                results = []
            now = time.time()
            for r in results:
                photo = by_name.get(os.path.basename(r["path"]))
                if photo is None:
                    continue
                if r["outcome"] in ("created", "existing"):
                    photo["ids"].add(r.get("id"))
                    photo["accepted_at"] = photo["accepted_at"] or now
                elif r["outcome"] in ("rejected", "not_image"):
                    photo["refused"] = f"{r['outcome']}: {r.get('http_status')} {r.get('detail', '')}"
            pending = [q for q in group if q["accepted_at"] is None and q["refused"] is None]
            if not pending or time.monotonic() - started > GIVE_UP_AFTER:
                return
            with self.lock:
                self.reruns += 1
            time.sleep(2)

    def post_one(self, photo):
        url = self.system.intake_url + "/v1/images"
        started = time.monotonic()
        while time.monotonic() - started < GIVE_UP_AFTER:
            p = subprocess.run(["curl", "-sS", "--max-time", "60", "-o", "-", "-w", "\n%{http_code}",
                                "-F", f"image=@{photo['path']}", "-F", f"camera={photo['camera']}",
                                url], capture_output=True, text=True)
            body, _, code = p.stdout.rpartition("\n")
            code = int(code) if code.isdigit() else 0
            if code in (200, 202):
                try:
                    photo["ids"].add(json.loads(body)["id"])
                except (ValueError, KeyError):
                    photo["ids"].add(None)
                photo["accepted_at"] = photo["accepted_at"] or time.time()
                return
            if 400 <= code < 500 and code not in (408, 429):
                photo["refused"] = f"HTTP {code} {body[:200]}"
                return
            with self.lock:
                self.curl_retries += 1
            time.sleep(1.5)
