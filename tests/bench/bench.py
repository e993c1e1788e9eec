#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""clawspeak benchmarks. Each prints figures and a ratio against a baseline
measured in the same run, on the same mock server. Run: ctest -L bench
(or python3 bench.py [name...]). Targets from the issues are printed beside
each ratio; a miss prints MISS and makes the run fail."""
import json
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import BIN, KEY, Mock, PulseAudio, clean_env  # noqa: E402

RESULTS = []


def report(name, value, target, unit=""):
    ok = value <= target
    RESULTS.append(ok)
    print("  %-58s %8.3f%s  (target <= %g%s) %s" % (name, value, unit, target, unit, "ok" if ok else "MISS"))


def paragraph(n_chars, seed=0):
    words = ["speech", "streams", "while", "the", "model", "writes", "and", "every", "chunk",
             "arrives", "in", "order", "without", "gaps", "between", "sentences"]
    out, i = [], seed
    while sum(len(w) + 1 for w in out) < n_chars:
        sentence = " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(8 + i % 6))
        out.append(sentence.capitalize() + ".")
        i += 1
    return " ".join(out)[:n_chars]


class Env:
    def __init__(self, mock):
        self.home = tempfile.mkdtemp(prefix="csp-bench-")
        os.makedirs(os.path.join(self.home, ".openclaw"))
        with open(os.path.join(self.home, ".openclaw", "openclaw.json"), "w") as f:
            f.write("{models: {providers: {openrouter: {apiKey: '%s', baseUrl: '%s'}}}}" % (KEY, mock.url))
        self.env = clean_env(self.home)


def first_byte_ms(cmd, env, shell=False):
    """Milliseconds from start until the command writes its first byte to stdout."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, shell=shell)
    p.stdout.read(1)
    t = (time.monotonic() - start) * 1000
    p.stdout.read()
    p.wait()
    return t


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_first_audio(mock, e):
    print("time to first audio, 300 ms first-byte delay, real-time stream:")
    text = "The first sentence is the one we are waiting for. " + paragraph(400)
    mock.script({"path": "speech", "first_byte_delay_ms": 300, "bytes_per_s": 8000})
    subprocess.run([BIN, "say", "-q", "-o", os.devnull, "--format", "raw", text], env=e.env)  # warm the mock's cache
    body = '{"model":"hexgrad/kokoro-82m","input":"%s","voice":"af_alloy","response_format":"mp3"}' % text
    ours, base = [], []
    for _ in range(3):
        ours.append(first_byte_ms([BIN, "say", "-q", "-o", "-", "--format", "raw", text], e.env))
        base.append(first_byte_ms(
            "curl -sN -X POST -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' "
            "--data-binary '%s' %s/audio/speech | mpg123 -q -s -" % (KEY, body, mock.url), e.env, shell=True))
    ours_ms, base_ms = min(ours), min(base)
    print("  clawspeak say -o - : %.0f ms   curl -sN | mpg123 - : %.0f ms" % (ours_ms, base_ms))
    report("clawspeak / (curl | mpg123)", ours_ms / base_ms, 0.8, "x")
    report("clawspeak minus the server's first-byte delay", ours_ms - 300, 50, " ms")


def bench_concurrency(mock, e):
    print("20,000 characters to FLAC, concurrent vs one request at a time:")
    text_path = os.path.join(e.home, "book20k.txt")
    with open(text_path, "w") as f:
        f.write(paragraph(20000))
    mock.script({"path": "speech", "first_byte_delay_ms": 500, "bytes_per_s": 400000})
    out = os.path.join(e.home, "book.flac")
    subprocess.run([BIN, "say", "-q", "-f", text_path, "-o", out], env=e.env, check=True)  # warm
    times = {}
    for jobs in ("1", "3"):
        start = time.monotonic()
        subprocess.run([BIN, "say", "-q", "-j", jobs, "-f", text_path, "-o", out], env=e.env, check=True)
        times[jobs] = time.monotonic() - start
    print("  --jobs 1: %.2f s   --jobs 3 (default): %.2f s" % (times["1"], times["3"]))
    report("concurrent / one at a time", times["3"] / times["1"], 0.45, "x")


def peak_rss_mib(cmd, env):
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return int(out.stderr.strip().splitlines()[-1]) / 1024.0


def bench_memory(mock, e):
    print("peak memory to FLAC (max RSS):")
    mock.script()
    sizes = {}
    for n in (20000, 200000):
        path = os.path.join(e.home, "text%d.txt" % n)
        with open(path, "w") as f:
            f.write(paragraph(n, seed=n))
        sizes[n] = peak_rss_mib([BIN, "say", "-q", "-f", path, "-o", os.path.join(e.home, "m.flac")], e.env)
    print("  20,000 chars: %.1f MiB   200,000 chars: %.1f MiB" % (sizes[20000], sizes[200000]))
    report("200,000 chars peak RSS", sizes[200000], 20, " MiB")
    report("200,000 / 20,000 chars peak RSS", sizes[200000] / sizes[20000], 1.2, "x")


