# SPDX-License-Identifier: MIT
"""sd_clawspeak, the speech-dispatcher output module (issue 23), under Debian's real
speech-dispatcher: the test starts PulseAudio with a null sink, records its monitor,
and runs speech-dispatcher in the foreground with a config directory of its own, whose
speechd.conf loads the module from the build tree. Clients are spd-say."""
import array
import os
import warnings
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import KEY, MockTestCase, PulseAudio, end_process, run

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # Python 3.11 (Debian 12): findfit, in C

BUILD = os.environ.get("CLAWSPEAK_BUILD_DIR", "../../build")
MODULE = os.path.abspath(os.path.join(BUILD, "sd_clawspeak"))
RATE = 24000

ONE = "Speech dispatcher test, the captured audio must match what the mock server made"


def samples(raw):
    a = array.array("h")
    a.frombytes(raw[: len(raw) // 2 * 2])
    return a


def active(a, level=64):
    """(first, last + 1) sample above the level, or (0, 0)."""
    first = next((i for i, v in enumerate(a) if abs(v) > level), None)
    if first is None:
        return 0, 0
    last = len(a) - next(i for i, v in enumerate(reversed(a)) if abs(v) > level)
    return first, last


def correlation(x, y):
    n = min(len(x), len(y))
    if n == 0:
        return 0.0
    mx, my = sum(x[:n]) / n, sum(y[:n]) / n
    sxy = sxx = syy = 0.0
    for i in range(n):
        dx, dy = x[i] - mx, y[i] - my
        sxy += dx * dy
        sxx += dx * dx
        syy += dy * dy
    return sxy / ((sxx * syy) ** 0.5 or 1)


def windows_heard(got, want, span=2400):
    """Each 100 ms of want, found in got in order (audioop.findfit) with a correlation over
    0.9: how many of how many were, and how much later than its place the last one was."""
    matched = windows = 0
    at = 0  # where the next window may start in got
    shift = None  # how much later than its place in want got has it (None: not found yet)
    lead = run = 0  # run: pieces found in a row since the first
    for start in range(0, len(want) - span + 1, span):
        window = want[start:start + span]
        windows += 1
        if audioop.rms(window.tobytes(), 2) < 500:
            matched += 1  # a pause: nothing to find (and findfit would fit it to any silence)
            continue
        # the first piece anywhere; each next one soon after the last
        region = got[at:] if shift is None else got[at:start + shift + span * 3]
        if len(region) >= span:
            offset, _ = audioop.findfit(region.tobytes(), window.tobytes())
            if correlation(region[offset:offset + span], window) > 0.9:
                if shift is None:
                    lead = at + offset - start
                matched += 1
                run += 1
                at += offset + span
                shift = at - (start + span)
                continue
        if run == 1:
            # a first piece that the next does not follow fitted somewhere else (a word
            # said twice, the opening of another message): search anew
            matched, at, shift, run = matched - 1, 0, None, 0
    return matched, windows, max(shift - lead, 0) if shift is not None else 0


class Pulse(PulseAudio):
    """Our own PulseAudio with a null sink, its monitor recorded by parec."""

    def __init__(self, home, rate=RATE):
        self.rate = rate
        super().__init__(["module-null-sink sink_name=csp_null rate=%d channels=1 format=s16le" % rate],
                         prefix="csp-sdpulse-")
        self.rec = None

    def record(self, path):
        self.captured = path
        self.rec = subprocess.Popen(
            ["parec", "--server", self.server, "-d", "csp_null.monitor", "--raw",
             "--format=s16le", "--rate=%d" % self.rate, "--channels=1", "--latency-msec=20", path],
            env=self.env)
        self.rec_started = time.time()
        time.sleep(0.4)

    def stop_recording(self):
        time.sleep(0.4)
        self.rec.terminate()
        self.rec.wait()
        self.rec = None
        with open(self.captured, "rb") as f:
            return samples(f.read())

    def close(self):
        if self.rec:
            self.rec.terminate()
            self.rec.wait()
            self.rec = None
        self.stop()


class Dispatcher:
    """speech-dispatcher in the foreground with its own config, log and socket directories."""

    def __init__(self, home, env, modules=""):
        self.dir = tempfile.mkdtemp(prefix="csp-speechd-")
        self.conf = os.path.join(self.dir, "conf")
        self.logs = os.path.join(self.dir, "log")
        os.makedirs(os.path.join(self.conf, "modules"))
        os.makedirs(self.logs)
        self.socket = os.path.join(self.dir, "speechd.sock")
        with open(os.path.join(self.conf, "speechd.conf"), "w") as f:
            f.write('LogLevel 5\nLogDir "%s"\nDefaultVolume 100\nAudioOutputMethod "pulse"\n'
                    'AddModule "clawspeak" "%s" "clawspeak.conf"\n'
                    'AddModule "espeak-ng" "sd_espeak-ng" "espeak-ng.conf"\n'
                    'DefaultModule clawspeak\n%s' % (self.logs, MODULE, modules))
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src",
                                 "speechd", "clawspeak.conf"),
                    os.path.join(self.conf, "modules", "clawspeak.conf"))
        if os.path.exists("/etc/speech-dispatcher/modules/espeak-ng.conf"):
            shutil.copy("/etc/speech-dispatcher/modules/espeak-ng.conf",
                        os.path.join(self.conf, "modules", "espeak-ng.conf"))
        self.env = dict(env, XDG_RUNTIME_DIR=self.dir, SPEECHD_ADDRESS="unix_socket:" + self.socket)
        self.out = open(os.path.join(self.dir, "stdout"), "wb")
        self.proc = subprocess.Popen(
            ["speech-dispatcher", "-s", "-t", "0", "-C", self.conf, "-c", "unix_socket",
             "-S", self.socket, "-P", os.path.join(self.dir, "pid"), "-L", self.logs],
            env=self.env, stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("speech-dispatcher did not start:\n" + self.all_logs())
            time.sleep(0.05)

    def say(self, *args, timeout=60, wait=True):
        cmd = ["spd-say"] + list(args)
        if not wait:
            return subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        p = subprocess.run(cmd, env=self.env, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def all_logs(self):
        text = ""
        for root, _, files in os.walk(self.dir):
            for name in files:
                if name.endswith(".sock"):
                    continue
                try:
                    with open(os.path.join(root, name), "rb") as f:
                        text += "== %s\n" % name + f.read().decode("utf-8", "replace")
                except OSError:
                    pass
        return text

    def module_log(self):
        path = os.path.join(self.logs, "clawspeak.log")
        if not os.path.exists(path):
            return ""
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        end_process(self.proc, 10)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SpeechDispatcherModule(MockTestCase):
    def setUp(self):
        super().setUp()
        for tool in ("speech-dispatcher", "spd-say", "pulseaudio", "parec"):
            if not shutil.which(tool):
                self.fail("%s is required (run .ci/deps test)" % tool)
        self.assertTrue(os.path.exists(MODULE), "build sd_clawspeak first")
        self.pulse = Pulse(self.home)
        self.addCleanup(lambda: self.pulse.close())
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write("pcm.!default { type pulse }\nctl.!default { type pulse }\n")

    def local_engine_sink(self):
        """A sink at espeak-ng's 22050 Hz: its audio reaches the monitor as it was made (one
        resampler in the sound server and another in the expected file would not match
        sample for sample)."""
        self.pulse.close()
        self.pulse = Pulse(self.home, 22050)

    def start(self, **extra):
        env = self.env(PULSE_SERVER=self.pulse.server, **extra)
        self.sd = Dispatcher(self.home, env)
        self.addCleanup(self.sd.close)
        self.addCleanup(lambda: self.assertNoKey(self.sd.all_logs()))
        return self.sd

    def expected(self, text, *args, rate=RATE):
        path = os.path.join(self.home, "expected.raw")
        code, _, err = run(["say", "-o", path, "--format", "raw", "--sample-rate", str(rate)]
                           + list(args) + ["--", text], self.env())
        self.assertEqual(code, 0, err)
        with open(path, "rb") as f:
            a = samples(f.read())
        first, last = active(a)
        return a[first:last]

    def heard(self, got, want, what=""):
        if os.environ.get("SD_TEST_DEBUG"):
            with open("/tmp/sd_got_%s.raw" % self.id().split(".")[-1], "wb") as f:
                f.write(got.tobytes())
            with open("/tmp/sd_want.raw", "wb") as f:
                f.write(want.tobytes())
            print(self.sd.module_log())
        first, last = active(got)
        self.assertGreater(last - first, 0, "nothing reached the sink " + what)
        matched, windows, lengthened = windows_heard(got[first:last], want)
        # on a busy machine the sound server may play silence while it waits for audio (an
        # underrun): that lengthens the sound but leaves each piece of speech whole
        self.assertGreaterEqual(matched, windows * 0.9, "%d of %d pieces of the speech heard, "
                                "in order %s" % (matched, windows, what))
        self.assertLess(abs(last - first - lengthened - len(want)) / len(want), 0.03,
                        "duration %d (%d of it silence between pieces) vs %d samples %s"
                        % (last - first, lengthened, len(want), what))

    def test_spd_say_is_heard(self):
        want = self.expected(ONE)
        self.mock.script()  # (a fresh request log)
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        code, out, err = sd.say("-o", "clawspeak", "-w", ONE)
        got = self.pulse.stop_recording()
        self.assertEqual(code, 0, err + sd.all_logs())
        self.heard(got, want)
        self.assertEqual([r["body"]["input"] for r in self.mock.requests()], [ONE])
        log = sd.module_log()
        self.assertNotIn(KEY, log)


    def test_two_messages_play_in_order(self):
        first, second = "The first message comes first", "and the second message after it"
        want = len(self.expected(first)) + len(self.expected(second))
        self.mock.script()
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        # priority "message" queues (a "text" message would cancel the one before)
        # (the second is sent once the first is in: spd-say returns when it is queued)
        code, _, err = sd.say("-o", "clawspeak", "-P", "message", first)
        self.assertEqual(code, 0, err)
        code, _, err = sd.say("-o", "clawspeak", "-P", "message", "-w", second)
        got = self.pulse.stop_recording()
        self.assertEqual(code, 0, err)
        self.assertEqual([r["body"]["input"] for r in self.mock.requests()], [first, second])
        a, b = active(got)
        self.assertGreater(b - a, want * 0.97, "both were heard, whole")

    def wait_for_requests(self, count, timeout=20):
        deadline = time.time() + timeout
        while len(self.mock.requests()) < count:
            self.assertLess(time.time(), deadline, "no request came")
            time.sleep(0.02)

    def wait_heard(self, seconds=1.0, timeout=30):
        """Until the monitor has had this much sound: the request's arrival says nothing of
        when its audio plays on a busy machine (the mock synthesises it first)."""
        deadline = time.time() + timeout
        while True:
            with open(self.pulse.captured, "rb") as f:
                a, b = active(samples(f.read()))
            if b - a >= seconds * self.pulse.rate:
                return
            self.assertLess(time.time(), deadline, "nothing was heard")
            time.sleep(0.05)

    def test_important_interrupts_text(self):
        short = "Important news"
        want_short = self.expected(short)
        full = len(self.expected(LONG))
        self.mock.script()
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        p = sd.say("-o", "clawspeak", LONG, wait=False)
        self.wait_for_requests(1)
        self.wait_heard()
        code, _, err = sd.say("-o", "clawspeak", "-P", "important", "-w", short)
        p.wait()
        got = self.pulse.stop_recording()
        self.assertEqual(code, 0, err)
        inputs = [r["body"]["input"] for r in self.mock.requests()]
        self.assertEqual(inputs[-1], short)
        a, b = active(got)
        self.assertLess(b - a, full * 0.7, "the text message was cut short")
        # the important message is what was heard last, whole: its length and half again
        # (room for underruns on a busy machine; a longer tail reaches into the text message,
        # whose opening can pass for the important one's first 100 ms)
        tail = got[max(a, b - len(want_short) * 3 // 2):b]
        matched, windows, _ = windows_heard(tail, want_short)
        self.assertGreaterEqual(matched, windows * 0.9, "the important message at the end")

    def stop_with(self, option):
        full = len(self.expected(LONG))
        self.mock.script()
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        p = sd.say("-o", "clawspeak", "-w", LONG, wait=False)
        self.wait_for_requests(1)
        self.wait_heard()
        code, _, err = sd.say(option)
        p.wait(timeout=10)
        got = self.pulse.stop_recording()
        self.assertEqual(code, 0, err)
        a, b = active(got)
        self.assertGreater(b - a, 0)
        self.assertLess(b - a, full * 0.5, "it stopped")
        log = sd.all_logs()
        self.assertIn("703 STOP", log)
        # the module is ready for the next message at once
        code, _, err = sd.say("-o", "clawspeak", "-w", "Again")
        self.assertEqual(code, 0, err)

    def test_stop(self):
        self.stop_with("-S")

    def test_cancel(self):
        self.stop_with("-C")

    def test_list_voices(self):
        sd = self.start()
        code, out, err = sd.say("-o", "clawspeak", "-L")
        self.assertEqual(code, 0, err)
        lines = [l.split() for l in out.splitlines()]
        # the provider's voices with their languages, then espeak-ng's
        self.assertIn(["af_bella", "en-US", "none"], lines, out)
        self.assertIn(["am_adam", "en-US", "none"], lines, out)
        self.assertIn(["German", "de", "none"], lines, out)

    def test_language_picks_a_voice(self):
        german = "Guten Tag, wie geht es Ihnen heute"
        want = self.expected(german, "--provider", "local", "-v", "de", rate=22050)
        english = self.expected(german, "--provider", "local", "-v", "en", rate=22050)
        self.assertGreater(abs(len(want) - len(english)) / len(want), 0.05,
                           "the German and English readings differ")
        self.mock.script()
        self.local_engine_sink()
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        # the provider (the mock's Kokoro voices) has no German voice: espeak-ng's speaks
        code, _, err = sd.say("-o", "clawspeak", "-l", "de", "-w", german)
        got = self.pulse.stop_recording()
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests(), [])
        self.heard(got, want, "(espeak-ng's German)")
        # and French has a provider voice (ff_siwis): the provider speaks with it
        self.mock.script({"path": "models", "voices": ["af_bella", "ff_siwis"]})
        sd.close()
        sd = self.start()
        code, _, err = sd.say("-o", "clawspeak", "-l", "fr", "-w", "Bonjour")
        self.assertEqual(code, 0, err)
        self.assertEqual([r["body"].get("voice") for r in self.mock.requests()], ["ff_siwis"])

    def test_no_key_speaks_with_espeak_ng(self):
        self.write_config("{tts: {}}")
        want = self.expected(ONE, rate=22050)  # (with no key, say speaks with espeak-ng too)
        self.local_engine_sink()
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        code, _, err = sd.say("-o", "clawspeak", "-w", ONE)
        got = self.pulse.stop_recording()
        self.assertEqual(code, 0, err)
        self.assertEqual(self.mock.requests(), [])
        self.heard(got, want, "(espeak-ng)")
        code, out, err = sd.say("-o", "clawspeak", "-L")
        self.assertIn(["German", "de", "none"], [l.split() for l in out.splitlines()])

    def test_api_failing_falls_back(self):
        want = self.expected(ONE, "--provider", "local", rate=22050)
        self.local_engine_sink()
        # the server fails, and its error echoes the key: the fallback speaks, no log shows it
        self.mock.script({"path": "speech", "status": 503, "error_message": "bad key " + KEY})
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        code, _, err = sd.say("-o", "clawspeak", "-w", ONE)
        got = self.pulse.stop_recording()
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.mock.requests()), 3)
        self.heard(got, want, "(the fallback)")
        log = sd.all_logs()
        self.assertIn("failed", sd.module_log())
        self.assertNoKey(log, err)

    def test_char_and_key_are_spoken_by_espeak_ng(self):
        sd = self.start()
        self.pulse.record(os.path.join(self.home, "captured.raw"))
        code, _, err = sd.say("-o", "clawspeak", "-w", "-c", "a")
        self.assertEqual(code, 0, err)
        code, _, err = sd.say("-o", "clawspeak", "-w", "-k", "shift_a")
        self.assertEqual(code, 0, err)
        got = self.pulse.stop_recording()
        self.assertEqual(self.mock.requests(), [])
        a, b = active(got)
        self.assertGreater(b - a, RATE // 10, "something was said")

    def test_ssml_marks_and_entities(self):
        sd = self.start()
        code, _, err = sd.say("-o", "clawspeak", "-x", "-w",
                              '<speak>Fish &amp; chips &#x263A;<mark name="m1"/> and peas &lt;3</speak>')
        self.assertEqual(code, 0, err)
        self.assertEqual([r["body"]["input"] for r in self.mock.requests()],
                         ["Fish & chips \u263a", "and peas <3"])
        events = [l.split("|")[1] for l in sd.all_logs().splitlines()
                  if "Event from output module while speaking" in l]
        self.assertEqual(events, ["701 BEGIN", "700-m1", "702 END"], events)


LONG = ("This is a long message that goes on for a while. It has several sentences, each "
        "of them its own request. Speech dispatcher marks the end of each one. The module "
        "reports the marks as the audio passes them. Nobody should have to hear all of it, "
        "because the test stops it early. Here is one more sentence to be sure.")


class ModuleProtocol(unittest.TestCase):
    """The module driven directly, as speech-dispatcher drives it: what the server cannot
    show (PAUSE at a mark, bad input, the exact replies)."""

    def setUp(self):
        self.t = MockTestCase("setUp")  # (its mock, config and home)
        MockTestCase.setUpClass.__func__(type(self.t))
        self.addCleanup(type(self.t).tearDownClass)
        self.t.setUp()
        self.addCleanup(self.t.doCleanups)
        self.pulse = Pulse(self.t.home)
        self.addCleanup(self.pulse.close)
        with open(os.path.join(self.t.home, ".asoundrc"), "w") as f:
            f.write("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        self.stderr = open(os.path.join(self.t.home, "module.log"), "wb")
        self.module = subprocess.Popen([MODULE, "/nonexistent/clawspeak.conf"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=self.stderr,
                                       env=self.t.env(PULSE_SERVER=self.pulse.server))
        self.addCleanup(self.close)
        self.addCleanup(self.show_log_on_failure)
        self.send("INIT")
        self.assertEqual(self.reply()[-1], "299 OK LOADED SUCCESSFULLY")

    def show_log_on_failure(self):
        if os.environ.get("SD_TEST_DEBUG"):
            with open(os.path.join(self.t.home, "module.log"), "rb") as f:
                print(f.read().decode("utf-8", "replace"))

    def close(self):
        if self.module.poll() is None:
            self.module.kill()
        self.module.wait()
        self.module.stdin.close()
        self.module.stdout.close()
        self.stderr.close()

    def send(self, *lines):
        self.module.stdin.write(("\n".join(lines) + "\n").encode())
        self.module.stdin.flush()

    def line(self):
        return self.module.stdout.readline().decode("utf-8", "replace").rstrip("\n")

    def reply(self):
        """Lines up to the last of a reply (NNN then a space)."""
        lines = []
        while True:
            lines.append(self.line())
            if len(lines[-1]) < 4 or lines[-1][3] == " ":
                return lines

    def events(self, until=("702 END", "703 STOP", "704 PAUSE")):
        got = []
        while not got or got[-1][1] not in until:
            line = self.line()
            got.append((time.time(), line))
        return got

    def speak(self, text, command="SPEAK"):
        self.send(command)
        self.assertEqual(self.reply(), ["202 OK RECEIVING MESSAGE"])
        self.send(text, ".")
        self.assertEqual(self.reply(), ["200 OK SPEAKING"])

    def test_replies(self):
        self.send("AUDIO", "audio_output_method=server", ".")
        # the server's own audio is refused: the module plays (the server then sends its own)
        self.assertEqual(self.reply(), ["207 OK RECEIVING AUDIO SETTINGS"])
        self.assertEqual(self.reply(), ["303 ERROR INVALID PARAMETER OR VALUE"])
        self.send("AUDIO", "audio_output_method=pulse", "audio_pulse_device=default", ".")
        self.reply()
        self.assertEqual(self.reply(), ["203 OK AUDIO INITIALIZED"])
        self.send("SET", "rate=500", "pitch=0", ".")
        self.reply()
        self.assertEqual(self.reply(), ["303 ERROR INVALID PARAMETER OR VALUE"])
        self.send("SET", "nonsense", ".")
        self.reply()
        self.assertEqual(self.reply(), ["302 ERROR BAD SYNTAX"])
        self.send("FROBNICATE")
        self.assertEqual(self.reply(), ["300 ERR UNKNOWN COMMAND"])
        self.send("STOP")  # nothing speaks: no reply, no event
        self.send("LIST VOICES")
        voices = self.reply()
        self.assertEqual(voices[-1], "200 OK VOICE LIST SENT")
        self.assertIn("200-af_bella\ten-US\tnone", voices)
        self.send("CHAR")
        self.reply()
        self.send("a", "b", ".")
        self.assertEqual(self.reply(), ["305 DATA MORE THAN ONE LINE"])
        self.send("QUIT")
        self.assertEqual(self.reply(), ["210 OK QUIT"])
        self.assertEqual(self.module.wait(timeout=10), 0)

    def test_marks_come_with_the_audio_and_pause_stops_at_one(self):
        first = "The first sentence is here, long enough to be heard for a while."
        seconds = len(self.t_expected(first)) / RATE
        self.speak('<speak>%s<mark name="__spd_0"/> The second sentence follows it.'
                   '<mark name="__spd_1"/> A third one ends the message.</speak>' % first)
        begin = self.line()
        began = time.time()
        self.assertEqual(begin, "701 BEGIN")
        self.send("PAUSE")
        events = self.events()
        lines = [e[1] for e in events]
        # speech-dispatcher resumes a paused message from the last __spd_ mark it got
        self.assertEqual(lines, ["700-__spd_0", "700 INDEX MARK", "704 PAUSE"])
        mark_at = events[0][0] - began
        print("\n  the first mark came %.0f ms after BEGIN; its sentence lasts %.0f ms"
              % (mark_at * 1000, seconds * 1000))
        self.assertGreater(mark_at, seconds * 0.6, "the mark waits for the sentence's audio")
        # then the next message speaks as usual
        self.speak("<speak>Again.</speak>")
        self.assertEqual([e[1] for e in self.events()], ["701 BEGIN", "702 END"])

    def t_expected(self, text):
        path = os.path.join(self.t.home, "expected.raw")
        code, _, err = run(["say", "-o", path, "--format", "raw", "--", text], self.t.env())
        self.assertEqual(code, 0, err)
        with open(path, "rb") as f:
            a = samples(f.read())
        first, last = active(a)
        return a[first:last]

    def test_stop_while_speaking(self):
        self.speak("<speak>%s</speak>" % LONG)
        self.assertEqual(self.line(), "701 BEGIN")
        time.sleep(0.5)
        self.send("STOP")
        self.assertEqual([e[1] for e in self.events()][-1], "703 STOP")

    def test_key_never_in_the_log(self):
        self.t.mock.script({"path": "speech", "status": 401, "error_message": "rejected: " + KEY})
        self.speak("<speak>Hello there</speak>")
        lines = [e[1] for e in self.events()]
        self.assertEqual(lines[-1], "702 END")  # (espeak-ng took over)
        self.send("QUIT")
        self.reply()
        self.module.wait(timeout=10)
        with open(os.path.join(self.t.home, "module.log"), "rb") as f:
            log = f.read().decode("utf-8", "replace")
        self.assertIn("401", log)
        self.t.assertNoKey(log)

    def test_long_lines_and_messages_are_refused_whole(self):
        self.send("SPEAK")
        self.reply()
        self.send("x" * (2 << 20), ".")  # a line over the 1 MiB cap
        self.assertEqual(self.reply(), ["301 ERROR CANT SPEAK"])
        self.speak("<speak>Still here</speak>")
        self.assertEqual([e[1] for e in self.events()][-1], "702 END")

if __name__ == "__main__":
    unittest.main()
