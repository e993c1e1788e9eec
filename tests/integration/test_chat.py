# SPDX-License-Identifier: MIT
"""clawspeak ask --chat on a terminal (line editing and history through
libedit, Ctrl-C and Ctrl-D at the prompt) and through a pipe; log lines
that never split a line of reply text."""
import fcntl
import os
import pty
import select
import signal
import stat
import subprocess
import termios
import time

from harness import BIN, WRAPPER, MockTestCase

SLOW = {"path": "chat", "reply": " ".join("word%d" % i for i in range(60)) + ".", "token_ms": 50, "times": 1}
LINES = ["The first line has one sentence. Then a second sentence follows it.",
         "The second line speaks as well. It also has two sentences.",
         "The third line is the last one. Goodbye for now, my friend."]


class Pty:
    """The CLI with stdin, stdout and stderr on a pseudo-terminal that is its
    controlling terminal, so Ctrl-C typed there is a SIGINT, as for a person."""

    def __init__(self, args, env, umask=None):
        self.master, slave = pty.openpty()

        def child():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            if umask is not None:
                os.umask(umask)

        self.proc = subprocess.Popen(WRAPPER + [BIN] + args, env=env, stdin=slave, stdout=slave,
                                     stderr=slave, preexec_fn=child)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.modes = None
        self.out = b""

    def pump(self, seconds):
        """Read what the terminal shows for up to that long; False at its end."""
        ready, _, _ = select.select([self.master], [], [], seconds)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        self.out += data
        return bool(data)

    def expect(self, text, count=1, timeout=20, counter=None):
        """Wait until text has appeared count times in all that was shown."""
        counter = counter or (lambda: self.out.count(text))
        deadline = time.time() + timeout
        while counter() < count:
            if time.time() > deadline or not self.pump(0.1):
                raise AssertionError("waited for %r x%d; the terminal shows:\n%s"
                                     % (text, count, self.out.decode("utf-8", "replace")))

    def prompt(self, count):
        """Wait for the count-th "> " prompt (at the start of a line: libedit
        redraws the one being edited after a carriage return) and note the
        terminal's modes there."""
        self.expect(b"> ", count, counter=lambda: self.out.startswith(b"> ") + self.out.count(b"\n> "))
        time.sleep(0.1)  # libedit sets its modes just before the prompt; typing waits for that
        self.modes = termios.tcgetattr(self.master)

    def send(self, data, timeout=60):
        """Type data, reading what the terminal shows meanwhile: a blocking write
        into a full input queue while the program waits to echo into a full
        output queue would be a deadlock (a 100 kB line on a busy machine)."""
        deadline = time.time() + timeout
        while data:
            if time.time() > deadline:
                raise AssertionError("the program stopped reading what is typed; the terminal shows:\n"
                                     + self.text())
            readable, writable, _ = select.select([self.master], [self.master], [], 0.1)
            if readable:
                self.pump(0)
            if writable:
                try:
                    data = data[os.write(self.master, data[:4096]):]
                except BlockingIOError:
                    pass

    def wait(self, timeout=20):
        deadline = time.time() + timeout
        while self.proc.poll() is None and time.time() < deadline:
            self.pump(0.05)
        # what is left to show, but never forever: a process that inherited the terminal
        # (a sound server autospawned by ALSA's pulse plugin) can keep it open after we exit
        drained = time.time() + 5
        while time.time() < drained and self.pump(0.05):
            pass
        code = self.proc.wait(timeout=5)
        return code

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)

    def text(self):
        return self.out.decode("utf-8", "replace")