def bench_decode_cpu(mock, e):
    print("CPU time to decode a long mp3 and write WAV:")
    text = paragraph(4000)
    mock.script()
    out = os.path.join(e.home, "long.wav")
    subprocess.run([BIN, "say", "-q", "-o", out, "--max-text-length", "4096", text], env=e.env, check=True)
    mp3 = os.path.join(e.home, "long.mp3")
    subprocess.run("curl -s -X POST -H 'Content-Type: application/json' --data-binary "
                   "'{\"model\":\"m\",\"input\":\"%s\",\"voice\":\"v\",\"response_format\":\"mp3\"}' %s/audio/speech -o %s"
                   % (text, mock.url, mp3), shell=True, check=True, env=e.env)
    ours, base = [], []
    for _ in range(3):
        before = child_cpu()
        subprocess.run([BIN, "say", "-q", "-o", out, "--max-text-length", "4096", text], env=e.env, check=True)
        ours.append(child_cpu() - before)
        before = child_cpu()
        subprocess.run(["mpg123", "-q", "-w", out, mp3], check=True)
        base.append(child_cpu() - before)
    print("  clawspeak: %.3f s CPU   mpg123 -w: %.3f s CPU  (mp3 of %.0f s audio)"
          % (min(ours), min(base), os.path.getsize(mp3) / 8000.0))
    report("clawspeak / mpg123 -w CPU time", min(ours) / min(base), 1.2, "x")


def bench_mp3_passthrough(mock, e):
    """Issue 12: mp3 responses into an mp3 file pass through (no decode, no encode)."""
    print("CPU time, mp3 responses to an mp3 file: passthrough vs decode + encode:")
    text = paragraph(8000, seed=3)
    mock.script()
    out = os.path.join(e.home, "long.mp3")
    args = [BIN, "say", "-q", "-o", out, text]
    subprocess.run(args, env=e.env, check=True)  # warm the mock's cache
    old_env = dict(e.env, CLAWSPEAK_MP3_REENCODE="1")
    ours, base = [], []
    for _ in range(3):
        before = child_cpu()
        subprocess.run(args, env=e.env, check=True)
        ours.append(child_cpu() - before)
        before = child_cpu()
        subprocess.run(args, env=old_env, check=True)
        base.append(child_cpu() - before)
    print("  passthrough: %.3f s CPU   decode + encode (CLAWSPEAK_MP3_REENCODE=1): %.3f s CPU"
          "  (%.0f s of audio)" % (min(ours), min(base), os.path.getsize(out) / 8000.0))
    report("mp3 passthrough / decode + encode CPU time", min(ours) / min(base), 0.2, "x")


def bench_ask_first_audio(mock, e):
    print("ask: time to first audio, 40-word reply at 50 ms a token:")
    reply = ("The first sentence is short and done. Then " + " ".join("word%d" % i for i in range(27))
             + " and then the reply ends.")
    mock.script({"path": "chat", "reply": reply, "token_ms": 50})
    subprocess.run([BIN, "say", "-q", "-o", os.devnull, "--format", "raw", reply], env=e.env)  # warm

    def first_audio(cmd):
        p = subprocess.run(cmd, env=e.env, capture_output=True, text=True)
        m = re.search(r"first audio after (\d+) ms", p.stderr)
        return int(m.group(1))

    ours, base = [], []
    for _ in range(3):
        ours.append(first_audio([BIN, "ask", "--verbose", "--speak", "-o", os.path.join(e.home, "a.raw"),
                                 "--format", "raw", "hi"]))
        # OpenClaw's way: wait for the whole reply, then speak it
        start = time.monotonic()
        subprocess.run([BIN, "ask", "--no-speak", "hi"], env=e.env, capture_output=True, check=True)
        reply_ms = (time.monotonic() - start) * 1000
        base.append(reply_ms + first_audio([BIN, "say", "--verbose", "-o", os.path.join(e.home, "b.raw"),
                                            "--format", "raw", reply]))
    print("  streamed: %d ms   after the whole reply: %.0f ms" % (min(ours), min(base)))
    report("streamed / speak-after-reply", min(ours) / min(base), 0.35, "x")


