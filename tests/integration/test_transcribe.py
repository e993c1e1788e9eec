# SPDX-License-Identifier: MIT
"""clawspeak transcribe (issue 14 parts 1-3, 6): request shape, model and key
choice, every input format, splitting at silences, CLI entries, errors."""
import json
import math
import os
import re
import shutil
import signal
import struct
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import wave

from harness import BIN, KEY, SOURCE, MockTestCase, allowance, run, running, startup_seconds

FAKE_RECOGNISER = r'''#!/usr/bin/env python3
import json, os, sys, wave
args = sys.argv[1:]
log, mode, value, media = args[0], args[1], args[2], args[-1]
info = {"argv": sys.argv, "keys": [k for k in os.environ if k.endswith("API_KEY")]}
try:
    with wave.open(media) as w:
        info.update(rate=w.getframerate(), channels=w.getnchannels(), frames=w.getnframes())
except Exception as e:
    info["error"] = str(e)
with open(log, "a") as f:
    f.write(json.dumps(info) + "\n")
if mode == "fail":
    sys.stderr.write("model file missing\n")
    sys.exit(3)
if mode == "big":
    chunk = "word " * 20000
    for _ in range(int(value) // len(chunk) + 1):
        sys.stdout.write(chunk)
    sys.exit(0)
print(value)
'''

RATE = 22050
# (frequency, seconds of tone) bursts, each followed by SILENCE seconds
BURSTS = [(300 + 50 * k, 1.0 + 0.1 * (k % 7)) for k in range(24)]
SILENCE = 0.8


def write_tones(path, bursts=BURSTS, channels=2, rate=RATE):
    """Tone bursts with silences between; returns the silences as (start, end) seconds."""
    silences, t = [], 0.0
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        for freq, seconds in bursts:
            n = int(seconds * rate)
            frame = [struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) * channels
                     for i in range(n)]
            w.writeframes(b"".join(frame))
            gap = int(SILENCE * rate)
            w.writeframes(b"\0\0" * channels * gap)
            start = t + n / rate
            t = start + gap / rate
            silences.append((start, t))
    return silences


PIECE = re.compile(r"\[piece seconds=([\d.]+) rate=(\d+) channels=(\d+) format=(\w+) tones=([\d,]*)\]")


