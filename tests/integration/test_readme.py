# SPDX-License-Identifier: MIT
"""Every command of the README's code blocks, run verbatim (issue 24): through
bash, in a directory holding the files they name, with HOME's config pointing
at the mock API and ALSA's default device a file (what is played is written
there; what is recorded is read from a file of speech). A command added to
the README without an expectation here fails the test; the README's config
examples (json5 blocks) must load."""
import os
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import time

from harness import BIN, KEY, SOURCE, MockTestCase

# Commands not run here, and why. Nothing else may be skipped.
NOT_RUN = {
    "bash .ci/demo": "installs packages and builds: what .ci/run's own build already does",
    "bash .ci/test": "the whole suite, this test included (.ci/run runs it)",
    # the .deb install: test_deb builds, lints, installs and removes these packages
    "cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr": "test_deb builds the packages so",
    "cmake --build build && (cd build && cpack -G DEB)": "test_deb builds the packages so",
    "sudo apt-get install ./build/clawspeak_0.2.0_amd64.deb ./build/libclawspeak*_0.2.0_amd64.deb":
        "test_deb installs them (system-wide: not here)",
}


def readme_blocks(lang):
    text = open(os.path.join(SOURCE, "README.md")).read()
    return [b for l, b in re.findall(r"```(\w*)\n(.*?)```", text, re.S) if l == lang]


def readme_commands():
    """Each line of each sh block, without its trailing comment, in order, once."""
    commands = []
    for block in readme_blocks("sh"):
        for line in block.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and line not in commands:
                commands.append(line)
    return commands


