# SPDX-License-Identifier: MIT
"""Countdown allocator (sanitizer build only): fail library allocations on
representative say and ask runs, each call path once (the first allocation
made from each distinct call stack, across all the runs of this file: a loop
that grows the same buffer fails the same way each time round). Each must end
with exit 1 and an out-of-memory message: no crash, no sanitizer report (leaks
included), no file at the target, no temporary file left."""
import os
import re
import unittest

from harness import MockTestCase, audioinfo, run

TEXT = "First sentence of the countdown. Second sentence follows here."


@unittest.skipUnless(os.environ.get("CLAWSPEAK_ALLOC_TESTING"), "needs the countdown (sanitizer) build")
class Countdown(MockTestCase):
    watchdog_s = 900
    tried_paths = set()  # call paths failed so far, shared by the walks of this class

    def walk(self, args, name="out.flac"):
        out = os.path.join(self.home, name)
        sites = os.path.join(self.home, "sites")
        code, _, err = run(args + ["-o", out], self.env(CLAWSPEAK_ALLOC_REPORT="1", CLAWSPEAK_ALLOC_SITES=sites))
        self.assertEqual(code, 0, err)
        total = int(re.search(r"allocations: (\d+)", err).group(1))
        self.assertGreater(total, 50)
        whole = audioinfo(out)[0]
        os.unlink(out)
        with open(sites) as f:
            paths = dict(line.split() for line in f)
        self.assertEqual(len(paths), total, "one call path noted per allocation")
        chosen = []
        for n in range(1, total + 1):
            if paths[str(n)] not in self.tried_paths:
                self.tried_paths.add(paths[str(n)])
                chosen.append(n)
        # the count varies a little between runs (buffers grow as bytes arrive), so
        # each run reports its own: a run that never reached allocation n succeeds
        failed = 0
        for n in chosen:
            code, _, err = run(args + ["-o", out],
                               self.env(CLAWSPEAK_FAIL_ALLOC_AT=str(n), CLAWSPEAK_ALLOC_REPORT="1"))
            reached = int(re.search(r"allocations: (\d+)", err).group(1)) >= n
            with self.subTest(n=n):
                self.assertNotIn("Sanitizer", err)
                self.assertNotIn("runtime error", err)
                if not reached or code == 0:
                    # never reached (the count varies), or absorbed by a step that may fail
                    # (the connection's warm-up, a log line): then the file is whole
                    self.assertEqual(code, 0, err)
                    self.assertEqual(audioinfo(out)[0], whole, "a whole file after allocation %d failed" % n)
                    self.assertNoLeftovers(self.home)
                    os.unlink(out)
                    continue
                failed += 1
                self.assertEqual(code, 1, err)
                self.assertIn("out of memory", err)
                self.assertFalse(os.path.exists(out))
                self.assertNoLeftovers(self.home)
        # a few paths near the end may not be reached on a given run (the count varies)
        self.assertGreaterEqual(failed, len(chosen) * 0.9 - 2)
        print("%s: %d allocations, %d call paths new to this walk, %d failed"
              % (" ".join(args[:1] + [os.path.splitext(name)[1]]), total, len(chosen), failed))
        return total

    def test_say(self):
        self.walk(["say", "--max-text-length", "40", TEXT])

    def test_say_mp3_passthrough(self):
        """mp3 frames into an mp3 file (the frame walker, the Info frame) and pcm encoded into it."""
        self.walk(["say", "--max-text-length", "40", TEXT], "out.mp3")
        self.walk(["say", "--max-text-length", "40", "--response-format", "pcm", TEXT], "pcm.mp3")

    def test_ask(self):
        self.walk(["ask", "--speak", "--format", "flac", "hello"])