class Chat(MockTestCase):
    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.home, "state")
        self.history = os.path.join(self.state, "clawspeak", "history")

    def chat_env(self, **extra):
        extra.setdefault("XDG_STATE_HOME", self.state)
        extra.setdefault("TERM", "xterm")
        return self.env(**extra)

    def start(self, *args, umask=None, **env):
        t = Pty(["ask", "--chat", "--no-speak"] + list(args), self.chat_env(**env), umask=umask)
        self.addCleanup(t.close)
        return t

    def prompts_sent(self):
        return [r["body"]["messages"][-1]["content"] for r in self.mock.requests("/chat/completions")]

    def turn(self, t, line, n):
        """Type a line at the n-th prompt and wait for the reply's next prompt."""
        t.prompt(n)
        t.send(line)
        t.prompt(n + 1)

    def test_history_file_is_private_and_keeps_the_turns(self):
        t = self.start(umask=0)  # even with umask 0, nothing others can read
        self.turn(t, b"first question\r", 1)
        self.turn(t, b"second question\r", 2)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertEqual(stat.S_IMODE(os.stat(self.history).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.history)).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.state).st_mode), 0o700)
        with open(self.history, "rb") as f:
            text = f.read()
        self.assertIn(b"first\\040question", text)
        self.assertIn(b"second\\040question", text)
        self.assertNotIn(b"Hello!", text, "replies are not typed lines")

    def test_up_arrow_recalls_this_run_and_the_last(self):
        t = self.start()
        self.turn(t, b"alpha question\r", 1)
        self.turn(t, b"\x1b[A\r", 2)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertEqual(self.prompts_sent(), ["alpha question", "alpha question"])
        # a new run starts with the saved history: two ups reach back past a new line
        t = self.start()
        self.turn(t, b"beta question\r", 1)
        self.turn(t, b"\x1b[A\x1b[A\r", 2)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertEqual(self.prompts_sent()[2:], ["beta question", "alpha question"])

    def test_default_location_and_a_readable_file_made_private(self):
        history = os.path.join(self.home, ".local", "state", "clawspeak", "history")
        os.makedirs(os.path.dirname(history))
        with open(history, "w") as f:
            f.write("_HiStOrY_V2_\nold\\040line\n")
        os.chmod(history, 0o644)
        t = self.start(XDG_STATE_HOME="")
        t.prompt(1)
        self.assertEqual(stat.S_IMODE(os.stat(history).st_mode), 0o600, "fixed as soon as it is read")
        self.turn(t, b"\x1b[A\r", 1)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertEqual(self.prompts_sent(), ["old line"])
        self.assertEqual(stat.S_IMODE(os.stat(history).st_mode), 0o600)

    def test_chat_works_when_the_state_directory_cannot_be_made(self):
        blocker = os.path.join(self.home, "a-file")
        open(blocker, "w").close()
        for verbose, warnings in ((False, 0), (True, 1)):
            with self.subTest(verbose=verbose):
                t = self.start(*(["--verbose"] if verbose else []), XDG_STATE_HOME=blocker)
                self.turn(t, b"still works\r", 1)
                t.send(b"\x04")
                self.assertEqual(t.wait(), 0, t.text())
                self.assertEqual(t.text().count("history not kept"), warnings, t.text())
                self.assertIn("mock model speaking", t.text())

    def test_ctrl_d_at_the_prompt_ends_with_0(self):
        t = self.start()
        t.prompt(1)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertEqual(self.prompts_sent(), [])

    def test_ctrl_c_at_the_prompt(self):
        """Ctrl-C drops the line being typed; at an empty prompt it says how to
        leave, and a second one there leaves with 0; the terminal is restored."""
        t = self.start()
        t.prompt(1)
        t.send(b"never sent")
        t.expect(b"never sent")  # read by libedit (a Ctrl-C flushes keys not yet read)
        t.send(b"\x03")
        t.prompt(2)
        self.assertNotIn("to leave", t.text())
        t.send(b"\x03")
        t.expect(b"Ctrl-C again or Ctrl-D to leave")
        t.prompt(3)
        self.turn(t, b"sent\r", 3)  # typing in between: the count starts again
        t.send(b"\x03")
        t.expect(b"to leave", 2)
        t.prompt(5)
        self.assertFalse(t.modes[3] & termios.ICANON, "libedit edits in raw mode")
        t.send(b"\x03")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertEqual(self.prompts_sent(), ["sent"])
        self.assertTrue(termios.tcgetattr(t.master)[3] & termios.ICANON, "the terminal is restored")

    def test_ctrl_c_during_a_reply_stops_only_the_reply(self):
        self.mock.script(SLOW, {"path": "chat", "reply": "The second answer arrives whole."})
        t = self.start()
        t.prompt(1)
        t.send(b"first question\r")
        t.expect(b"word5")
        t.send(b"\x03")
        t.expect(b"reply stopped")
        self.turn(t, b"second question\r", 2)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertIn("The second answer arrives whole.", t.text())
        self.assertNotIn("word59", t.text())

    def test_sigterm_at_the_prompt_is_130_and_restores_the_terminal(self):
        t = self.start()
        t.prompt(1)
        t.send(b"half a line")
        t.proc.send_signal(signal.SIGTERM)
        self.assertEqual(t.wait(), 130, t.text())
        self.assertTrue(termios.tcgetattr(t.master)[3] & termios.ICANON)
        self.assertEqual(self.prompts_sent(), [])

    def test_sigterm_during_a_reply_ends_the_chat(self):
        self.mock.script(SLOW)
        t = self.start()
        t.prompt(1)
        t.send(b"first question\r")
        t.expect(b"word5")
        t.proc.send_signal(signal.SIGTERM)
        self.assertEqual(t.wait(), 130, t.text())
        self.assertNotIn("reply stopped", t.text())

    def test_a_100_kb_line_on_the_terminal(self):
        line = ("word " * 20000).strip()
        t = self.start()
        t.prompt(1)
        t.send(line.encode() + b"\r")
        t.prompt(2)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text()[-2000:])
        self.assertEqual(self.prompts_sent(), [line])

    def test_utf8_is_edited_as_characters(self):
        t = self.start(LANG="C")  # a C locale: the prompt still takes UTF-8
        t.prompt(1)
        t.send("¿qué tal? 日本x".encode() + b"\x7f\r")  # backspace removes x, then 本 stays
        t.prompt(2)
        t.send(b"\x04")
        self.assertEqual(t.wait(), 0, t.text())
        self.assertEqual(self.prompts_sent(), ["¿qué tal? 日本"])

    def test_pipe_takes_lines_of_any_length_and_keeps_no_history(self):
        long_line = "x" * 100000
        p = subprocess.run(WRAPPER + [BIN, "ask", "--chat", "--no-speak"], env=self.chat_env(),
                           input=("%s\nshort one\n" % long_line).encode(), capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"> ", p.stderr)
        self.assertEqual(self.prompts_sent(), [long_line, "short one"])
        self.assertFalse(os.path.exists(self.state), "a pipe is not a person typing")


