# SPDX-License-Identifier: MIT
"""Secrets never leak; hostile config files never crash. (Issue 5.)"""
import os

from harness import CliTestCase, KEY, MockTestCase, run


class Secrets(MockTestCase):
    """Every subcommand, verbose, against a failing server: the key's text
    appears in no output and no file written."""

    def files_written(self):
        for root, _, files in os.walk(self.home):
            for name in files:
                path = os.path.join(root, name)
                if name != "openclaw.json":
                    yield path

    def test_key_appears_nowhere(self):
        config = self.config_path
        out = os.path.join(self.home, "out.wav")
        commands = [["say", "--verbose", "-o", out, "hello"], ["say", "--verbose", "--verbose", "-o", out, "hello"],
                    ["ask", "--verbose", "--speak", "-o", out, "hello"], ["config", "--verbose"],
                    ["config", "--json", "--verbose"], ["voices", "--verbose"], ["devices", "--verbose"],
                    ["say", "--verbose", "--base-url", "http://127.0.0.1:9/v1", "-o", out, "hello"]]
        for rule in ({"path": "speech", "status": 401, "error_message": "bad key " + KEY},
                     {"path": "speech", "status": 500}, {"path": "chat", "status": 401},
                     {"path": "models", "status": 500}, {"path": "speech", "html200": True}):
            for args in commands:
                with self.subTest(rule=rule, args=args):
                    self.mock.script(rule)
                    code, stdout, stderr = run(args, self.env())
                    self.assertNoKey(stdout, stderr)
                    for path in self.files_written():
                        with open(path, "rb") as f:
                            self.assertNotIn(KEY.encode(), f.read(), path)
        code, stdout, stderr = run(["models", "set", "openrouter/auto", "--config", config, "--verbose"], self.env())
        self.assertEqual(code, 0, stderr)
        self.assertNoKey(stdout, stderr)
        self.assertIn(KEY, open(config).read(), "models set keeps the key in the config itself")

    def test_key_from_environment_is_masked_too(self):
        code, stdout, stderr = run(["config", "--verbose"], self.env(OPENROUTER_API_KEY=KEY))
        self.assertEqual(code, 0)
        self.assertNoKey(stdout, stderr)
        self.assertIn("sk-or-..." + KEY[-4:], stdout.decode())


class HostileConfigs(CliTestCase):
    def test_each_gives_exit_3_and_a_position_or_key_path(self):
        deep = "{a:" * 200 + "1" + "}" * 200
        cases = [
            ("deep nesting", deep.encode(), r":1:\d+: nesting deeper than"),
            ("unterminated huge string", b"{a: '" + b"x" * 3_000_000, r":1:5: unterminated string"),
            ("file over 16 MiB", b"{a: '" + b"y" * (17 << 20) + b"'}", r"larger than 16 MiB"),
            ("binary junk", bytes((i * 37) % 256 for i in range(4096)), r":\d+:\d+: "),
            ("NUL byte", b"{a: 1,\x00}", r":1:7: NUL byte"),
            ("BOM then garbage", b"\xef\xbb\xbf}}", r":1:2: expected a value"),
            ("bad escape", b"{a: '\\x4g'}", r":1:6: bad escape"),
            ("duplicate keys, last wrong", b"{tts: {timeoutMs: 10, timeoutMs: 'x'}}", r"tts.timeoutMs"),
            ("wrong types everywhere", b"{tts: {providers: {openrouter: {voice: [], model: {}, speed: true}}}}",
             r"tts.providers.openrouter"),
            ("env not an object", b"{env: 'x', tts: {auto: 5}}", r"tts.auto"),
            ("trailing garbage", b"{} {}", r":1:4: expected end of input"),
            ("lone surrogate", b"{a: '\\uDC00'}", r":1:6: bad escape: lone low surrogate"),
        ]
        for name, data, pattern in cases:
            with self.subTest(name=name):
                path = os.path.join(self.home, ".openclaw", "openclaw.json")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
                code, out, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "hi"], self.env())
                self.assertEqual(code, 3, err[:300])
                self.assertRegex(err, pattern)
                self.assertLess(len(err), 1000, "one short line, not the file echoed back")
                self.assertFalse(os.path.exists(os.path.join(self.home, "x.wav")))
