# SPDX-License-Identifier: MIT
"""The speech pipeline against the mock: requests, formats, chunks, stdout, TLS."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BIN, MockTestCase, KEY, CliTestCase, Mock, audioinfo, run

LONG = " ".join(
    "Sentence number %d of the long text, which goes on for a while so that chunking has work to do." % i
    for i in range(40))


class Speech(MockTestCase):
    def say(self, *args, stdin=None, rc=0):
        code, out, err = run(["say"] + list(args), self.env(), stdin=stdin)
        self.assertEqual(code, rc, err)
        self.assertNoKey(out, err)
        return out, err

    def test_request_carries_key_body_and_no_attribution_on_loopback(self):
        out = os.path.join(self.home, "a.wav")
        self.say("-o", out, "--voice", "am_adam", "--speed", "1.25", "Hello from the test.")
        [req] = self.mock.requests()
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/api/v1/audio/speech")
        self.assertEqual(req["headers"]["authorization"], "Bearer " + KEY)
        self.assertEqual(req["headers"]["content-type"], "application/json")
        self.assertEqual(req["body"], {"model": "hexgrad/kokoro-82m", "input": "Hello from the test.",
                                       "voice": "am_adam", "response_format": "mp3", "speed": 1.25})
        for h in ("http-referer", "x-openrouter-title", "x-openrouter-categories"):
            self.assertNotIn(h, req["headers"])

    def test_routing_object_is_sent(self):
        self.write_mock_config("tts: {providers: {openrouter: {provider: {order: ['x']}}}}")
        self.say("-o", os.path.join(self.home, "a.wav"), "Routing test.")
        self.assertEqual(self.mock.requests()[0]["body"]["provider"], {"order": ["x"]})

    def test_every_format_holds_exactly_the_mock_audio(self):
        text = "One format after another. Each must hold exactly the samples the mock made."
        for fmt, ext, lossless in (("mp3", "wav", True), ("pcm", "flac", True), ("mp3", "raw", True),
                                   ("mp3", "ogg", False), ("mp3", "opus", False), ("mp3", "mp3", False)):
            with self.subTest(fmt=fmt, ext=ext):
                self.mock.script()
                out = os.path.join(self.home, "out." + ext)
                args = ["-o", out, "--response-format", fmt, text]
                if ext == "raw":
                    args = ["--format", "raw"] + args
                self.say(*args)
                expected = sum(r["frames"] for r in self.mock.requests())
                if ext == "raw":
                    self.assertEqual(os.path.getsize(out), expected * 2)
                    continue
                frames, rate, channels, kind = audioinfo(out)
                self.assertEqual((rate, channels), (24000, 1))
                if lossless:
                    self.assertEqual(frames, expected)
                else:  # lossy codecs add their own priming; stay within 5 %
                    self.assertLess(abs(frames - expected), expected * 0.05)
                self.assertNoLeftovers(self.home)

    def test_long_text_is_chunked_in_order_concurrently_and_gapless(self):
        src = os.path.join(self.home, "book.txt")
        with open(src, "w") as f:
            f.write(LONG)
        out = os.path.join(self.home, "book.flac")
        self.mock.script({"path": "speech", "first_byte_delay_ms": 300, "bytes_per_s": 200000})
        self.say("-f", src, "-o", out, "--max-text-length", "500")
        reqs = self.mock.requests()
        texts = [r["body"]["input"] for r in reqs]
        self.assertGreater(len(reqs), 8)
        self.assertLessEqual(max(len(t) for t in texts), 500)
        # every chunk text appears once; joined in input order they rebuild the text
        ordered = sorted(texts, key=LONG.index)
        self.assertLessEqual(len(ordered[0]), 200, "the first chunk is short")
        self.assertEqual("".join(ordered).replace(" ", ""), LONG.replace(" ", ""))
        # several in flight at once: a request started before an earlier one finished
        overlaps = sum(1 for a in reqs for b in reqs if a is not b and a["time"] < b["time"] < a.get("finished", 0))
        self.assertGreater(overlaps, 0)
        frames, _, _, _ = audioinfo(out)
        self.assertEqual(frames, sum(r["frames"] for r in reqs))
        # one connection per job at most: reused, not one per chunk
        self.assertLessEqual(len({r["client_port"] for r in reqs}), 3)

    def test_jobs_one_fetches_one_at_a_time(self):
        self.mock.script({"path": "speech", "first_byte_delay_ms": 100})
        self.say("-o", os.path.join(self.home, "a.wav"), "-j", "1", "--max-text-length", "30",
                 "First short sentence here. Second short sentence here. Third short sentence here.")
        reqs = self.mock.requests()
        self.assertEqual(len(reqs), 3)
        for a, b in zip(reqs, reqs[1:]):
            self.assertGreaterEqual(b["time"], a["finished"] - 0.01)

    def test_stdout_wav_streams_and_reads_back(self):
        out, err = self.say("-o", "-", "Audio to standard output.")
        self.assertEqual(out[:4], b"RIFF")
        self.assertEqual(out[4:8], b"\xff\xff\xff\xff")
        path = os.path.join(self.home, "piped.wav")
        with open(path, "wb") as f:
            f.write(out)
        frames, rate, _, _ = audioinfo(path)
        self.assertEqual(frames, self.mock.requests()[0]["frames"])
        out, err = self.say("-o", "-", "--format", "raw", "Raw audio to standard output.")
        self.assertEqual(len(out), self.mock.requests()[-1]["frames"] * 2)

    def test_several_files_are_one_stream(self):
        paths = []
        for i, text in enumerate(("The first file speaks first.", "The second file follows it.")):
            paths.append(os.path.join(self.home, "part%d.txt" % i))
            with open(paths[-1], "w") as f:
                f.write(text)
        out = os.path.join(self.home, "both.wav")
        self.say("-f", paths[0], "-f", paths[1], "-o", out)
        joined = " ".join(r["body"]["input"] for r in self.mock.requests())
        self.assertLess(joined.index("first file"), joined.index("second file"))
        self.assertEqual(audioinfo(out)[0], sum(r["frames"] for r in self.mock.requests()))
        code, _, err = run(["say", "-f", paths[0], "-f", os.path.join(self.home, "missing.txt"),
                            "-o", out], self.env())
        self.assertEqual(code, 2, err)
        self.assertIn("missing.txt", err)

    def test_text_from_stdin_and_lines(self):
        self.say("-o", os.path.join(self.home, "a.wav"), stdin=b"Text from a pipe.\n")
        self.assertEqual(self.mock.requests()[0]["body"]["input"], "Text from a pipe.")
        self.mock.script()
        self.say("--lines", "-o", os.path.join(self.home, "b.wav"), stdin=b"line one\n\nline two\nline three")
        # lines that wait while earlier audio is fetched are merged into one request, each
        # still on a line of its own (a pause between them)
        texts = [r["body"]["input"] for r in self.mock.requests()]
        self.assertEqual("\n".join(texts), "line one\nline two\nline three")

    def test_lines_are_spoken_as_they_arrive(self):
        out = os.path.join(self.home, "live.raw")
        proc = subprocess.Popen([os.environ.get("CLAWSPEAK_BIN")] + ["say", "--lines", "-o", out, "--format", "raw"],
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env())
        proc.stdin.write(b"the first line arrives\n")
        proc.stdin.flush()
        import time
        deadline = time.time() + 20
        while not self.mock.requests() and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.mock.requests()), 1, "first line fetched while stdin is still open")
        proc.stdin.write(b"and the second\n")
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=60), 0, proc.stderr.read())
        self.assertEqual(os.path.getsize(out), sum(r["frames"] for r in self.mock.requests()) * 2)

    def test_voices_lists_models(self):
        code, out, err = run(["voices"], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("hexgrad/kokoro-82m\n  af_alloy", out.decode())
        self.assertIn("output_modalities=speech", self.mock.requests("/models")[0]["path"])

    def test_verbose_never_shows_the_key(self):
        self.mock.script({"path": "speech", "status": 500, "times": 1})
        out, err = self.say("--verbose", "-o", os.path.join(self.home, "a.wav"), "Verbose run.")
        self.assertIn("sk-or-...", run(["config", "--verbose"], self.env())[1].decode())
        for cmd in (["config", "--verbose"], ["voices", "--verbose"], ["config", "--json", "--verbose"]):
            code, out, err = run(cmd, self.env())
            self.assertNoKey(out, err)


class LocalEngine(CliTestCase):
    def test_no_key_falls_back_to_espeak_with_a_notice(self):
        out = os.path.join(self.home, "local.wav")
        code, _, err = run(["say", "-o", out, "Spoken with no key and no network."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("local engine", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        frames, rate, _, _ = audioinfo(out)
        self.assertGreater(frames / rate, 1.0)

    def test_explicit_openrouter_without_key_is_exit_4(self):
        code, _, err = run(["say", "--provider", "openrouter", "-o", os.path.join(self.home, "x.wav"), "hi"], self.env())
        self.assertEqual(code, 4, err)
        for place in ("tts.providers.openrouter.apiKey", "models.providers.openrouter.apiKey", "OPENROUTER_API_KEY"):
            self.assertIn(place, err)

    def test_custom_local_command(self):
        self.write_config("{tts: {provider: 'tts-local-cli', providers: {'tts-local-cli': "
                          "{command: 'espeak-ng', args: ['-s', '250', '-w', '{{OutputPath}}', '{{Text}}']}}}}")
        out = os.path.join(self.home, "fast.wav")
        code, _, err = run(["say", "-o", out, "Quick words."], self.env(OPENROUTER_API_KEY=KEY))
        self.assertEqual(code, 0, err)
        self.assertGreater(audioinfo(out)[0], 0)
        self.write_config("{tts: {provider: 'tts-local-cli', providers: {'tts-local-cli': {command: 'no-such-tts'}}}}")
        code, _, err = run(["say", "-o", os.path.join(self.home, "never.wav"), "x"], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("no-such-tts", err)


class StreamingLocalEngine(CliTestCase):
    """Issue 12: a local command with no {{OutputPath}} is read from its stdout as it speaks
    (the built-in espeak-ng runs as --stdout --stdin); no temp file is involved."""

    def command(self, name, body):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        return path

    def use(self, command, args="[]", extra=""):
        self.write_config("{tts: {provider: 'tts-local-cli', %s providers: {'tts-local-cli': "
                          "{command: '%s', args: %s}}}}" % (extra, command, args))

    def test_builtin_engine_reads_stdout(self):
        log = os.path.join(self.home, "argv")
        fake = self.command("espeak-ng", 'printf "%%s\\n" "$@" > %s\nexec /usr/bin/espeak-ng "$@"\n' % log)
        out = os.path.join(self.home, "s.wav")
        env = self.env(PATH=self.home + ":" + os.environ["PATH"])
        code, _, err = run(["say", "-q", "--provider", "local", "-o", out, "Read from a pipe."], env)
        self.assertEqual(code, 0, err)
        argv = open(log).read().split("\n")
        self.assertIn("--stdout", argv)
        self.assertNotIn("-w", argv)
        frames, rate, _, _ = audioinfo(out)
        self.assertEqual(rate, 22050)
        self.assertGreater(frames / rate, 0.8)

    def test_wav_and_mp3_on_stdout(self):
        wav_cmd = self.command("wav-tts", "exec espeak-ng --stdout --stdin\n")
        mp3_cmd = self.command("mp3-tts", "espeak-ng --stdout --stdin > \"$TMPDIR_X/in.wav\"; "
                               "lame --quiet \"$TMPDIR_X/in.wav\" -\n")
        env = self.env(TMPDIR_X=self.home)
        durations = []
        for cmd in (wav_cmd, mp3_cmd):
            with self.subTest(cmd=cmd):
                self.use(cmd)
                out = os.path.join(self.home, "o.flac")
                code, _, err = run(["say", "-q", "-o", out, "Two formats on standard output."], env)
                self.assertEqual(code, 0, err)
                frames, rate, _, _ = audioinfo(out)
                durations.append(frames / rate)
        self.assertLess(abs(durations[0] - durations[1]), 0.1, durations)

    def test_first_audio_before_the_command_ends(self):
        # one second of a tone, then three seconds of nothing, then the rest
        tone = os.path.join(self.home, "tone.wav")
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", tone, "synth", "1", "sine", "440"], check=True)
        pause_s = 3  # audio held back until the command ends would come after this pause
        cmd = self.command("slow-tts", "cat > /dev/null; head -c 16044 %s; sleep %d; tail -c +16045 %s\n"
                           % (tone, pause_s, tone))
        self.use(cmd)
        proc = subprocess.Popen([BIN, "say", "-q", "--format", "raw", "-o", "-", "Slow."],
                                env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        start = time.monotonic()
        first = proc.stdout.read(1000)
        first_s = time.monotonic() - start
        rest = proc.stdout.read()
        proc.wait()
        self.assertEqual(proc.returncode, 0, proc.stderr.read())
        self.assertTrue(first)
        self.assertLess(first_s, pause_s, "audio arrives while the command still runs")
        self.assertEqual(len(first) + len(rest), 2 * 16000)

    def test_not_audio_and_silent_commands_fail_clearly(self):
        self.use(self.command("text-tts", "cat > /dev/null; echo hello there\n"))
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "Hi."], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("other than WAV or MP3", err)
        self.use(self.command("mute-tts", "cat > /dev/null\n"))
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "Hi."], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("wrote no audio", err)
        self.assertFalse(os.path.exists(os.path.join(self.home, "x.wav")))

    def test_a_hung_command_times_out(self):
        # no timeout would wait out the command's 30 s: the bound is half that
        self.use(self.command("hung-tts", "exec sleep 30\n"), extra="timeoutMs: 500,")
        start = time.monotonic()
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "Hi."], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("made no audio for 500 ms", err)
        self.assertLess(time.monotonic() - start, 15)

    def test_a_command_that_ignores_sigterm_is_killed(self):
        self.use(self.command("stubborn-tts", "trap '' TERM INT HUP; sleep 20; sleep 20\n"), extra="timeoutMs: 500,")
        start = time.monotonic()
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "Hi."], self.env())
        self.assertEqual(code, 9, err)
        # without SIGKILL it would last the command's 40 s
        self.assertLess(time.monotonic() - start, 15, "SIGKILL after a grace period")

    def test_failures_say_what_happened(self):
        self.use(self.command("crash-tts", "cat > /dev/null; kill -SEGV $$\n"))
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "Hi."], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("killed by signal 11", err)
        # broken audio from a local command is the command's fault (exit 9), not a server's
        self.use(self.command("bad-wav-tts", "cat > /dev/null; printf 'RIFF\\044\\000\\000\\000WAVEjunkjunkjunk'\n"))
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "Hi."], self.env())
        self.assertEqual(code, 9, err)
        self.assertIn("the local speech command's audio is broken", err)
        self.assertNotIn("server", err)
        # text pasted into a shell script: a warning
        self.use("sh", "['-c', 'espeak-ng --stdout \"{{Text}}\"']")
        code, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "Hi."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("shell script", err)

    def test_text_that_looks_like_an_option_stays_text(self):
        """Hostile run 3: args ['--stdout', '{{Text}}'] and a text (or a model's reply) of
        '-w/path' made espeak-ng write a file of the attacker's choosing."""
        self.use("espeak-ng", "['--stdout', '{{Text}}']")
        planted = os.path.join(self.home, "planted.wav")
        out = os.path.join(self.home, "o.wav")
        code, _, err = run(["say", "-q", "-o", out, "--", "-w" + planted], self.env())
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(planted), "the text became an espeak-ng option")
        self.assertGreater(audioinfo(out)[0], 0)

    def test_output_dir_and_base_placeholders(self):
        self.use("espeak-ng", "['-w', '{{OutputDir}}/{{OutputBase}}.wav', '--stdin']")
        out = os.path.join(self.home, "p.wav")
        code, _, err = run(["say", "-q", "-o", out, "Placeholders."], self.env())
        self.assertEqual(code, 0, err)
        self.assertGreater(audioinfo(out)[0], 0)


