# SPDX-License-Identifier: MIT
"""The command line: help, version, usage errors and exit codes."""
import os
import re

from harness import CliTestCase, SOURCE, run


class Cli(CliTestCase):
    def test_version_and_help(self):
        rc, out, _ = run(["--version"], self.env())
        self.assertEqual(rc, 0)
        self.assertRegex(out.decode(), r"^clawspeak \d+\.\d+\.\d+")
        rc, out, _ = run(["--help"], self.env())
        self.assertEqual(rc, 0)
        for cmd in ("say", "ask", "config", "devices", "voices", "models set"):
            self.assertIn(cmd, out.decode())
        for cmd in ("say", "ask", "config", "devices", "voices", "models"):
            rc, out, _ = run([cmd, "--help"], self.env())
            self.assertEqual(rc, 0, cmd)
            self.assertIn("Exit codes:", out.decode())

    def test_help_lists_every_option_of_the_table(self):
        """--help is generated from the option table: every option shows up."""
        table = open(os.path.join(SOURCE, "src", "cli", "options.c")).read()
        table = table[table.index("cli_options[] = {"):]
        table = table[:table.index("};")]
        names = re.findall(r'^\s*\{"([a-z-]+)", ', table, re.M)
        self.assertGreater(len(names), 15)
        self.assertEqual(names, sorted(names), "the option table must stay sorted")
        seen = set()
        for cmd in ("say", "ask", "config", "devices", "voices", "models"):
            seen |= set(re.findall(r"--([a-z-]+)", run([cmd, "--help"], self.env())[1].decode()))
        self.assertEqual(set(names) - seen, set())
        readme = open(os.path.join(SOURCE, "README.md")).read()
        for name in names:
            self.assertIn("--" + name, readme, "README does not document --" + name)

    def test_usage_errors_exit_2(self):
        for args in (["frobnicate"], ["say", "--bogus"], [], ["say", "--jobs", "0", "x"],
                     ["say", "-f"], ["config", "--voice"], ["say", "--play", "x"],
                     ["config", "extra"], ["say", "-q", "-v", "x"], ["models", "get", "x"]):
            with self.subTest(args=args):
                rc, out, err = run(args, self.env())
                self.assertEqual(rc, 2, err)
                self.assertTrue(err.startswith("clawspeak: "), err)
                self.assertEqual(out, b"")

    def test_bad_input_text_exit_2_no_request(self):
        out = os.path.join(self.home, "o.wav")
        for data, fragment in ((b"", "nothing to say"), (b"  \n\t ", "nothing to say"),
                               (b"ok\xffno", "byte offset 2"), (b"ab\x00cd", "NUL byte at byte offset 2")):
            with self.subTest(data=data):
                rc, _, err = run(["say", "-o", out], self.env(), stdin=data)
                self.assertEqual(rc, 2, err)
                self.assertIn(fragment, err)
                self.assertFalse(os.path.exists(out))

    def test_missing_input_file(self):
        rc, _, err = run(["say", "-f", os.path.join(self.home, "nope.txt"), "-o", "x.wav"], self.env())
        self.assertEqual(rc, 2, err)
        self.assertIn("nope.txt", err)
