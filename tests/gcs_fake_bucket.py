"""Test helpers: a real gcp-storage-emulator, an uploader, a HELM-like tree, a fault proxy.

Everything listens on 127.0.0.1 only.

* :class:`Emulator` runs ``gcp-storage-emulator`` (in-memory) as a subprocess on
  a free port.  The emulator is a single-threaded ``http.server.HTTPServer``
  with a listen backlog of 5; as a precaution against SYN drops (1 s
  retransmit stalls) when many parallel clients connect at once, the launcher
  raises ``request_queue_size`` before starting the otherwise unmodified
  emulator.
* :func:`upload_tree` uploads ``{object name: bytes}`` through the JSON API
  media-upload endpoint (``POST /upload/storage/v1/b/<bucket>/o?uploadType=media``).
* :func:`build_helm_tree` makes a small bucket in HELM's published layout.
* :class:`FaultProxy` forwards to the emulator and can inject 503s, corrupt or
  cut bodies, ignore ``Range``, throttle, add latency, paginate listings
  (the emulator ignores ``maxResults``) and inject extra listing entries.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from typing import Optional

import requests

BUCKET = "crfm-helm-public"

_LAUNCHER = (
    "import sys, http.server\n"
    "http.server.HTTPServer.request_queue_size = 128\n"
    "from gcp_storage_emulator.__main__ import main\n"
    "main(sys.argv[1:])\n"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """``gcp-storage-emulator start --in-memory`` on 127.0.0.1:<free port>, as a subprocess."""

    def __init__(self, bucket: str = BUCKET):
        self.bucket = bucket
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self._cwd = tempfile.TemporaryDirectory(prefix="gcs-emulator-")
        self._log = open(os.path.join(self._cwd.name, "emulator.log"), "wb")

    def start(self, timeout: float = 20.0) -> "Emulator":
        cmd = [
            sys.executable, "-c", _LAUNCHER, "start",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--in-memory", "--quiet", "--default-bucket", self.bucket,
        ]
        self.proc = subprocess.Popen(cmd, cwd=self._cwd.name, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited early: {self.log_text()[-2000:]}")
            try:
                if requests.get(self.endpoint + "/", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("emulator did not come up")

    def log_text(self) -> str:
        self._log.flush()
        with open(self._log.name, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        self._log.close()
        self._cwd.cleanup()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def upload_object(session: requests.Session, endpoint: str, bucket: str, name: str,
                  data: bytes) -> dict:
    """Upload one object with the JSON API media upload; returns the object resource."""
    url = f"{endpoint}/upload/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o"
    if data:
        # octet-stream: the emulator parses application/json bodies as metadata.
        resp = session.post(url, params={"uploadType": "media", "name": name}, data=data,
                            headers={"Content-Type": "application/octet-stream"}, timeout=30)
    else:
        # The emulator cannot take an empty media body; a multipart upload
        # (metadata part + empty media part) works.
        boundary = "magnet-upload-boundary"
        body = (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
            + json.dumps({"name": name})
            + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
            + f"\r\n--{boundary}--\r\n"
        ).encode()
        resp = session.post(url, params={"uploadType": "multipart"}, data=body, timeout=30,
                            headers={"Content-Type": f"multipart/related; boundary={boundary}"})
    if resp.status_code != 200:
        raise RuntimeError(f"upload of {name!r} failed: HTTP {resp.status_code} {resp.text[:200]}")
    return resp.json()


def upload_tree(endpoint: str, bucket: str, objects: dict[str, bytes]) -> None:
    with requests.Session() as session:
        for name, data in objects.items():
            meta = upload_object(session, endpoint, bucket, name, data)
            assert int(meta["size"]) == len(data), name


# ---------------------------------------------------------------------------
# A HELM-like corpus
# ---------------------------------------------------------------------------
RUN_FILES = (
    "run_spec.json", "scenario.json", "scenario_state.json", "stats.json",
    "per_instance_stats.json", "instances.json", "display_predictions.json",
    "display_requests.json",
)

R_ANAT_LLAMA7 = "mmlu:subject=anatomy,method=multiple_choice_joint,model=meta_llama-2-7b"
R_ANAT_GPT4 = "mmlu:subject=anatomy,method=multiple_choice_joint,model=openai_gpt-4-0613"
R_CHEM_LLAMA13 = "mmlu:subject=college_chemistry,method=multiple_choice_joint,model=meta_llama-2-13b"
R_GSM_LLAMA7 = "gsm:model=meta_llama-2-7b,stop=none"
# "%2F" must reach the server as %252F, and a bare trailing "%" must survive.
R_PERCENT = "legalbench:subset=abercrombie,model=meta_llama-2-7b,note=50%2Fsplit%"
R_NARR = "narrative_qa:model=meta_llama-3-8b"
R_MATH = ("math:subject=algebra,level=1,use_official_examples=False,"
          "use_chain_of_thought=True,model=meta_llama-3-8b")
R_GSM_LLAMA3 = "gsm:model=meta_llama-3-70b,stop=none"
R_GHOST = "ghost:model=nobody_nothing"  # in a release index, but no run directory
C_BOOLQ = "boolq:model=eleutherai_pythia-6.9b,data_augmentation=canonical"
C_IMDB = "imdb:model=openai_gpt-3.5-turbo-0613,data_augmentation=canonical"
C_OLD = "boolq:model=eleutherai_pythia-2.8b-v0,data_augmentation=canonical"

BIG_FILE = f"lite/benchmark_output/runs/v1.0.0/{R_GSM_LLAMA7}/scenario_state.json"

LITE_V100 = [R_ANAT_LLAMA7, R_ANAT_GPT4, R_CHEM_LLAMA13, R_GSM_LLAMA7, R_PERCENT]
LITE_V110 = [R_ANAT_LLAMA7, R_NARR, R_MATH]
LITE_V1100 = [R_GSM_LLAMA3]
SUITE_LEVEL_FILES = ("schema.json", "summary.json", "run_specs.json", "runs.json",
                     "runs_to_run_suites.json", "groups.json", "groups_metadata.json", "costs.json")


def _json_blob(rng: random.Random, payload: dict, n: int) -> bytes:
    payload = dict(payload, values=[round(rng.random(), 6) for _ in range(n)])
    return json.dumps(payload, indent=2).encode("utf-8")


def _run_files(tree, rng, base, suite, run, *, skip=(), extra=(), tag=""):
    sizes = {"scenario_state.json": 600, "per_instance_stats.json": 300,
             "display_predictions.json": 200, "instances.json": 150}
    for fname in RUN_FILES + tuple(extra):
        if fname in skip:
            continue
        n = sizes.get(fname, 10) + rng.randrange(40)
        tree[f"{base}runs/{suite}/{run}/{fname}"] = _json_blob(
            rng, {"suite": suite, "run": run, "file": fname, "tag": tag}, n)


def build_helm_tree(seed: int = 0) -> dict[str, bytes]:
    """A small bucket in HELM's published layout (see the downloader's module docstring)."""
    rng = random.Random(seed)
    tree: dict[str, bytes] = {}
    lite = "lite/benchmark_output/"
    for run in LITE_V100:
        _run_files(tree, rng, lite, "v1.0.0", run,
                   skip=("scenario_state.json",) if run == R_CHEM_LLAMA13 else ())
    for run in LITE_V110:
        _run_files(tree, rng, lite, "v1.1.0", run, tag="v1.1.0",
                   extra=("encryption_data.json",) if run == R_MATH else ())
    for run in LITE_V1100:
        _run_files(tree, rng, lite, "v1.10.0", run)
    # One large object (about 1.5 MB) for resume/kill tests.
    tree[BIG_FILE] = _json_blob(rng, {"big": True}, 180_000)
    # Suite-level helm-summarize output: not runs.
    tree[f"{lite}runs/v1.0.0/summary.json"] = json.dumps({"suite": "v1.0.0"}).encode()
    tree[f"{lite}runs/v1.0.0/groups/mmlu.json"] = b"[]"
    # Releases.
    rel = f"{lite}releases/v1.1.0/"
    index = {R_ANAT_GPT4: "v1.0.0", R_CHEM_LLAMA13: "v1.0.0", R_GSM_LLAMA7: "v1.0.0",
             R_PERCENT: "v1.0.0", R_ANAT_LLAMA7: "v1.1.0", R_NARR: "v1.1.0",
             R_MATH: "v1.1.0", R_GHOST: "v1.1.0"}
    tree[rel + "summary.json"] = json.dumps(
        {"release": "v1.1.0", "suites": ["v1.0.0", "v1.1.0"], "date": "2024-02-27"}).encode()
    tree[rel + "runs_to_run_suites.json"] = json.dumps(index, indent=2).encode()
    tree[rel + "run_specs.json"] = _json_blob(rng, {"run_specs": sorted(index)}, 500)
    tree[rel + "runs.json"] = _json_blob(rng, {"runs": sorted(index)}, 8000)
    tree[rel + "schema.json"] = _json_blob(rng, {"schema": 1}, 100)
    tree[rel + "groups.json"] = _json_blob(rng, {"groups": 1}, 50)
    tree[rel + "groups_metadata.json"] = _json_blob(rng, {"groups_metadata": 1}, 20)
    tree[rel + "costs.json"] = b"{}"
    tree[rel + "groups/mmlu.json"] = _json_blob(rng, {"group": "mmlu"}, 60)
    tree[rel + "groups/json/mmlu_mmlu.json"] = _json_blob(rng, {"table": "mmlu"}, 30)
    tree[rel + "groups/latex/empty_table.tex"] = b""  # zero-byte objects exist too
    rel0 = f"{lite}releases/v1.0.0/"
    tree[rel0 + "summary.json"] = json.dumps(
        {"release": "v1.0.0", "suites": ["v1.0.0"], "date": "2023-12-19"}).encode()
    tree[rel0 + "runs_to_run_suites.json"] = json.dumps(
        {r: "v1.0.0" for r in LITE_V100}).encode()

    # Classic: current home classic/benchmark_output, legacy bucket root.
    classic = "classic/benchmark_output/"
    for run in (C_BOOLQ, C_IMDB):
        _run_files(tree, rng, classic, "v0.3.0", run, tag="classic-current")
    tree[classic + "releases/v0.3.0/summary.json"] = json.dumps(
        {"release": "v0.3.0", "suites": ["v0.3.0"]}).encode()
    tree[classic + "releases/v0.3.0/runs_to_run_suites.json"] = json.dumps(
        {C_BOOLQ: "v0.3.0", C_IMDB: "v0.3.0"}).encode()
    root = "benchmark_output/"
    _run_files(tree, rng, root, "v0.2.4", C_OLD, tag="classic-root")
    _run_files(tree, rng, root, "v0.3.0", C_BOOLQ, tag="classic-root-stale")

    # Another project (multi-benchmark selections) and a suites-only one.
    _run_files(tree, rng, "mmlu/benchmark_output/", "v1.0.0", R_ANAT_LLAMA7, tag="mmlu-project")
    _run_files(tree, rng, "heim/benchmark_output/", "v1.0.0",
               "mscoco:model=huggingface_stable-diffusion-v1-4", tag="heim")
    # A hostile release index: a suite name that climbs out of DEST.
    tree["badproj/benchmark_output/runs/v1/x/stats.json"] = b"{}"
    tree["badproj/benchmark_output/releases/r1/summary.json"] = b'{"release": "r1"}'
    tree["badproj/benchmark_output/releases/r1/runs_to_run_suites.json"] = json.dumps(
        {"x": "../../../../tmp"}).encode()
    # Not a benchmark.
    tree["source_datasets/scenarios/foo/data.txt"] = b"not a benchmark"

    # A suite with every suite-level file helm-summarize writes (names as in the
    # published helm-safety v3 suite) and an eval_cache/ that is never fetched.
    suite = f"{lite}runs/v1.10.0/"
    for fname in SUITE_LEVEL_FILES:
        tree[suite + fname] = _json_blob(rng, {"suite": "v1.10.0", "file": fname}, 40)
    tree[suite + "runs_to_run_suites.json"] = json.dumps({R_GSM_LLAMA3: "v1.10.0"}).encode()
    tree[suite + "groups/gsm.json"] = _json_blob(rng, {"group": "gsm"}, 30)
    tree[suite + "groups/json/gsm_gsm_.json"] = _json_blob(rng, {"table": "gsm"}, 20)
    tree[suite + "groups/latex/gsm_gsm_.tex"] = b"\\begin{table}\n\\end{table}\n"
    tree[suite + "groups/latex/empty.tex"] = b""
    tree[suite + "eval_cache/cache.sqlite"] = b"SQLite format 3\x00" + bytes(1000)
    return tree


# ---------------------------------------------------------------------------
# Fault-injecting proxy
# ---------------------------------------------------------------------------
class _Rules:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.fail: list[dict] = []  # {"match", "times", "status"}
        self.corrupt: list[str] = []
        self.cut: list[dict] = []  # {"match", "after", "times"}
        self.throttle: list[dict] = []  # {"match", "chunk", "delay"}
        self.no_range: list[str] = []
        self.inject: dict[str, dict] = {}  # listing prefix -> {"items": [...], "prefixes": [...]}
        self.page_size: Optional[int] = None
        self.strip_md5: bool = False  # listings without md5Hash (like composite objects)
        self.latency: float = 0.0
        self.log: list[dict] = []


class FaultProxy:
    """Threaded HTTP proxy on 127.0.0.1 in front of the emulator, with fault injection.

    Matching is by substring of the *decoded* request path, plus ``?prefix=...``
    for listings (so an object name matches its download URL).  All rules are
    cleared by :meth:`reset`.
    """

    def __init__(self, upstream: str):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port
        self.rules = _Rules()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Headers and body go out in separate writes: without NODELAY,
                # Nagle + delayed ACK add ~40 ms per keep-alive request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                proxy._handle(self)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address):
                # Clients that hang up mid-response (cut and retry tests) are expected. socketserver
                # would print a traceback to stderr, which pytest may capture into another test's
                # output; record the error instead.
                proxy.server_errors.append(sys.exc_info()[1])

        self.server_errors: list = []
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- configuration -------------------------------------------------------
    def start(self) -> "FaultProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.rules.lock:
            self.rules.reset()

    def fail(self, match: str, times: int, status: int = 503, kind: Optional[str] = None) -> None:
        """Answer *status* to the next *times* matching requests (*kind*: "list"/"media")."""
        with self.rules.lock:
            self.rules.fail.append({"match": match, "times": times, "status": status,
                                    "kind": kind})

    def corrupt(self, match: str) -> None:
        with self.rules.lock:
            self.rules.corrupt.append(match)

    def cut(self, match: str, after: int, times: int = 1) -> None:
        """Announce the full Content-Length, send *after* bytes, close the connection."""
        with self.rules.lock:
            self.rules.cut.append({"match": match, "after": after, "times": times})

    def throttle(self, match: str, chunk: int, delay: float) -> None:
        with self.rules.lock:
            self.rules.throttle.append({"match": match, "chunk": chunk, "delay": delay})

    def ignore_range(self, match: str = "") -> None:
        with self.rules.lock:
            self.rules.no_range.append(match)

    def inject_listing(self, prefix: str, items=(), prefixes=()) -> None:
        with self.rules.lock:
            self.rules.inject[prefix] = {"items": list(items), "prefixes": list(prefixes)}

    def drop_md5_from_listings(self) -> None:
        self.rules.strip_md5 = True

    def paginate(self, page_size: Optional[int]) -> None:
        self.rules.page_size = page_size

    def set_latency(self, seconds: float) -> None:
        self.rules.latency = seconds

    @property
    def log(self) -> list[dict]:
        with self.rules.lock:
            return list(self.rules.log)

    def requests_for(self, match: str, kind: Optional[str] = None) -> list[dict]:
        """Logged requests whose decoded path or listing prefix contains *match*."""
        return [e for e in self.log if match in e["target"] and (kind is None or e["kind"] == kind)]

    # -- serving -----------------------------------------------------------
    def _handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        rules = self.rules
        split = urllib.parse.urlsplit(h.path)
        decoded = urllib.parse.unquote(split.path)
        query = urllib.parse.parse_qs(split.query)
        kind = "list" if split.path.rstrip("/").endswith("/o") else (
            "media" if query.get("alt") == ["media"] else "other")
        prefix = (query.get("prefix") or [None])[0]
        target = decoded + (f"?prefix={prefix}" if prefix is not None else "")
        entry = {"path": decoded, "kind": kind, "range": h.headers.get("Range"),
                 "prefix": prefix, "target": target, "status": None}
        with rules.lock:
            rules.log.append(entry)
            failing = next((r for r in rules.fail if r["match"] in target and r["times"] > 0
                            and r["kind"] in (None, kind)), None)
            if failing:
                failing["times"] -= 1
            corrupt = any(m in decoded for m in rules.corrupt)
            cut = next((r for r in rules.cut if r["match"] in decoded and r["times"] > 0), None)
            if cut:
                cut["times"] -= 1
            throttle = next((r for r in rules.throttle if r["match"] in decoded), None)
            no_range = any(m in decoded for m in rules.no_range)
            inject = rules.inject.get(entry["prefix"]) if kind == "list" else None
            page_size = rules.page_size
            strip_md5 = rules.strip_md5
            latency = rules.latency
        if latency:
            time.sleep(latency)
        if failing:
            entry["status"] = failing["status"]
            body = json.dumps({"error": {"code": failing["status"], "message": "injected"}}).encode()
            self._send(h, failing["status"], {"Content-Type": "application/json"}, body)
            return

        headers = {}
        if h.headers.get("Range") and not no_range:
            headers["Range"] = h.headers["Range"]
        path = h.path
        if kind == "list" and page_size:
            params = [(k, v) for k, v in urllib.parse.parse_qsl(split.query, keep_blank_values=True)
                      if k not in ("maxResults", "pageToken")]
            path = split.path + "?" + urllib.parse.urlencode(params)
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            up = conn.getresponse()
            body = up.read()
            status = up.status
            out_headers = {k: v for k, v in up.getheaders()
                           if k.lower() in ("content-type", "content-range", "x-goog-hash")}
        finally:
            conn.close()
        entry["status"] = status

        if kind == "list" and status == 200 and (page_size or inject or strip_md5):
            body = self._rewrite_listing(body, query, page_size, inject, strip_md5)
        if corrupt and body and status in (200, 206):
            body = bytes([body[0] ^ 0x01]) + body[1:]
        if cut and status in (200, 206):
            self._send_cut(h, status, out_headers, body, cut["after"])
            return
        if throttle and status in (200, 206):
            self._send(h, status, out_headers, body, chunk=throttle["chunk"], delay=throttle["delay"])
            return
        self._send(h, status, out_headers, body)

    @staticmethod
    def _rewrite_listing(body: bytes, query: dict, page_size, inject, strip_md5=False) -> bytes:
        data = json.loads(body)
        if strip_md5:
            for item in data.get("items") or []:
                item.pop("md5Hash", None)
        entries = [(it["name"], "item", it) for it in data.get("items") or []]
        entries += [(p, "prefix", p) for p in data.get("prefixes") or []]
        entries.sort(key=lambda e: e[0])
        offset = int((query.get("pageToken") or ["0"])[0])
        out: dict = {"kind": "storage#objects"}
        if page_size:
            page = entries[offset: offset + page_size]
            if offset + page_size < len(entries):
                out["nextPageToken"] = str(offset + page_size)
        else:
            page = entries
        items = [e[2] for e in page if e[1] == "item"]
        prefixes = [e[2] for e in page if e[1] == "prefix"]
        if inject and offset == 0:
            items += inject["items"]
            prefixes += inject["prefixes"]
        if items:  # like real GCS: empty keys are omitted
            out["items"] = items
        if prefixes:
            out["prefixes"] = prefixes
        return json.dumps(out).encode()

    @staticmethod
    def _send(h, status, headers, body, chunk=None, delay=0.0) -> None:
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if chunk:
                for i in range(0, len(body), chunk):
                    h.wfile.write(body[i: i + chunk])
                    h.wfile.flush()
                    time.sleep(delay)
            else:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    @staticmethod
    def _send_cut(h, status, headers, body, after) -> None:
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(body[:after])
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
