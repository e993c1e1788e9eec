# SPDX-License-Identifier: MIT
"""Issue 9: one test per finding of the hostile test run. Hostile text, a
hostile server (the mock's hostile modes), hostile environments (no HOME,
closed descriptors, full disks, signals) and hostile targets."""
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, KEY, WRAPPER, CliTestCase, MockTestCase, allowance, audioinfo, run, startup_seconds

TEXT = "A sentence for the hostile tests to speak."
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\rFORGED LINE"


def key_runs(text, key=KEY, run=8):
    """Every 8-character stretch of the key that appears in text."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [key[i:i + run] for i in range(len(key) - run + 1) if key[i:i + run] in text]


def as_root():
    return os.geteuid() == 0


FAKE_ESPEAK = """#!/bin/sh
# records how it was called, then speaks its standard input with the real espeak-ng
log="$CSP_FAKE_LOG"
[ "$1" = "--voices" ] && exec /usr/bin/espeak-ng --voices
printf '%s\\n' "$@" > "$log.argv"
env > "$log.env"
cat > "$log.stdin"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-w" ]; then out="$2"; shift; fi
  shift
done
[ -n "$CSP_FAKE_SLEEP" ] && sleep "$CSP_FAKE_SLEEP"
[ -n "$out" ] && exec /usr/bin/espeak-ng -w "$out" -f "$log.stdin"
exec /usr/bin/espeak-ng --stdout -f "$log.stdin"
"""


class TextIsNeverAnOption(CliTestCase):
    """Finding 1: the local engine gets the text on stdin, never as argv."""

    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.home, "bin")
        os.makedirs(self.bin)
        fake = os.path.join(self.bin, "espeak-ng")
        with open(fake, "w") as f:
            f.write(FAKE_ESPEAK)
        os.chmod(fake, 0o755)
        self.log = os.path.join(self.home, "fake")
        self.secret = os.path.join(self.home, "secret.txt")
        with open(self.secret, "w") as f:
            f.write("the secret file's words")

    def fake_env(self, **extra):
        return self.env(PATH=self.bin + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                        CSP_FAKE_LOG=self.log, **extra)

    def test_dash_text_is_spoken_literally(self):
        hostile = "-f" + self.secret
        out = os.path.join(self.home, "x.wav")
        code, _, err = run(["say", "-q", "-o", out, "--", hostile], self.fake_env())
        self.assertEqual(code, 0, err)
        argv = open(self.log + ".argv").read().split("\n")
        self.assertNotIn(hostile, argv, "the text is not on the command line")
        self.assertIn("--stdin", argv)
        self.assertEqual(open(self.log + ".stdin").read(), hostile)

    def test_hostile_line_in_a_followed_log(self):
        out = os.path.join(self.home, "x.wav")
        code, _, err = run(["say", "--lines", "-q", "-o", out], self.fake_env(),
                           stdin=("first line\n-f%s\n" % self.secret).encode())
        self.assertEqual(code, 0, err)
        with open(self.log + ".stdin") as f:
            self.assertIn("-f" + self.secret, f.read())
        with open(self.log + ".argv") as f:
            self.assertNotIn("-f" + self.secret, f.read())

    def test_local_engine_voice_speed_and_environment(self):
        out = os.path.join(self.home, "x.wav")
        for text, voice in (("你好，世界。", "cmn"), ("今日はいい天気です。", "ja"), ("Привет, мир.", "ru"),
                            ("Google объявил сегодня о новых продуктах.", "ru"),
                            ("Hello there.", None)):
            with self.subTest(text=text):
                code, _, err = run(["say", "-q", "--provider", "local", "--speed", "2", "-o", out, text],
                                   self.fake_env(OPENROUTER_API_KEY=KEY))
                self.assertEqual(code, 0, err)
                with open(self.log + ".argv") as f:
                    argv = f.read().split("\n")
                self.assertNotIn("af_alloy", argv, "the API's voice is never handed to espeak-ng")
                self.assertEqual(argv[argv.index("-s") + 1], "350")
                if voice:
                    self.assertEqual(argv[argv.index("-v") + 1], voice)
                else:
                    self.assertNotIn("-v", argv)
                with open(self.log + ".env") as f:
                    env = f.read()
                self.assertNotIn(KEY, env, "no key in a local command's environment")
                self.assertIn("CLAWSPEAK_SPEED=2", env)

    def test_voice_flag_goes_to_the_local_engine_only_when_chosen(self):
        out = os.path.join(self.home, "x.wav")
        code, _, err = run(["say", "-q", "--provider", "local", "-v", "de", "-o", out, "Hallo."],
                           self.fake_env())
        self.assertEqual(code, 0, err)
        argv = open(self.log + ".argv").read().split("\n")
        self.assertEqual(argv[argv.index("-v") + 1], "de")
        # no key: the local engine stands in; an API voice espeak-ng does not know is not
        # handed to it (with a notice), one it knows is
        code, _, err = run(["say", "-v", "af_bella", "-o", out, "Hello."], self.fake_env())
        self.assertEqual(code, 0, err)
        self.assertNotIn("af_bella", open(self.log + ".argv").read().split("\n"))
        self.assertIn("not an espeak-ng voice", err)
        code, _, err = run(["say", "-q", "-v", "de", "-o", out, "Hallo."], self.fake_env())
        self.assertEqual(code, 0, err)
        argv = open(self.log + ".argv").read().split("\n")
        self.assertEqual(argv[argv.index("-v") + 1], "de")

    def test_local_voices_are_listed_offline(self):
        code, out, err = run(["say", "--provider", "local", "-v", "?"], self.env())
        self.assertEqual(code, 0, err)
        lines = out.decode().splitlines()
        self.assertEqual(lines[0], "espeak-ng (local)")
        self.assertIn("de", [l.split()[0] for l in lines[1:]])
        code, out, err = run(["voices", "--json"], self.env())  # no key: the local engine's list
        self.assertEqual(code, 0, err)
        voices = json.loads(out)["models"][0]["voices"]
        self.assertIn("cmn", voices)
        # a voice it does not know: espeak-ng's own reason, not only an exit status
        code, out, err = run(["say", "--provider", "local", "-v", "zzz", "-o",
                              os.path.join(self.home, "z.wav"), "hi"], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("voice does not exist", err)
        self.assertTrue(all(" " not in v for v in voices))

    def test_real_engine_speaks_option_like_text(self):
        for text in ("--help", "-f" + self.secret, "-w /tmp/x --stdout"):
            with self.subTest(text=text):
                out = os.path.join(self.home, "x.wav")
                code, _, err = run(["say", "-q", "-o", out, "--", text], self.env())
                self.assertEqual(code, 0, err)
                self.assertGreater(audioinfo(out)[0], 0)


class NoConfigFromTheWorkingDirectory(CliTestCase):
    """Finding 2: with HOME unset, a config planted in the cwd is never read."""

    def test_planted_config_is_ignored(self):
        cwd = tempfile.mkdtemp(prefix="csp-cwd-")
        self.addCleanup(shutil.rmtree, cwd, True)
        marker = os.path.join(cwd, "ran")
        os.makedirs(os.path.join(cwd, ".openclaw"))
        with open(os.path.join(cwd, ".openclaw", "openclaw.json"), "w") as f:
            json.dump({"tts": {"provider": "tts-local-cli", "providers": {"tts-local-cli": {
                "command": "/bin/sh", "args": ["-c", "touch %s; exit 1" % marker]},
                "openrouter": {"baseUrl": "http://127.0.0.1:9/planted"}}}}, f)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        for name in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"):
            if name in os.environ:
                env[name] = os.environ[name]
        code, out, err = run(["config", "--json"], env, cwd=cwd)
        self.assertEqual(code, 0, err)
        path = json.loads(out)["config"]["value"]
        self.assertFalse(path.startswith("."), path)
        self.assertNotIn(cwd, path)
        code, _, err = run(["say", "-q", "-o", os.path.join(cwd, "x.wav"), TEXT], env, cwd=cwd)
        self.assertFalse(os.path.exists(marker), "the planted command ran")


class Targets(MockTestCase):
    """Findings 3, 5, 14 and the output kinds: nothing is lost, nothing half-written."""

    def test_full_disk_every_format_exit_8_and_target_kept(self):
        if not as_root() or not shutil.which("mount"):
            self.skipTest("mounting a 1 MB tmpfs needs root")
        small = tempfile.mkdtemp(prefix="csp-small-")
        self.addCleanup(shutil.rmtree, small, True)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small]).returncode:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ["umount", small])
        text = "This sentence fills the small disk with speech. " * 150  # opus too
        for fmt in ("mp3", "wav", "flac", "ogg", "opus", "raw"):
            with self.subTest(fmt=fmt):
                target = os.path.join(small, "keep." + fmt)
                with open(target, "w") as f:
                    f.write("old contents")
                code, _, err = run(["say", "-q", "-o", target, text], self.env())
                self.assertEqual(code, 8, err)
                self.assertIn("No space left", err)
                self.assertEqual(open(target).read(), "old contents")
                self.assertNoLeftovers(small)

    def test_existing_target_keeps_its_mode(self):
        # the permission bits stay; set-user-ID and set-group-ID never carry onto audio
        for before, after in ((0o600, 0o600), (0o640, 0o640), (0o4755, 0o755), (0o2770, 0o770)):
            with self.subTest(mode=oct(before)):
                target = os.path.join(self.home, "private.wav")
                with open(target, "w") as f:
                    f.write("old")
                os.chmod(target, before)
                code, _, err = run(["say", "-q", "-o", target, TEXT], self.env())
                self.assertEqual(code, 0, err)
                self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), after)

    def test_hard_link_keeps_the_old_contents(self):
        # documented: the target is replaced by a new file, another link keeps the old one
        target, other = os.path.join(self.home, "a.wav"), os.path.join(self.home, "b.wav")
        with open(target, "w") as f:
            f.write("old")
        os.link(target, other)
        code, _, err = run(["say", "-q", "-o", target, TEXT], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(open(other).read(), "old")
        self.assertGreater(audioinfo(target)[0], 0)

    def test_long_names_and_trailing_slash(self):
        name = ("\u4e2d" * 83) + ".wav"  # 253 bytes: legal
        self.assertLessEqual(len(name.encode()), 255)
        target = os.path.join(self.home, name)
        code, _, err = run(["say", "-q", "-o", target, TEXT], self.env())
        self.assertEqual(code, 0, err)
        self.assertGreater(audioinfo(target)[0], 0)
        sent = len(self.mock.requests())
        code, _, err = run(["say", "-q", "-o", os.path.join(self.home, "dir", "x.wav") + "/", TEXT],
                           self.env())
        self.assertEqual(code, 8, err)
        self.assertIn("ends in '/'", err)
        self.assertEqual(len(self.mock.requests()), sent, "refused before any request")

    def test_device_fifo_and_symlink_targets(self):
        # a device node stays a device
        if as_root():
            dev = os.path.join(self.home, "null")
            os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            code, _, err = run(["say", "-q", "-o", dev, TEXT], self.env())
            self.assertEqual(code, 0, err)
            self.assertTrue(stat.S_ISCHR(os.stat(dev).st_mode))
        # a FIFO's reader gets a WAV
        fifo = os.path.join(self.home, "pipe")
        os.mkfifo(fifo)
        got = {}
        reader = threading.Thread(target=lambda: got.setdefault("data", open(fifo, "rb").read()))
        reader.start()
        code, _, err = run(["say", "-q", "-o", fifo, TEXT], self.env())
        reader.join(10)
        self.assertEqual(code, 0, err)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
        self.assertEqual(got["data"][:4], b"RIFF")
        # a symlink is written through
        real, link = os.path.join(self.home, "real.flac"), os.path.join(self.home, "link.flac")
        os.symlink("real.flac", link)
        code, _, err = run(["say", "-q", "-o", link, TEXT], self.env())
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.islink(link))
        self.assertGreater(audioinfo(real)[0], 0)

    def test_stdout_file_gets_a_finished_header(self):
        out = os.path.join(self.home, "hi.wav")
        with open(out, "wb") as f:
            p = subprocess.run(WRAPPER + [BIN, "say", "-q", "-o", "-", TEXT], stdout=f,
                               stderr=subprocess.PIPE, env=self.env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        frames = audioinfo(out)[0]
        self.assertEqual(frames, self.mock.requests()[-1]["frames"])
        import wave
        with wave.open(out) as w:
            self.assertEqual(w.getnframes(), frames, "the header says the real length")

    def test_input_as_output_is_refused(self):
        src = os.path.join(self.home, "book.txt")
        with open(src, "w") as f:
            f.write(TEXT)
        link = os.path.join(self.home, "book.wav")
        os.symlink(src, link)
        for target in (src, link):
            code, _, err = run(["say", "-q", "-f", src, "-o", target], self.env())
            self.assertEqual(code, 2, err)
            self.assertIn("both the input", err)
            self.assertEqual(open(src).read(), TEXT)
        self.assertEqual(self.mock.requests(), [])


@unittest.skipUnless(as_root() and shutil.which("setpriv"), "needs root and setpriv to switch user")
class Permissions(MockTestCase):
    """Findings 5 and 6 as an ordinary user: read-only targets and configs are refused."""

    def as_nobody(self, args):
        os.chmod(self.home, 0o777)
        env = self.env()
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + WRAPPER + [BIN] + args
        p = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")

    def test_read_only_target_is_refused(self):
        target = os.path.join(self.home, "ro.wav")
        with open(target, "w") as f:
            f.write("keep me")
        os.chmod(target, 0o444)
        os.chmod(self.config_path, 0o644)
        os.chmod(os.path.dirname(self.config_path), 0o755)
        code, _, err = self.as_nobody(["say", "-q", "--config", self.config_path, "-o", target, TEXT])
        self.assertEqual(code, 8, err)
        self.assertIn("Permission denied", err)
        self.assertEqual(open(target).read(), "keep me")
        self.assertEqual(self.mock.requests(), [], "refused before any request")

    def test_read_only_config_is_not_edited(self):
        cfg = os.path.join(self.home, "ro.json")
        with open(cfg, "w") as f:
            f.write("{}\n")
        os.chmod(cfg, 0o444)
        code, _, err = self.as_nobody(["models", "set", "openrouter/auto", "--config", cfg])
        self.assertEqual(code, 8, err)
        self.assertEqual(open(cfg).read(), "{}\n")


class ModelsSetThroughALink(CliTestCase):
    """Finding 6: a symlinked config (stow, home-manager) stays a link."""

    def test_link_kept_target_edited(self):
        dotfiles = os.path.join(self.home, "dotfiles")
        os.makedirs(dotfiles)
        real = os.path.join(dotfiles, "openclaw.json")
        with open(real, "w") as f:
            f.write("// mine\n{agents: {defaults: {model: {primary: 'openrouter/auto'}}}}\n")
        os.chmod(real, 0o640)
        os.makedirs(os.path.join(self.home, ".openclaw"))
        link = os.path.join(self.home, ".openclaw", "openclaw.json")
        os.symlink(real, link)
        code, _, err = run(["models", "set", "openrouter/moonshotai/kimi-k2.6"], self.env())
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.islink(link))
        text = open(real).read()
        self.assertIn("moonshotai/kimi-k2.6", text)
        self.assertIn("// mine", text)
        self.assertEqual(stat.S_IMODE(os.stat(real).st_mode), 0o640)
        self.assertEqual([f for f in os.listdir(dotfiles) if "clawspeak" in f], [])


class KeysNeverShow(MockTestCase):
    """Finding 4: a key that straddles any cut, or comes back in a reply, never shows."""

    def test_key_straddling_every_cut(self):
        out = os.path.join(self.home, "x.wav")
        for pad in list(range(180, 215, 3)) + list(range(280, 310, 3)) + list(range(380, 410, 3)):
            message = "x" * pad + KEY + " end"
            for path, args in (("speech", ["say", "-o", out, TEXT]), ("models", ["voices"]),
                               ("chat", ["ask", "hello"])):
                with self.subTest(pad=pad, path=path):
                    self.mock.script({"path": path, "status": 400, "error_message": message})
                    code, stdout, stderr = run(args, self.env())
                    self.assertEqual(code, 5, stderr)
                    self.assertEqual(key_runs(stdout + stderr.encode()), [])
        code, stdout, stderr = run(["config"], self.env())
        self.assertEqual(key_runs(stdout + stderr.encode()), [])

    def test_reply_echoing_the_key_is_masked_on_screen_and_in_speech(self):
        for chars in (1, 3, 7, 16, 0):
            with self.subTest(token_chars=chars):
                rule = {"path": "chat", "reply": "Your header was {AUTH}. Please keep it safe now."}
                if chars:
                    rule["token_chars"] = chars
                self.mock.script(rule)
                code, stdout, stderr = run(["ask", "--speak", "-o", os.path.join(self.home, "r.wav"),
                                            "what did I send?"], self.env())
                self.assertEqual(code, 0, stderr)
                self.assertEqual(key_runs(stdout + stderr.encode()), [])
                self.assertIn("Your header was Bearer sk-or-...", stdout.decode())
                spoken = " ".join(r["body"]["input"] for r in self.mock.requests())
                self.assertEqual(key_runs(spoken), [], "the key is never sent to speech")


class ServerBytesAreData(MockTestCase):
    """Findings 9 and 11 and the header/redirect notes."""

    def assertNoControls(self, text, keep_newlines=False):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        allowed = "\n\t" if keep_newlines else "\n"
        self.assertEqual([c for c in text if (ord(c) < 0x20 and c not in allowed) or ord(c) == 0x7f
                          or 0x80 <= ord(c) < 0xa0], [])

    def test_escapes_in_errors_voices_and_replies(self):
        self.mock.script({"path": "speech", "status": 400, "error_message": ESCAPES})
        code, out, err = run(["say", "-o", os.path.join(self.home, "x.wav"), TEXT], self.env())
        self.assertEqual(code, 5)
        self.assertIn("FORGED LINE", err)
        self.assertNoControls(err)
        self.mock.script({"path": "models", "model_id": "evil" + ESCAPES, "voices": ["v\x1b[31m", "ok"]})
        code, out, err = run(["voices"], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn(b"FORGED LINE", out)
        self.assertNoControls(out)
        code, out, err = run(["voices", "--json"], self.env())
        self.assertEqual(code, 0, err)
        models = json.loads(out)["models"]
        self.assertEqual(models[0]["voices"], ["v?[31m", "ok"])
        self.assertTrue(models[0]["id"].startswith("evil?]0;pwned?"))
        self.mock.script({"path": "chat", "reply": "line one\nline two " + ESCAPES + " end."})
        code, out, err = run(["ask", "--no-speak", "hi"], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn(b"line one\nline two", out)
        self.assertNoControls(out, keep_newlines=True)

    def test_endless_audio_is_an_api_error_with_flat_memory(self):
        self.mock.script({"path": "speech", "endless": True})
        out = os.path.join(self.home, "x.wav")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        code, _, err = run(["say", "-o", out, "Short text."], self.env(), timeout=120)
        self.assertEqual(code, 5, err)
        self.assertIn("more audio than", err)
        self.assertFalse(os.path.exists(out))
        if not WRAPPER:
            self.assertLess(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, max(before, 120_000))

    def test_huge_model_list_is_too_large(self):
        self.mock.script({"path": "models", "huge": True})
        code, _, err = run(["voices"], self.env(), timeout=120)
        self.assertEqual(code, 5, err)
        self.assertIn("too large", err)

    def test_trickling_headers_are_activity(self):
        self.mock.script({"path": "speech", "header_delay_ms": 300})
        out = os.path.join(self.home, "x.wav")
        code, _, err = run(["say", "-q", "--timeout-ms", "700", "-o", out, TEXT], self.env())
        self.assertEqual(code, 0, err)

    def test_errors_name_the_url_that_answered(self):
        target = "http://127.0.0.1:%d/elsewhere/after-redirect" % self.mock.port
        self.mock.script({"path": "speech", "redirect": target})
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), TEXT], self.env())
        self.assertEqual(code, 5, err)
        self.assertIn("/elsewhere/after-redirect", err)


class Environment(MockTestCase):
    """Findings 7, 8, 10, 12, 13, 15 and the notes on pipes and --chat."""

    def test_closed_stdout_refuses_dash_o_dash(self):
        sh = 'exec "$@" >&-'
        p = subprocess.run(["sh", "-c", sh, "sh"] + WRAPPER + [BIN, "say", "-o", "-", TEXT],
                           capture_output=True, env=self.env(), timeout=60)
        self.assertEqual(p.returncode, 8, p.stderr)
        self.assertIn(b"standard output is closed", p.stderr)
        self.assertEqual(self.mock.requests(), [])
        out = os.path.join(self.home, "x.wav")
        p = subprocess.run(["sh", "-c", 'exec "$@" >&- <&-', "sh"] + WRAPPER + [BIN, "say", "-q", "-o", out, TEXT],
                           capture_output=True, env=self.env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(audioinfo(out)[0], 0)

    def test_numbers_out_of_range(self):
        self.write_mock_config("tts: {timeoutMs: 1e300}")
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), TEXT], self.env())
        self.assertEqual(code, 3, err)
        self.assertIn("tts.timeoutMs must be a whole number from 1 to 86400000", err)
        self.write_mock_config()
        for flag, value in (("--timeout-ms", "1e300"), ("--speed", "10"), ("--speed", "0"),
                            ("--max-text-length", "1e20")):
            with self.subTest(flag=flag, value=value):
                code, _, err = run(["say", flag, value, "-o", os.path.join(self.home, "x.wav"), TEXT],
                                   self.env())
                self.assertEqual(code, 2, err)
                self.assertIn(flag, err)
        self.assertEqual(self.mock.requests(), [])

    def test_validation_before_any_request(self):
        out = os.path.join(self.home, "x.wav")
        for args, fragment in ((["--voice", ""], "--voice: the value is empty"),
                               (["--model", "  "], "--model: the value is empty"),
                               (["--base-url", "http:///v1"], "must be http(s)://host"),
                               (["--base-url", "ftp://example.com"], "must be http(s)://host")):
            with self.subTest(args=args):
                code, _, err = run(["say", "-o", out] + args + [TEXT], self.env())
                self.assertEqual(code, 2, err)
                self.assertIn(fragment, err)
        code, _, err = run(["ask", "   "], self.env())
        self.assertEqual(code, 2, err)
        self.assertEqual(self.mock.requests(), [])
        self.assertEqual(self.mock.requests("/chat"), [])
        # OpenClaw compares responseFormat without case
        self.write_mock_config("tts: {providers: {openrouter: {responseFormat: 'MP3'}}}")
        code, _, err = run(["say", "-q", "-o", out, TEXT], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests()[-1]["body"]["response_format"], "mp3")

    def test_invisible_text_is_blank(self):
        for text in ("\u200b\u200c\u200d", "\u2060\ufeff \u200b", "\u00ad\u200e"):
            code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), text], self.env())
            self.assertEqual(code, 2, err)
            self.assertIn("nothing to say", err)
        self.assertEqual(self.mock.requests(), [])

    def test_broken_pipe_ends_quietly(self):
        p = subprocess.run(["sh", "-c", '"$@" | head -c 100 >/dev/null', "sh"] + WRAPPER +
                           [BIN, "say", "-q", "-o", "-", TEXT + " " + TEXT],
                           capture_output=True, env=self.env(), timeout=60)
        self.assertEqual(p.stderr, b"")

    def test_chat_prints_no_prompt_to_a_pipe(self):
        code, out, err = run(["ask", "--chat", "--no-speak"], self.env(), stdin=b"first question\n")
        self.assertEqual(code, 0, err)
        self.assertNotIn("> ", err)

    def test_chat_takes_a_long_line_whole(self):
        line = ("word " * 20000).strip() + "\n"
        code, out, err = run(["ask", "--chat", "--no-speak"], self.env(), stdin=line.encode())
        self.assertEqual(code, 0, err)
        chats = self.mock.requests("/chat/completions")
        self.assertEqual(len(chats), 1)
        self.assertEqual(chats[0]["body"]["messages"][-1]["content"], line.strip())

    def spawn(self, args, **kw):
        return subprocess.Popen(WRAPPER + [BIN] + args, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kw)

    def test_every_signal_stops_cleanly(self):
        bound = allowance(3, startup_seconds(self.env()))
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            with self.subTest(sig=sig):
                self.mock.script({"path": "speech", "bytes_per_s": 4000})
                out = os.path.join(self.home, "x.flac")
                p = self.spawn(["say", "-q", "-o", out, TEXT])
                deadline = time.time() + 20
                while not self.mock.requests() and time.time() < deadline:
                    time.sleep(0.05)
                time.sleep(0.3)
                p.send_signal(sig)
                start = time.time()
                _, err = p.communicate(timeout=10)
                self.assertLess(time.time() - start, bound)
                self.assertEqual(p.returncode, 130, err)
                self.assertFalse(os.path.exists(out))
                self.assertNoLeftovers(self.home)

    def test_second_signal_ends_at_once_and_cleans_up(self):
        self.mock.script({"path": "speech", "bytes_per_s": 4000})
        out = os.path.join(self.home, "x.flac")
        p = self.spawn(["say", "-q", "-o", out, TEXT])
        while not self.mock.requests():
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130)
        self.assertFalse(os.path.exists(out))
        self.assertNoLeftovers(self.home)

    def test_chat_ctrl_c_stops_only_the_reply(self):
        self.mock.script({"path": "chat", "reply": " ".join("word%d" % i for i in range(60)) + ".",
                          "token_ms": 50, "times": 1},
                         {"path": "chat", "reply": "The second answer arrives whole."})
        p = self.spawn(["ask", "--chat", "--no-speak"], stdin=subprocess.PIPE)
        p.stdin.write(b"first question\n")
        p.stdin.flush()
        deadline = time.time() + 10
        while not self.mock.requests("/chat") and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        time.sleep(0.5)
        out, err = p.communicate(b"second question\n", timeout=20)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn(b"reply stopped", err)
        self.assertIn(b"The second answer arrives whole.", out)
        self.assertNotIn(b"word59", out)
        chats = self.mock.requests("/chat")
        self.assertEqual(len(chats), 2)
        # the stopped turn is not part of the history sent next
        self.assertEqual([m["content"] for m in chats[1]["body"]["messages"]], ["second question"])

    def test_signal_while_reading_slow_stdin(self):
        p = self.spawn(["say", "-q", "-o", os.path.join(self.home, "x.wav")], stdin=subprocess.PIPE)
        p.stdin.write(b"some text but no end yet ")
        p.stdin.flush()
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130, err)
        self.assertEqual(self.mock.requests(), [])

    def test_local_engine_child_dies_with_the_run(self):
        bindir = os.path.join(self.home, "bin")
        os.makedirs(bindir)
        fake = os.path.join(bindir, "espeak-ng")
        with open(fake, "w") as f:
            f.write(FAKE_ESPEAK)
        os.chmod(fake, 0o755)
        log = os.path.join(self.home, "fake")
        env = self.env(PATH=bindir + ":" + os.environ.get("PATH", ""), CSP_FAKE_LOG=log,
                       CSP_FAKE_SLEEP="30.0417")
        before = set(f for f in os.listdir("/tmp") if f.startswith("clawspeak-"))
        p = subprocess.Popen(WRAPPER + [BIN, "say", "-q", "--provider", "local", "-o",
                                        os.path.join(self.home, "x.wav"), TEXT],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while not os.path.exists(log + ".argv") and time.time() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGHUP)
        p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130)
        time.sleep(0.2)
        ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
        alive = [line for line in ps.splitlines() if "30.0417" in line and not line.startswith("Z")]
        self.assertEqual(alive, [], "the engine's children die with the run")
        # another test running beside this one may have a /tmp/clawspeak-XXXXXX of its own
        # for a moment (and /tmp/clawspeak-UID, the speaking lock's, lasts): what stays is ours
        lock_dir = "clawspeak-%d" % os.geteuid()
        deadline = time.time() + 10
        while True:
            left = set(f for f in os.listdir("/tmp") if f.startswith("clawspeak-")) - before - {lock_dir}
            if not left or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(left, set(), "the engine's temporary directory is gone")

    def test_lines_backpressure(self):
        self.mock.script({"path": "speech", "first_byte_delay_ms": 400})
        p = self.spawn(["say", "--lines", "-q", "-o", os.path.join(self.home, "x.wav")],
                       stdin=subprocess.PIPE)
        written = [0]

        def produce():
            try:
                for i in range(100000):
                    p.stdin.write(b"log line number %d says hello\n" % i)
                    written[0] += 1
            except (BrokenPipeError, ValueError, OSError):
                pass
        t = threading.Thread(target=produce, daemon=True)
        t.start()
        time.sleep(3)
        self.assertLess(written[0], 100000, "the producer is held back")
        rss = int(re.search(r"VmRSS:\s+(\d+)", open("/proc/%d/status" % p.pid).read()).group(1))
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=10)
        self.assertLess(rss, 120_000, "memory stays flat (kB)")


class FreshEyes(MockTestCase):
    """What a fresh-clone review found after the first round of fixes."""

    def test_dev_stdout_is_the_descriptor_not_the_file_behind_it(self):
        out = os.path.join(self.home, "log.bin")
        with open(out, "w") as f:
            f.write("PREV\n")
        with open(out, "ab") as f:
            p = subprocess.run(WRAPPER + [BIN, "say", "-q", "--format", "wav", "-o", "/dev/stdout", TEXT],
                               stdout=f, stderr=subprocess.PIPE, env=self.env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"PREV\nRIFF"), data[:12])
        p = subprocess.run(["sh", "-c", 'echo HEADER; "$@"; echo TRAILER', "sh"] + WRAPPER +
                           [BIN, "say", "-q", "--format", "wav", "-o", "/proc/self/fd/1", TEXT],
                           capture_output=True, env=self.env(), timeout=60)
        self.assertTrue(p.stdout.startswith(b"HEADER\nRIFF") and p.stdout.endswith(b"TRAILER\n"))

    @unittest.skipUnless(as_root(), "needs root to own a link as another user")
    def test_another_users_link_in_a_sticky_directory_is_not_followed(self):
        shared = os.path.join(self.home, "shared")
        os.makedirs(shared)
        os.chmod(shared, 0o1777)
        victim = os.path.join(self.home, "victim.wav")
        with open(victim, "w") as f:
            f.write("precious")
        link = os.path.join(shared, "out.wav")
        os.symlink(victim, link)
        os.lchown(link, 65534, 65534)
        code, _, err = run(["say", "-q", "-o", link, TEXT], self.env())
        self.assertEqual(code, 8, err)
        self.assertIn("another user", err)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")
        self.assertEqual(self.mock.requests(), [])

    def test_name_too_long_is_refused_before_any_request(self):
        code, _, err = run(["say", "-q", "-o", os.path.join(self.home, "a" * 256 + ".wav"), TEXT],
                           self.env())
        self.assertEqual(code, 8, err)
        self.assertIn("too long", err)
        self.assertEqual(self.mock.requests(), [])
        code, _, err = run(["say", "-q", "-o", "", TEXT], self.env())
        self.assertEqual(code, 2, err)
        self.assertIn("empty", err)

    def test_key_inside_a_base_url_is_masked_in_config(self):
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s', baseUrl: 'http://%s@127.0.0.1:%d/api/v1?k=%s'}}}}"
                          % (KEY, KEY, self.mock.port, KEY))
        code, out, err = run(["config", "--json"], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(key_runs(out + err.encode()), [])

    def test_short_keys_and_bidi_marks(self):
        short = "sk12345"
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s', baseUrl: '%s'}}}}" % (short, self.mock.url))
        self.mock.script({"path": "speech", "status": 400,
                          "error_message": "key " + short + " \u202eevil\u202c \u2028next"})
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), TEXT], self.env())
        self.assertEqual(code, 5, err)
        self.assertNotIn(short, err)
        for mark in ("\u202e", "\u202c", "\u2028"):
            self.assertNotIn(mark, err)


class ConfigScale(CliTestCase):
    """Finding 7: 100k keys parse in well under a second (the benchmark prints the figure)."""

    def test_hundred_thousand_keys(self):
        body = ",".join("k%d: %d" % (i, i) for i in range(100000))
        path = self.write_config("{bulk: {" + body + "}, tts: {auto: 'off'}}")
        # 3 s plus ten start-and-exit times measured now (a quadratic parse takes minutes)
        bound = allowance(3, startup_seconds(self.env()), starts=10)
        start = time.time()
        code, _, err = run(["config", "--config", path], self.env(), timeout=120)
        elapsed = time.time() - start
        self.assertEqual(code, 0, err)
        self.assertLess(elapsed, bound)


if __name__ == "__main__":
    unittest.main()