def bench_config_scale(mock, e):
    """Issue 9: a config with many keys parses in linear time, well under a second."""
    print("config parse time, keys in one object (clawspeak config):")

    def parse_ms(n):
        path = os.path.join(e.home, "scale-%d.json5" % n)
        with open(path, "w") as f:
            f.write('{bulk: {' + ",".join('"k%d": %d' % (i, i) for i in range(n)) + '}}')
        best = None
        for _ in range(3):
            start = time.monotonic()
            subprocess.run([BIN, "config", "--config", path], env=e.env, capture_output=True, check=True)
            t = (time.monotonic() - start) * 1000
            best = t if best is None else min(best, t)
        return best

    empty, small, big, huge = parse_ms(0), parse_ms(100000), parse_ms(400000), parse_ms(700000)
    print("  no keys: %.0f ms   100,000 keys: %.0f ms   400,000: %.0f ms   700,000 (13 MB): %.0f ms"
          % (empty, small, big, huge))
    report("100,000 keys, parse time", small, 1000, " ms")
    report("(400k - empty) / (100k - empty): linear is ~4", (big - empty) / max(small - empty, 1), 6, "x")


def bench_slow_producer(mock, e):
    """Issue 10: a producer that writes its first sentence at once and the rest 4 s later."""
    print("slow producer (first sentence at once, the rest after 4 s), server first byte 200 ms:")
    first = "The agent has started working on your request. "
    rest = paragraph(300)
    mock.script({"path": "speech", "first_byte_delay_ms": 200})
    subprocess.run([BIN, "say", "-q", "-o", os.devnull, "--format", "raw", first], env=e.env)  # warm

    def measure(cmd, shell=False):
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=e.env, shell=shell)
        p.stdin.write(first.encode())
        p.stdin.flush()
        got = {}

        def reader():
            p.stdout.read(1)
            got["t"] = (time.monotonic() - start) * 1000
            p.stdout.read()
        import threading
        t = threading.Thread(target=reader)
        t.start()
        time.sleep(4)
        p.stdin.write(rest.encode())
        p.stdin.close()
        t.join(60)
        p.wait()
        return got.get("t", float("inf"))

    ours = min(measure([BIN, "say", "-q", "-o", "-", "--format", "raw"]) for _ in range(3))
    # curl needs the whole body before it can send: the text must end first
    base = measure("python3 -c 'import json,sys; print(json.dumps({\"model\": \"m\", \"voice\": \"v\", "
                   "\"response_format\": \"mp3\", \"input\": sys.stdin.read()}))' | curl -sN -X POST "
                   "-H 'Content-Type: application/json' --data-binary @- %s/audio/speech | mpg123 -q -s -"
                   % mock.url, shell=True)
    print("  clawspeak: first audio %.0f ms   curl | mpg123 on the whole text: %.0f ms" % (ours, base))
    report("first audio minus (first sentence at 0 ms + 200 ms server delay)", ours - 200, 50, " ms")
    report("clawspeak / (curl | mpg123)", ours / base, 0.2, "x")


def bench_stream_memory(mock, e):
    """Issue 10: peak RSS does not grow with the input (canned audio: no synthesis cost)."""
    print("peak memory, text to FLAC through a pipe, mock in canned-audio mode:")
    mock.script({"path": "speech", "canned": True})
    sentence = "This is one sentence of a very long book that streams through clawspeak. "
    results = {}
    for mb in (0.5, 5, 50):
        path = os.path.join(e.home, "book-%s.txt" % mb)
        with open(path, "w") as f:
            f.write(sentence * int(mb * 1e6 / len(sentence)))
        start = time.monotonic()
        results[mb] = peak_rss_mib([BIN, "say", "-q", "-f", path, "-o", os.path.join(e.home, "s.flac")], e.env)
        print("  %5.1f MB: %.1f MiB peak RSS, %.0f s" % (mb, results[mb], time.monotonic() - start))
        os.unlink(path)
    # 50 MB on a pipe, interrupted after a few seconds
    path = os.path.join(e.home, "book-pipe.txt")
    with open(path, "w") as f:
        f.write(sentence * int(50e6 / len(sentence)))
    p = subprocess.Popen("exec /usr/bin/time -f %%M %s say -q -o %s < %s"
                         % (BIN, os.path.join(e.home, "i.flac"), path), shell=True, env=e.env,
                         stderr=subprocess.PIPE)
    time.sleep(5)
    subprocess.run(["pkill", "-INT", "-f", "say -q -o %s" % os.path.join(e.home, "i.flac")])
    _, err = p.communicate(timeout=60)
    os.unlink(path)
    interrupted = int(err.decode().strip().splitlines()[-1]) / 1024.0
    print("  50 MB on a pipe, interrupted after 5 s: %.1f MiB peak RSS" % interrupted)
    for mb in (0.5, 5, 50):
        report("%.1f MB peak RSS" % mb, results[mb], 25, " MiB")
    report("50 MB piped, interrupted, peak RSS", interrupted, 25, " MiB")
    report("50 MB / 0.5 MB peak RSS", results[50] / results[0.5], 1.2, "x")


