#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue 21's device figures ("Must show"), each against a baseline measured in the same
run: every round runs a scenario's commands once each, in a new random order, and the
table gives each command's median over the rounds and the ratio of the medians.

- PulseAudio: a server of our own (bench.py's PulseMonitor: pulseaudio -n with a native
  socket and a 48 kHz null sink, reached through PULSE_SERVER). parec records the null
  sink's monitor with a 2 ms latency; a thread timestamps (monotonic) the parec block in
  which the monitor goes from silence to a sample above 64 (of 32767): the moment a
  listener would hear the first sound, give or take one block (~2 ms). A command's figure
  is that time minus the time just before it was spawned. `clawspeak say TEXT` vs
  `curl -sN ... | mpg123 -q -o pulse -` fetching the same mp3 from the same mock (which
  answers at once from its cache); `clawspeak say --provider local TEXT` vs `espeak-ng TEXT`.
- PipeWire: pipewire, wireplumber and pipewire-pulse under dbus-run-session, with
  XDG_RUNTIME_DIR (and HOME) in a directory of their own, a null sink made with
  `pactl load-module module-null-sink sink_name=bench` and set as the default; the clients
  find the server as on a desktop, through $XDG_RUNTIME_DIR/pulse/native (no PULSE_SERVER).
  Recorded and timed as above. clawspeak vs curl | mpg123 -o pulse.
- ALSA: no sound server (no PULSE_SERVER, XDG_RUNTIME_DIR an empty directory), the system
  ALSA configuration with a ~/.asoundrc that makes `default` ALSA's file plugin on the null
  PCM; bench.py's first_audible_ms reads the file as it grows (every 0.5 ms) and notes when
  the block holding the first sample above 64 was read. clawspeak vs curl | mpg123 -o alsa.
- main to the first request bytes: a loopback relay in front of the mock (tls_front.py's
  pipe) notes when each connection's first bytes arrive; the figure is that minus the time
  just before the spawn, so it includes fork, exec and the dynamic loader. `clawspeak say`
  playing through PulseAudio, and `say -o FILE`. Printed beside them: curl's own figure,
  and the start-to-exit times of /bin/true (spawning) and `clawspeak --version` (spawning
  and the dynamic loader), which give a rough figure from main itself.

Every command's standard error is kept; what any run printed is listed at the end.
Run by hand: python3 tests/bench/devices.py [ROUNDS] [pulse] [pipewire] [alsa]
(ROUNDS defaults to 9; CLAWSPEAK_BIN, default build/clawspeak). Needs `bash .ci/deps test`.
Exit status 1 when a target is missed or a scenario could not be measured."""
import asyncio
import json
import os
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("CLAWSPEAK_BIN", os.path.join(ROOT, "build", "clawspeak"))
os.environ.setdefault("CLAWSPEAK_SOURCE_DIR", ROOT)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from bench import BIN, KEY, Env, Mock, PulseMonitor, clean_env, first_audible_ms  # noqa: E402
from tls_front import close, plain_pipe  # noqa: E402

TEXT = "Hello there."
BODY = json.dumps({"model": "hexgrad/kokoro-82m", "input": TEXT, "voice": "af_alloy",
                   "response_format": "mp3"})


def private_env(url, **extra):
    """A HOME of its own whose config names the key and url (0600: no warning on stderr)."""
    e = Env(types.SimpleNamespace(url=url))
    os.chmod(os.path.join(e.home, ".openclaw", "openclaw.json"), 0o600)
    env = clean_env(e.home, **extra)
    env.pop("PULSE_SERVER", None)
    env.update({k: v for k, v in extra.items() if v is not None})
    return e.home, env


def curl(url, player=None):
    """curl POSTing what clawspeak sends for TEXT, piped into mpg123 -o player."""
    cmd = "curl -sN -X POST -H %s -H 'Content-Type: application/json' --data-binary %s %s/audio/speech" % (
        shlex.quote("Authorization: Bearer " + KEY), shlex.quote(BODY), url)
    return cmd + (" | mpg123 -q -o %s -" % player if player else " -o /dev/null")


class Command:
    """One command of a scenario: how it is measured, its figures, what it printed."""

    def __init__(self, label, cmd, env, measure):
        self.label, self.cmd, self.env, self.measure = label, cmd, env, measure
        self.shell = isinstance(cmd, str)
        self.ms, self.stderr = [], {}

    def run(self, keep=True):
        with tempfile.TemporaryFile() as err:
            ms = self.measure(self.cmd, self.env, self.shell, err)
            err.seek(0)
            text = err.read().decode("utf-8", "replace").strip()
        if text:
            self.stderr[text] = self.stderr.get(text, 0) + 1
        if keep:
            self.ms.append(ms)

    def median(self):
        return statistics.median(self.ms) if self.ms else float("inf")


def run_rounds(commands, rounds, rng):
    """One run of each command not counted (the mock's and the disk's caches warm), then
    rounds in which each runs once, in a new random order; each round's figures printed."""
    print("  " + "   ".join("%d: %s" % (i + 1, c.label) for i, c in enumerate(commands)))
    for c in commands:
        c.run(keep=False)
    for r in range(rounds):
        order = list(commands)
        rng.shuffle(order)
        for c in order:
            c.run()
        print("  round %d/%d, order %s: %s ms" % (r + 1, rounds, "".join(str(commands.index(c) + 1) for c in order),
                                              " ".join("%.0f" % c.ms[-1] for c in commands)), flush=True)


