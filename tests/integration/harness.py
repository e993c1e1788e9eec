# SPDX-License-Identifier: MIT
"""Shared pieces of clawspeak's integration tests: run the CLI, start the
mock OpenRouter on a free loopback port, read audio back with libsndfile."""
import faulthandler
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BIN = os.environ.get("CLAWSPEAK_BIN", "../../build/clawspeak")
AUDIOINFO = os.environ.get("AUDIOINFO_BIN", "../../build/tests/audioinfo")
SOURCE = os.environ.get("CLAWSPEAK_SOURCE_DIR", os.path.abspath("../.."))
MOCK = os.path.join(SOURCE, "tests", "mock", "mock_openrouter.py")
KEY = "sk-or-v1-TESTKEY-do-not-print-4f3e2d1c"


def clean_env(home, **extra):
    """A minimal environment: no real key, config only where the test puts it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8"}
    for name in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "XDG_RUNTIME_DIR", "ASAN_OPTIONS",
                 "LSAN_OPTIONS", "UBSAN_OPTIONS", "ALSA_CONFIG_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    if os.environ.get("CLAWSPEAK_TEST_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["CLAWSPEAK_TEST_PRELOAD"]
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


# CLAWSPEAK_WRAPPER runs the binary under a tool, e.g. valgrind (see tests/CMakeLists.txt).
WRAPPER = os.environ.get("CLAWSPEAK_WRAPPER", "").split()


def run(args, env, stdin=None, timeout=120, cwd=None):
    # no stdin given: /dev/null, not the runner's (ask reads piped standard input as context)
    extra = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    p = subprocess.run(WRAPPER + [BIN] + args, capture_output=True, env=env,
                       timeout=timeout, cwd=cwd, **extra)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def startup_seconds(env, runs=3):
    """How long the binary takes to start and exit right now (`--version`, under the
    wrapper if there is one): the median of `runs`. The baseline a latency check compares
    with, measured in the same test: a busy machine, ASan or valgrind slow this as they
    slow the run being timed, so the bound grows with them (tests/README.md, Timing)."""
    times = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run(WRAPPER + [BIN, "--version"], env=env, capture_output=True, timeout=120)
        times.append(time.monotonic() - start)
    return sorted(times)[runs // 2]


def allowance(design_s, baseline_s, starts=3):
    """A latency bound: the design figure (what an idle machine gives, with room) plus
    `starts` times the baseline from startup_seconds(). A real hang still fails; load
    alone does not."""
    return design_s + starts * baseline_s


def audioinfo(path, dump=None):
    args = [AUDIOINFO, path] + (["--dump", dump] if dump else [])
    out = subprocess.run(args, capture_output=True, check=True, text=True).stdout.split()
    return int(out[0]), int(out[1]), int(out[2]), out[3]


def running(marker):
    """Processes whose command line holds marker (a grandchild left behind)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read().replace(b"\0", b" "):
                    found.append(pid)
        except OSError:
            pass
    return found


class PulseAudio:
    """A PulseAudio server of a test's own: its own runtime directory, a native socket with
    anonymous access, and the modules given (null sinks, a pipe source, a loopback). It
    runs at the priority a desktop gives its sound server through rtkit (real-time I/O
    threads, nice -11; we are root here), so a busy machine delays the clients, as on a
    desktop, rather than the server that every client's check depends on. Its clients share
    memory with it through POSIX shm, not memfd: PulseAudio 16's memfd import aborts the
    server now and then when a client goes while its blocks are still referenced (its log:
    "non-registered memfd ID", pulseaudio issue 824; seen in test_backends under stress-ng),
    which would fail whichever test came next. "{dir}" in a
    module's arguments is the server's directory; wait_for names files it makes there."""

    def __init__(self, modules, prefix="csp-pulse-", wait_for=()):
        if not shutil.which("pulseaudio") or not shutil.which("parec"):
            raise RuntimeError("pulseaudio and parec are required (run .ci/deps test)")
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.socket = os.path.join(self.dir, "native")
        self.server = "unix:" + self.socket
        self.env = dict(os.environ, HOME=self.dir, PULSE_RUNTIME_PATH=self.dir, XDG_RUNTIME_DIR=self.dir)
        with open(os.path.join(self.dir, "log"), "wb") as log:  # errors only: see status()
            self.daemon = subprocess.Popen(
                ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--disallow-exit",
                 "--high-priority=yes", "--realtime=yes", "--enable-memfd=no", "--log-target=stderr", "--log-level=error",
                 "--load=module-native-protocol-unix socket=%s auth-anonymous=1" % self.socket]
                + ["--load=" + m.format(dir=self.dir) for m in modules],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 15
        while not all(os.path.exists(os.path.join(self.dir, name)) for name in ("native",) + tuple(wait_for)):
            if self.daemon.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("pulseaudio did not start")
            time.sleep(0.05)

    def status(self):
        """For a failure message: whether the server still runs, and what it logged."""
        code = self.daemon.poll()
        try:
            with open(os.path.join(self.dir, "log"), "rb") as f:
                log = f.read()[-2000:].decode("utf-8", "replace").strip()
        except OSError:
            log = ""
        return "pulseaudio %s; its log: %s" % ("running" if code is None else "exited with %d" % code,
                                                log or "nothing")

    def pactl(self, *args):
        return subprocess.run(["pactl", "--server", self.server] + list(args), env=self.env,
                              capture_output=True, text=True, timeout=30)

    def stop(self):
        """Ends the server even when a test froze it (SIGSTOP)."""
        if self.daemon.poll() is None:
            try:
                os.kill(self.daemon.pid, signal.SIGCONT)
            except OSError:
                pass
            end_process(self.daemon, 5)
        shutil.rmtree(self.dir, ignore_errors=True)