class TlsFront:
    """tests/bench/tls_front.py in front of the mock: openrouter.ai on a throwaway
    certificate, one_way_ms each way (a new connection held one round trip)."""

    def __init__(self, mock, one_way_ms):
        self.dir = tempfile.mkdtemp(prefix="csp-front-")
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "tls_front.py"), "--backend",
                                      str(mock.port), "--one-way-ms", str(one_way_ms),
                                      "--port-file", port_file, "--cert-dir", self.dir])
        deadline = time.time() + 15
        while not os.path.exists(port_file):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("TLS front did not start")
            time.sleep(0.02)
        self.port = int(open(port_file).read())
        self.cert = os.path.join(self.dir, "cert.pem")
        self.connect_to = "openrouter.ai:443:127.0.0.1:%d" % self.port

    def env(self, base_env):
        env = dict(base_env, CLAWSPEAK_CONNECT_TO=self.connect_to, CLAWSPEAK_CA_FILE=self.cert)
        return env

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed_pipe(cmd, env, first=None, rest=None, gap_s=0.0):
    """Milliseconds from start to the first byte on stdout; optionally write first to
    stdin at once and rest after gap_s (a slow producer)."""
    import threading
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if first is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    got = {}

    def reader():
        if p.stdout.read(1):
            got["t"] = (time.monotonic() - start) * 1000
        p.stdout.read()

    t = threading.Thread(target=reader)
    t.start()
    if first is not None:
        p.stdin.write(first.encode())
        p.stdin.flush()
        time.sleep(gap_s)
        p.stdin.write(rest.encode())
        p.stdin.close()
    err = p.stderr.read().decode("utf-8", "replace")
    t.join(60)
    p.wait()
    return got.get("t", float("inf")), err


TIMING = re.compile(r"POST \S+/audio/speech: .*?connect (\d+) ms, TLS (\d+) ms, first byte (\d+) ms")


def bench_real_network(mock, e, one_way_ms=40, bars=True):
    """Issue 13 item 6: latency through a TLS front emulating a real network."""
    rtt = 2 * one_way_ms
    print("real network: TLS front, %d ms each way, 200 ms server time, 10 runs:" % one_way_ms)
    front = TlsFront(mock, one_way_ms)
    try:
        # the default base URL (https://openrouter.ai/api/v1), reached through the front
        cfg_home = tempfile.mkdtemp(prefix="csp-bench-net-")
        os.makedirs(os.path.join(cfg_home, ".openclaw"))
        with open(os.path.join(cfg_home, ".openclaw", "openclaw.json"), "w") as f:
            f.write("{models: {providers: {openrouter: {apiKey: '%s'}}}}" % KEY)
        env = front.env(clean_env(cfg_home))
        text = "The first sentence is the one we are waiting for."
        mock.script({"path": "speech", "first_byte_delay_ms": 200, "canned": True},
                    {"path": "chat", "token_ms": 20,
                     "reply": "Here is the answer you asked for. It has a second sentence too."})
        body = '{"model":"hexgrad/kokoro-82m","input":"%s","voice":"af_alloy","response_format":"mp3"}' % text
        curl = ["curl", "-sN", "--connect-to", front.connect_to, "--cacert", front.cert, "-X", "POST",
                "-H", "Authorization: Bearer " + KEY, "-H", "Content-Type: application/json",
                "--data-binary", body, "https://openrouter.ai/api/v1/audio/speech"]
        say = [BIN, "say", "-q", "-o", "-", "--format", "raw", text]
        timed_pipe(say, env)  # warm the mock
        diffs, ours, base = [], [], []
        for _ in range(10):
            c, _ = timed_pipe(curl, env)
            s, _ = timed_pipe(say, env)
            base.append(c)
            ours.append(s)
            diffs.append(s - c)
        print("  curl first byte: median %.0f ms   say first audio: median %.0f ms  (RTT %d ms)"
              % (percentile(base, 50), percentile(ours, 50), rtt))
        print("  say first audio - curl first byte: median %+.0f ms, p90 %+.0f ms"
              % (percentile(diffs, 50), percentile(diffs, 90)))
        # a slow producer: the first sentence after 300 ms on a pipe (the connection warms meanwhile)
        piped, pipe_diffs = [], []
        for i in range(10):
            s, _ = timed_pipe([BIN, "say", "-q", "-o", "-", "--format", "raw"], env,
                              first="", rest=text + "\n", gap_s=0.3)
            piped.append(s - 300)
            pipe_diffs.append(s - 300 - base[i])
        print("  piped, text after 300 ms: first audio - 300 ms: median %.0f ms, p90 %.0f ms "
              "(curl's full first byte: %.0f ms)" % (percentile(piped, 50), percentile(piped, 90),
                                                    percentile(base, 50)))
        # ask: the first speech request's connect + TLS time, from --verbose
        connects, asks = [], []
        for _ in range(10):
            p = subprocess.run([BIN, "ask", "--verbose", "--speak", "-o", os.path.join(cfg_home, "a.raw"),
                                "--format", "raw", "hi"], env=env, capture_output=True, text=True)
            m = TIMING.search(p.stderr)
            if m:
                connects.append(int(m.group(1)) + int(m.group(2)))
            fa = re.search(r"first audio after (\d+) ms", p.stderr)
            if fa:
                asks.append(int(fa.group(1)))
        if connects:
            print("  ask: first speech request connect + TLS: median %.0f ms, max %.0f ms"
                  % (percentile(connects, 50), max(connects)))
        else:
            print("  ask: first speech request connect + TLS: not logged by this build")
        if asks:
            print("  ask: first audio after: median %.0f ms" % percentile(asks, 50))
        if bars:
            report("say first audio - curl first byte, median", percentile(diffs, 50), 15, " ms")
            report("say first audio - curl first byte, p90", percentile(diffs, 90), 25, " ms")
            report("ask first speech request connect + TLS, max", max(connects) if connects else 1e9, 0, " ms")
    finally:
        front.stop()