def backend_line(env, extra=()):
    """What `clawspeak say --verbose` says it plays through."""
    p = subprocess.run([BIN, "say", "--verbose"] + list(extra) + [TEXT], env=env, capture_output=True,
                       text=True, timeout=60)
    lines = [ln for ln in p.stderr.splitlines() if "playing through" in ln or "error" in ln.lower()]
    return (lines[0] if lines else "(no 'playing through' line; exit %d)" % p.returncode).replace("clawspeak: ", "")


class FirstBytes:
    """A loopback relay in front of the mock: notes (monotonic) when each connection's first
    bytes arrive, then passes everything through both ways."""

    def __init__(self, backend_port):
        self.backend, self.arrivals = backend_port, []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            server = self.loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        ready.wait(10)
        self.url = "http://127.0.0.1:%d/api/v1" % self.port

    async def _relay(self, reader, writer):
        first = await reader.read(65536)
        if not first:
            close(writer)
            return
        self.arrivals.append(time.monotonic())
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        up_writer.write(first)
        await asyncio.gather(plain_pipe(reader, up_writer), plain_pipe(up_reader, writer))
        close(writer, up_writer)

    def first_bytes_ms(self, cmd, env, shell, err):
        start = time.monotonic()
        subprocess.run(cmd, env=env, shell=shell, stdout=subprocess.DEVNULL, stderr=err, timeout=60)
        later = [t for t in self.arrivals if t > start]
        return (later[0] - start) * 1000 if later else float("inf")


def exit_ms(cmd, env, shell, err):
    start = time.monotonic()
    subprocess.run(cmd, env=env, shell=shell, stdout=subprocess.DEVNULL, stderr=err, timeout=60)
    return (time.monotonic() - start) * 1000


class Unavailable(Exception):
    pass