class Rates(CliTestCase):
    """libsoxr where rates differ: the local engine's 22050 Hz into opus (48 kHz only among
    its rates), and --sample-rate for any file."""

    def test_local_engine_to_every_format_with_the_same_duration(self):
        text = "The local engine speaks into every format at the same length."
        wav = os.path.join(self.home, "l.wav")
        code, _, err = run(["say", "-q", "--provider", "local", "-o", wav, text], self.env())
        self.assertEqual(code, 0, err)
        frames, rate, _, _ = audioinfo(wav)
        seconds = frames / rate
        for ext, want_rate in (("flac", 22050), ("ogg", 22050), ("opus", 48000), ("mp3", 22050)):
            with self.subTest(ext=ext):
                out = os.path.join(self.home, "l." + ext)
                code, _, err = run(["say", "-q", "--provider", "local", "-o", out, text], self.env())
                self.assertEqual(code, 0, err)
                f, r, _, _ = audioinfo(out)
                self.assertEqual(r, want_rate)
                self.assertLess(abs(f / r - seconds) / seconds, 0.02, (ext, f / r, seconds))
        out = os.path.join(self.home, "l44.flac")
        code, _, err = run(["say", "-q", "--provider", "local", "--sample-rate", "44100", "-o", out, text],
                           self.env())
        self.assertEqual(code, 0, err)
        f, r, _, _ = audioinfo(out)
        self.assertEqual(r, 44100)
        self.assertLess(abs(f / r - seconds) / seconds, 0.02)
        code, _, err = run(["say", "--sample-rate", "7", "-o", out, text], self.env())
        self.assertEqual(code, 2, err)