def bench_real_network_far(mock, e):
    """The same at 150 ms each way: the cost grows by round trips, not by more."""
    bench_real_network(mock, e, one_way_ms=150, bars=False)


def first_audible_ms(cmd, env, capture, shell=False, timeout_s=10.0, floats=False,
                     stderr=subprocess.DEVNULL):
    """Milliseconds from spawn until a sample above the noise floor reaches capture, the raw
    file (s16, or float with floats) that ALSA's file plugin writes as the device plays (the
    time the block holding it was read). stderr: where the command's standard error goes."""
    open(capture, "wb").close()
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, env=env, shell=shell)
    seen, found = 0, None
    with open(capture, "rb") as f:
        while found is None and time.monotonic() - start < timeout_s:
            block = f.read()
            read_at = time.monotonic()
            if not block:
                if p.poll() is not None and not f.read(1):
                    break
                time.sleep(0.0005)
                continue
            width = 4 if floats else 2
            for i in range(0, len(block) - width + 1, width):
                v = struct.unpack_from("<f", block, i)[0] * 32768 if floats else \
                    int.from_bytes(block[i:i + 2], "little", signed=True)
                if abs(v) > 64:
                    found = (read_at - start) * 1000
                    break
            seen += len(block)
    p.wait()
    return found if found is not None else float("inf")


def bench_local_first_audio(mock, e):
    """Issue 12: the local engine's first audio against espeak-ng's own, both into one ALSA
    file device; and the time before main (the dynamic loader) on its own."""
    print("local engine first audio into an ALSA file device (median of 7):")
    capture = os.path.join(e.home, "alsa-capture.raw")
    device = 'pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % capture
    with open(os.path.join(e.home, ".asoundrc"), "w") as f:
        f.write(device)
    own_world = os.path.join(e.home, "alsa-only-the-file-device.conf")
    with open(own_world, "w") as f:
        f.write(device + "pcm.null { type null }\n")
    env = dict(e.env, PULSE_SERVER="unix:/nonexistent")  # espeak-ng's pcaudiolib: ALSA, as for us
    text = "Hello there, this is the local engine speaking."

    def median_pair(env):
        ours, theirs = [], []
        for _ in range(7):
            ours.append(first_audible_ms([BIN, "say", "-q", "--provider", "local", text], env, capture))
            theirs.append(first_audible_ms(["espeak-ng", text], env, capture))
        return sorted(ours)[3], sorted(theirs)[3]

    loader = []
    for _ in range(15):
        start = time.monotonic()
        subprocess.run([BIN, "--version"], stdout=subprocess.DEVNULL, env=env)
        loader.append((time.monotonic() - start) * 1000)
    # PortAudio 19.6 opens every PCM the ALSA configuration defines when it starts; with
    # libasound2-plugins (a52, lavrate, jack, pulse...) that alone is ~50 ms
    ours_ms, theirs_ms = median_pair(env)
    print("  system ALSA config:      clawspeak --provider local %.1f ms   espeak-ng %.1f ms" % (ours_ms, theirs_ms))
    report("clawspeak local / espeak-ng (system ALSA config)", ours_ms / theirs_ms, 4.0, "x")
    ours_ms, theirs_ms = median_pair(dict(env, ALSA_CONFIG_PATH=own_world))
    print("  only the file device:    clawspeak --provider local %.1f ms   espeak-ng %.1f ms" % (ours_ms, theirs_ms))
    report("clawspeak local / espeak-ng (ALSA config of one device)", ours_ms / theirs_ms, 2.0, "x")
    print("  before main: clawspeak --version (loading the libraries, no work) %.1f ms" % sorted(loader)[7])


