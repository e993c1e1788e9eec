# SPDX-License-Identifier: MIT
"""OpenClaw's TTS model (issue 13): the openai provider, the fallback chain
(openrouter -> openai -> local), personas, local preferences,
tts.modelOverrides, and OpenClaw calling clawspeak as its tts-local-cli."""
import json
import os
import shutil
import socket
import stat
import tempfile

from harness import BIN, KEY, Mock, MockTestCase, audioinfo, run, running

OPENAI_KEY = "sk-openai-TESTKEY-never-shown-9a8b7c6d"
TEN = " ".join("Sentence %s of the story ends here." % w for w in
               ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"))


class Chain(MockTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.openai = Mock()  # a second server: OpenAI's API

    @classmethod
    def tearDownClass(cls):
        cls.openai.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.openai.script()
        self.out = os.path.join(self.home, "out.wav")

    def config(self, tts="", extra=""):
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s', baseUrl: '%s'}}}, "
                          "tts: {%s}, %s}" % (KEY, self.mock.url, tts, extra))

    def openai_section(self, more=""):
        return ("providers: {openai: {apiKey: '%s', baseUrl: '%s/v1', model: 'gpt-4o-mini-tts', "
                "voice: 'nova', instructions: 'Speak calmly.' %s}}" % (OPENAI_KEY, self.openai.url, more))

    def chain(self, *args, env=None):
        code, out, err = run(["config", "--json"] + list(args), env or self.env())
        self.assertEqual(code, 0, err)
        return json.loads(out)

    def test_openai_request_shape_and_key(self):
        self.config("provider: 'openai', " + self.openai_section())
        code, _, err = run(["say", "-o", self.out, "Hello from OpenAI."], self.env())
        self.assertEqual(code, 0, err)
        [req] = self.openai.requests()
        self.assertTrue(req["path"].endswith("/v1/audio/speech"), req["path"])
        self.assertEqual(req["headers"]["authorization"], "Bearer " + OPENAI_KEY)
        self.assertNotIn("http-referer", req["headers"], "OpenRouter's app headers stay at OpenRouter")
        body = req["body"]
        self.assertEqual((body["model"], body["voice"], body["instructions"]),
                         ("gpt-4o-mini-tts", "nova", "Speak calmly."))
        self.assertEqual(self.mock.requests(), [])
        shown = self.chain()
        # OpenClaw's models.providers.openrouter section names OpenRouter: it is next
        self.assertEqual(shown["chain"]["value"], "openai > openrouter > tts-local-cli")
        self.assertNotIn(OPENAI_KEY, json.dumps(shown))
        # --voice is for the provider you hear first
        code, _, err = run(["say", "-v", "shimmer", "-o", self.out, "Again."], self.env())
        self.assertEqual(self.openai.requests()[-1]["body"]["voice"], "shimmer")

    def test_openrouter_down_openai_takes_over(self):
        self.config(self.openai_section())
        self.mock.script({"status": 503, "error_message": "overloaded"})
        code, _, err = run(["say", "-q", "-o", self.out, "A short text to speak."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("openrouter failed", err)  # shown even with -q: the voice differs
        self.assertIn("openai speaks from chunk 1 on", err)
        self.assertEqual(len(self.mock.requests()), 3, "three attempts first")
        self.assertEqual(len(self.openai.requests()), 1)
        self.assertGreater(audioinfo(self.out)[0], 0)
        # named on the command line: no fallback, today's exit code
        code, _, err = run(["say", "--provider", "openrouter", "-o", self.out, "No fallback."], self.env())
        self.assertEqual(code, 5, err)
        code, _, err = run(["say", "--no-fallback", "-o", self.out, "No fallback."], self.env())
        self.assertEqual(code, 5, err)

    def test_all_clouds_down_the_local_engine_speaks(self):
        self.config(self.openai_section())
        self.mock.script({"status": 500})
        self.openai.script({"status": 402, "error_message": "quota"})
        code, _, err = run(["say", "-o", self.out, "Everything is down but this machine."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("openai failed", err)
        self.assertIn("the local engine (espeak-ng) speaks from chunk 1 on", err)
        self.assertGreater(audioinfo(self.out)[0], 0)

    def test_failure_mid_text_switches_once_without_repeats(self):
        self.config(self.openai_section())
        self.mock.script({"match": "four", "status": 503})
        # a stream (standard output, a player) goes on in the next voice; a file does not (below)
        args = ["say", "--jobs", "1", "--max-text-length", "40", "-o", "-", TEN]
        code, out, err = run(args, self.env())
        self.assertEqual(code, 0, err)
        with open(self.out, "wb") as f:
            f.write(out)
        to_openrouter = [r["body"]["input"] for r in self.mock.requests()]
        to_openai = [r["body"]["input"] for r in self.openai.requests()]
        self.assertEqual([t.split()[1] for t in to_openrouter], ["one", "two", "three", "four", "four", "four"])
        self.assertEqual([t.split()[1] for t in to_openai],
                         ["four", "five", "six", "seven", "eight", "nine", "ten"], "each once, in order")
        frames, rate, _, _ = audioinfo(self.out)
        self.assertGreater(frames / rate, 10 * 1.0)

    def test_mid_text_fallback_to_the_local_engine_is_resampled(self):
        """The local engine's 22050 Hz joins the API's 24000 Hz stream (libsoxr)."""
        self.config()
        self.mock.script({"match": "four", "status": 503})
        code, out, err = run(["say", "--jobs", "1", "--max-text-length", "40", "-o", "-", TEN], self.env())
        self.assertEqual(code, 0, err)
        with open(self.out, "wb") as f:
            f.write(out)
        self.assertIn("the local engine (espeak-ng) speaks from chunk 4 on", err)
        frames, rate, channels, _ = audioinfo(self.out)
        self.assertEqual((rate, channels), (24000, 1))
        self.assertGreater(frames / rate, 8.0)

    def test_a_file_never_mixes_voices(self):
        """Issue 24 item 4: once the API has delivered audio into a file, its failure stops the
        run with the paid parts kept; fallback chooses only before the first audio."""
        self.config()
        self.mock.script({"match": "four", "status": 503})
        code, _, err = run(["say", "--jobs", "1", "--max-text-length", "40", "-o", self.out, TEN],
                           self.env())
        self.assertEqual(code, 5, err)
        self.assertIn("a file never mixes voices", err)
        self.assertIn("--resume", err)
        self.assertNotIn("speaks from chunk", err)
        self.assertFalse(os.path.exists(self.out))
        parts = os.path.join(self.home, ".out.wav.clawspeak-parts")
        self.assertTrue(os.path.isdir(parts) and os.listdir(parts), "the paid chunks are kept")
        # refused at the start: the local engine still speaks the whole file, with the notice
        self.mock.script({"status": 401})
        code, _, err = run(["say", "-o", self.out, "Refused from the start."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("the local engine (espeak-ng) speaks from chunk 1 on", err)

    def test_offline_falls_back_at_once(self):
        """Issue 24 item 11: a refused connection is not retried with waits before the local
        engine speaks."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # closed again: nothing listens there
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s', baseUrl: "
                          "'http://127.0.0.1:%d/api/v1'}}}}" % (KEY, port))
        code, _, err = run(["say", "-o", self.out, "Offline with a key."], self.env())
        self.assertEqual(code, 0, err)
        self.assertNotIn("retrying", err)
        self.assertIn("the local engine (espeak-ng) speaks from chunk 1 on", err)
        self.assertGreater(audioinfo(self.out)[0], 0)

    def test_each_provider_keeps_its_own_settings(self):
        self.config("provider: 'openai', providers: {openrouter: {speed: 1.5}, openai: {apiKey: '%s', "
                    "baseUrl: '%s/v1'}}" % (OPENAI_KEY, self.openai.url))
        code, _, err = run(["say", "-o", self.out, "Speed is per provider."], self.env())
        self.assertEqual(code, 0, err)
        self.assertNotIn("speed", self.openai.requests()[-1]["body"], "openrouter's speed stays there")
        code, _, err = run(["say", "--speed", "1.25", "-o", self.out, "Flag."], self.env())
        self.assertEqual(self.openai.requests()[-1]["body"]["speed"], 1.25, "--speed: the provider heard")

    def test_unsupported_provider_and_broken_local_engine_go_on(self):
        # OpenClaw speaks with providers clawspeak has not: a warning, then the chain
        self.config("provider: 'elevenlabs'")
        code, _, err = run(["say", "-o", self.out, "Eleven."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("provider 'elevenlabs' is not one clawspeak speaks", err)
        self.assertEqual(len(self.mock.requests()), 1)
        # a local engine that is missing: the next provider of the chain speaks
        self.config("provider: 'tts-local-cli', providers: {'tts-local-cli': {command: '/nonexistent/engine'}}")
        self.assertEqual(self.chain()["chain"]["value"], "tts-local-cli > openrouter")
        code, _, err = run(["say", "-o", self.out, "The engine is missing."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("openrouter speaks from chunk 1 on", err)

    def test_a_fifo_where_a_config_is_expected_never_hangs(self):
        fifo = os.path.join(self.home, "fifo")
        os.mkfifo(fifo)
        for args, env in ((["--config", fifo, "config"], self.env()),
                          (["config"], self.env(OPENCLAW_TTS_PREFS=fifo))):
            code, _, err = run(args, env, timeout=10)
            self.assertEqual(code, 3, err)
            self.assertIn("not a regular file", err)

    def test_chain_holds_only_configured_providers(self):
        self.config()
        env = self.env(OPENAI_API_KEY=OPENAI_KEY)  # a key in the environment alone
        self.assertEqual(self.chain(env=env)["chain"]["value"], "openrouter > tts-local-cli")
        self.config(self.openai_section())
        self.assertEqual(self.chain()["chain"]["value"], "openrouter > openai > tts-local-cli")
        self.assertEqual(self.chain("--no-fallback")["chain"]["value"], "openrouter")
        self.config("fallback: false, " + self.openai_section())
        self.assertEqual(self.chain()["chain"]["value"], "openrouter")

    def test_personas(self):
        personas = ("personas: {narrator: {label: 'Calm Narrator', provider: 'openai', providers: "
                    "{openai: {voice: 'fable'}, openrouter: {voice: 'bf_emma'}}}, "
                    "strict: {label: 'Strict', fallbackPolicy: 'fail', providers: {openrouter: {voice: 'am_adam'}}}}")
        self.config("persona: 'narrator', " + personas + ", " + self.openai_section())
        code, _, err = run(["say", "-o", self.out, "In a persona."], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(self.openai.requests()[-1]["body"]["voice"], "fable", "persona binding wins")
        shown = self.chain()
        self.assertEqual(shown["persona"]["value"], "narrator (Calm Narrator)")
        self.assertIn("personas.narrator.providers.openai.voice", shown["openai_voice"]["source"])
        self.assertEqual(shown["provider"]["value"], "openai")
        # by label, any case, from the command line; fallbackPolicy fail leaves out every
        # provider the persona does not bind, the local engine too (as OpenClaw does)
        shown = self.chain("--persona", "STRICT")
        self.assertEqual(shown["persona"]["value"], "strict (Strict)")
        self.assertEqual(shown["chain"]["value"], "openrouter")
        self.assertIn("tts-local-cli: the persona does not bind it", shown["chain"]["source"])
        self.assertEqual(shown["voice"]["value"], "am_adam")
        code, _, err = run(["say", "--persona", "nobody", "-o", self.out, "x"], self.env())
        self.assertEqual(code, 2, err)
        self.assertIn("no persona 'nobody'", err)
        self.assertIn("narrator", err)

    def test_local_preferences(self):
        prefs = os.path.join(self.home, "prefs.json")
        # the shape OpenClaw's /tts commands write and read: the fields under "tts"
        with open(prefs, "w") as f:
            json.dump({"tts": {"provider": "openai", "auto": "always"}}, f)
        self.config("provider: 'openrouter', auto: 'off', " + self.openai_section())
        env = self.env(OPENCLAW_TTS_PREFS=prefs)
        shown = self.chain(env=env)
        self.assertEqual(shown["provider"]["value"], "openai", "preferences beat the config")
        self.assertEqual(shown["provider"]["source"], prefs + ":tts.provider")
        self.assertEqual(shown["auto"]["value"], "always")
        self.assertEqual(self.chain("--provider", "openrouter", env=env)["provider"]["value"], "openrouter")
        # the default place: ~/.openclaw/settings/tts.json
        os.makedirs(os.path.join(self.home, ".openclaw", "settings"))
        shutil.copy(prefs, os.path.join(self.home, ".openclaw", "settings", "tts.json"))
        self.assertEqual(self.chain()["auto"]["value"], "always")
        # a broken file is no preferences, as in OpenClaw, with a warning naming it
        with open(prefs, "w") as f:
            f.write("{provider: ")
        code, _, err = run(["say", "-o", self.out, "x"], env)
        self.assertEqual(code, 0, err)
        self.assertIn(prefs, err)
        self.assertIn("ignored", err)

    def test_preferences_persona_null_is_off(self):
        """/tts persona off writes {"tts": {"persona": null}}: the config's persona is off."""
        prefs = os.path.join(self.home, "prefs.json")
        self.config("persona: 'narrator', personas: {narrator: {providers: {openrouter: {voice: 'am_adam'}}}}")
        env = self.env(OPENCLAW_TTS_PREFS=prefs)
        with open(prefs, "w") as f:
            json.dump({"tts": {"persona": "narrator"}}, f)
        self.assertEqual(self.chain(env=env)["voice"]["value"], "am_adam")
        with open(prefs, "w") as f:
            json.dump({"tts": {"persona": None}}, f)
        shown = self.chain(env=env)
        self.assertEqual(shown["persona"]["value"], "(off)")
        self.assertEqual(shown["voice"]["value"], "af_alloy")
        # the top-level shape OpenClaw neither writes nor reads: ignored, with a word
        with open(prefs, "w") as f:
            json.dump({"persona": None, "provider": "openai"}, f)
        code, out, err = run(["config", "--json"], env)
        self.assertEqual(code, 0, err)
        self.assertIn('under "tts"', err)
        self.assertEqual(json.loads(out)["persona"]["value"], "narrator")
        # a persona OpenClaw's prefs name but the config lacks: ignored, the config's stands
        with open(prefs, "w") as f:
            json.dump({"tts": {"persona": "nobody"}}, f)
        code, out, err = run(["config", "--json"], env)
        self.assertEqual(code, 0, err)
        self.assertIn("no persona 'nobody'", err)
        self.assertEqual(json.loads(out)["persona"]["value"], "narrator")
        self.assertEqual(json.loads(out)["provider"]["value"], "openrouter")

    def test_model_overrides(self):
        reply = "[[tts:voice=af_bella stability=0.5 pitch=3]] A reply long enough to be spoken aloud."
        self.config(self.openai_section())
        self.mock.script({"path": "chat", "reply": reply})
        code, out, err = run(["ask", "--speak", "-o", self.out, "hi"], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests()[-1]["body"]["voice"], "af_bella")
        self.assertIn("stability", err)  # a warning for each key no provider supports
        self.assertIn("pitch", err)
        self.config("modelOverrides: {enabled: false}, " + self.openai_section())
        self.mock.script({"path": "chat", "reply": reply})
        code, out, err = run(["ask", "--speak", "-o", self.out, "hi"], self.env())
        self.assertEqual(code, 0, err)
        req = self.mock.requests()[-1]["body"]
        self.assertEqual(req["voice"], "af_alloy", "directives ignored")
        self.assertNotIn("[[", req["input"] + out.decode(), "still stripped")
        # provider= only with allowProvider
        switch = "[[tts:provider=openai]] A reply long enough to be spoken aloud."
        self.mock.script({"path": "chat", "reply": switch})
        self.config(self.openai_section())
        run(["ask", "--speak", "-o", self.out, "hi"], self.env())
        self.assertEqual(len(self.openai.requests()), 0)
        self.config("modelOverrides: {allowProvider: true}, " + self.openai_section())
        self.mock.script({"path": "chat", "reply": switch})
        code, out, err = run(["ask", "--speak", "-o", self.out, "hi"], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.openai.requests()), 1)


class OpenClawBackend(MockTestCase):
    """OpenClaw runs clawspeak as its tts-local-cli command, reading the same config."""

    ARGS = ["say", "-q", "-o", "{{OutputPath}}", "--", "{{Text}}"]

    def test_openclaw_calls_clawspeak_which_never_calls_itself(self):
        bindir = tempfile.mkdtemp(prefix="csp-bin-")
        self.addCleanup(shutil.rmtree, bindir, True)
        os.symlink(os.path.abspath(BIN), os.path.join(bindir, "clawspeak"))
        self.write_config(json.dumps({
            "models": {"providers": {"openrouter": {"apiKey": KEY, "baseUrl": self.mock.url}}},
            "tts": {"provider": "tts-local-cli",
                    "providers": {"tts-local-cli": {"command": "clawspeak", "args": self.ARGS},
                                  "openrouter": {"voice": "af_bella"}}}}))
        env = self.env(PATH=bindir + ":" + os.environ["PATH"])
        for ext in ("wav", "mp3", "opus"):
            with self.subTest(ext=ext):
                # what OpenClaw does: substitute the placeholders, run the command
                target = os.path.join(self.home, "reply." + ext)
                text = "-n An answer that starts with a dash, read by clawspeak."
                argv = [a.replace("{{OutputPath}}", target).replace("{{Text}}", text) for a in self.ARGS]
                code, _, err = run(argv, env)
                self.assertEqual(code, 0, err)
                self.assertGreater(audioinfo(target)[0], 0)
                self.assertEqual(self.mock.requests()[-1]["body"]["input"], text)
        # a copy under another name is not recognised by name: the one it starts is marked as a
        # local engine and never starts a local command again (no loop, one level deep)
        copy = os.path.join(bindir, "speaker")
        shutil.copy(os.path.abspath(BIN), copy)
        self.write_config(json.dumps({
            "models": {"providers": {"openrouter": {"apiKey": KEY, "baseUrl": self.mock.url}}},
            "tts": {"provider": "tts-local-cli",
                    "providers": {"tts-local-cli": {"command": copy, "args": self.ARGS},
                                  "openrouter": {"voice": "af_bella"}}}}))
        before = len(self.mock.requests())
        code, _, err = run(["say", "-o", os.path.join(self.home, "copy.wav"), "Through a copy."], env,
                           timeout=60)
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.mock.requests()), before + 1, "spoken once, by the inner one")
        # nested (the depth marker set): never a command of the config's, the built-in espeak-ng
        for marker in ("CLAWSPEAK_DEPTH", "CLAWSPEAK_LOCAL_ENGINE"):
            code, _, err = run(["say", "--provider", "local", "-o", os.path.join(self.home, "c2.wav"),
                                "x"], dict(env, **{marker: "1"}), timeout=60)
            self.assertEqual(code, 0, err)
            self.assertGreater(audioinfo(os.path.join(self.home, "c2.wav"))[0], 0)
        self.write_config(json.dumps({
            "models": {"providers": {"openrouter": {"apiKey": KEY, "baseUrl": self.mock.url}}},
            "tts": {"provider": "tts-local-cli",
                    "providers": {"tts-local-cli": {"command": "clawspeak", "args": self.ARGS},
                                  "openrouter": {"voice": "af_bella"}}}}))
        code, out, err = run(["config", "--json"], env)
        shown = json.loads(out)
        # clawspeak's own chain, the built-in espeak-ng standing in for the entry that is itself
        self.assertEqual(shown["chain"]["value"], "openrouter > tts-local-cli")
        self.assertEqual(shown["local_command"]["value"], "espeak-ng")
        self.assertIn("clawspeak itself", shown["local_command"]["source"])



class CommandRunner(MockTestCase):
    """One runner for every command (issue 22; issue 20 item 7): a command whose direct child
    exited 0 with its whole output is done even while a background grandchild holds the pipe,
    and the grandchild is killed with the group, SIGTERM ignored or not."""

    def test_local_command_with_a_grandchild_holding_stdout(self):
        marker = "31.%d" % os.getpid()
        script = ("espeak-ng --stdout --stdin; (trap '' TERM; exec sleep %s) & exit 0" % marker)
        self.write_config(json.dumps({"tts": {"timeoutMs": 3000, "providers": {"tts-local-cli": {
            "command": "sh", "args": ["-c", script]}}}}))
        out = os.path.join(self.home, "out.wav")
        code, _, err = run(["say", "--provider", "local", "-o", out, "Spoken in full."], self.env())
        self.assertEqual(code, 0, err)
        self.assertGreater(audioinfo(out)[0], 22050 // 2)
        self.assertEqual(running("sleep " + marker), [], "the grandchild was left running")

    def test_nested_run_starts_no_command(self):
        """A clawspeak started by a clawspeak (CLAWSPEAK_DEPTH) never runs a configured
        command: the built-in espeak-ng speaks, and the marker counts the depth."""
        log = os.path.join(self.home, "ran")
        self.write_config(json.dumps({"tts": {"providers": {"tts-local-cli": {
            "command": "sh", "args": ["-c", "echo ran > %s; env > %s.env; espeak-ng --stdout --stdin"
                                      % (log, log)]}}}}))
        out = os.path.join(self.home, "out.wav")
        code, _, err = run(["say", "--provider", "local", "-o", out, "x"], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("CLAWSPEAK_DEPTH=1\n", open(log + ".env").read())
        os.unlink(log)
        code, _, err = run(["say", "--provider", "local", "-o", out, "x"], self.env(CLAWSPEAK_DEPTH="1"))
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(log), "a nested clawspeak ran the configured command")
        self.assertGreater(audioinfo(out)[0], 0)

    def test_key_in_openclaws_dotenv(self):
        """OpenClaw keeps keys in ~/.openclaw/.env and strips OPENROUTER_API_KEY from its
        commands' environment: clawspeak reads that file too (under the environment)."""
        self.write_config("{models: {providers: {openrouter: {baseUrl: '%s'}}}}" % self.mock.url)
        with open(os.path.join(self.home, ".openclaw", ".env"), "w") as f:
            f.write("# OpenClaw\nexport OPENROUTER_API_KEY='%s'\n" % KEY)
        out = os.path.join(self.home, "out.wav")
        code, _, err = run(["say", "-o", out, "The key from the dot-env file."], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.mock.requests()), 1)
        self.assertEqual(self.mock.requests()[0]["headers"]["authorization"], "Bearer " + KEY)
        self.assertNoKey(err)

    def test_openclaw_command_forms(self):
        """OpenClaw's "cli" alias of tts-local-cli, a command string with arguments, and
        placeholders with spaces or in another case, read as OpenClaw reads them."""
        self.write_config(json.dumps({
            "models": {"providers": {"openrouter": {"apiKey": KEY, "baseUrl": self.mock.url}}},
            "tts": {"provider": "cli", "providers": {"cli": {
            "command": "sh -c 'espeak-ng -w \"$0\" --stdin'", "args": ["{{ outputpath }}"]}}}}))
        out = os.path.join(self.home, "out.wav")
        code, _, err = run(["say", "-o", out, "Said by the cli provider."], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests(), [], "the local command, not the API")
        frames, rate, _, _ = audioinfo(out)
        self.assertGreater(frames / rate, 0.5)
        self.assertEqual(os.listdir(self.home).count("{{ outputpath }}"), 0)