class Attribution(CliTestCase):
    """The real OpenRouter URL gets attribution headers: proven over TLS to a local mock
    with a throwaway certificate, openrouter.ai:443 pointed at it by the test seam."""

    def test_headers_present_for_openrouter_ai(self):
        tmp = tempfile.mkdtemp(prefix="csp-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=openrouter.ai", "-addext", "subjectAltName=DNS:openrouter.ai",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        mock = Mock(tls_cert=cert, tls_key=key)
        self.addCleanup(mock.stop)
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s'}}}}" % KEY)
        env = self.env(CLAWSPEAK_CONNECT_TO="openrouter.ai:443:127.0.0.1:%d" % mock.port,
                       CLAWSPEAK_CA_FILE=cert)

        def log():
            out = subprocess.run(["curl", "-sf", "--cacert", cert, "--resolve",
                                  "openrouter.ai:%d:127.0.0.1" % mock.port,
                                  "https://openrouter.ai:%d/_mock/requests" % mock.port],
                                 capture_output=True, check=True).stdout
            return [r for r in json.loads(out) if "/audio/speech" in r["path"]]

        code, out, err = run(["say", "-o", os.path.join(self.home, "t.wav"), "Over TLS."], env)
        self.assertEqual(code, 0, err)
        [req] = log()
        self.assertEqual(req["path"], "/api/v1/audio/speech")
        h = req["headers"]
        self.assertEqual(h["http-referer"], "https://openclaw.ai")
        self.assertEqual(h["x-openrouter-title"], "OpenClaw")
        self.assertEqual(h["x-openrouter-categories"], "cli-agent")
        self.assertEqual(h["authorization"], "Bearer " + KEY)
        # the same host on another port is not the real OpenRouter: no headers
        env["CLAWSPEAK_RESOLVE"] = "openrouter.ai:%d:127.0.0.1" % mock.port
        code, out, err = run(["say", "-o", os.path.join(self.home, "t2.wav"), "--base-url",
                              "https://openrouter.ai:%d/api/v1" % mock.port, "Again."], env)
        self.assertEqual(code, 0, err)
        self.assertNotIn("x-openrouter-title", log()[-1]["headers"])
        # an unknown CA is refused: exit 6, nothing sent in clear
        env["CLAWSPEAK_CA_FILE"] = "/etc/ssl/certs/ca-certificates.crt"
        code, out, err = run(["say", "--no-fallback", "-o", os.path.join(self.home, "t3.wav"), "Untrusted."], env)
        self.assertEqual(code, 6, err)


if __name__ == "__main__":
    unittest.main()