class Readme(MockTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix="csp-readme-")
        w = cls.work
        # the files the commands name
        with open(os.path.join(w, "book.txt"), "w") as f:
            f.write("Chapter one. It was a bright cold day. The clocks were striking thirteen.\n")
        with open(os.path.join(w, "app.log"), "w") as f:
            f.write("service started\nconnection accepted\n")
        os.makedirs(os.path.join(w, "chapters"))
        for name in ("one", "two"):
            with open(os.path.join(w, "chapters", name + ".txt"), "w") as f:
                f.write("This is chapter %s." % name)
        speech = os.path.join(w, "speech.wav")
        subprocess.run(["espeak-ng", "-w", speech, "Please read me the weather for tomorrow morning."],
                       check=True)
        subprocess.run(["sox", speech, os.path.join(w, "memo.ogg")], check=True)
        # the microphone: 16 kHz mono speech, then quiet, as ALSA's file plugin reads it
        cls.mic = os.path.join(w, "mic.raw")
        subprocess.run(["sox", speech, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed", "-t", "raw",
                        cls.mic, "pad", "0.5", "30"], check=True)
        # programs the commands pipe from: a stand-in for "some-command"; a git change for "git diff"
        cls.bin = os.path.join(w, "bin")
        os.makedirs(cls.bin)
        os.symlink(os.path.abspath(BIN), os.path.join(cls.bin, "clawspeak"))
        stub = os.path.join(cls.bin, "some-command")
        with open(stub, "w") as f:
            f.write("#!/bin/sh\necho 'Output of some command, to be read aloud.'\n")
        os.chmod(stub, 0o755)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
        subprocess.run(git + ["init", "-q", w], check=True)
        with open(os.path.join(w, "notes.md"), "w") as f:
            f.write("the first version\n")
        subprocess.run(git + ["-C", w, "add", "notes.md"], check=True)
        subprocess.run(git + ["-C", w, "commit", "-qm", "first"], check=True)
        with open(os.path.join(w, "notes.md"), "w") as f:
            f.write("the second version\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.played = os.path.join(self.home, "played.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s" infile "%s" format "raw" }\n'
                    % (self.played, self.mic))

    def sh(self, command, stdin=b"", stop_when=None, seconds=60):
        """bash -c COMMAND in the work directory; stop_when(): when to send Ctrl-C (for
        commands that run until interrupted). Returns (exit code, stdout, stderr)."""
        env = self.env(PATH=self.bin + ":" + os.environ["PATH"])
        p = subprocess.Popen(["bash", "-c", command], cwd=self.work, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        if stop_when:
            deadline = time.time() + seconds
            while time.time() < deadline and p.poll() is None and not stop_when():
                time.sleep(0.1)
            time.sleep(0.5)
            # Ctrl-C, and again while it still runs: in a spoken chat the first one stops
            # the reply, the next one (while it listens) ends the chat
            for _ in range(5):
                if p.poll() is not None:
                    break
                os.killpg(p.pid, signal.SIGINT)
                time.sleep(2)
        try:
            out, err = p.communicate(stdin, timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            self.fail("%s: still running after %d s: %s" % (command, seconds, err.decode()[-500:]))
        return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def spoken(self):
        return [r["body"]["input"] for r in self.mock.requests()]

    def played_bytes(self):
        return os.path.getsize(self.played) if os.path.exists(self.played) else 0

    def chats(self):
        return self.mock.requests("/chat/completions")

    def heard(self):
        return self.mock.requests("/audio/transcriptions")

    # what each command must do: (stdin, stop_when, check(code, out, err))
    def expectations(self):
        def ok(check=None):
            def run_check(code, out, err):
                self.assertEqual(code, 0, err)
                if check:
                    check(out, err)
            return run_check

        def stopped(check):
            def run_check(code, out, err):
                # ended by our Ctrl-C, as its user would end it; -SIGINT: bash itself, by the
                # next Ctrl-C, when a busy machine made the first one's exit take over 2 s
                self.assertIn(code, (0, 130, -signal.SIGINT), err)
                check(out, err)
            return run_check

        def plays(out, err):
            self.assertGreater(len(self.spoken()), 0, err)
            self.assertGreater(self.played_bytes(), 10000, "nothing reached the device")

        def converted(out, err):
            self.assertEqual([os.path.exists(os.path.join(self.work, "out", n + ".wav")) for n in ("one", "two")],
                             [True, True])

        def chat_spoken(out, err):
            self.assertEqual(len(self.chats()), 1, err)
            self.assertIn("mock model", out)
            plays(out, err)

        return {
            'clawspeak say "Hello there."': (b"", None, ok(lambda o, e: (self.assertEqual(self.spoken(), ["Hello there."]), plays(o, e)))),
            "clawspeak say -f book.txt -o book.flac": (b"", None, ok(lambda o, e: self.assertGreater(
                os.path.getsize(os.path.join(self.work, "book.flac")), 10000))),
            "some-command | clawspeak say": (b"", None, ok(lambda o, e: (
                self.assertEqual(self.spoken(), ["Output of some command, to be read aloud."]), plays(o, e)))),
            # (lines read together go in one request, a line break between them)
            "tail -f app.log | clawspeak say --lines": (b"", lambda: "connection" in "\n".join(self.spoken()), stopped(
                lambda o, e: self.assertEqual(re.split(r"\s*\n", "\n".join(self.spoken())),
                                              ["service started", "connection accepted"]))),
            'clawspeak say -o - "Hi" | aplay': (b"", None, ok(lambda o, e: (
                self.assertEqual(self.spoken(), ["Hi"]), self.assertGreater(self.played_bytes(), 1000)))),
            "clawspeak config": (b"", None, ok(lambda o, e: self.assertIn("voice", o))),
            "clawspeak voices": (b"", None, ok(lambda o, e: self.assertIn("af_alloy", o))),
            "clawspeak devices": (b"", None, ok(lambda o, e: self.assertIn("default", o))),
            "clawspeak listen": (b"", None, ok(lambda o, e: (self.assertIn("[piece", o),
                                                             self.assertEqual(len(self.heard()), 1)))),
            "clawspeak ask --chat --listen --barge-in": (b"", lambda: len(self.chats()) >= 1 and self.played_bytes() > 0,
                                                         stopped(lambda o, e: (self.assertGreater(len(self.heard()), 0, e),
                                                                               self.assertIn("[piece", self.chats()[0]["body"]["messages"][-1]["content"])))),
            "clawspeak models": (b"", None, ok(lambda o, e: self.assertIn("openrouter/hexgrad/kokoro-82m", o))),
            "clawspeak models set openrouter/moonshotai/kimi-k2.6": (b"", None, ok(lambda o, e: self.assertIn(
                "moonshotai/kimi-k2.6", open(os.path.join(self.home, ".openclaw", "openclaw.json")).read()))),
            "clawspeak transcribe memo.ogg": (b"", None, ok(lambda o, e: self.assertIn("[piece", o))),
            "clawspeak say --output-dir out chapters/*.txt": (b"", None, ok(converted)),
            "clawspeak help say": (b"", None, ok(lambda o, e: self.assertIn("--voice", o))),
            'clawspeak ask "What changed in the last release?"': (b"", None, ok(chat_spoken)),
            'clawspeak ask --speak --system "Be brief." "Summarise RFC 9110"': (b"", None, ok(lambda o, e: (
                chat_spoken(o, e), self.assertEqual(self.chats()[0]["body"]["messages"][0],
                                                    {"role": "system", "content": "Be brief."})))),
            "clawspeak ask --chat": (b"Hello there.\n", None, ok(chat_spoken)),
            'git diff | clawspeak ask "Review this change."': (b"", None, ok(lambda o, e: (
                chat_spoken(o, e), self.assertIn("+the second version", self.chats()[0]["body"]["messages"][-1]["content"])))),
            "clawspeak listen --continuous -o take.wav": (b"", lambda: len(self.heard()) >= 1, stopped(
                lambda o, e: (self.assertIn("[piece", o), self.assertTrue(os.path.exists(os.path.join(self.work, "take-1.wav")))))),
            "clawspeak ask --listen": (b"", None, ok(lambda o, e: (
                self.assertEqual(len(self.heard()), 1), chat_spoken(o, e)))),
        }

    def test_every_readme_command(self):
        commands = readme_commands()
        expect = self.expectations()
        self.assertGreater(len(commands), 15)
        missing = [c for c in commands if c not in expect and c not in NOT_RUN]
        self.assertEqual(missing, [], "README commands this test does not know: add them to expectations()")
        for command in commands:
            if command in NOT_RUN:
                continue
            with self.subTest(command=command):
                self.mock.script()
                if os.path.exists(self.played):
                    os.unlink(self.played)
                stdin, stop_when, check = expect[command]
                code, out, err = self.sh(command, stdin=stdin, stop_when=stop_when)
                self.assertNoKey(out, err)
                check(code, out, err)
                print("README: %-62s exit %d" % (command, code), file=sys.stderr)

    def test_readme_configs_load(self):
        """The json5 examples are configs `clawspeak config` reads. The fragment for OpenClaw
        calling clawspeak goes into a config with a key, as in real use: clawspeak leaves
        itself out of the chain (as the README says) and speaks through OpenRouter."""
        blocks = readme_blocks("json5")
        self.assertGreaterEqual(len(blocks), 2)
        for i, block in enumerate(blocks):
            with self.subTest(block=i):
                if block.lstrip().startswith("{"):
                    text = block
                else:
                    text = "{\n  models: {providers: {openrouter: {apiKey: '%s', baseUrl: '%s'}}},\n%s}\n" % (
                        KEY, self.mock.url, block)
                path = self.write_config(text, "readme-%d.json5" % i)
                code, out, err = self.sh("clawspeak config --config '%s'" % path)
                self.assertEqual(code, 0, err)
                if "tts-local-cli" in block:
                    self.assertIn("configured command is clawspeak itself", out)
                    # what OpenClaw runs, its placeholders filled in
                    wav = os.path.join(self.home, "openclaw.wav")
                    code, out, err = self.sh("OPENCLAW_CONFIG_PATH='%s' clawspeak say -q -o '%s' -- "
                                             "'-A reply from the agent.'" % (path, wav))
                    self.assertEqual(code, 0, err)
                    self.assertEqual(self.spoken(), ["-A reply from the agent."])
                    self.assertEqual(self.mock.requests()[0]["body"]["voice"], "af_bella")
                    self.assertGreater(os.path.getsize(wav), 10000)