class TranscribeTest(MockTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.media = tempfile.mkdtemp(prefix="csp-stt-")
        base = os.path.join(cls.media, "speech")
        subprocess.run(["espeak-ng", "-w", base + ".wav", "--", "The quick brown fox jumps over "
                        "the lazy dog."], check=True)
        subprocess.run(["sox", base + ".wav", base + ".flac"], check=True)
        subprocess.run(["sox", base + ".wav", base + ".ogg"], check=True)
        subprocess.run(["lame", "--quiet", base + ".wav", base + ".mp3"], check=True)
        with wave.open(base + ".wav") as w:
            cls.speech_seconds = w.getnframes() / w.getframerate()
        cls.tones = os.path.join(cls.media, "tones.wav")
        cls.silences = write_tones(cls.tones)
        cls.fake = os.path.join(cls.media, "fake-whisper")
        with open(cls.fake, "w") as f:
            f.write(FAKE_RECOGNISER)
        os.chmod(cls.fake, 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.media, True)
        super().tearDownClass()

    def media_file(self, ext):
        return os.path.join(self.media, "speech." + ext)

    def transcribe(self, *args, env=None, stdin=None, config=True):
        base = ["--config", self.config_path] if config else []
        return run(["transcribe"] + base + list(args), env or self.env(), stdin=stdin)

    def pieces(self, text):
        return [(float(m[0]), int(m[1]), int(m[2]), m[3], [int(t) for t in m[4].split(",") if t])
                for m in PIECE.findall(text)]

    def fake_entry(self, log, mode="print", value="hello from the fake", timeout=None):
        entry = "{type: 'cli', capabilities: ['audio'], command: %s, args: [%s, %s, %s, '{{AttachmentPath}}']%s}" % (
            json.dumps(self.fake), json.dumps(log), json.dumps(mode), json.dumps(value),
            ", timeoutSeconds: %d" % timeout if timeout else "")
        return entry

    def no_key_config(self, extra):
        return self.write_config("{%s}" % extra, name="nokey.json")

    # --- part 1: the request --------------------------------------------------

    def test_request_shape_and_default_model(self):
        code, out, err = self.transcribe(self.media_file("wav"))
        self.assertEqual(code, 0, err)
        (seconds, rate, channels, fmt, _), = self.pieces(out.decode())
        self.assertEqual((rate, channels, fmt), (16000, 1, "flac"))
        self.assertAlmostEqual(seconds, self.speech_seconds, delta=0.05)
        req, = self.mock.requests("/audio/transcriptions")
        self.assertTrue(req["path"].endswith("/api/v1/audio/transcriptions"))
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["headers"]["authorization"], "Bearer " + KEY)
        self.assertEqual(req["headers"]["content-type"], "application/json")
        self.assertEqual(req["body"]["model"], "openai/whisper-large-v3-turbo")
        self.assertEqual(req["body"]["format"], "flac")
        self.assertNoKey(out, err)

    def test_model_from_each_config_place(self):
        places = {
            "tools: {media: {audio: {models: [{provider: 'openrouter', model: 'a/audio-list'}]}}}": "a/audio-list",
            "tools: {media: {models: [{provider: 'openrouter', model: 'b/vision', capabilities: ['image']},"
            " {provider: 'openrouter', model: 'b/media-list', capabilities: ['audio']}]}}": "b/media-list",
            "tools: {media: {models: [{provider: 'groq', model: 'c/other', capabilities: ['audio']},"
            " {provider: 'openrouter', model: 'c/second', capabilities: ['audio']}]}}": "c/second",
            # OpenClaw's entries declare capabilities: one without them transcribes nothing
            "tools: {media: {models: [{provider: 'openrouter', model: 'e/no-capabilities'}]}}":
                "openai/whisper-large-v3-turbo",
        }
        for extra, model in places.items():
            self.mock.script()
            self.config_path = self.write_mock_config(extra)
            code, out, err = self.transcribe(self.media_file("wav"))
            self.assertEqual(code, 0, err)
            self.assertEqual(self.mock.requests("/audio/transcriptions")[0]["body"]["model"], model)
        self.mock.script()
        code, out, err = self.transcribe("--model", "d/flag", self.media_file("wav"))
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests("/audio/transcriptions")[0]["body"]["model"], "d/flag")
        code, out, err = run(["config", "--config", self.config_path], self.env())
        self.assertIn("stt_model", out.decode())

    def test_key_precedence_is_chat(self):
        other = "sk-or-v1-ENVKEY-0000000000000000"
        self.mock.script()
        # the config's OpenRouter key beats the environment
        code, out, err = self.transcribe(self.media_file("wav"), env=self.env(OPENROUTER_API_KEY=other))
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests("/audio/transcriptions")[0]["headers"]["authorization"],
                         "Bearer " + KEY)
        # no key in the config: the environment's; a tts key is speech's, not transcription's
        path = self.write_config("{tts: {providers: {openrouter: {apiKey: 'sk-or-v1-TTSONLY-11111111'}}},"
                                 " models: {providers: {openrouter: {baseUrl: '%s'}}}}" % self.mock.url,
                                 name="envkey.json")
        self.mock.script()
        code, out, err = run(["transcribe", "--config", path, self.media_file("wav")],
                             self.env(OPENROUTER_API_KEY=other))
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests("/audio/transcriptions")[0]["headers"]["authorization"],
                         "Bearer " + other)

    def test_every_input_format(self):
        opus = os.path.join(self.home, "speech.opus")
        code, _, err = run(["say", "--provider", "local", "-o", opus, "The quick brown fox."],
                           self.env())
        self.assertEqual(code, 0, err)
        for path in [self.media_file(e) for e in ("wav", "flac", "ogg", "mp3")] + [opus]:
            self.mock.script()
            code, out, err = self.transcribe(path)
            self.assertEqual(code, 0, "%s: %s" % (path, err))
            (seconds, rate, channels, fmt, _), = self.pieces(out.decode())
            self.assertEqual((rate, channels, fmt), (16000, 1, "flac"), path)
            if not path.endswith("opus"):
                self.assertAlmostEqual(seconds, self.speech_seconds, delta=0.15, msg=path)

    def test_standard_input(self):
        with open(self.media_file("flac"), "rb") as f:
            data = f.read()
        for args in (["-"], []):
            self.mock.script()
            code, out, err = self.transcribe(*args, stdin=data)
            self.assertEqual(code, 0, err)
            self.assertEqual(len(self.pieces(out.decode())), 1)

    def test_json(self):
        code, out, err = self.transcribe("--json", self.media_file("wav"))
        self.assertEqual(code, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["model"], "openai/whisper-large-v3-turbo")
        self.assertEqual(doc["file"], self.media_file("wav"))
        self.assertAlmostEqual(doc["duration"], self.speech_seconds, delta=0.05)
        self.assertAlmostEqual(doc["usage"]["seconds"], self.speech_seconds, delta=0.05)
        self.assertGreater(doc["usage"]["cost"], 0)
        self.assertEqual(doc["pieces"], 1)
        self.assertIn("[piece seconds=", doc["text"])

    def test_output_file_is_atomic(self):
        target = os.path.join(self.home, "out.txt")
        code, out, err = self.transcribe("-o", target, self.media_file("wav"))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"")
        self.assertIn("[piece seconds=", open(target).read())
        # a failure leaves the old file alone and nothing half-written
        with open(target, "w") as f:
            f.write("old")
        self.mock.script({"path": "transcriptions", "status": 401})
        code, out, err = self.transcribe("-o", target, self.media_file("wav"))
        self.assertEqual(code, 4, err)
        self.assertEqual(open(target).read(), "old")
        self.assertNoLeftovers(self.home)

    def test_output_to_a_device_or_fifo_and_never_over_the_input(self):
        """Fresh-eyes findings: -o /dev/null once became a regular file; -o INPUT destroyed it."""
        node = os.path.join(self.home, "mynull")
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
        code, out, err = self.transcribe("-o", node, self.media_file("wav"))
        self.assertEqual(code, 0, err)
        self.assertTrue(stat.S_ISCHR(os.stat(node).st_mode), "still a device")
        fifo = os.path.join(self.home, "fifo")
        os.mkfifo(fifo)
        code, out, err = self.transcribe("-o", fifo, self.media_file("wav"))
        self.assertEqual(code, 8, err)
        self.assertIn("no reader", err)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
        copy = os.path.join(self.home, "copy.wav")
        shutil.copy(self.media_file("wav"), copy)
        before = open(copy, "rb").read()
        code, out, err = self.transcribe("-o", copy, copy)
        self.assertEqual(code, 2, err)
        self.assertEqual(open(copy, "rb").read(), before)

    def test_float_wav_is_heard(self):
        """A 32-bit float WAV (Audacity's default) is sound, not silence."""
        floats = os.path.join(self.home, "float.wav")
        subprocess.run(["sox", self.media_file("wav"), "-e", "floating-point", "-b", "32", floats], check=True)
        code, out, err = self.transcribe(floats)
        self.assertEqual(code, 0, err)
        self.assertIn("tones=", out.decode())
        self.assertEqual(len(self.mock.requests("/audio/transcriptions")), 1)

    def test_several_files_in_order_with_jobs(self):
        self.mock.script({"path": "transcriptions", "delay_ms_per_s": 200})
        files = [self.media_file(e) for e in ("wav", "flac", "ogg", "mp3")]
        code, out, err = self.transcribe("--jobs", "4", "--json", *files)
        self.assertEqual(code, 0, err)
        docs = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual([d["file"] for d in docs], files)
        reqs = self.mock.requests("/audio/transcriptions")
        self.assertGreaterEqual(max_in_flight(reqs), 2)

    # --- part 2: long audio ----------------------------------------------------

    def test_long_audio_cut_at_silences_in_order_concurrently(self):
        self.mock.script({"path": "transcriptions", "delay_ms_per_s": 40})
        code, out, err = self.transcribe("--piece-seconds", "10", "--jobs", "3", self.tones)
        self.assertEqual(code, 0, err)
        pieces = self.pieces(out.decode())
        self.assertGreaterEqual(len(pieces), 5)
        t = 0.0
        for seconds, *_ in pieces[:-1]:
            self.assertLessEqual(seconds, 10.0 + 1e-3)
            t += seconds
            self.assertTrue(any(a + 0.05 <= t <= b - 0.05 for a, b in self.silences),
                            "cut at %.3f s is not in a silence" % t)
        total = sum(p[0] for p in pieces)
        self.assertAlmostEqual(total, self.silences[-1][1], delta=0.05)
        tones = [f for p in pieces for f in p[4]]
        self.assertEqual(len(tones), len(BURSTS), "a burst was cut in two or lost")
        # the mock names a burst by counting zero crossings, which can be off by a few tens of
        # Hz (one CI run read 700 and 750 Hz as 760 and 750); bursts rise 50 Hz each and a piece
        # holds several, so pieces joined out of order would fall by hundreds of Hz
        for before, after in zip(tones, tones[1:]):
            self.assertGreater(after, before - 40, ("pieces joined out of order", tones))
        self.assertGreater(tones[-1] - tones[0], 1000)
        self.assertGreaterEqual(max_in_flight(self.mock.requests("/audio/transcriptions")), 2)

    def test_max_bytes_splits(self):
        self.config_path = self.write_mock_config("tools: {media: {audio: {maxBytes: 200000}}}")
        code, out, err = self.transcribe(self.tones)
        self.assertEqual(code, 0, err)
        pieces = self.pieces(out.decode())
        self.assertGreaterEqual(len(pieces), 8)
        for req in self.mock.requests("/audio/transcriptions"):
            self.assertLessEqual(req["body"]["bytes"], 200000)

    def test_silence_is_not_sent(self):
        path = os.path.join(self.home, "quiet.wav")
        write_tones(path, bursts=[(440, 0.0)] * 3)
        code, out, err = self.transcribe(path)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"")
        self.assertIn("empty", err)
        self.assertEqual(self.mock.requests("/audio/transcriptions"), [])

    # --- part 3: CLI entries ----------------------------------------------------

    def test_cli_entry_without_key(self):
        log = os.path.join(self.home, "argv.log")
        path = self.no_key_config("tools: {media: {audio: {models: [%s]}}}" % self.fake_entry(log))
        code, out, err = run(["transcribe", "--config", path, self.media_file("mp3")], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"hello from the fake\n")
        info = json.loads(open(log).read())
        self.assertEqual((info["rate"], info["channels"]), (16000, 1))
        self.assertAlmostEqual(info["frames"] / 16000, self.speech_seconds, delta=0.15)
        self.assertEqual(info["argv"][1:4], [log, "print", "hello from the fake"])
        self.assertTrue(info["argv"][4].endswith(".wav"))
        self.assertFalse(os.path.exists(info["argv"][4]), "the temporary WAV was left behind")

    def test_cli_entries_in_order_failing_then_next(self):
        log = os.path.join(self.home, "argv.log")
        path = self.no_key_config("tools: {media: {models: [%s, %s], audio: {models: [%s]}}}" % (
            self.fake_entry(log, "print", "second"), self.fake_entry(log, "print", "third"),
            self.fake_entry(log, "fail", "first")))
        code, out, err = run(["transcribe", "--config", path, self.media_file("wav")],
                             self.env(OPENROUTER_API_KEY=None))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"second\n")
        self.assertIn("exit status 3", err)
        self.assertIn("model file missing", err)
        calls = [json.loads(line)["argv"][2:4] for line in open(log)]
        self.assertEqual(calls, [["fail", "first"], ["print", "second"]])

    def test_api_failure_falls_to_cli_entry_and_key_is_not_passed(self):
        log = os.path.join(self.home, "argv.log")
        self.config_path = self.write_mock_config(
            "tools: {media: {audio: {models: [{provider: 'openrouter', model: 'x/y'}, %s]}}}"
            % self.fake_entry(log))
        self.mock.script({"path": "transcriptions", "status": 401})
        code, out, err = self.transcribe(self.media_file("wav"),
                                         env=self.env(OPENROUTER_API_KEY=KEY, OPENAI_API_KEY="sk-x"))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"hello from the fake\n")
        self.assertIn("trying cli:", err)
        self.assertEqual(json.loads(open(log).read())["keys"], [])
        self.assertNoKey(out, err)

    def test_cli_transcript_cap(self):
        log = os.path.join(self.home, "argv.log")
        path = self.no_key_config("tools: {media: {audio: {models: [%s]}}}"
                                  % self.fake_entry(log, "big", str(7 << 20)))
        code, out, err = run(["transcribe", "--config", path, self.media_file("wav")], self.env())
        self.assertEqual(code, 0, err)
        self.assertLessEqual(len(out), (5 << 20) + 1)
        self.assertGreater(len(out), (5 << 20) - 100)
        self.assertIn("cut at 5 MiB", err)

    def test_cli_timeout(self):
        slow = os.path.join(self.home, "slow")
        with open(slow, "w") as f:
            f.write("#!/bin/sh\nsleep 30\n")
        os.chmod(slow, 0o755)
        path = self.no_key_config("tools: {media: {audio: {models: [{type: 'cli', command: %s, "
                                  "args: ['{{MediaPath}}'], timeoutSeconds: 1}]}}}" % json.dumps(slow))
        code, out, err = run(["transcribe", "--config", path, self.media_file("wav")], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("timeoutSeconds", err)

    def test_no_provider_says_so(self):
        path = self.no_key_config("")
        code, out, err = run(["transcribe", "--config", path, self.media_file("wav")], self.env())
        self.assertEqual(code, 4, err)
        self.assertIn("no OpenRouter key", err)
        self.assertIn("type: \"cli\"", err)
        self.assertIn("{{AttachmentPath}}", err)
        self.assertIn("whisper", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        # listen says so before it records anything (no microphone needed to find out)
        bound = allowance(5, startup_seconds(self.env()))
        start = time.monotonic()
        code, out, err = run(["listen", "--config", path], self.env(), timeout=30)
        self.assertEqual(code, 4, err)
        self.assertIn("nothing can transcribe", err)
        self.assertLess(time.monotonic() - start, bound)

    # --- part 6: errors ------------------------------------------------------------

    def test_401_and_403_exit_4_without_the_key(self):
        for status in (401, 403):
            self.mock.script({"path": "transcriptions", "status": status,
                              "error_message": "bad key " + KEY})
            code, out, err = self.transcribe(self.media_file("wav"))
            self.assertEqual(code, 4, err)
            self.assertIn("HTTP %d" % status, err)
            self.assertNoKey(out, err)

    def test_400_exits_5(self):
        self.mock.script({"path": "transcriptions", "status": 400, "error_message": "unsupported"})
        code, out, err = self.transcribe(self.media_file("wav"))
        self.assertEqual(code, 5, err)
        self.assertIn("unsupported", err)
        self.assertEqual(len(self.mock.requests("/audio/transcriptions")), 1)

    def test_500_is_retried(self):
        self.mock.script({"path": "transcriptions", "status": 500, "times": 1})
        code, out, err = self.transcribe(self.media_file("wav"))
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.mock.requests("/audio/transcriptions")), 2)
        self.mock.script({"path": "transcriptions", "status": 500})
        code, out, err = self.transcribe(self.media_file("wav"))
        self.assertEqual(code, 5, err)
        self.assertEqual(len(self.mock.requests("/audio/transcriptions")), 3)

    def test_not_audio_exits_2_naming_the_file(self):
        path = os.path.join(self.home, "notes.txt")
        with open(path, "w") as f:
            f.write("this is text, not audio\n" * 50)
        code, out, err = self.transcribe(self.media_file("wav"), path)
        self.assertEqual(code, 2, err)
        self.assertIn("notes.txt", err)
        self.assertIn("not audio", err)
        self.assertEqual(self.mock.requests("/audio/transcriptions"), [], "sent before checking")

    def test_empty_transcript(self):
        self.mock.script({"path": "transcriptions", "text": "  "})
        code, out, err = self.transcribe(self.media_file("wav"))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"")
        self.assertIn("empty", err)

    def test_hostile_transcript(self):
        self.mock.script({"path": "transcriptions",
                          "text": "red\x1b[31m alert\x07 \u202e key " + KEY + " \x9b end"})
        code, out, err = self.transcribe(self.media_file("wav"))
        self.assertEqual(code, 0, err)
        text = out.decode()
        self.assertNotIn("\x1b", text)
        self.assertNotIn("\x07", text)
        self.assertNotIn("\u202e", text)
        self.assertNotIn("\x9b", text)
        self.assertIn("red?[31m alert?", text)
        self.assertNoKey(out, err)

    def test_answer_without_text_or_not_json(self):
        for body in ("{\"usage\": {}}", "<html>oops</html>"):
            self.mock.script({"path": "transcriptions", "body": body})
            code, out, err = self.transcribe(self.media_file("wav"))
            self.assertEqual(code, 5, err)
            self.assertIn("no transcript", err)

    def test_answer_over_the_cap(self):
        self.mock.script({"path": "transcriptions", "body": json.dumps({"text": "x" * (5 << 20)})})
        code, out, err = self.transcribe(self.media_file("wav"))
        self.assertEqual(code, 5, err)
        self.assertIn("over 4 MiB", err)
        self.assertEqual(out, b"")

    def test_interrupt_leaves_no_output(self):
        target = os.path.join(self.home, "out.txt")
        self.mock.script({"path": "transcriptions", "first_byte_delay_ms": 5000})
        p = subprocess.Popen([os.environ.get("CLAWSPEAK_BIN", "../../build/clawspeak"), "transcribe",
                              "--config", self.config_path, "-o", target, self.media_file("wav")],
                             env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while not self.mock.requests("/audio/transcriptions") and time.time() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130, err)
        self.assertFalse(os.path.exists(target))
        self.assertNoLeftovers(self.home)