class LogsAndReplies(MockTestCase):
    """Log lines (--verbose) arrive from worker threads while a reply streams:
    they wait for the end of the reply's line when both go to one place."""

    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.home, "reply.wav")

    def check_lines(self, shown, reply_lines):
        lines = [l for l in shown.replace("\r\n", "\n").split("\n") if l]
        for line in lines:
            self.assertNotIn("clawspeak: ", line[1:], "a log line inside a line of the reply:\n" + shown)
        logs = [l for l in lines if l.startswith("clawspeak: ")]
        self.assertGreater(len(logs), 2, shown)
        self.assertEqual([l for l in lines if not l.startswith("clawspeak: ")], reply_lines, shown)

    def test_verbose_lines_wait_for_the_end_of_a_reply_line(self):
        self.mock.script({"path": "chat", "reply": "\n".join(LINES), "token_ms": 60})
        p = subprocess.run(WRAPPER + [BIN, "ask", "--speak", "--verbose", "-o", self.out, "hi"],
                           env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.check_lines(p.stdout.decode(), LINES)
        self.assertGreaterEqual(len(self.mock.requests()), 3)

    def test_same_on_a_terminal(self):
        self.mock.script({"path": "chat", "reply": "\n".join(LINES), "token_ms": 60})
        t = Pty(["ask", "--speak", "--verbose", "-o", self.out, "hi"], self.env())
        self.addCleanup(t.close)
        self.assertEqual(t.wait(), 0, t.text())
        self.check_lines(t.text(), LINES)

    def test_many_logs_in_one_long_line_are_bounded(self):
        """More log lines than are held: the reply's line is ended early, and
        nothing is lost or cut."""
        reply = " ".join("Sentence number %d ends here." % i for i in range(150))
        self.mock.script({"path": "chat", "reply": reply, "token_ms": 2}, {"path": "speech", "canned": True})
        p = subprocess.run(WRAPPER + [BIN, "ask", "--speak", "--verbose", "--max-text-length", "30",
                                      "-o", self.out, "hi"],
                           env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:])
        lines = [l for l in p.stdout.decode().split("\n") if l]
        logs = [l for l in lines if l.startswith("clawspeak: ")]
        text = [l for l in lines if not l.startswith("clawspeak: ")]
        for line in lines:
            self.assertNotIn("clawspeak: ", line[1:], "a log line inside a line of the reply")
        self.assertGreater(len(logs), 60)
        self.assertGreater(len(text), 1, "the reply's one line was ended early to make room")
        self.assertEqual("".join(text), reply)
        for log in logs:
            self.assertRegex(log, r"^clawspeak: (chunk \d+: POST \S+ \(\d+ bytes of text, attempt 1\)|POST .*"
                                  r"|HEAD .*|warming the connection: .*|chat usage: .*"
                                  r"|first audio after \d+ ms)$")
