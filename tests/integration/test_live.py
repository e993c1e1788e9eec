# SPDX-License-Identifier: MIT
"""Opt-in: the real OpenRouter API, for users to check their own setup
(`ctest -L live` with OPENROUTER_API_KEY set). Skipped without a key; never
part of the default suite, which reaches no network."""
import json
import os
import shutil
import tempfile
import unittest

from harness import audioinfo, run

KEY = os.environ.get("OPENROUTER_API_KEY", "")


@unittest.skipUnless(KEY, "set OPENROUTER_API_KEY to run the live test")
class Live(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="csp-live-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                    "LANG": "C.UTF-8", "OPENROUTER_API_KEY": KEY}

    def test_one_sentence_spoken(self):
        out = os.path.join(self.home, "live.wav")
        code, _, err = run(["say", "--no-fallback", "-o", out, "clawspeak is working."], self.env)
        self.assertEqual(code, 0, err)
        frames, rate, _, _ = audioinfo(out)
        self.assertGreater(frames / rate, 0.5)
        self.assertNotIn(KEY, err)

    def test_one_chat_reply(self):
        code, out, err = run(["ask", "--no-speak", "Reply with the single word: pong"], self.env)
        self.assertEqual(code, 0, err)
        self.assertTrue(out.strip(), "an empty reply")
        self.assertNotIn(KEY, out.decode() + err)


if __name__ == "__main__":
    unittest.main()
