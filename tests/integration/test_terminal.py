# SPDX-License-Identifier: MIT
"""What only shows on a terminal or a sound device: the progress bar, the
refusal to write audio to a terminal, device selection, no device, Ctrl-C
while playing and while the model streams."""
import os
import pty
import select
import signal
import subprocess
import time

from harness import BIN, MockTestCase, allowance, audioinfo, run, startup_seconds

LONG = " ".join("Sentence %d keeps the progress bar busy for a moment." % i for i in range(30))


def read_terminal(master, p, respond=None, seconds=120):
    """What the terminal shows until the process ends or closes it; respond(text so far)
    may return bytes to type (once it returns some, it is not asked again)."""
    text, answered = b"", False
    deadline = time.time() + seconds
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            text += data
            typed = respond(text) if respond and not answered else None
            if typed:
                os.write(master, typed)
                answered = True
        elif p.poll() is not None:
            break
    return text


def run_on_pty(args, env, which):
    """Run with stdout or stderr on a pseudo-terminal; return (code, tty text, other bytes)."""
    master, slave = pty.openpty()
    other = subprocess.PIPE
    p = subprocess.Popen([BIN] + args, env=env, stdin=subprocess.DEVNULL,
                         stdout=slave if which == "stdout" else other,
                         stderr=slave if which == "stderr" else other)
    os.close(slave)
    text = read_terminal(master, p)
    code = p.wait()
    rest = (p.stdout or p.stderr).read()
    os.close(master)
    return code, text.decode("utf-8", "replace"), rest


def run_answering(args, env, answer, stdin=None):
    """Run with stderr (and stdin, unless given) on a terminal that is the process's
    controlling terminal; answer the first question; return (code, tty text)."""
    import fcntl
    import termios
    master, slave = pty.openpty()

    def controlling_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([BIN] + args, env=env, stdin=stdin if stdin is not None else slave,
                         stdout=subprocess.DEVNULL, stderr=slave, preexec_fn=controlling_terminal)
    os.close(slave)
    text = read_terminal(master, p, lambda shown: answer if b"[y/N]" in shown else None, 30)
    code = p.wait(timeout=30)
    os.close(master)
    return code, text.decode("utf-8", "replace")


class Terminal(MockTestCase):
    def setUp(self):
        super().setUp()

    def test_progress_bar_only_on_a_terminal(self):
        out = os.path.join(self.home, "long.flac")
        self.mock.script({"path": "speech", "bytes_per_s": 100000})
        code, tty, _ = run_on_pty(["say", "--max-text-length", "200", "-o", out, LONG], self.env(), "stderr")
        self.assertEqual(code, 0, tty)
        self.assertRegex(tty, r"\[#*\s*\] chunk \d+/\d+ +\d+\.\ds audio +\d+\.\dx")
        self.assertIn("chunk %d/%d" % (len(self.mock.requests()), len(self.mock.requests())), tty)
        code, tty, _ = run_on_pty(["say", "-q", "--max-text-length", "200", "-o", out, LONG], self.env(), "stderr")
        self.assertEqual((code, tty), (0, ""))
        code, _, err = run(["say", "--max-text-length", "200", "-o", out, LONG], self.env())
        self.assertNotIn("chunk", err)

    def test_asks_before_a_large_text_on_a_terminal(self):
        out = os.path.join(self.home, "big.wav")
        text = "Twenty characters!! " * 3
        code, tty = run_answering(["say", "--confirm-over", "50", "-o", out, text], self.env(), b"n\n")
        self.assertEqual(code, 1, tty)
        self.assertIn("about to send 60 characters to hexgrad/kokoro-82m", tty)
        self.assertIn("$0.00 at $15.00 per million characters", tty)  # the mock's price
        self.assertIn("nothing was sent", tty)
        self.assertEqual(self.mock.requests(), [])
        self.assertFalse(os.path.exists(out))
        code, tty = run_answering(["say", "--confirm-over", "50", "-o", out, text], self.env(), b"y\n")
        self.assertEqual(code, 0, tty)
        self.assertGreater(audioinfo(out)[0], 0)
        # --yes never asks; below the limit never asks; a pipe on stdin never asks
        for args in (["--yes", "--confirm-over", "50"], ["--confirm-over", "100"]):
            code, tty = run_answering(["say"] + args + ["-o", out, text], self.env(), b"n\n")
            self.assertEqual(code, 0, tty)
            self.assertNotIn("[y/N]", tty)
        code, _, err = run(["say", "--confirm-over", "5", "-o", out, text], self.env())
        self.assertEqual(code, 0, err)
        # say < book.txt on a terminal: the text's length is known, the answer comes from the tty
        book = os.path.join(self.home, "book.txt")
        with open(book, "w") as f:
            f.write(text)
        with open(book) as f:
            code, tty = run_answering(["say", "--confirm-over", "50", "-o", out], self.env(), b"n\n", stdin=f)
        self.assertEqual(code, 1, tty)
        self.assertIn("about to send 60 characters", tty)

    def test_refuses_to_write_audio_to_a_terminal(self):
        code, tty, err = run_on_pty(["say", "-o", "-", "hello"], self.env(), "stdout")
        self.assertEqual(code, 2)
        self.assertIn(b"refusing to write audio to a terminal", err)
        self.assertEqual(tty, "")
        self.assertEqual(self.mock.requests(), [])