class PipeWire:
    """pipewire, wireplumber and pipewire-pulse under dbus-run-session in a session (process
    group) of their own, with a null sink named bench as the default sink."""

    def __init__(self, home):
        missing = [t for t in ("dbus-run-session", "pipewire", "wireplumber", "pipewire-pulse", "pactl")
                   if not shutil.which(t)]
        if missing:
            raise Unavailable("not installed: %s (bash .ci/deps test)" % " ".join(missing))
        self.dir = tempfile.mkdtemp(prefix="csp-bench-pw-", dir=home)
        self.env = clean_env(self.dir, XDG_RUNTIME_DIR=self.dir)
        self.env.pop("PULSE_SERVER", None)
        self.log_path = os.path.join(self.dir, "pipewire.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["dbus-run-session", "--", "sh", "-c",
                                      "pipewire & wireplumber & pipewire-pulse & wait"],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        socket_path = os.path.join(self.dir, "pulse", "native")
        self.server = "unix:" + socket_path
        deadline = time.monotonic() + 15
        while not os.path.exists(socket_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.fail("pipewire-pulse made no socket at %s" % socket_path)
            time.sleep(0.05)
        while True:  # wireplumber may still be starting: the module loads once it is up
            p = subprocess.run(["pactl", "load-module", "module-null-sink", "sink_name=bench"],
                               env=self.env, capture_output=True, text=True)
            if p.returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.fail("pactl load-module module-null-sink: %s" % (p.stderr.strip() or p.returncode))
            time.sleep(0.2)
        subprocess.run(["pactl", "set-default-sink", "bench"], env=self.env, check=True)
        info = subprocess.run(["pactl", "info"], env=self.env, capture_output=True, text=True).stdout
        self.name = next((ln.split(": ", 1)[1] for ln in info.splitlines() if ln.startswith("Server Name")),
                         "PipeWire")

    def fail(self, why):
        self.stop()
        with open(self.log_path) as f:
            tail = [ln.rstrip() for ln in f.readlines()[-8:]]
        raise Unavailable(why + ("; its log ends:\n      " + "\n      ".join(tail) if tail else ""))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def scenario_pulse(mock, base, rounds, rng, notes):
    pulse = PulseMonitor()
    relay = FirstBytes(mock.port)
    try:
        runtime = tempfile.mkdtemp(prefix="runtime-", dir=base)  # no pulse/native in it
        _, env = private_env(mock.url, PULSE_SERVER=pulse.server, XDG_RUNTIME_DIR=runtime)
        _, relay_env = private_env(relay.url, PULSE_SERVER=pulse.server, XDG_RUNTIME_DIR=runtime)
        out = os.path.join(base, "out.wav")
        notes.append("PulseAudio: clawspeak says: " + backend_line(env))
        notes.append("PulseAudio: clawspeak --provider local says: " + backend_line(env, ["--provider", "local"]))
        heard = lambda cmd, env, shell, err: pulse.first_audio_ms(cmd, env, shell, stderr=err)  # noqa: E731
        cmds = [Command("clawspeak say", [BIN, "say", TEXT], env, heard),
                Command("curl | mpg123 -o pulse", curl(mock.url, "pulse"), env, heard),
                Command("clawspeak say --provider local", [BIN, "say", "--provider", "local", TEXT], env, heard),
                Command("espeak-ng", ["espeak-ng", TEXT], env, heard),
                Command("clawspeak say (to request bytes)", [BIN, "say", TEXT], relay_env, relay.first_bytes_ms),
                Command("clawspeak say -o FILE (to request bytes)", [BIN, "say", "-o", out, TEXT], relay_env,
                        relay.first_bytes_ms),
                Command("curl (to request bytes)", curl(relay.url), relay_env, relay.first_bytes_ms),
                Command("clawspeak --version (start to exit)", [BIN, "--version"], relay_env, exit_ms),
                Command("/bin/true (start to exit)", ["/bin/true"], relay_env, exit_ms)]
        run_rounds(cmds, rounds, rng)
        return cmds
    finally:
        pulse.stop()
        relay.loop.call_soon_threadsafe(relay.loop.stop)


def scenario_pipewire(mock, base, rounds, rng, notes):
    pw = PipeWire(base)
    pulse = None
    try:
        pulse = PulseMonitor(server=pw.server, env=pw.env)
        _, env = private_env(mock.url, XDG_RUNTIME_DIR=pw.dir)
        notes.append("PipeWire (%s): clawspeak says: %s" % (pw.name, backend_line(env)))
        heard = lambda cmd, env, shell, err: pulse.first_audio_ms(cmd, env, shell, stderr=err)  # noqa: E731
        cmds = [Command("clawspeak say", [BIN, "say", TEXT], env, heard),
                Command("curl | mpg123 -o pulse", curl(mock.url, "pulse"), env, heard)]
        run_rounds(cmds, rounds, rng)
        return cmds
    finally:
        if pulse:
            pulse.stop()
        pw.stop()


def scenario_alsa(mock, base, rounds, rng, notes):
    runtime = tempfile.mkdtemp(prefix="runtime-", dir=base)  # empty: no sound server
    home, env = private_env(mock.url, XDG_RUNTIME_DIR=runtime)
    capture = os.path.join(home, "alsa.raw")
    with open(os.path.join(home, ".asoundrc"), "w") as f:
        f.write('pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % capture)
    notes.append("ALSA: clawspeak says: " + backend_line(env))
    written = lambda cmd, env, shell, err: first_audible_ms(cmd, env, capture, shell=shell, stderr=err)  # noqa: E731
    cmds = [Command("clawspeak say", [BIN, "say", TEXT], env, written),
            Command("curl | mpg123 -o alsa", curl(mock.url, "alsa"), env, written)]
    run_rounds(cmds, rounds, rng)
    return cmds


SCENARIOS = {"pulse": ("PulseAudio 16, own server, null sink monitor (parec, 2 ms)", scenario_pulse),
             "pipewire": ("PipeWire's pulse server under dbus-run-session, null sink monitor", scenario_pipewire),
             "alsa": ("ALSA default, no sound server: system config + ~/.asoundrc file plugin", scenario_alsa)}

# (scenario, ours, baseline or None for an absolute figure, target, what)
TARGETS = [("pulse", "clawspeak say", "curl | mpg123 -o pulse", 0.7, "clawspeak / curl | mpg123 -o pulse"),
           ("pulse", "clawspeak say --provider local", "espeak-ng", 1.7, "local engine / espeak-ng"),
           ("pipewire", "clawspeak say", "curl | mpg123 -o pulse", 0.45, "clawspeak / curl | mpg123 -o pulse"),
           ("alsa", "clawspeak say", "curl | mpg123 -o alsa", 1.0, "clawspeak / curl | mpg123 -o alsa"),
           ("pulse", "clawspeak say (to request bytes)", None, 10, "main to first request bytes, say (playing)"),
           ("pulse", "clawspeak say -o FILE (to request bytes)", None, 10, "main to first request bytes, say -o FILE")]


def main():
    args = sys.argv[1:]
    rounds = int(args.pop(0)) if args and args[0].isdigit() else 9
    names = args or list(SCENARIOS)
    seed = int(time.time())
    rng = random.Random(seed)
    print("clawspeak device benchmarks (issue 21): %s, %d rounds, each round's order shuffled (seed %d)"
          % (BIN, rounds, seed))
    print("text %r; the mock answers at once (mp3 from its cache); times from spawn, medians" % TEXT)
    base = tempfile.mkdtemp(prefix="csp-bench-devices-")
    mock = Mock()
    results, notes, failed = {}, [], []
    try:
        for name in names:
            title, fn = SCENARIOS[name]
            print("%s:" % title, flush=True)
            try:
                results[name] = {c.label: c for c in fn(mock, base, rounds, rng, notes)}
            except Unavailable as e:
                failed.append("%s not measured: %s" % (name, e))
                print("  NOT MEASURED: %s" % e, flush=True)
    finally:
        mock.stop()
        shutil.rmtree(base, ignore_errors=True)

    print()
    print("  %-64s %9s %15s" % ("command", "median ms", "min-max ms"))
    for name in names:
        print(SCENARIOS[name][0])
        if name not in results:
            print("  (not measured)")
            continue
        for c in results[name].values():
            print("    %-62s %9.1f %7.1f-%.1f" % (c.label, c.median(), min(c.ms), max(c.ms)))
    print()
    print("  %-64s %10s %-12s" % ("figure", "value", "target"))
    ok_all = not failed
    for name, ours, theirs, target, what in TARGETS:
        if name not in names:
            continue
        if name not in results:
            print("  %-64s %9s %15s NOT MEASURED" % ("%s: %s" % (name, what), "-", ""))
            ok_all = False
            continue
        value = results[name][ours].median()
        unit = " ms"
        if theirs:
            value, unit = value / results[name][theirs].median(), "x"
        ok = value <= target
        ok_all = ok_all and ok
        shown = ("%7.3f" if theirs else "%7.1f") % value
        print("  %-64s %s%-3s %-12s %s" % ("%s: %s" % (name, what), shown, unit, "<= %g%s" % (target, unit),
                                          "ok" if ok else "MISS"))
    if "pulse" in results:
        r = {label: c.median() for label, c in results["pulse"].items()}
        version = r["clawspeak --version (start to exit)"]
        print("  reference: spawning /bin/true %.1f ms; curl's start to request bytes %.1f ms; clawspeak --version\n"
              "  start to exit %.1f ms, so from main (minus the loader's share, roughly): say %.1f ms, say -o FILE %.1f ms"
              % (r["/bin/true (start to exit)"], r["curl (to request bytes)"], version,
                 r["clawspeak say (to request bytes)"] - version, r["clawspeak say -o FILE (to request bytes)"] - version))
    print()
    for n in notes:
        print(n)
    for f in failed:
        print(f)
    printed = [(name, c.label, text, count) for name in results for c in results[name].values()
               for text, count in c.stderr.items()]
    print("standard error:" + ("" if printed else " nothing from any run"))
    for name, label, text, count in printed:
        print("  %s, %s (%d of %d runs):\n    %s" % (name, label, count, rounds + 1,
                                                   text.replace("\n", "\n    ")[:600]))
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