def max_in_flight(reqs):
    """The most requests the mock was answering at the same moment."""
    events = sorted([(r["time"], 1) for r in reqs] + [(r["answered"], -1) for r in reqs])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


if __name__ == "__main__":
    unittest.main()


class OwnEntry(MockTestCase):
    """clawspeak as OpenClaw's transcriber (issue 19 item 1): its own tools.media entry is
    never run (by name, through a link, or as a copy one level down), the API is used."""

    def setUp(self):
        super().setUp()
        self.bindir = tempfile.mkdtemp(prefix="csp-bin-")
        self.addCleanup(shutil.rmtree, self.bindir, True)
        os.symlink(os.path.abspath(BIN), os.path.join(self.bindir, "clawspeak"))
        shutil.copy(os.path.abspath(BIN), os.path.join(self.bindir, "hearer"))
        self.speech = os.path.join(SOURCE, "audio", "speech.wav")

    def entries(self, *commands):
        return "tools: {media: {models: [%s]}}" % ", ".join(
            "{type: 'cli', command: %s, args: ['transcribe', '{{AttachmentPath}}'], "
            "capabilities: ['audio']}" % json.dumps(c) for c in commands)

    def test_own_entry_is_skipped_and_the_api_used(self):
        for command in ("clawspeak", os.path.join(self.bindir, "clawspeak")):
            with self.subTest(command=command):
                self.mock.script()
                self.config_path = self.write_mock_config(self.entries(command))
                code, out, err = run(["transcribe", "--config", self.config_path, self.speech],
                                     self.env(PATH=self.bindir + ":" + os.environ["PATH"]), timeout=60)
                self.assertEqual(code, 0, err)
                self.assertIn(b"[piece seconds=", out)
                self.assertEqual(len(self.mock.requests("/audio/transcriptions")), 1)
                self.assertIn("its command is clawspeak itself", run(
                    ["transcribe", "--verbose", "--config", self.config_path, self.speech],
                    self.env(PATH=self.bindir + ":" + os.environ["PATH"]))[2])

    def test_a_copy_runs_once_and_its_run_uses_the_api(self):
        self.config_path = self.write_mock_config(self.entries(os.path.join(self.bindir, "hearer")))
        code, out, err = run(["transcribe", "--config", self.config_path, self.speech], self.env(),
                             timeout=60)
        self.assertEqual(code, 0, err)
        self.assertIn(b"[piece seconds=", out)
        self.assertEqual(len(self.mock.requests("/audio/transcriptions")), 1, "once, by the copy")

    def test_command_whose_grandchild_holds_stdout(self):
        marker = "32.%d" % os.getpid()
        self.config_path = self.write_mock_config(
            "tools: {media: {models: [{type: 'cli', capabilities: ['audio'], command: 'sh', "
            "timeoutSeconds: 5, args: ['-c', \"echo the words; (trap '' TERM; exec sleep %s) & "
            "exit 0\"]}]}}" % marker)
        code, out, err = run(["transcribe", "--config", self.config_path, self.speech],
                             self.env(OPENROUTER_API_KEY=None), timeout=60)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"the words\n")
        left = running("sleep " + marker)
        self.assertEqual(left, [], "the grandchild was left running")