def end_process(proc, grace_s):
    """SIGTERM, then SIGKILL if it is still there after grace_s; reaped either way."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Mock:
    """The mock server in a subprocess, on a port it picks itself."""

    def __init__(self, tls_cert=None, tls_key=None):
        self.dir = tempfile.mkdtemp(prefix="csp-mockrun-")
        port_file = os.path.join(self.dir, "port")
        args = [sys.executable, MOCK, "--port-file", port_file]
        if tls_cert:
            args += ["--tls-cert", tls_cert, "--tls-key", tls_key]
        self.proc = subprocess.Popen(args)
        deadline = time.time() + 15
        while not os.path.exists(port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("mock server did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d/api/v1" % self.port
        self.control = "http://127.0.0.1:%d" % self.port
        self.tls = bool(tls_cert)

    def _call(self, path, body=None):
        if self.tls:
            return None
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def script(self, *rules):
        self._call("/_mock/reset", {})
        self._call("/_mock/script", {"rules": list(rules)})

    def requests(self, path_part="/audio/speech"):
        return [r for r in self._call("/_mock/requests") if path_part in r["path"]]

    def stop(self):
        end_process(self.proc, 5)
        shutil.rmtree(self.dir, ignore_errors=True)


class CliTestCase(unittest.TestCase):
    """Each test gets a fresh HOME with no config."""

    # A test that hangs prints where each thread waits and ends its file's run, long before
    # ctest's 600 s timeout (which shows nothing); a test takes ~60 s at most on a busy machine.
    watchdog_s = 240

    def setUp(self):
        faulthandler.dump_traceback_later(self.watchdog_s, exit=True)
        self.addCleanup(faulthandler.cancel_dump_traceback_later)
        self.home = tempfile.mkdtemp(prefix="csp-home-")
        self.addCleanup(shutil.rmtree, self.home, True)

    def write_config(self, text, name=".openclaw/openclaw.json", mode=0o600):
        """Write a config; by default where OpenClaw looks: ~/.openclaw/openclaw.json."""
        path = os.path.join(self.home, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def env(self, **extra):
        return clean_env(self.home, **extra)

    def assertNoKey(self, *texts):
        for t in texts:
            if isinstance(t, bytes):
                t = t.decode("utf-8", "replace")
            self.assertNotIn(KEY, t)
            self.assertNotIn(KEY[10:26], t)

    def assertNoLeftovers(self, directory):
        # .NAME.clawspeak-parts (paid chunks kept for --resume) is on purpose: test_convert
        left = [f for f in os.listdir(directory) if "clawspeak-" in f and not f.endswith(".clawspeak-parts")]
        self.assertEqual(left, [], "temporary files left behind")


class MockTestCase(CliTestCase):
    """Tests against one mock server per class; each test starts with no rules
    and a config holding the test key and the mock's URL."""

    @classmethod
    def setUpClass(cls):
        cls.mock = Mock()

    @classmethod
    def tearDownClass(cls):
        cls.mock.stop()

    def setUp(self):
        super().setUp()
        self.mock.script()
        self.config_path = self.write_mock_config()

    def write_mock_config(self, extra=""):
        return self.write_config("{models: {providers: {openrouter: {apiKey: '%s', baseUrl: '%s'}}}, %s}"
                                 % (KEY, self.mock.url, extra))
