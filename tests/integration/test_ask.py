# SPDX-License-Identifier: MIT
"""clawspeak ask: the streamed chat path, auto modes, and speech that starts
while the model is still writing."""
import json
import os

from harness import KEY, MockTestCase, allowance, audioinfo, run, startup_seconds

REPLY40 = ("The first sentence is short and done. Then " + " ".join("word%d" % i for i in range(27))
           + " and then the reply ends.")


class Ask(MockTestCase):
    def config(self, extra=""):
        self.write_mock_config(extra)

    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.home, "reply.wav")

    def ask(self, *args, rc=0, stdin=None):
        # -o speaks the reply (issue 24): a run that must not speak goes without it
        silent = "--no-speak" in args or getattr(self, "silent", False)
        code, out, err = run(["ask"] + ([] if silent else ["-o", self.out]) + list(args), self.env(), stdin=stdin)
        self.assertEqual(code, rc, err)
        self.assertNoKey(out, err)
        return out.decode(), err

    def chat_requests(self):
        return self.mock.requests("/chat/completions")

    def test_request_model_key_and_messages(self):
        self.config("agents: {defaults: {model: {primary: 'openrouter/moonshotai/kimi-k2.6'}}},"
                    " tts: {providers: {openrouter: {apiKey: 'sk-or-v1-TTS-ONLY-KEY-0000000000'}}}")
        out, _ = self.ask("--system", "Be brief.", "--no-speak", "What", "is", "up?")
        [req] = self.chat_requests()
        self.assertEqual(req["path"], "/api/v1/chat/completions")
        self.assertEqual(req["body"]["model"], "moonshotai/kimi-k2.6")
        self.assertIs(req["body"]["stream"], True)
        self.assertEqual(req["body"]["messages"], [{"role": "system", "content": "Be brief."},
                                                   {"role": "user", "content": "What is up?"}])
        self.assertEqual(req["headers"]["authorization"], "Bearer " + KEY, "chat skips the TTS key")
        self.assertNotIn("x-openrouter-title", req["headers"])
        self.assertIn("Hello! This is the mock model speaking.", out)

    def test_model_refs(self):
        for ref, sent in (("openrouter/auto", "openrouter/auto"), ("openrouter/openrouter/fusion", "openrouter/fusion"),
                          ("openrouter/a/b", "a/b")):
            self.mock.script()
            self.ask("--no-speak", "--model", ref, "hi")
            self.assertEqual(self.chat_requests()[0]["body"]["model"], sent)
        self.ask("--no-speak", "--model", "anthropic/claude", "hi", rc=2)
        self.config("agents: {defaults: {model: {primary: 'openai/gpt-5'}}}")
        out, err = self.ask("--no-speak", "hi", rc=3)
        self.assertIn("OpenRouter only", err)

    def test_auto_modes(self):
        # None: no tts.auto at all, so ask speaks (issue 24); -o speaks whatever tts.auto says
        rows = [("off", [], False), ("inbound", [], False), ("always", [], True), ("off", ["--speak"], True),
                ("always", ["--no-speak"], False), (None, [], True), ("off", ["-o", self.out], True),
                ("tagged", ["-o", self.out], True)]
        for mode, flags, speaks in rows:
            with self.subTest(mode=mode, flags=flags):
                self.config("tts: {auto: '%s'}" % mode if mode else "")
                self.mock.script()
                self.silent = not speaks  # nothing is spoken: no -o, which would speak
                out, _ = self.ask(*(flags + ["hi"]))
                self.silent = False
                self.assertIn("mock model", out)
                # how many requests carry the reply depends on how its tokens arrive (a busy
                # machine reads several at once and merges sentences): spoken or not is the point
                self.assertEqual(len(self.mock.requests()) > 0, speaks, self.mock.requests())
                self.assertEqual(os.path.exists(self.out), speaks)
                if speaks:
                    os.unlink(self.out)

    def test_tagged_speaks_only_tagged_replies(self):
        self.config("tts: {auto: 'tagged'}")
        self.silent = True  # -o would speak it (issue 24)
        self.ask("hi")
        self.silent = False
        self.assertEqual(self.mock.requests(), [])
        self.mock.script({"path": "chat", "reply": "Tagged reply here. [[tts:voice=am_adam]] It is spoken aloud."})
        out, _ = self.ask("hi")
        self.assertNotIn("[[tts", out)
        reqs = self.mock.requests()
        self.assertGreater(len(reqs), 0)
        self.assertEqual(reqs[-1]["body"]["voice"], "am_adam")

    def test_short_and_code_replies_are_not_spoken(self):
        for reply in ("Ok.", "```\nprint(1)\nprint(2)\nprint(3)\n```\nDone now."):
            with self.subTest(reply=reply):
                self.mock.script({"path": "chat", "reply": reply})
                self.ask("--speak", "hi")
                self.assertEqual(self.mock.requests(), [])

    def test_markdown_is_stripped_before_speech(self):
        self.mock.script({"path": "chat", "reply": "# Heading\nSome **bold** [link](http://x.test) text.\n```\ncode()\n```"})
        out, _ = self.ask("--speak", "hi")
        spoken = " ".join(r["body"]["input"] for r in self.mock.requests())
        self.assertIn("Heading.", spoken)
        self.assertIn("Some bold link text.", spoken)
        self.assertNotIn("code()", spoken)
        self.assertNotIn("http", spoken)
        self.assertIn("**bold**", out, "the printed reply keeps its markdown")

    def test_split_events_and_keepalives(self):
        self.mock.script({"path": "chat", "split": 3, "reply": "Split into tiny pieces, events and all."})
        out, _ = self.ask("--speak", "hi")
        self.assertIn("Split into tiny pieces, events and all.", out)
        self.assertEqual(audioinfo(self.out)[0], sum(r["frames"] for r in self.mock.requests()))

    def test_mid_stream_error(self):
        self.mock.script({"path": "chat", "reply": "One sentence first. Then " + "more " * 20, "error_after": 8})
        out, err = self.ask("--speak", "hi", rc=5)
        self.assertIn("failed mid-stream", err)
        self.assertIn("One sentence first.", out)
        self.assertEqual([r["body"]["input"] for r in self.mock.requests()], ["One sentence first."])
        self.assertFalse(os.path.exists(self.out), "a failed reply leaves no half-written file")
        self.assertNoLeftovers(self.home)

    def test_missing_chat_key_is_exit_4(self):
        self.write_config("{tts: {providers: {openrouter: {apiKey: 'sk-or-v1-TTS-ONLY-KEY-0000000000'}}}}")
        out, err = self.ask("--no-speak", "hi", rc=4)
        self.assertIn("no OpenRouter API key for chat", err)
        self.assertIn("models.providers.openrouter.apiKey", err)
        self.assertIn("OPENROUTER_API_KEY", err)
        self.assertEqual(self.chat_requests(), [])

    def test_chat_timeout_is_exit_6(self):
        self.mock.script({"path": "chat", "first_byte_delay_ms": 3000})
        out, err = self.ask("--no-speak", "--timeout-ms", "800", "hi", rc=6)
        self.assertIn("timed out", err)
        self.assertIn("--timeout-ms", err)

    def test_keepalives_forever_end_at_the_deadline(self):
        """Hostile run 3: a stream of keep-alive comments, never a word, is never silent:
        it ran forever. The reply has a deadline (20 stall windows)."""
        self.mock.script({"path": "chat", "keepalive_forever_ms": 300})
        out, err = self.ask("--no-speak", "--timeout-ms", "500", "hi", rc=6)
        self.assertIn("still sending after 10 s", err)

    def test_chat_errors(self):
        self.mock.script({"path": "chat", "status": 401, "error_message": "User not found."})
        out, err = self.ask("hi", rc=4)
        self.assertIn("User not found.", err)
        self.mock.script({"path": "chat", "status": 402, "error_message": "Insufficient credits"})
        self.ask("hi", rc=5)

    def test_speech_starts_while_the_model_writes(self):
        """40-word reply at 50 ms a token: the first speech request leaves within
        100 ms of the first sentence's last token (plus three start-and-exit times of the
        binary measured now, for a busy machine), long before the stream ends."""
        bound = allowance(0.100, startup_seconds(self.env()))
        self.mock.script({"path": "chat", "reply": REPLY40, "token_ms": 50})
        self.ask("--speak", "hi")
        [chat] = self.chat_requests()
        tokens = chat["tokens"]
        self.assertEqual(len(tokens), 40)
        last_of_first = next(t for t, piece in tokens if piece.endswith("."))
        first_speech = min(r["time"] for r in self.mock.requests())
        self.assertLess(first_speech - last_of_first, bound)
        self.assertLess(first_speech, tokens[-1][0], "speech began before the reply ended")
        self.assertEqual(audioinfo(self.out)[0], sum(r["frames"] for r in self.mock.requests()))

    def test_audio_on_stdout_sends_the_text_to_stderr(self):
        code, out, err = run(["ask", "--speak", "-o", "-", "hello"], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(out[:4], b"RIFF")
        self.assertNotIn(b"mock model", out)
        self.assertIn("Hello! This is the mock model speaking.", err)

    def test_reply_from_stdin(self):
        out, _ = self.ask("--no-speak", stdin=b"a question on stdin")
        self.assertEqual(self.chat_requests()[0]["body"]["messages"][-1]["content"], "a question on stdin")

    def test_chat_keeps_history(self):
        out, _ = self.ask("--chat", "--no-speak", stdin=b"first turn\n\nsecond turn\n")
        reqs = self.chat_requests()
        self.assertEqual(len(reqs), 2)
        roles = [m["role"] for m in reqs[1]["body"]["messages"]]
        self.assertEqual(roles, ["user", "assistant", "user"])
        self.assertEqual(reqs[1]["body"]["messages"][1]["content"],
                         "Hello! This is the mock model speaking. It has two sentences.")

    def test_long_chat_keeps_all_history(self):
        self.mock.script({"path": "chat", "reply": "Short answer here.", "token_ms": 0})
        turns = b"".join(b"turn %d\n" % i for i in range(40))
        self.ask("--chat", "--no-speak", "--system", "Be brief.", stdin=turns)
        reqs = self.chat_requests()
        self.assertEqual(len(reqs), 40)
        self.assertEqual(len(reqs[-1]["body"]["messages"]), 1 + 2 * 39 + 1)
        self.assertEqual(reqs[-1]["body"]["messages"][-1]["content"], "turn 39")
