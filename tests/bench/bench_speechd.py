#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmarks of sd_clawspeak, the speech-dispatcher module (issue 23), under Debian's
speech-dispatcher and a PulseAudio null sink whose monitor is timed as a listener hears
it (bench.py's PulseMonitor). Each figure is beside a baseline measured in the same run,
interleaved, medians of 10. Run: python3 bench_speechd.py [warm stop local]."""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# run by hand from anywhere: the tree's own build, not a path relative to the working
# directory (which found no module, and speech-dispatcher's espeak-ng spoke instead)
os.environ.setdefault("CLAWSPEAK_SOURCE_DIR", ROOT)
os.environ.setdefault("CLAWSPEAK_BUILD_DIR", os.path.join(ROOT, "build"))
os.environ.setdefault("CLAWSPEAK_BIN", os.path.join(ROOT, "build", "clawspeak"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from bench import RESULTS, BIN, KEY, Mock, PulseMonitor, TlsFront, clean_env, percentile, report  # noqa: E402
from test_speechd import LONG, MODULE, Dispatcher  # noqa: E402

RUNS = 10


def setup_home(config):
    home = tempfile.mkdtemp(prefix="csp-bench-sd-")
    os.makedirs(os.path.join(home, ".openclaw"))
    with open(os.path.join(home, ".openclaw", "openclaw.json"), "w") as f:
        f.write(config)
    with open(os.path.join(home, ".asoundrc"), "w") as f:
        f.write("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
    return home


def bench_warm(mock):
    """The second message's first audio through speech-dispatcher (a warm connection) vs
    `clawspeak say` (a new TCP + TLS connection each run), 40 ms each way, 200 ms server."""
    print("warm connection: TLS front 40 ms each way, 200 ms server time, %d runs:" % RUNS)
    front = TlsFront(mock, 40)
    pulse = PulseMonitor()
    sd = None
    try:
        home = setup_home("{models: {providers: {openrouter: {apiKey: '%s'}}}}" % KEY)
        env = front.env(clean_env(home, PULSE_SERVER=pulse.server))
        mock.script({"path": "speech", "first_byte_delay_ms": 200, "canned": True})
        sd = Dispatcher(home, env)
        text = "The first sentence is the one we are waiting for"
        spd = ["spd-say", "-o", "clawspeak", "-w", text]
        say = [BIN, "say", "-q", "--no-wait", text]
        subprocess.run(spd, env=sd.env, capture_output=True)  # the module's first message
        ours, base = [], []
        for _ in range(RUNS):
            ours.append(pulse.first_audio_ms(spd, sd.env))
            base.append(pulse.first_audio_ms(say, env))
        diffs = [b - o for o, b in zip(ours, base)]
        print("  spd-say -o clawspeak: median %.0f ms   clawspeak say: median %.0f ms   "
              "earlier by: median %.0f ms (each run: %s)"
              % (percentile(ours, 50), percentile(base, 50), percentile(diffs, 50),
                 " ".join("%.0f" % d for d in diffs)))
        report("clawspeak say - spd-say first audio, median (>= 70)", -percentile(diffs, 50), -70,
               " ms")
    finally:
        if sd:
            sd.close()
        pulse.stop()
        front.stop()


def bench_stop(mock):
    """STOP to silence: spd-say -S while a long message plays, to the last sound heard."""
    print("stop: spd-say -S to silence on the monitor, %d runs:" % RUNS)
    pulse = PulseMonitor()
    sd = None
    try:
        home = setup_home("{models: {providers: {openrouter: {apiKey: '%s', baseUrl: '%s'}}}}"
                          % (KEY, mock.url))
        env = clean_env(home, PULSE_SERVER=pulse.server)
        mock.script({"path": "speech"})
        sd = Dispatcher(home, env)
        stops, spd_alone = [], []
        for _ in range(RUNS):
            time.sleep(0.4)
            count = len(pulse.sounds)
            p = subprocess.Popen(["spd-say", "-o", "clawspeak", LONG], env=sd.env)
            p.wait()
            deadline = time.time() + 20
            while len(pulse.sounds) == count and time.time() < deadline:
                time.sleep(0.01)
            time.sleep(1.0)
            # ask while sound is playing (not in a pause between words)
            while time.monotonic() - pulse.quiet_since > 0.02 and time.time() < deadline:
                time.sleep(0.002)
            asked = time.monotonic()
            subprocess.run(["spd-say", "-S"], env=sd.env)
            returned = time.monotonic()
            time.sleep(1.0)
            stops.append((pulse.quiet_since - asked) * 1000)
            spd_alone.append((returned - asked) * 1000)
        print("  spd-say -S started -> silence: median %.0f ms, worst %.0f ms (spd-say -S itself "
              "ran %.0f ms, median)" % (percentile(stops, 50), max(stops), percentile(spd_alone, 50)))
        report("STOP to silence, median", percentile(stops, 50), 100, " ms")
        report("STOP to silence, worst", max(stops), 150, " ms")
    finally:
        if sd:
            sd.close()
        pulse.stop()


def bench_local(mock):
    """A local-engine message: spd-say's first audio with clawspeak (no key: espeak-ng)
    vs with speech-dispatcher's own espeak-ng module."""
    print("local engine: spd-say first audio, clawspeak vs speech-dispatcher's espeak-ng "
          "module, %d runs:" % RUNS)
    pulse = PulseMonitor()
    sd = None
    try:
        home = setup_home("{tts: {}}")
        env = clean_env(home, PULSE_SERVER=pulse.server)
        sd = Dispatcher(home, env)
        text = "Hello there, this is the local engine speaking"
        ours_cmd = ["spd-say", "-o", "clawspeak", "-w", text]
        theirs_cmd = ["spd-say", "-o", "espeak-ng", "-w", text]
        subprocess.run(ours_cmd, env=sd.env, capture_output=True)
        subprocess.run(theirs_cmd, env=sd.env, capture_output=True)
        ours, theirs = [], []
        for _ in range(RUNS):
            ours.append(pulse.first_audio_ms(ours_cmd, sd.env))
            theirs.append(pulse.first_audio_ms(theirs_cmd, sd.env))
        o, t = percentile(ours, 50), percentile(theirs, 50)
        print("  clawspeak: median %.0f ms   espeak-ng module: median %.0f ms" % (o, t))
        report("clawspeak / espeak-ng module, first audio", o / t, 1.5, "x")
    finally:
        if sd:
            sd.close()
        pulse.stop()


BENCHES = {"warm": bench_warm, "stop": bench_stop, "local": bench_local}


def main():
    names = sys.argv[1:] or list(BENCHES)
    if not os.path.exists(MODULE):
        sys.exit("no %s: build the tree first (bash .ci/build), or set CLAWSPEAK_BUILD_DIR" % MODULE)
    mock = Mock()
    try:
        for name in names:
            BENCHES[name](mock)
    finally:
        mock.stop()
    print("%d passed, %d failed" % (sum(RESULTS), len(RESULTS) - sum(RESULTS)))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
