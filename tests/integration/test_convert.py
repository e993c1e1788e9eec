# SPDX-License-Identifier: MIT
"""Converting files: --output-dir (one target per -f, skipped when done,
--force), and --resume (chunks already paid for are kept beside the target
and not requested again after an interruption)."""
import os
import signal
import subprocess
import time

from harness import BIN, MockTestCase, audioinfo, run

SENTENCES = ["Sentence number %s of the resumable book is here." % w for w in
             ("one", "two", "three", "four", "five", "six", "seven", "eight")]
BOOK = " ".join(SENTENCES)


class OutputDir(MockTestCase):
    def write(self, name, text):
        path = os.path.join(self.home, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_each_file_to_its_own_target_then_skipped(self):
        a = self.write("a.txt", "The first file.")
        b = self.write("notes.md", "The second file.")
        out = os.path.join(self.home, "out")
        code, _, err = run(["say", "--output-dir", out, "--format", "flac", "-f", a, "-f", b], self.env())
        self.assertEqual(code, 0, err)
        for name in ("a.flac", "notes.flac"):
            frames, rate, _, fmt = audioinfo(os.path.join(out, name))
            self.assertGreater(frames, 0)
        self.assertIn("[2/2] %s -> %s/notes.flac" % (b, out), err)
        self.assertEqual(len(self.mock.requests()), 2)
        code, _, err = run(["say", "--output-dir", out, "--format", "flac", "-f", a, "-f", b], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(err.count("already converted"), 3, err)  # two lines and the summary
        self.assertEqual(len(self.mock.requests()), 2, "nothing sent for converted files")
        later = time.time() + 5
        os.utime(a, (later, later))  # edited since: converted again
        code, _, err = run(["say", "--output-dir", out, "--format", "flac", "-f", a, "-f", b], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.mock.requests()), 3)
        code, _, err = run(["say", "--output-dir", out, "--format", "flac", "--force", "-f", a, "-f", b], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.mock.requests()), 5)

    def test_clashing_names_and_bad_use_send_nothing(self):
        a = self.write("a.txt", "One.")
        other = self.write("sub/a.txt", "Two.")
        out = os.path.join(self.home, "out")
        code, _, err = run(["say", "--output-dir", out, "-f", a, "-f", other], self.env())
        self.assertEqual(code, 2, err)
        self.assertIn("would both become", err)
        for args in (["--output-dir", out, "hello"], ["--output-dir", out, "-o", "x.wav", "-f", a],
                     ["--force", "-f", a], ["--resume", "hello"], ["--output-dir", out, "-f", "-"]):
            code, _, err = run(["say"] + args, self.env())
            self.assertEqual(code, 2, (args, err))
        self.assertEqual(self.mock.requests(), [])


class Resume(MockTestCase):
    ARGS = ["--jobs", "1", "--max-text-length", "60", "--format", "raw", "--no-fallback"]

    def parts(self, target):
        d = os.path.join(os.path.dirname(target), "." + os.path.basename(target) + ".clawspeak-parts")
        return d, sorted(os.listdir(d)) if os.path.isdir(d) else None

    def test_interrupted_conversion_goes_on_without_paying_twice(self):
        book = os.path.join(self.home, "book.txt")
        with open(book, "w") as f:
            f.write(BOOK)
        # the whole book in one go, for comparison
        whole = os.path.join(self.home, "whole.raw")
        code, _, err = run(["say", "-f", book, "-o", whole] + self.ARGS, self.env())
        self.assertEqual(code, 0, err)
        chunks = len(self.mock.requests())
        self.assertGreaterEqual(chunks, 6)
        self.assertIsNone(self.parts(whole)[1], "a finished file keeps no chunks")
        # the network fails at sentence six: five chunks are paid for
        self.mock.script({"match": "six", "status": 503})
        target = os.path.join(self.home, "book.raw")
        code, _, err = run(["say", "-f", book, "-o", target] + self.ARGS, self.env())
        self.assertEqual(code, 5, err)
        self.assertFalse(os.path.exists(target))
        self.assertIn("--resume", err)
        d, kept = self.parts(target)
        paid = [n for n in kept if n.endswith(".req")]
        self.assertEqual(len(paid), 5, kept)
        self.assertFalse([n for n in kept if n.endswith(".tmp")], kept)
        self.assertEqual(os.stat(d).st_mode & 0o777, 0o700)
        # the network is back: --resume asks only for what was not paid for
        self.mock.script()
        code, _, err = run(["say", "--resume", "-f", book, "-o", target] + self.ARGS, self.env())
        self.assertEqual(code, 0, err)
        sent = [r["body"]["input"] for r in self.mock.requests()]
        self.assertEqual(len(sent), chunks - 5, sent)
        self.assertNotIn("one", " ".join(sent))
        self.assertEqual(open(target, "rb").read(), open(whole, "rb").read(), "the same audio")
        self.assertIsNone(self.parts(target)[1], "kept chunks go once the file is whole")

    def test_ctrl_c_keeps_chunks_and_without_resume_they_are_discarded(self):
        book = os.path.join(self.home, "book.txt")
        with open(book, "w") as f:
            f.write(BOOK)
        target = os.path.join(self.home, "book.raw")
        self.mock.script({"match": "four", "first_byte_delay_ms": 20000})
        p = subprocess.Popen([BIN, "say", "-q", "-f", book, "-o", target] + self.ARGS, env=self.env(),
                             stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while time.time() < deadline and len(self.mock.requests()) < 4:
            time.sleep(0.05)
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn(b"--resume", err, "the notice shows even with -q")
        kept = [n for n in self.parts(target)[1] if n.endswith(".req")]
        self.assertEqual(len(kept), 3)
        self.mock.script()
        code, _, err = run(["say", "-f", book, "-o", target] + self.ARGS, self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("discarded 3 chunks", err)
