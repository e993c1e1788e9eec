# SPDX-License-Identifier: MIT
"""Real playback: PortAudio -> ALSA -> a PulseAudio null sink that the test
starts itself, captured with parec and compared with the expected audio;
and PortAudio into ALSA's file plugin, compared sample for sample."""
import array
import warnings
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import MockTestCase, PulseAudio, run

TEXT = "Playback test. The captured audio must match what the mock server synthesised."


def samples(raw):
    a = array.array("h")
    a.frombytes(raw[: len(raw) // 2 * 2])
    return a


def trim(a, level=64):
    start = next((i for i, v in enumerate(a) if abs(v) > level), 0)
    end = len(a) - next((i for i, v in enumerate(reversed(a)) if abs(v) > level), 0)
    return a[start:end]


def close_gaps(a, run=48):
    """Without its runs of digital silence of 2 ms (at 24 kHz) or more. On a busy machine
    the player can be late and PulseAudio fills the gap with zeros (an underrun): the
    capture is then longer than the audio by exactly those runs. Applied to both sides."""
    out = array.array("h")
    i = 0
    while i < len(a):
        j = i
        while j < len(a) and a[j] == 0:
            j += 1
        if j - i >= run:
            i = j
            continue
        out.extend(a[i:max(j, i + 1)])
        i = max(j, i + 1)
    return out


with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # Python 3.11 (Debian 12): findfit and rms in C, fast


def pieces_found(got, want, piece=2400, reach=1200):
    """The share of want's 100 ms pieces (those with sound) found in got, in order, each
    within reach samples of where the one before it put it (correlation > 0.9). A busy
    machine can leave a gap shorter than close_gaps takes out, which shifts the rest: the
    pieces follow it where one global alignment could not."""
    lag, found, total = 0, 0, 0
    for at in range(0, len(want) - piece, piece):
        part = want[at:at + piece]
        if audioop.rms(part.tobytes(), 2) < 300:
            continue
        total += 1
        lo = max(0, at + lag - reach)
        region = got[lo:lo + piece + 2 * reach]
        if len(region) < piece:
            continue
        offset, _ = audioop.findfit(region.tobytes(), part.tobytes())
        if correlation(region[offset:offset + piece], part) > 0.9:
            found += 1
            lag = lo + offset - at
    return found / total if total else 0.0


def correlation(x, y):
    n = min(len(x), len(y))
    if n == 0:
        return 0.0
    mx, my = sum(x[:n]) / n, sum(y[:n]) / n
    sxy = sxx = syy = 0.0
    for i in range(n):
        dx, dy = x[i] - mx, y[i] - my
        sxy += dx * dy
        sxx += dx * dx
        syy += dy * dy
    return sxy / ((sxx * syy) ** 0.5 or 1)


class Playback(MockTestCase):
    def setUp(self):
        super().setUp()
        expected = os.path.join(self.home, "expected.raw")
        code, _, err = run(["say", "-o", expected, "--format", "raw", TEXT], self.env())
        self.assertEqual(code, 0, err)
        self.expected = samples(open(expected, "rb").read())

    def test_pulseaudio_null_sink(self):
        try:
            pulse = PulseAudio(["module-null-sink sink_name=csp_null rate=24000 channels=1 format=s16le"])
        except RuntimeError as e:
            self.fail(str(e))
        self.addCleanup(pulse.stop)
        server, penv = pulse.server, pulse.env
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        captured = os.path.join(self.home, "captured.raw")
        rec = subprocess.Popen(["parec", "--server", server, "-d", "csp_null.monitor", "--raw",
                                "--format=s16le", "--rate=24000", "--channels=1", "--latency-msec=500",
                                captured], env=penv)
        time.sleep(0.5)
        code, out, err = run(["say", TEXT], self.env(PULSE_SERVER=server))
        time.sleep(0.5)
        rec.terminate()
        rec.wait()
        self.assertEqual(code, 0, err)
        got = close_gaps(trim(samples(open(captured, "rb").read())))
        want = close_gaps(trim(self.expected))
        self.assertGreater(len(got), 0, "nothing reached the sink")
        self.assertLess(abs(len(got) - len(want)) / len(want), 0.02, (len(got), len(want)))
        self.assertGreater(pieces_found(got, want), 0.9)

    def test_alsa_file_plugin(self):
        captured = os.path.join(self.home, "alsa.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % captured)
        code, out, err = run(["say", TEXT], self.env())
        self.assertEqual(code, 0, err)
        got = open(captured, "rb").read()
        want = self.expected.tobytes()
        # PortAudio may pad with silence around the stream; the audio itself is exact
        start = got.find(want[:4096])
        self.assertGreaterEqual(start, 0, "the expected audio is not in the capture")
        self.assertEqual(got[start:start + len(want)], want)

    def test_device_that_takes_only_48khz(self):
        """Issue 12: a device that refuses the stream's rate (JACK runs at one rate; ALSA's jack
        plugin takes only that rate, and only float samples) is opened at its own rate and the
        audio resampled with libsoxr: captured through ALSA's file plugin and compared."""
        if not shutil.which("jackd"):
            self.fail("jackd is required (run .ci/deps test)")
        server = "csp-test-%d" % os.getpid()
        env = self.env(JACK_DEFAULT_SERVER=server, JACK_NO_AUDIO_RESERVATION="1")
        jack = subprocess.Popen(["jackd", "--no-realtime", "-n", server, "-d", "dummy", "-r", "48000", "-p", "512"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (jack.terminate(), jack.wait()))
        deadline = time.time() + 10
        while subprocess.run(["jack_lsp", "-s", server], env=env, capture_output=True).returncode != 0:
            self.assertIsNone(jack.poll(), "jackd did not start")
            self.assertLess(time.time(), deadline, "jackd did not start")
            time.sleep(0.1)
        captured = os.path.join(self.home, "jack48.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "only48" file "%s" format "raw" }\n'
                    'pcm.only48 { type jack playback_ports { 0 system:playback_1 } }\n' % captured)
        code, _, err = run(["say", "--no-wait", "--verbose", TEXT], env)
        self.assertEqual(code, 0, err)
        self.assertIn("does not take 24000 Hz: playing at 48000 Hz", err)
        floats = array.array("f")
        with open(captured, "rb") as f:
            data = f.read()
        floats.frombytes(data[: len(data) // 4 * 4])
        got = trim(array.array("h", (max(-32768, min(32767, int(v * 32768))) for v in floats)))
        expected = os.path.join(self.home, "expected48.raw")
        code, _, err = run(["say", "-o", expected, "--format", "raw", "--sample-rate", "48000", TEXT], self.env())
        self.assertEqual(code, 0, err)
        want = trim(samples(open(expected, "rb").read()))
        self.assertLess(abs(len(got) - len(want)) / len(want), 0.02, (len(got), len(want)))
        mid, span = len(want) // 2, 8000
        window = want[mid:mid + span]
        lag = max(range(-1200, 1201, 2), key=lambda k: correlation(got[mid + k:mid + k + span], window))
        aligned = got[lag:] if lag >= 0 else array.array("h", [0] * -lag) + got
        self.assertGreater(correlation(aligned, want), 0.95, "lag %d" % lag)

    def test_second_speaker_waits_its_turn(self):
        """A per-user lock: playback waits while another clawspeak speaks; --no-wait overlaps."""
        import fcntl
        import signal
        captured = os.path.join(self.home, "alsa.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % captured)
        runtime = tempfile.mkdtemp(prefix="csp-runtime-")
        self.addCleanup(shutil.rmtree, runtime, True)
        os.makedirs(os.path.join(runtime, "clawspeak"), 0o700)
        lock = open(os.path.join(runtime, "clawspeak", "speaking.lock"), "w")
        self.addCleanup(lock.close)
        fcntl.flock(lock, fcntl.LOCK_EX)  # another clawspeak is speaking
        env = self.env(XDG_RUNTIME_DIR=runtime)
        waiting = subprocess.Popen([os.environ.get("CLAWSPEAK_BIN", "clawspeak"), "say", TEXT],
                                   env=env, stderr=subprocess.PIPE)
        time.sleep(1.5)
        self.assertIsNone(waiting.poll(), "it played while the lock was held")
        self.assertFalse(os.path.exists(captured) and os.path.getsize(captured) > 0)
        code, _, err = run(["say", "--no-wait", TEXT], env)
        self.assertEqual(code, 0, err)
        self.assertGreater(os.path.getsize(captured), 0, "--no-wait played at once")
        fcntl.flock(lock, fcntl.LOCK_UN)  # its turn now
        _, err = waiting.communicate(timeout=30)
        self.assertEqual(waiting.returncode, 0, err)
        self.assertIn(b"waiting for another clawspeak", err)
        # Ctrl-C while waiting ends the wait at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        waiting = subprocess.Popen([os.environ.get("CLAWSPEAK_BIN", "clawspeak"), "say", TEXT],
                                   env=env, stderr=subprocess.PIPE)
        time.sleep(1.0)
        waiting.send_signal(signal.SIGINT)
        waiting.communicate(timeout=5)
        self.assertEqual(waiting.returncode, 130)


if __name__ == "__main__":
    unittest.main()
