"""Helpers of the server tests: a `moe serve` process on a free port, and HTTP calls with
Python's standard library only (http.client), as a user's code would make them."""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


class Server:
    """`moe serve --port 0 ...`: the port and rank 0's pid are read from its "serving ... on
    http://host:port (... pid P)" line. launcher: e.g. ["mpirun", "-np", "2"] to run under MPI."""

    def __init__(self, moe, args, launcher=()):
        self.proc = subprocess.Popen([*launcher, moe, "serve", "--port", "0", *args], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.log = []
        for line in self.proc.stderr:
            self.log.append(line)
            if " on http://" in line:
                self.port = int(line.rsplit(":", 1)[1].split()[0])
                self.pid = int(line.rsplit("pid ", 1)[1].split(")")[0])
                break
        else:
            raise RuntimeError("moe serve did not start: " + "".join(self.log))
        self.logged = threading.Condition()
        self.drain = threading.Thread(target=self._read_log, daemon=True)
        self.drain.start()

    def _read_log(self):
        for line in self.proc.stderr:
            with self.logged:
                self.log.append(line)
                self.logged.notify_all()

    def wait_for_log(self, text, timeout=120):
        with self.logged:
            if not self.logged.wait_for(lambda: any(text in line for line in self.log), timeout):
                raise RuntimeError(f"moe serve never logged {text!r}: " + "".join(self.log))

    def connect(self, timeout=120):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(self, method, path, body=None, headers=None, raw=None):
        """(status, parsed JSON body or None) of one request on its own connection."""
        conn = self.connect()
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(payload)
        except ValueError:
            return resp.status, None

    def stream(self, body, headers=None, path="/v1/completions"):
        """An open streamed response: (connection, response)."""
        conn = self.connect()
        conn.request("POST", path, body=json.dumps(body),
                     headers={"Content-Type": "application/json", **(headers or {})})
        return conn, conn.getresponse()

    def metrics(self, headers=None):
        """GET /metrics as {name: value}, labels dropped (summed)."""
        conn = self.connect()
        conn.request("GET", "/metrics", headers=headers or {})
        text = conn.getresponse().read().decode()
        conn.close()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.split("{")[0], float(line.rsplit(" ", 1)[1])
                values[name] = values.get(name, 0) + value
        return values

    def wait_for_metrics(self, predicate, headers=None, timeout=60):
        """Polls /metrics until predicate(values) holds; the values, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            values = self.metrics(headers)
            if predicate(values):
                return values
            time.sleep(0.05)
        return None

    def stop(self, timeout=120):
        """SIGTERM to rank 0 (mpirun would end the job at once); the exit code of the whole."""
        os.kill(self.pid, signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def next_event(resp):
    """The next server-sent event's data ('[DONE]' or parsed JSON), None at the end."""
    while True:
        line = resp.readline()
        if not line:
            return None
        line = line.decode().rstrip("\n")
        if line.startswith("data: "):
            data = line[len("data: "):]
            return data if data == "[DONE]" else json.loads(data)


def read_events(resp):
    events = []
    while True:
        event = next_event(resp)
        if event is None:
            return events
        events.append(event)


def is_error_object(body, status):
    """OpenAI's error object: {"error": {"message": str, "type": str, "param", "code"}}."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return False
    error = body["error"]
    return (isinstance(error.get("message"), str) and isinstance(error.get("type"), str) and "param" in error
            and "code" in error and (error["type"] == "server_error") == (status >= 500))


def init_model(moe, work):
    model = os.path.join(work, "tiny")
    subprocess.run([moe, "init", "--preset", "mixtral-tiny", "--out", model, "--seed", "1"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return model
