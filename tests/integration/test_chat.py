# SPDX-License-Identifier: MIT
"""clawspeak ask: log lines that never split a line of reply text."""
import fcntl
import os
import pty
import select
import subprocess
import termios
import time

from harness import BIN, WRAPPER, MockTestCase

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

    def send(self, data):
        while data:
            data = data[os.write(self.master, data[:4096]):]
            self.pump(0)

    def wait(self, timeout=20):
        deadline = time.time() + timeout
        while self.proc.poll() is None and time.time() < deadline:
            self.pump(0.05)
        while self.pump(0.05):
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
                           env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
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
                           env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
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
                                  r"|first audio after \d+ ms)$")
