# SPDX-License-Identifier: MIT
"""The command line: help, version, usage errors and exit codes."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, CliTestCase, SOURCE, WRAPPER, run


class Cli(CliTestCase):
    def test_version_and_help(self):
        rc, out, _ = run(["--version"], self.env())
        self.assertEqual(rc, 0)
        self.assertRegex(out.decode(), r"^clawspeak \d+\.\d+\.\d+")
        rc, out, _ = run(["--help"], self.env())
        self.assertEqual(rc, 0)
        for cmd in ("say", "ask", "config", "devices", "voices", "models set"):
            self.assertIn(cmd, out.decode())
        for cmd in ("say", "ask", "config", "devices", "voices", "models", "listen"):
            rc, out, _ = run([cmd, "--help"], self.env())
            self.assertEqual(rc, 0, cmd)
            self.assertIn("Exit codes:", out.decode())

    def test_help_lists_every_option_of_the_table(self):
        """--help is generated from the option table: every option shows up."""
        names = option_names()
        self.assertGreater(len(names), 25)
        seen = set()
        for cmd in ("say", "ask", "config", "devices", "voices", "models", "listen"):
            seen |= set(re.findall(r"--([a-z-]+)", run([cmd, "--help"], self.env())[1].decode()))
        self.assertEqual(set(names) - seen, set())
        readme = open(os.path.join(SOURCE, "README.md")).read()
        for name in names:
            self.assertIn("--" + name, readme, "README does not document --" + name)

    def test_usage_errors_exit_2(self):
        for args in (["frobnicate"], ["say", "--bogus"], [], ["say", "--jobs", "0", "x"],
                     ["say", "-f"], ["config", "--voice"], ["say", "--play", "x"],
                     ["config", "extra"], ["say", "-q", "--verbose", "x"], ["models", "get", "x"]):
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


class Habits(CliTestCase):
    """Options people bring from say and espeak-ng, and getopt's prefixes (issue 11)."""

    def test_v_is_the_voice_and_r_the_rate(self):
        rc, out, err = run(["config", "--json", "-v", "af_bella"], self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn('"af_bella"', out.decode())
        rc, out, err = run(["-v", "say", "hello"], self.env())
        self.assertEqual(rc, 2)
        self.assertIn("--verbose", err)
        self.assertIn("voice", err)

    def test_prefixes_and_hints(self):
        rc, out, err = run(["config", "--verb"], self.env())
        self.assertEqual(rc, 0, err)
        rc, _, err = run(["say", "--vioce", "x", "hi"], self.env())
        self.assertEqual(rc, 2)
        self.assertIn("did you mean --voice?", err)
        rc, _, err = run(["say", "--ma", "hi"], self.env())
        self.assertEqual(rc, 2)
        self.assertIn("ambiguous", err)
        self.assertIn("--markdown", err)
        self.assertIn("--max-behind", err)
        rc, _, err = run(["say", "-x"], self.env())
        self.assertIn("put it after --", err)

    def test_errors_name_the_option_as_typed(self):
        for args, typed in ((["say", "-v", "", "hi"], "-v:"), (["say", "--spee", "9", "hi"], "--spee:"),
                            (["say", "--voice=", "hi"], "--voice:"), (["say", "-j", "99", "hi"], "-j:"),
                            (["ask", "--mod", " ", "hi"], "--mod:"), (["say", "--timeout", "0", "hi"], "--timeout:")):
            with self.subTest(args=args):
                rc, _, err = run(args, self.env())
                self.assertEqual(rc, 2, err)
                self.assertTrue(err.startswith("clawspeak: " + typed), err)

    def test_registry_drives_help_config_and_json(self):
        """One table entry per setting: its flag, help, default and JSON type agree everywhere."""
        import json
        rc, out, err = run(["say", "--help"], self.env())
        self.assertIn("--timeout-ms MS", out.decode())
        self.assertIn("1-86400000; default 30000", out.decode())
        rc, out, err = run(["config", "--json"], self.env())
        s = json.loads(out)
        self.assertIsNone(s["local_voice"]["value"])
        self.assertEqual(s["max_text_length"]["value"], 4096)
        rc, out, err = run(["config", "--json", "--response-format", "PCM"], self.env())
        self.assertEqual(json.loads(out)["response_format"]["value"], "pcm")

    def test_rate_maps_words_per_minute_to_speed(self):
        out = os.path.join(self.home, "r.wav")
        rc, _, err = run(["say", "-q", "--provider", "openrouter", "-r", "350", "-o", out, "hi"], self.env())
        self.assertEqual(rc, 4, err)  # no key: refused, but the rate was accepted
        rc, _, err = run(["say", "-r", "2000", "-o", out, "hi"], self.env())
        self.assertEqual(rc, 2)
        self.assertIn("words per minute", err)


def option_names():
    """Every long option, read from the sources: the tool's own table and the settings registry."""
    table = open(os.path.join(SOURCE, "src", "cli", "options.c")).read()
    table = table[table.index("own_options[] = {"):]
    table = table[:table.index("};")]
    own = re.findall(r'^\s*\{"([a-z-]+)", ', table, re.M)
    assert own == sorted(own), "the option table must stay sorted"
    registry = open(os.path.join(SOURCE, "src", "config", "settings.c")).read()
    flags = re.findall(r'\{\{"[a-z_]+", CSP_SETTING_[A-Z]+, "[^"]*",\s*"([a-z-]+)"', registry)
    assert len(flags) >= 7, flags
    return own + flags


@unittest.skipIf(WRAPPER, "reads the generated files: no clawspeak run to check under valgrind")
class ManAndCompletions(CliTestCase):
    """The man page and completions are generated from the option table: each lists every option."""

    def setUp(self):
        super().setUp()
        self.build = os.environ.get("CLAWSPEAK_BUILD_DIR", os.path.join(SOURCE, "build"))
        self.names = option_names()

    def test_man_page_renders_and_lists_every_option(self):
        import shutil
        import subprocess
        page = os.path.join(self.build, "clawspeak.1")
        if shutil.which("man"):
            text = subprocess.run(["man", "-l", page], capture_output=True, text=True,
                                  env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="")).stdout
            text = re.sub(r".\x08", "", text).replace("\u2010", "-")
        else:  # no man(1) on this machine: the source itself, unescaped
            text = open(page).read().replace("\\-", "-")
        for name in self.names:
            self.assertIn("--" + name, text, "the man page misses --" + name)
        for section in ("EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "CONFIGURATION"):
            self.assertIn(section, text)

    def test_completions_list_every_option_and_load(self):
        import shutil
        import subprocess
        for name in ("clawspeak.bash", "_clawspeak", "clawspeak.fish"):
            text = open(os.path.join(self.build, name)).read()
            for option in self.names:
                self.assertIn(option, text, "%s misses --%s" % (name, option))
        p = subprocess.run(["bash", "-c", "source %s; complete -p clawspeak" % os.path.join(self.build, "clawspeak.bash")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("_clawspeak", p.stdout)
        # voices complete dynamically: offline from the local engine when there is no key
        bindir = os.path.dirname(os.path.abspath(BIN))
        script = ("source %s; COMP_WORDS=(clawspeak say -v cm); COMP_CWORD=3; _clawspeak; "
                  "echo ${COMPREPLY[@]}" % os.path.join(self.build, "clawspeak.bash"))
        link_dir = tempfile.mkdtemp(prefix="csp-bin-")
        self.addCleanup(shutil.rmtree, link_dir, True)
        os.symlink(os.path.abspath(BIN), os.path.join(link_dir, "clawspeak"))
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                           env=dict(self.env(), PATH=link_dir + ":" + os.environ["PATH"]))
        self.assertIn("cmn", p.stdout.split(), p.stderr)
        for shell in ("fish", "zsh"):
            self.assertTrue(shutil.which(shell), "%s is required (run .ci/deps test)" % shell)
        p = subprocess.run(["fish", "-n", os.path.join(self.build, "clawspeak.fish")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(["zsh", "-n", os.path.join(self.build, "_clawspeak")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)

    def completion_env(self):
        link_dir = tempfile.mkdtemp(prefix="csp-bin-")
        self.addCleanup(shutil.rmtree, link_dir, True)
        os.symlink(os.path.abspath(BIN), os.path.join(link_dir, "clawspeak"))
        work = os.path.join(self.home, "work")
        os.makedirs(os.path.join(work, "zfn"))
        for name in ("memo.ogg", "subs.srt"):
            open(os.path.join(work, name), "w").close()
        shutil.copy(os.path.join(self.build, "_clawspeak"), os.path.join(work, "zfn"))
        return work, dict(self.env(), PATH=link_dir + ":" + os.environ["PATH"], TERM="dumb")

    def test_bash_completion_drives(self):
        """bash: files for transcribe and --subtitles, options per command (issue 24 item 2)."""
        work, env = self.completion_env()
        script = os.path.join(self.build, "clawspeak.bash")

        def complete(*words):
            line = "COMP_WORDS=(%s); COMP_CWORD=%d; _clawspeak; printf '%%s\\n' \"${COMPREPLY[@]}\"" % (
                " ".join("'%s'" % w for w in words), len(words) - 1)
            p = subprocess.run(["bash", "-c", "source %s; %s" % (script, line)], capture_output=True,
                               text=True, env=env, cwd=work)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout.split()
        self.assertIn("memo.ogg", complete("clawspeak", "transcribe", "me"))
        self.assertIn("subs.srt", complete("clawspeak", "say", "--subtitles", "su"))
        self.assertEqual(complete("clawspeak", "say", "--vo"), ["--voice", "--volume"])
        self.assertNotIn("--lines", complete("clawspeak", "config", "--"))
        self.assertIn("help", complete("clawspeak", "he"))

    def test_fish_completion_drives(self):
        """fish: the file loads, commands with apostrophes, options per command (issue 24 item 2)."""
        work, env = self.completion_env()
        script = os.path.join(self.build, "clawspeak.fish")

        def complete(line):
            p = subprocess.run(["fish", "-c", "source %s; and complete -C '%s'" % (script, line)],
                               capture_output=True, text=True, env=env, cwd=work)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn("rror", p.stderr)
            return [l.split("\t")[0] for l in p.stdout.splitlines()]
        commands = complete("clawspeak ")
        for name in ("say", "ask", "voices", "transcribe", "listen"):
            self.assertIn(name, commands)
        options = complete("clawspeak config --")
        self.assertIn("--json", options)
        self.assertNotIn("--lines", options)  # say's, not config's
        self.assertNotIn("--barge-in", options)
        self.assertEqual(set(complete("clawspeak say --vo")), {"--voice", "--volume"})
        self.assertIn("memo.ogg", complete("clawspeak transcribe me"))
        self.assertIn("subs.srt", complete("clawspeak say --subtitles su"))

    def test_zsh_completion_drives(self):
        """zsh: compinit loads it and Tab completes per command, on a pseudo-terminal (issue 24 item 2)."""
        work, env = self.completion_env()
        setup = ("PS1='%% '; fpath=(%s $fpath); autoload -U compinit; compinit -u -D; "
                 "zstyle ':completion:*' list-prompt ''; LISTMAX=1000\n" % os.path.join(work, "zfn"))
        self.assertIn("clawspeak say --subtitles ", drive_shell(["zsh", "-f", "-i"], setup, "clawspeak say --subt\t", env, work))
        self.assertIn("clawspeak transcribe memo.ogg ", drive_shell(["zsh", "-f", "-i"], setup, "clawspeak transcribe me\t", env, work))
        listing = drive_shell(["zsh", "-f", "-i"], setup, "clawspeak config --\t", env, work)
        self.assertIn("--json", listing)
        self.assertNotIn("--lines", listing)
        listing = drive_shell(["zsh", "-f", "-i"], setup, "clawspeak \t", env, work)
        self.assertIn("voices", listing)
        self.assertIn("transcribe", listing)


def drive_shell(argv, setup, typed, env, cwd, seconds=3.0):
    """Type into an interactive shell on a pseudo-terminal; what it echoed after the setup."""
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execvpe(argv[0], argv, env)
    out = b""

    def read_for(t):
        nonlocal out
        end = time.time() + t
        while time.time() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return
    try:
        os.write(fd, setup.encode())
        read_for(seconds)
        mark = len(out)
        os.write(fd, typed.encode())
        read_for(seconds)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return out[mark:].decode("utf-8", "replace")


class JsonShapes(CliTestCase):
    def test_config_json_is_typed(self):
        import json
        rc, out, err = run(["config", "--json", "--speed", "1.25"], self.env())
        self.assertEqual(rc, 0, err)
        s = json.loads(out)
        self.assertEqual(s["speed"]["value"], 1.25)
        self.assertEqual(s["timeout_ms"]["value"], 30000)
        self.assertIsNone(s["routing"]["value"])
        self.assertIsInstance(s["voice"]["value"], str)
        self.assertEqual(s["speed"]["source"], "--speed")