def bench_resample_first_audio(mock, e):
    """Issue 12: first audio through a device fixed at 48 kHz (the API sends 24 kHz: the
    stream opens at the device's rate and libsoxr resamples) against one fixed at 24 kHz.
    Both are JACK servers with the dummy driver behind ALSA's jack plugin and file plugin."""
    print("first audio, 24 kHz speech into a device fixed at 48 kHz vs one at 24 kHz (median of 7):")
    text = "The device runs at its own rate. " + paragraph(200)
    mock.script({"path": "speech"})
    subprocess.run([BIN, "say", "-q", "-o", os.devnull, "--format", "raw", text], env=e.env)  # warm the mock
    figures = {}
    for rate in (24000, 48000):
        server = "csp-bench-%d-%d" % (os.getpid(), rate)
        env = dict(e.env, JACK_DEFAULT_SERVER=server, JACK_NO_AUDIO_RESERVATION="1")
        jack = subprocess.Popen(["jackd", "--no-realtime", "-n", server, "-d", "dummy", "-r", str(rate), "-p", "256"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while subprocess.run(["jack_lsp", "-s", server], env=env, capture_output=True).returncode != 0:
                time.sleep(0.1)
            capture = os.path.join(e.home, "jack-%d.raw" % rate)
            with open(os.path.join(e.home, ".asoundrc"), "w") as f:
                f.write('pcm.!default { type file slave.pcm "fixed" file "%s" format "raw" }\n'
                        'pcm.fixed { type jack playback_ports { 0 system:playback_1 } }\n' % capture)
            runs = [first_audible_ms([BIN, "say", "-q", "--no-wait", text], env, capture, floats=True)
                    for _ in range(7)]
            figures[rate] = sorted(runs)[3]
        finally:
            jack.terminate()
            jack.wait()
            os.remove(os.path.join(e.home, ".asoundrc"))
    print("  device at 24 kHz: %.1f ms   device at 48 kHz (resampled): %.1f ms" % (figures[24000], figures[48000]))
    report("48 kHz-only device minus 24 kHz device", figures[48000] - figures[24000], 10, " ms")


def bench_device_overhead(mock, e):
    """Issue 12: first audio into a device with the mock answering at once, so the ratio
    compares the clients' own overheads: clawspeak (PortAudio started at main, beside the
    config and the request) vs curl | mpg123 -o alsa, both into one ALSA file device."""
    print("first audio into an ALSA file device, the mock answering at once (median of 7):")
    capture = os.path.join(e.home, "overhead.raw")
    device = 'pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % capture
    with open(os.path.join(e.home, ".asoundrc"), "w") as f:
        f.write(device)
    own_world = os.path.join(e.home, "alsa-one-device.conf")
    with open(own_world, "w") as f:
        f.write(device + "pcm.null { type null }\n")
    text = "The first sentence is the one we are waiting for. " + paragraph(200)
    mock.script({"path": "speech"})
    subprocess.run([BIN, "say", "-q", "-o", os.devnull, "--format", "raw", text], env=e.env)  # warm the mock
    body = '{"model":"hexgrad/kokoro-82m","input":"%s","voice":"af_alloy","response_format":"mp3"}' % text
    curl = ("curl -sN -X POST -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' "
            "--data-binary '%s' %s/audio/speech | mpg123 -q -o alsa -" % (KEY, body, mock.url))
    try:
        for label, env in (("system ALSA config", e.env), ("ALSA config of one device", dict(e.env, ALSA_CONFIG_PATH=own_world))):
            ours = sorted(first_audible_ms([BIN, "say", "-q", "--no-wait", text], env, capture) for _ in range(7))[3]
            base = sorted(first_audible_ms(curl, env, capture, shell=True) for _ in range(7))[3]
            print("  %-26s clawspeak %.1f ms   curl | mpg123 -o alsa %.1f ms" % (label + ":", ours, base))
            report("clawspeak / (curl | mpg123), %s" % label, ours / base, 0.25, "x")
    finally:
        os.remove(os.path.join(e.home, ".asoundrc"))


class PulseMonitor:
    """A PulseAudio server of our own with a null sink; a thread reads its monitor through
    parec and notes when each sound begins, so first audio is timed as a listener hears it.
    With server (and env to reach it), another pulse server already running is listened to
    instead (devices.py: PipeWire's), whose default sink is a null sink named bench."""

    def __init__(self, server=None, env=None):
        import threading
        self.daemon = None
        if server:
            self.server, self.env = server, env
        else:
            self.daemon = PulseAudio(["module-null-sink sink_name=bench rate=48000 channels=2"],
                                     prefix="csp-bench-pulse-")
            self.server, self.env = self.daemon.server, self.daemon.env
        self.rec = subprocess.Popen(["parec", "--server", self.server, "-d", "bench.monitor", "--raw",
                                     "--format=s16le", "--rate=48000", "--channels=1", "--latency-msec=2"],
                                    env=self.env, stdout=subprocess.PIPE)
        self.sounds = []  # monotonic times at which the monitor went from silence to sound
        self.quiet_since = time.monotonic()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(0.5)

    def _read(self):
        loud = False
        while True:
            block = self.rec.stdout.read1(4096)
            if not block:
                return
            now = time.monotonic()
            peak = max((abs(v) for v in struct.unpack("<%dh" % (len(block) // 2), block[: len(block) // 2 * 2])), default=0)
            if peak > 64 and not loud:
                self.sounds.append(now)
            loud = peak > 64 if peak > 64 else (loud and now - self.quiet_since < 0.3)
            if peak > 64:
                self.quiet_since = now

    def first_audio_ms(self, cmd, env, shell=False, stderr=subprocess.DEVNULL):
        time.sleep(0.4)  # the last sound has ended
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, env=env, shell=shell)
        p.wait()
        time.sleep(0.2)
        later = [t for t in self.sounds if t > start]
        return (later[0] - start) * 1000 if later else float("inf")

    def stop(self):
        self.rec.terminate()
        self.rec.wait()
        if self.daemon:
            self.daemon.stop()


def bench_pulse_first_audio(mock, e):
    """Issue 12: first audio through a running PulseAudio server, as a desktop user hears
    it, side by side: clawspeak (PortAudio -> ALSA's pulse plugin) vs curl | mpg123 -o pulse
    on the same mock, and the local engine vs espeak-ng (pulse through pcaudiolib)."""
    print("first audio through PulseAudio (null sink monitor; median of 5):")
    pulse = PulseMonitor()
    try:
        with open(os.path.join(e.home, ".asoundrc"), "w") as f:
            f.write("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        env = dict(e.env, PULSE_SERVER=pulse.server)
        text = "The first sentence is the one we are waiting for. " + paragraph(300)
        mock.script({"path": "speech"})
        subprocess.run([BIN, "say", "-q", "-o", os.devnull, "--format", "raw", text], env=env)  # warm the mock
        body = '{"model":"hexgrad/kokoro-82m","input":"%s","voice":"af_alloy","response_format":"mp3"}' % text
        curl = ("curl -sN -X POST -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' "
                "--data-binary '%s' %s/audio/speech | mpg123 -q -o pulse -" % (KEY, body, mock.url))
        local_text = "Hello there, this is the local engine speaking."
        runs = {"ours": [], "curl": [], "local": [], "espeak": []}
        for _ in range(5):
            runs["ours"].append(pulse.first_audio_ms([BIN, "say", "-q", "--no-wait", text], env))
            runs["curl"].append(pulse.first_audio_ms(curl, env, shell=True))
            runs["local"].append(pulse.first_audio_ms([BIN, "say", "-q", "--no-wait", "--provider", "local", local_text], env))
            runs["espeak"].append(pulse.first_audio_ms(["espeak-ng", local_text], env))
        m = {k: sorted(v)[2] for k, v in runs.items()}
        print("  clawspeak %.0f ms   curl | mpg123 -o pulse %.0f ms   clawspeak --provider local %.0f ms   espeak-ng %.0f ms"
              % (m["ours"], m["curl"], m["local"], m["espeak"]))
        report("clawspeak / (curl | mpg123 -o pulse)", m["ours"] / m["curl"], 0.8, "x")
        report("clawspeak local / espeak-ng", m["local"] / m["espeak"], 2.0, "x")
    finally:
        os.remove(os.path.join(e.home, ".asoundrc"))
        pulse.stop()


def bench_transcribe_memory(mock, e):
    """Issue 14: a 2-hour recording is streamed through, not loaded (peak RSS stays flat)."""
    print("transcribe: peak memory (max RSS), 20 minutes vs 2 hours of speech and pauses:")
    clip, unit = os.path.join(e.home, "clip.wav"), os.path.join(e.home, "unit.wav")
    subprocess.run(["espeak-ng", "-w", clip, "--", "Here is one more thing I wanted to say "
                    "before we stop."], check=True)
    subprocess.run(["sox", clip, unit, "pad", "0", "25"], check=True)
    sizes = {}
    for minutes in (20, 120):
        path = os.path.join(e.home, "long%d.wav" % minutes)
        repeats = int(minutes * 60 / float(subprocess.check_output(["soxi", "-D", unit])))
        subprocess.run(["sox", unit, path, "repeat", str(repeats - 1)], check=True)
        mock.script({"path": "transcriptions", "cheap": True})
        start = time.monotonic()
        sizes[minutes] = peak_rss_mib([BIN, "transcribe", "-q", path, "-o", os.path.join(e.home, "t.txt")],
                                      e.env)
        print("  %3d min (%.0f MB wav): %.1f MiB peak RSS, %.1f s" % (
            minutes, os.path.getsize(path) / 1e6, sizes[minutes], time.monotonic() - start))
        os.unlink(path)
    report("2 hours peak RSS", sizes[120], 40, " MiB")
    report("2 hours / 20 minutes peak RSS", sizes[120] / sizes[20], 1.2, "x")


def bench_transcribe_concurrency(mock, e):
    """Issue 14: pieces of one long file are sent concurrently (the mock's delay grows with length)."""
    from test_transcribe import write_tones  # noqa: E402 (the tests' tone-burst file)
    print("transcribe: a file cut into pieces, --jobs 3 vs --jobs 1 (100 ms per second of audio):")
    path = os.path.join(e.home, "tones.wav")
    write_tones(path, bursts=[(300 + 40 * k, 1.0 + 0.1 * (k % 5)) for k in range(30)], channels=1,
                rate=16000)
    mock.script({"path": "transcriptions", "cheap": True, "delay_ms_per_s": 100})
    times, pieces = {}, {}
    for jobs in ("1", "3"):
        start = time.monotonic()
        out = subprocess.run([BIN, "transcribe", "-q", "--json", "--piece-seconds", "5", "-j", jobs, path],
                             env=e.env, check=True, capture_output=True, text=True).stdout
        times[jobs] = time.monotonic() - start
        pieces[jobs] = json.loads(out)["pieces"]
    print("  %d pieces; --jobs 1: %.2f s   --jobs 3: %.2f s" % (pieces["3"], times["1"], times["3"]))
    ok = pieces["3"] >= 9
    RESULTS.append(ok)
    print("  %-58s %8d   (target >= 9) %s" % ("pieces", pieces["3"], "ok" if ok else "MISS"))
    report("--jobs 3 / --jobs 1", times["3"] / times["1"], 0.45, "x")


def bench_listen_latency(mock, e):
    """Issue 14: from the end of speech (fed in real time into a PulseAudio pipe source) to
    the transcription request leaving (until it is wired: to the utterance reaching it)."""
    import unittest
    from test_listen import Microphone, speech_samples
    print("listen: end of speech to the transcription request (silence window 1200 ms):")
    t = unittest.TestCase()
    words = tempfile.mkdtemp(prefix="csp-words-")
    t.addCleanup(__import__("shutil").rmtree, words, True)
    try:
        speech = speech_samples("Please read me the weather for tomorrow morning.", words)
        mic = Microphone(t, e.home)
        env = dict(e.env, PULSE_SERVER=mic.server)
        delays = []
        for i in range(5):
            p = subprocess.Popen([BIN, "listen", "--verbose", "--verbose", "-o",
                                  os.path.join(e.home, "heard.wav")], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            mic.say(speech, "s%d" % i, after=1.0)
            _, err = p.communicate(timeout=60)
            m = re.search(r"transcription of \d+ samples asked at monotonic ([0-9.]+)", err)
            delays.append((float(m.group(1)) - mic.events["s%d:end" % i]) * 1000)
        delays.sort()
        print("  %s ms (median %.0f, worst %.0f)" % (", ".join("%.0f" % d for d in delays),
                                                     delays[len(delays) // 2], delays[-1]))
        report("worst end of speech -> request, minus the 1200 ms window", delays[-1] - 1200, 100,
               " ms")
    finally:
        t.doCleanups()
        if os.path.exists(os.path.join(e.home, ".asoundrc")):
            os.unlink(os.path.join(e.home, ".asoundrc"))  # the other benchmarks' device


BENCHES = {"slow_producer": bench_slow_producer, "stream_memory": bench_stream_memory,
           "config_scale": bench_config_scale, "first_audio": bench_first_audio, "concurrency": bench_concurrency,
           "memory": bench_memory, "decode_cpu": bench_decode_cpu,
           "mp3_passthrough": bench_mp3_passthrough, "ask": bench_ask_first_audio,
           "real_network": bench_real_network, "real_network_far": bench_real_network_far,
           "local_first_audio": bench_local_first_audio, "resample_first_audio": bench_resample_first_audio,
           "pulse_first_audio": bench_pulse_first_audio, "device_overhead": bench_device_overhead,
           "transcribe_memory": bench_transcribe_memory, "transcribe_concurrency": bench_transcribe_concurrency,
           "listen": bench_listen_latency}


def main():
    names = sys.argv[1:] or list(BENCHES)
    mock = Mock()
    try:
        e = Env(mock)
        for name in names:
            BENCHES[name](mock, e)
    finally:
        mock.stop()
    print("%d passed, %d failed" % (sum(RESULTS), len(RESULTS) - sum(RESULTS)))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
