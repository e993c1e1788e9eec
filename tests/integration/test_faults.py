# SPDX-License-Identifier: MIT
"""Every server fault ends with the documented exit code and message, retries
as documented, and leaves no file (and no temporary file) at the target.
These are one provider's faults, so they run with --no-fallback; what the
fallback chain does with them is in test_fallback.py."""
import os
import time

from harness import MockTestCase, allowance, audioinfo, run, startup_seconds

TEXT = "A sentence that the faulty server has to deal with."


class Faults(MockTestCase):
    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.home, "out.flac")

    def fault(self, rule, rc, fragment=None, attempts=None, extra=()):
        self.mock.script(rule)
        code, out, err = run(["say", "--no-fallback", "-o", self.out] + list(extra) + [TEXT], self.env())
        self.assertEqual(code, rc, err)
        self.assertNoKey(out, err)
        if fragment:
            self.assertIn(fragment, err)
        if attempts is not None:
            self.assertEqual(len(self.mock.requests()), attempts)
        if rc:
            self.assertFalse(os.path.exists(self.out), "no file at the target after a failure")
        self.assertNoLeftovers(self.home)
        return err

    def test_auth_errors_are_not_retried(self):
        self.fault({"status": 401, "error_message": "No auth credentials found"}, 4, "No auth credentials found", 1)
        self.fault({"status": 403, "error_message": "Key disabled"}, 4, "Key disabled", 1)
        self.fault({"status": 402, "error_message": "Insufficient credits"}, 5, "Insufficient credits", 1)
        self.fault({"status": 400, "error_message": "bad voice"}, 5, "bad voice", 1)
        self.fault({"status": 404}, 5, "HTTP 404", 1)

    def test_server_errors_retry_three_times_then_fail(self):
        err = self.fault({"status": 503, "error_message": "overloaded"}, 5, "overloaded", 3)
        self.assertEqual(err.count("retrying"), 2)
        self.fault({"status": 500}, 5, "gave up after 3 attempts", 3)

    def test_retry_after_is_honoured(self):
        start = time.time()
        err = self.fault({"status": 429, "retry_after": 1, "times": 1}, 0, "retrying in 1.0 s", 2)
        self.assertGreaterEqual(time.time() - start, 1.0)
        self.fault({"status": 429, "times": 2}, 0, "retrying", 3)

    def test_broken_bodies_retry_and_count_once(self):
        for rule in ({"truncate_after": 3000, "times": 1}, {"reset_after": 2000, "times": 1},
                     {"truncate_after": 0, "times": 2}):
            with self.subTest(rule=rule):
                self.fault(rule, 0, "retrying")
                frames = audioinfo(self.out)[0]
                self.assertEqual(frames, self.mock.requests()[-1]["frames"], "retried audio counted once")
                os.unlink(self.out)

    def test_non_audio_200_is_an_api_error(self):
        self.fault({"html200": True}, 5, "text/html")
        self.fault({"html200": True}, 5, "<html><head><title>Gateway")
        self.fault({"json200": True}, 5, "upstream returned no audio")
        self.fault({"garbage": True}, 5, "audio")
        self.fault({"content_type": "audio/pcm"}, 5, "rate and channels", extra=["--response-format", "pcm"])

    def test_timeouts_and_dead_servers_exit_6(self):
        # waiting for the server would take its whole delay: the bound is that delay
        delay_s = 10
        start = time.time()
        self.fault({"first_byte_delay_ms": delay_s * 1000}, 6, "timed out", 1, extra=["--timeout-ms", "800"])
        self.assertLess(time.time() - start, delay_s)
        self.fault({"never_close": True, "truncate_after": 100}, 6, "timed out", 1, extra=["--timeout-ms", "800"])
        # a byte now and then is never a stall (hostile run 3: 1 byte/s ran for hours); the
        # whole answer has a deadline sized to the text, far below the trickle's own time
        start = time.time()
        self.fault({"bytes_per_s": 40}, 6, "too slow for the job", 1, extra=["--timeout-ms", "800"])
        self.assertLess(time.time() - start, self.mock.requests()[-1]["bytes"] / 40 / 4)
        code, out, err = run(["say", "--no-fallback", "-o", self.out, "--base-url", "http://127.0.0.1:9/v1", TEXT], self.env())
        self.assertEqual(code, 6, err)
        self.assertIn("cannot connect", err)
        self.assertFalse(os.path.exists(self.out))

    def test_redirect_to_another_host_does_not_carry_the_key(self):
        # "localhost" is another host name than 127.0.0.1 for libcurl
        target = "http://localhost:%d/redirected" % self.mock.port
        self.mock.script({"redirect": target, "times": 1})
        run(["say", "-o", self.out, TEXT], self.env())
        followed = self.mock.requests("/redirected")
        self.assertEqual(len(followed), 1)
        self.assertNotIn("authorization", followed[0]["headers"])

    def test_unwritable_output_is_exit_8_before_any_request(self):
        self.mock.script()
        for target in ("/dev/null/cannot.wav", os.path.join(self.home, "no", "such", "dir.wav")):
            code, out, err = run(["say", "-o", target, TEXT], self.env())
            self.assertEqual(code, 8, err)
            self.assertIn(target, err)
        self.assertEqual(self.mock.requests(), [], "no request before the output is known writable")

    def test_output_to_a_directory_or_full_disk(self):
        self.mock.script()
        code, out, err = run(["say", "-o", self.home, TEXT], self.env())
        self.assertEqual(code, 8, err)
        if os.path.exists("/dev/full"):
            # /dev/full as stdout: write errors are exit 8
            import subprocess
            with open("/dev/full", "wb") as full:
                p = subprocess.run([os.environ["CLAWSPEAK_BIN"], "say", "-o", "-", "--format", "raw", TEXT],
                                   stdout=full, stderr=subprocess.PIPE, env=self.env())
            self.assertEqual(p.returncode, 8, p.stderr)
            self.assertIn(b"No space left", p.stderr)

    def test_interrupt_exits_130_and_cleans_up(self):
        import signal, subprocess
        bound = allowance(1.5, startup_seconds(self.env()))
        self.mock.script({"first_byte_delay_ms": 200, "bytes_per_s": 2000})
        p = subprocess.Popen([os.environ["CLAWSPEAK_BIN"], "say", "-o", self.out, TEXT],
                             stderr=subprocess.PIPE, env=self.env())
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        start = time.time()
        self.assertEqual(p.wait(timeout=10), 130)
        self.assertLess(time.time() - start, bound)
        self.assertFalse(os.path.exists(self.out))
        self.assertNoLeftovers(self.home)
