# SPDX-License-Identifier: MIT
"""Real-network behaviour (issue 13, item 6): no Expect: 100-continue, the
chat's usage at --verbose, connections reused between chat and speech and
between turns, the warm-up (only for a network provider, only while text is
slow to come), and HTTP/2 through a real TLS front (nghttpx) when installed."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, KEY, WRAPPER, MockTestCase, allowance, run, startup_seconds

TIMING = re.compile(r"^clawspeak: (POST|HEAD) (\S+): HTTP (\d+) over (\S+), (new|reused|no) connection, "
                    r"connect (\d+) ms, TLS (\d+) ms, first byte (\d+) ms, total (\d+) ms$", re.M)
REPLY = "Here is the answer you asked for. It has a second sentence, and a third one too."


def timings(err, path_part):
    return [m for m in TIMING.finditer(err) if path_part in m.group(2)]


def piped_say(args, env, first, rest, gap_s):
    """say with text on a pipe that comes slowly: first at once, rest after gap_s."""
    p = subprocess.Popen(WRAPPER + [BIN, "say"] + args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    p.stdin.write(first.encode())
    p.stdin.flush()
    time.sleep(gap_s)
    p.stdin.write(rest.encode())
    p.stdin.close()
    err = p.stderr.read().decode("utf-8", "replace")
    p.stderr.close()
    return p.wait(timeout=120), err


class Network(MockTestCase):
    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.home, "out.wav")

    def all_requests(self):
        return self.mock.requests("")

    def test_no_expect_100_continue(self):
        """A body is sent at once: waiting for 100 Continue costs a round trip."""
        self.mock.script({"path": "chat", "reply": REPLY})
        code, _, err = run(["ask", "--speak", "-o", self.out, "hi"], self.env())
        self.assertEqual(code, 0, err)
        posts = [r for r in self.all_requests() if r["method"] == "POST"]
        self.assertGreaterEqual(len(posts), 2)
        for r in posts:
            self.assertNotIn("expect", r["headers"], r["path"])

    def test_ask_verbose_shows_usage_and_cost(self):
        self.mock.script({"path": "chat", "reply": REPLY})
        code, out, err = run(["ask", "--no-speak", "--verbose", "hi"], self.env())
        self.assertEqual(code, 0, err)
        [req] = self.mock.requests("/chat/completions")
        self.assertEqual(req["body"]["stream_options"], {"include_usage": True})
        self.assertRegex(err, r"chat usage: 12 prompt tokens, \d+ completion tokens, cost \$0\.000123")
        self.assertNotIn("usage", out.decode())  # stdout holds the reply only
        code, _, err = run(["ask", "--no-speak", "hi"], self.env())
        self.assertNotIn("usage", err, "only at --verbose")

    def test_ask_speech_reuses_a_connection_opened_while_the_chat_streams(self):
        """The chat's connection is busy streaming; the speech's was opened beside it
        (a HEAD warm-up, no key), so even the first speech request pays no handshake."""
        self.mock.script({"path": "chat", "reply": REPLY, "token_ms": 30})
        code, _, err = run(["ask", "--speak", "--verbose", "-o", self.out, "hi"], self.env())
        self.assertEqual(code, 0, err)
        log = self.all_requests()
        [head] = [r for r in log if r["method"] == "HEAD"]
        self.assertEqual(head["path"], "/api/v1/models")
        self.assertNotIn("authorization", head["headers"], "the warm-up carries no key")
        speech = [r for r in log if "/audio/speech" in r["path"]]
        self.assertGreaterEqual(len(speech), 2)
        # the first on the warmed connection (a later one may overlap it on a busy machine,
        # and a second connection is then right)
        self.assertEqual(speech[0]["client_port"], head["client_port"],
                         "the first speech request on the warmed connection")
        first = timings(err, "/audio/speech")[0]
        self.assertEqual((first.group(5), first.group(6), first.group(7)), ("reused", "0", "0"), first.group(0))

    def test_chat_turns_reuse_the_connection(self):
        """One pool per run: the second turn's chat goes on the first turn's connection."""
        self.mock.script({"path": "chat", "reply": "Short reply."})
        p = subprocess.run(WRAPPER + [BIN, "ask", "--chat", "--no-speak", "--verbose"], env=self.env(),
                           input=b"one\ntwo\n", capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        ports = [r["client_port"] for r in self.mock.requests("/chat/completions")]
        self.assertEqual(len(ports), 2)
        self.assertEqual(ports[0], ports[1])
        [_, second] = timings(p.stderr.decode(), "/chat/completions")
        self.assertEqual(second.group(5), "reused")

    def test_slow_pipe_warms_the_connection_first(self):
        # the text comes once the run has had time to start and warm the connection: 0.4 s
        # idle, longer at this moment's pace (a busy machine, ASan), or the text is there first
        gap = allowance(0.4, startup_seconds(self.env()), starts=5)
        code, err = piped_say(["--verbose", "-o", self.out], self.env(), "", "Hello there, slowly.\n", gap)
        self.assertEqual(code, 0, err)
        log = self.all_requests()
        self.assertEqual([r["method"] for r in log], ["HEAD", "POST"])
        self.assertEqual(log[0]["client_port"], log[1]["client_port"])
        [speech] = timings(err, "/audio/speech")
        self.assertEqual(speech.group(5), "reused")

    def test_text_given_up_front_is_not_preceded_by_a_warm_up(self):
        code, _, err = run(["say", "-o", self.out, "Straight to the request."], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual([r["method"] for r in self.all_requests()], ["POST"])

    def test_local_engine_never_warms(self):
        code, err = piped_say(["--provider", "local", "-o", self.out], self.env(), "", "Local words.\n", 0.3)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.all_requests(), [], "nothing sent for the local engine")
        self.mock.script({"path": "chat", "reply": REPLY})
        code, _, err = run(["ask", "--speak", "--provider", "local", "-o", self.out, "hi"], self.env())
        self.assertEqual(code, 0, err)
        self.assertEqual([r["method"] for r in self.all_requests()], ["POST"], "the chat alone")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(shutil.which("nghttpx") or os.path.exists("/usr/sbin/nghttpx"),
                     "nghttpx (Debian nghttp2-proxy) not installed")
class Http2(MockTestCase):
    """openrouter.ai through nghttpx: TLS and HTTP/2 in front of the mock, as the real
    service offers; the key, the attribution headers and the pool all hold over it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="csp-h2-")
        cls.cert, key = os.path.join(cls.tmp, "cert.pem"), os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=openrouter.ai", "-addext", "subjectAltName=DNS:openrouter.ai",
                        "-keyout", key, "-out", cls.cert], check=True, capture_output=True)
        cls.port = free_port()
        nghttpx = shutil.which("nghttpx") or "/usr/sbin/nghttpx"
        cls.front = subprocess.Popen([nghttpx, "--frontend=127.0.0.1,%d" % cls.port,
                                      "--backend=127.0.0.1,%d" % cls.mock.port, "--workers=1",
                                      "--no-ocsp", "--log-level=ERROR",
                                      "--errorlog-file=" + os.path.join(cls.tmp, "error.log"),
                                      key, cls.cert], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or cls.front.poll() is not None:
                    raise RuntimeError("nghttpx did not start")
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.front.terminate()
        cls.front.wait(timeout=10)
        shutil.rmtree(cls.tmp, True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s'}}}}" % KEY)
        self.out = os.path.join(self.home, "out.wav")

    def h2_env(self):
        return self.env(CLAWSPEAK_CONNECT_TO="openrouter.ai:443:127.0.0.1:%d" % self.port,
                        CLAWSPEAK_CA_FILE=self.cert)

    def test_ask_over_http2_first_speech_pays_no_handshake(self):
        self.mock.script({"path": "chat", "reply": REPLY, "token_ms": 30})
        code, _, err = run(["ask", "--speak", "--verbose", "-o", self.out, "hi"], self.h2_env())
        self.assertEqual(code, 0, err)
        chat = timings(err, "/chat/completions")
        speech = timings(err, "/audio/speech")
        self.assertTrue(chat and speech, err)
        for m in chat + speech:
            self.assertEqual(m.group(4), "HTTP/2", m.group(0))
        self.assertEqual((speech[0].group(5), speech[0].group(6), speech[0].group(7)), ("reused", "0", "0"),
                         speech[0].group(0))
        self.assertRegex(err, r"chat usage: 12 prompt tokens")
        [req] = self.mock.requests("/chat/completions")
        self.assertEqual(req["headers"]["authorization"], "Bearer " + KEY)
        self.assertEqual(req["headers"]["x-openrouter-title"], "OpenClaw")
        self.assertNotIn("expect", req["headers"])

    def test_concurrent_chunks_multiplex_on_one_connection(self):
        """PIPEWAIT: chunk requests started together wait for the first connection and
        share it, instead of each paying a TCP and TLS handshake."""
        text = " ".join("Sentence number %d is here to be spoken." % i for i in range(8))
        self.mock.script({"path": "speech", "canned": True})
        code, _, err = run(["say", "--verbose", "-j", "3", "--max-text-length", "60", "-o", self.out, text],
                           self.h2_env())
        self.assertEqual(code, 0, err)
        speech = timings(err, "/audio/speech")
        self.assertGreaterEqual(len(speech), 3)
        self.assertEqual([m.group(5) for m in speech].count("new"), 1, err)


if __name__ == "__main__":
    unittest.main()
