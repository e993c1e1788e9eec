# SPDX-License-Identifier: MIT
"""Issue 10: one text stream for every input. Speech starts while the
producer is still writing, memory stays flat (backpressure), sentences
survive abbreviations, --lines skips bad lines, markdown is stripped even
when a construct is split across writes."""
import os
import re
import signal
import subprocess
import threading
import time

from harness import BIN, WRAPPER, MockTestCase, audioinfo, run


class Producer:
    """clawspeak reading from a pipe we write to, piece by piece."""

    def __init__(self, test, args):
        self.test = test
        self.proc = subprocess.Popen(WRAPPER + [BIN] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=test.env())

    def write(self, data):
        self.proc.stdin.write(data if isinstance(data, bytes) else data.encode())
        self.proc.stdin.flush()

    def close(self, timeout=60):
        out, err = self.proc.communicate(timeout=timeout)  # closes stdin: the end of input
        return self.proc.returncode, out, err.decode("utf-8", "replace")


class Streaming(MockTestCase):
    def wait_requests(self, n, timeout=20):
        deadline = time.time() + timeout
        while len(self.mock.requests()) < n and time.time() < deadline:
            time.sleep(0.02)
        return self.mock.requests()

    def texts(self):
        return [r["body"]["input"] for r in self.mock.requests()]

    def test_first_sentence_goes_before_the_producer_writes_again(self):
        out = os.path.join(self.home, "slow.wav")
        p = Producer(self, ["say", "-q", "-o", out])
        p.write("The first sentence arrives at once. ")
        reqs = self.wait_requests(1, timeout=2.5)
        wrote_again = time.time()
        p.write("The rest comes much later. And then more.\n")
        code, _, err = p.close()
        self.assertEqual(code, 0, err)
        self.assertEqual(len(reqs), 1, "the first sentence was sent while the producer slept")
        self.assertLess(reqs[0]["time"], wrote_again)
        self.assertEqual(reqs[0]["body"]["input"], "The first sentence arrives at once.")
        self.assertEqual(audioinfo(out)[0], sum(r["frames"] for r in self.mock.requests()))

    def test_a_long_sentence_cut_for_length_keeps_its_spacing(self):
        """Pieces of one sentence join as written: no line breaks that were not there."""
        sentence = ", ".join("clause number %d" % i for i in range(300)) + "."
        nospace = "x" * 5000 + "."
        out = os.path.join(self.home, "long.raw")
        for text in (sentence, nospace):
            self.mock.script()
            code, _, err = run(["say", "-o", out, "--format", "raw"], self.env(), stdin=text.encode())
            self.assertEqual(code, 0, err)
            sent = [r["body"]["input"] for r in self.mock.requests()]
            self.assertGreater(len(sent), 1)
            self.assertFalse([s for s in sent if "\n" in s], "inserted line breaks")
            self.assertEqual(sum(len(s) for s in sent), len(text) - (len(sent) - 1) * (text is sentence))

    def test_pause_sends_an_unfinished_sentence(self):
        p = Producer(self, ["say", "-q", "--pause-ms", "300", "-o", os.path.join(self.home, "p.wav")])
        p.write("An unfinished thought without an end")
        start = time.time()
        reqs = self.wait_requests(1, timeout=3)
        self.assertEqual(len(reqs), 1, "--pause-ms sent the text after the producer went quiet")
        self.assertGreaterEqual(reqs[0]["time"] - start, 0.25)
        self.assertEqual(reqs[0]["body"]["input"], "An unfinished thought without an end")
        code, _, err = p.close()
        self.assertEqual(code, 0, err)

    def test_no_sentence_end_still_starts_soon(self):
        p = Producer(self, ["say", "-q", "-o", os.path.join(self.home, "w.wav")])
        start = time.time()
        for i in range(120):
            p.write("word%d " % i)
            time.sleep(0.01)
        wrote_all = time.time()
        reqs = self.wait_requests(1, timeout=5)
        code, _, err = p.close()
        self.assertEqual(code, 0, err)
        # the alternative, waiting for the end of the input, would send after the last write
        self.assertLess(reqs[0]["time"], wrote_all, "the first request goes at about 200 characters")
        self.assertLessEqual(len(reqs[0]["body"]["input"]), 200)

    def test_a_pause_mid_word_or_after_an_abbreviation_does_not_cut(self):
        p = Producer(self, ["say", "-q", "-o", os.path.join(self.home, "q.wav")])
        p.write("The quick bro")
        time.sleep(1.0)  # longer than --pause-ms (700), shorter than twice it
        p.write("wn fox jumps. We met at 3 p.m. ")
        time.sleep(0.4)
        p.write("in the house. ")
        time.sleep(0.3)
        p.write('"')
        time.sleep(0.3)
        p.write('Quoted." he said.')
        code, _, err = p.close()
        self.assertEqual(code, 0, err)
        joined = " | ".join(self.texts())
        self.assertIn("The quick brown fox jumps.", joined)
        self.assertIn("We met at 3 p.m. in the house.", joined)
        self.assertIn('"Quoted." he said.', joined)

    def test_pause_zero_waits_for_a_blank_line(self):
        p = Producer(self, ["say", "-q", "--pause-ms", "0", "-o", os.path.join(self.home, "z.wav")])
        p.write("A heading without a stop")
        time.sleep(1.2)
        self.assertEqual(self.mock.requests(), [], "0 waits for more text")
        p.write("\n\nThen a paragraph.")
        reqs = self.wait_requests(1, timeout=3)
        self.assertEqual(reqs[0]["body"]["input"], "A heading without a stop")
        code, _, err = p.close()
        self.assertEqual(code, 0, err)

    def test_writes_split_inside_characters_and_words(self):
        text = "Grüße aus Köln, schön hier. Zweiter Satz mit Umlauten: äöü. 你好。再见。"
        # one request at a time: the mock records requests in the order they arrive, and two
        # in flight at once can arrive either way round (seen under ASan in CI)
        p = Producer(self, ["say", "-q", "--jobs", "1", "-o", os.path.join(self.home, "u.wav")])
        data = text.encode()
        for i in range(0, len(data), 3):  # 3-byte pieces cut through 2-byte and 3-byte sequences
            p.write(data[i:i + 3])
            time.sleep(0.005)
        code, _, err = p.close()
        self.assertEqual(code, 0, err)
        joined = " ".join(self.texts())
        # (sentences merged into one request are joined by a space or a line break)
        self.assertEqual("".join(joined.split()), text.replace(" ", ""))
        for t in self.texts():
            self.assertNotIn("\ufffd", t)

    def test_invalid_utf8_in_a_stream_names_the_offset(self):
        out = os.path.join(self.home, "bad.wav")
        code, _, err = run(["say", "-o", out], self.env(), stdin=b"Fine text here. Then \xff bad.")
        self.assertEqual(code, 2, err)
        self.assertIn("byte offset 21", err)
        self.assertFalse(os.path.exists(out))

    def test_backpressure_holds_the_producer(self):
        self.mock.script({"path": "speech", "first_byte_delay_ms": 1500, "canned": True})
        p = Producer(self, ["say", "-q", "-o", os.path.join(self.home, "b.flac")])
        sentence = b"This sentence is one of very many in a long text. "
        total = 4 << 20
        written = [0]

        def produce():
            try:
                while written[0] < total:
                    p.proc.stdin.write(sentence * 100)
                    written[0] += len(sentence) * 100
            except (BrokenPipeError, ValueError, OSError):
                pass
        t = threading.Thread(target=produce, daemon=True)
        t.start()
        time.sleep(3)
        self.assertLess(written[0], total, "the producer's writes block while speech lags")
        rss = int(re.search(r"VmRSS:\s+(\d+)", open("/proc/%d/status" % p.proc.pid).read()).group(1))
        self.assertLess(rss, 60_000 if not WRAPPER else 400_000, "memory stays flat (kB)")
        p.proc.send_signal(signal.SIGINT)
        p.proc.communicate(timeout=20)
        self.assertEqual(p.proc.returncode, 130)
        self.assertNoLeftovers(self.home)

    def test_abbreviations_do_not_split_requests(self):
        text = ("Dr. Smith met Mr. Jones at 3.5 p.m. on Main St. today. "
                "Jonas E. Smith said the U.S. team, e.g. the coach, agreed. Wait . . . really?")
        code, _, err = run(["say", "-o", os.path.join(self.home, "a.wav"), "-j", "1", text], self.env())
        self.assertEqual(code, 0, err)
        for t in self.texts():
            self.assertGreater(len(t.split()), 3, "no request of a few words: %r" % t)
        self.assertEqual(" ".join(self.texts()), text)

    def test_punctuation_never_goes_alone(self):
        p = Producer(self, ["say", "-q", "-o", os.path.join(self.home, "e.wav")])
        p.write("First sentence. ")
        self.wait_requests(1)
        p.write("... ")
        time.sleep(1.0)
        p.write("Second sentence here.")
        code, _, err = p.close()
        self.assertEqual(code, 0, err)
        for t in self.texts():
            self.assertTrue(re.search(r"\w", t), "a request with nothing to say: %r" % t)

    def test_lines_skip_a_bad_line(self):
        data = b"first good line\nbad \xff line\nthird has a \x00 nul\nlast good line\n"
        code, _, err = run(["say", "--lines", "-o", os.path.join(self.home, "l.wav")], self.env(), stdin=data)
        self.assertEqual(code, 0, err)
        self.assertIn("line 2: not valid UTF-8", err)
        self.assertIn("line 3: a NUL byte", err)
        joined = "\n".join(self.texts())
        self.assertIn("first good line", joined)
        self.assertIn("last good line", joined)
        self.assertNotIn("bad", joined)

    def test_max_behind_skips_old_lines_with_a_notice(self):
        self.mock.script({"path": "speech", "first_byte_delay_ms": 1500, "canned": True})
        p = Producer(self, ["say", "--lines", "--max-behind", "0.5", "-j", "1",
                            "-o", os.path.join(self.home, "m.wav")])
        # the first line's request is on its way (the run reads: a busy machine cannot read all
        # the lines at once, late); the next lines are read during its 1.5 s, so they are over
        # 0.5 s old when the next request can start
        p.write("log line 0\n")
        self.wait_requests(1)
        for i in range(1, 40):
            p.write("log line %d\n" % i)
            time.sleep(0.005)
        time.sleep(2.5)
        p.write("the very last line\n")
        code, _, err = p.close()
        self.assertEqual(code, 0, err)
        m = re.search(r"skipped (\d+) lines? to keep up", err)
        self.assertTrue(m, err)
        joined = "\n".join(self.texts())
        self.assertIn("the very last line", joined)
        self.assertLess(joined.count("log line"), 40)

    def test_markdown_with_a_fence_split_across_writes(self):
        p = Producer(self, ["say", "-q", "--markdown", "-o", os.path.join(self.home, "md.wav")])
        p.write("# Setup\n\nRun the **build** first, see https://example.com/docs/x?y=1 for more.\n``")
        time.sleep(0.3)
        p.write("`sh\nmake secret-target\n``")
        time.sleep(0.3)
        p.write("`\nThen <b>test</b> it &amp; ship it.\n")
        code, _, err = p.close()
        self.assertEqual(code, 0, err)
        joined = " ".join(self.texts())
        self.assertNotIn("secret-target", joined)
        self.assertNotIn("**", joined)
        self.assertNotIn("<b>", joined)
        self.assertNotIn("docs/x", joined)
        self.assertIn("example.com", joined)
        self.assertIn("Code block skipped.", joined)
        self.assertIn("test it & ship it.", joined)

    def test_markdown_read_code_and_script_language(self):
        code, _, err = run(["say", "--markdown", "--read-code", "-o", os.path.join(self.home, "r.wav")],
                           self.env(), stdin=b"Run this:\n```\nmake all\n```\nDone.\n")
        self.assertEqual(code, 0, err)
        self.assertIn("make all", " ".join(self.texts()))
        # no Kokoro voice and a C locale: the text's script picks the rules (Japanese quotes)
        self.mock.script()
        code, _, err = run(["say", "--voice", "alloy", "-j", "1", "-o", os.path.join(self.home, "j.wav")],
                           self.env(LANG="C"), stdin="先生は「明日は休みです。」と言った。".encode())
        self.assertEqual(code, 0, err)
        self.assertEqual(self.texts(), ["先生は「明日は休みです。」と言った。"])

    def test_ctrl_c_mid_stream_leaves_nothing(self):
        self.mock.script({"path": "speech", "bytes_per_s": 4000})
        out = os.path.join(self.home, "c.flac")
        p = Producer(self, ["say", "-q", "-o", out])
        p.write("A sentence that starts the stream. ")
        self.wait_requests(1)
        p.proc.send_signal(signal.SIGINT)
        p.proc.communicate(timeout=10)
        self.assertEqual(p.proc.returncode, 130)
        self.assertFalse(os.path.exists(out))
        self.assertNoLeftovers(self.home)

    def test_ask_keeps_abbreviations_in_one_request(self):
        self.mock.script({"path": "chat", "reply": "Dr. Smith met Mr. Jones at 3.5 p.m. on Main St. today. "
                                                   "They talked for an hour."})
        code, _, err = run(["ask", "--speak", "-o", os.path.join(self.home, "r.wav"), "hi"], self.env())
        self.assertEqual(code, 0, err)
        self.assertIn("Dr. Smith met Mr. Jones at 3.5 p.m. on Main St. today.", self.texts()[0])
        self.assertLessEqual(len(self.texts()), 2)