class Devices(MockTestCase):
    def setUp(self):
        super().setUp()
        self.capture = os.path.join(self.home, "alsa.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n'
                    'pcm.capture_here { type file slave.pcm "null" file "%s.2" format "raw" }\n'
                    % (self.capture, self.capture))

    def test_devices_lists_and_selects_by_name_and_index(self):
        code, out, err = run(["devices"], self.env())
        self.assertEqual(code, 0, err)
        lines = dict(l.split("\t")[:2] for l in out.decode().splitlines())
        self.assertIn("capture_here", lines.values())
        index = next(i for i, name in lines.items() if name == "capture_here")
        for spec in ("capture_h", index):
            with self.subTest(spec=spec):
                code, _, err = run(["say", "--device", spec, "To a chosen device."], self.env())
                self.assertEqual(code, 0, err)
                self.assertGreater(os.path.getsize(self.capture + ".2"), 10000)
                os.unlink(self.capture + ".2")
        code, _, err = run(["say", "--device", "no-such-device", "x"], self.env())
        self.assertEqual(code, 7, err)
        self.assertIn("clawspeak devices", err)

    def test_no_device_is_exit_7_suggesting_a_file(self):
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write("pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n")
        code, _, err = run(["say", "Nowhere to play."], self.env())
        self.assertEqual(code, 7, err)
        self.assertIn("-o FILE", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        # the device starts beside the first request: at most that one was sent
        self.assertLessEqual(len(self.mock.requests()), 1)
        # and it is not waited for: the run ends when the device fails, not when audio comes
        # (waiting for the server would take its whole delay: the bound is that delay)
        delay_s = 10
        self.mock.script({"path": "speech", "first_byte_delay_ms": delay_s * 1000, "times": 1})
        start = time.monotonic()
        code, _, err = run(["say", "Nowhere to play, and a slow server."], self.env())
        self.assertEqual(code, 7, err)
        self.assertLess(time.monotonic() - start, delay_s, "the request is cancelled")
        # with -o FILE --play, the file is what lasts: saved, with a warning
        out = os.path.join(self.home, "kept.wav")
        code, _, err = run(["say", "--play", "-o", out, "Nowhere to play."], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("cannot play", err)
        self.assertGreater(audioinfo(out)[0], 0)

    def test_play_and_save_at_once(self):
        out = os.path.join(self.home, "both.wav")
        code, _, err = run(["say", "-o", out, "--play", "Played and saved."], self.env())
        self.assertEqual(code, 0, err)
        frames = audioinfo(out)[0]
        self.assertEqual(frames, self.mock.requests()[0]["frames"])
        played = open(self.capture, "rb").read()
        self.assertGreaterEqual(len(played), frames * 2)

    def interrupt(self, args, rule):
        """Ctrl-C 1.5 s into a run: the exit code, how long the exit took after the signal,
        and the bound for that: 0.5 s plus three times the binary's start-and-exit time
        measured now (a busy machine or ASan slows both alike)."""
        bound = allowance(0.5, startup_seconds(self.env()))
        self.mock.script(rule)
        p = subprocess.Popen([BIN] + args, env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        start = time.time()
        code = p.wait(timeout=10)
        return code, time.time() - start, bound, p.stderr.read().decode()

    def test_ctrl_c_stops_playback_at_once(self):
        # audio arriving slower than real time: playback is under way when Ctrl-C comes
        code, took, bound, err = self.interrupt(["say", LONG], {"path": "speech", "bytes_per_s": 4000})
        self.assertEqual(code, 130, err)
        self.assertLess(took, bound)
        self.assertIn("interrupted", err)

    def test_ctrl_c_stops_the_model_stream(self):
        code, took, bound, err = self.interrupt(["ask", "--speak", "hello"],
                                         {"path": "chat", "reply": LONG, "token_ms": 100})
        self.assertEqual(code, 130, err)
        self.assertLess(took, bound)
