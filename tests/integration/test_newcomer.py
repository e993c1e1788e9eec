# SPDX-License-Identifier: MIT
"""A newcomer's hour, round 2 (issue 24), and the leftovers of issue 20: habits
from other tools, options refused rather than ignored, the paid-API question,
the progress bar, emoji, devices. One test (or more) per item; each failed
before its fix."""
import json
import os
import signal
import subprocess
import time

from harness import BIN, CliTestCase, MockTestCase, allowance, audioinfo, run, startup_seconds
from test_terminal import read_terminal, run_on_pty


def on_terminal(args, env, typed=None, interrupt_at=None, seconds=60):
    """Run with stdin and stderr on a pseudo-terminal that is the controlling terminal;
    type `typed` once the process shows anything (or at once), send SIGINT once
    `interrupt_at` shows. Returns (exit code, what the terminal showed)."""
    import fcntl
    import pty
    import termios
    master, slave = pty.openpty()

    def controlling_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([BIN] + args, env=env, stdin=slave, stdout=subprocess.DEVNULL,
                         stderr=slave, preexec_fn=controlling_terminal)
    os.close(slave)
    state = {"typed": False, "interrupted": False}

    def respond(shown):
        if typed and not state["typed"]:
            state["typed"] = True
            return typed
        if interrupt_at and not state["interrupted"] and interrupt_at in shown:
            state["interrupted"] = True
            time.sleep(0.5)  # the question is on the screen: now it waits for the answer
            p.send_signal(signal.SIGINT)
        return None
    if typed:
        time.sleep(0.3)
        os.write(master, typed)
        state["typed"] = True
    text = read_terminal(master, p, respond if interrupt_at else None, seconds)
    code = p.wait(timeout=seconds)
    os.close(master)
    return code, text.decode("utf-8", "replace")


class Habits(CliTestCase):
    """Item 15: options and commands people bring from espeak-ng, say and edge-tts."""

    def test_foreign_options_point_to_ours(self):
        for args, ours in ((["say", "-w", "x.wav", "hi"], "-o FILE"), (["say", "-s", "200", "hi"], "-r WPM"),
                           (["say", "-i", "hi"], "-f FILE"), (["say", "--list-voices"], "clawspeak voices"),
                           (["say", "--write-media", "x.mp3", "hi"], "-o FILE"),
                           (["say", "--text", "hi"], "as arguments"),
                           (["say", "--output-file", "x.wav", "hi"], "-o FILE")):
            with self.subTest(args=args):
                rc, out, err = run(args, self.env())
                self.assertEqual(rc, 2, err)
                self.assertIn(ours, err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_commands_did_you_mean_help_and_version(self):
        rc, _, err = run(["sya", "hello"], self.env())
        self.assertEqual(rc, 2)
        self.assertIn("did you mean say?", err)
        rc, _, err = run(["trnascribe", "x.ogg"], self.env())
        self.assertIn("did you mean transcribe?", err)
        rc, out, err = run(["help", "say"], self.env())
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, run(["say", "--help"], self.env())[1])
        rc, out, err = run(["help"], self.env())
        self.assertEqual((rc, out), (0, run(["--help"], self.env())[1]))
        rc, out, err = run(["version"], self.env())
        self.assertEqual((rc, out), (0, run(["--version"], self.env())[1]))
        rc, _, err = run(["help", "sya"], self.env())
        self.assertEqual(rc, 2)
        self.assertIn("did you mean say?", err)

    def test_say_on_a_terminal_reads_what_is_typed(self):
        """say with no text on a terminal reads until Ctrl-D, as espeak-ng and say do."""
        out = os.path.join(self.home, "typed.wav")
        code, shown = on_terminal(["say", "-o", out], self.env(), typed=b"Typed on the terminal.\n\x04")
        self.assertEqual(code, 0, shown)
        self.assertIn("Ctrl-D", shown)
        frames, rate, _, _ = audioinfo(out)
        self.assertGreater(frames / rate, 0.8)


class OptionValues(CliTestCase):
    """Issue 20's leftovers: -v -o, --volume 0x2."""

    def test_an_option_where_a_value_should_be(self):
        out = os.path.join(self.home, "x.wav")
        for args, typed in ((["say", "-v", "-o", out, "hi"], "-v"), (["say", "--voice", "--verbose", "hi"], "--voice"),
                            (["say", "-f", "-q"], "-f"), (["say", "--system", "-o", out], None)):
            with self.subTest(args=args):
                rc, _, err = run(args, self.env())
                self.assertEqual(rc, 2, err)
                self.assertFalse(os.path.exists(out))
                if typed:
                    self.assertIn("did you mean %s " % typed, err)
        # '-' alone (standard input) and negative numbers are values, not options
        rc, _, err = run(["say", "-f", "-", "-o", out], self.env(), stdin=b"Standard input.")
        self.assertEqual(rc, 0, err)
        rc, _, err = run(["say", "--volume", "-1", "-o", out, "hi"], self.env())
        self.assertIn("expected a gain", err)

    def test_numbers_are_decimal(self):
        for args in (["say", "--volume", "0x2"], ["config", "--speed", "0x1"], ["say", "-r", "0xc8"],
                     ["say", "--lines", "--max-behind", "0x5"], ["say", "--volume", "inf"], ["config", "--speed", "nan"]):
            with self.subTest(args=args):
                rc, _, err = run(args + ["-o", os.path.join(self.home, "x.wav"), "hi"]
                                 if args[0] == "say" and "--lines" not in args else args, self.env(), stdin=b"")
                self.assertEqual(rc, 2, err)
                self.assertIn("expected", err)
        rc, out, err = run(["config", "--json", "--speed", "1.5e0"], self.env())
        self.assertEqual(json.loads(out)["speed"]["value"], 1.5)


class RefusedNotIgnored(CliTestCase):
    """Item 12: options that would be ignored are refused; a --config that is not there is an error."""

    def test_file_options_without_a_file(self):
        for args, named in ((["say", "--format", "flac", "hi"], "--format"),
                            (["say", "--sample-rate", "16000", "hi"], "--sample-rate"),
                            (["ask", "--format", "mp3", "hi"], "--format")):
            with self.subTest(args=args):
                rc, _, err = run(args, self.env())
                self.assertEqual(rc, 2, err)
                self.assertIn(named, err)
                self.assertIn("-o FILE", err)

    def test_rate_and_speed_together(self):
        rc, _, err = run(["say", "-r", "200", "--speed", "1.2", "-o", os.path.join(self.home, "x.wav"), "hi"], self.env())
        self.assertEqual(rc, 2, err)
        self.assertIn("--speed", err)

    def test_missing_explicit_config_is_exit_3(self):
        out = os.path.join(self.home, "x.wav")
        missing = os.path.join(self.home, "typo.json")
        rc, _, err = run(["say", "--config", missing, "-o", out, "hi"], self.env())
        self.assertEqual(rc, 3, err)
        self.assertIn(missing, err)
        self.assertIn("does not exist", err)
        self.assertFalse(os.path.exists(out))


class PaidQuestion(MockTestCase):
    """Item 3: the local engine is never the paid API's question, nor a /models request."""

    TEXT = "Twenty characters!! " * 3

    def test_provider_local_is_not_asked(self):
        out = os.path.join(self.home, "local.wav")
        for provider in ("local", "tts-local-cli"):
            with self.subTest(provider=provider):
                self.mock.script()
                code, shown = on_terminal(["say", "--provider", provider, "--confirm-over", "10", "-o", out,
                                           self.TEXT], self.env(), seconds=60)
                self.assertEqual(code, 0, shown)
                self.assertNotIn("[y/N]", shown)
                self.assertEqual(self.mock.requests("/models"), [])
                self.assertGreater(audioinfo(out)[0], 0)

    def test_ctrl_c_at_the_question_says_interrupted_only(self):
        """The price lookup failing (404) is no news after a Ctrl-C at the question."""
        self.mock.script({"path": "models", "status": 404})
        out = os.path.join(self.home, "paid.wav")
        code, shown = on_terminal(["say", "--confirm-over", "10", "-o", out, self.TEXT], self.env(),
                                  interrupt_at=b"[y/N]")
        self.assertEqual(code, 130, shown)
        self.assertNotIn("404", shown)
        self.assertIn("interrupted", shown)
        self.assertEqual(self.mock.requests(), [])
        self.assertFalse(os.path.exists(out))


class ProgressBar(MockTestCase):
    """Item 7: no bar for a short run that plays; a conversion's bar is erased at the end."""

    def setUp(self):
        super().setUp()
        self.capture = os.path.join(self.home, "alsa.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % self.capture)

    def test_short_playback_shows_no_bar(self):
        code, tty, _ = run_on_pty(["say", "--no-wait", "Hi."], self.env(), "stderr")
        self.assertEqual(code, 0, tty)
        self.assertNotIn("chunk", tty)
        self.assertGreater(os.path.getsize(self.capture), 1000)

    def test_a_conversion_bar_is_erased(self):
        out = os.path.join(self.home, "conv.wav")
        text = " ".join("Sentence %d of a conversion." % i for i in range(12))
        code, tty, _ = run_on_pty(["say", "--max-text-length", "60", "-o", out, text], self.env(), "stderr")
        self.assertEqual(code, 0, tty)
        self.assertIn("chunk", tty)
        last = tty.rindex("chunk")
        self.assertIn("\r\x1b[K", tty[last:], "the bar is left on the screen")
        self.assertEqual(tty[tty.rindex("\r\x1b[K") + 4:].strip(), "")


class Emoji(MockTestCase):
    """Item 9: emoji are spoken (espeak-ng names them), not refused as invisible."""

    def test_emoji_only_is_spoken(self):
        out = os.path.join(self.home, "emoji.wav")
        rc, _, err = run(["say", "-o", out, "\U0001F44D"], self.env())
        self.assertEqual(rc, 0, err)
        self.assertEqual([r["body"]["input"] for r in self.mock.requests()], ["\U0001F44D"])
        self.assertGreater(audioinfo(out)[0], 0)
        # offline, the local engine says "thumbs up"
        rc, _, err = run(["say", "--provider", "local", "-o", out, "\U0001F44D"], self.env())
        self.assertEqual(rc, 0, err)
        self.assertGreater(audioinfo(out)[0] / audioinfo(out)[1], 0.3)

    def test_only_punctuation_is_not_called_invisible(self):
        rc, _, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "..."], self.env())
        self.assertEqual(rc, 2, err)
        self.assertIn("punctuation", err)
        self.assertNotIn("invisible", err)


class Devices(CliTestCase):
    """Item 14 (and issue 20's leftover): devices lists inputs too, marked; no device is no '-o FILE'."""

    def test_inputs_are_listed_and_marked(self):
        with open(os.path.join(self.home, "in.raw"), "wb") as f:
            f.write(bytes(32000))
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s/out.raw" format "raw" }\n'
                    'pcm.mic_here { type file slave.pcm "null" file "/dev/null" infile "%s/in.raw" format "raw" }\n'
                    % (self.home, self.home))
        code, out, err = run(["devices"], self.env())
        self.assertEqual(code, 0, err)
        rows = [line.split("\t") for line in out.decode().splitlines()]
        by_name = {r[1]: r for r in rows}
        self.assertIn("mic_here", by_name)
        for r in rows:
            self.assertIn(r[2], ("output", "input", "output, input"), r)
        self.assertIn("input", by_name["mic_here"][2])
        self.assertEqual(sum("default output" in "\t".join(r) for r in rows), 1, out)

    def test_no_device_says_what_to_check(self):
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write("pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n")
        code, out, err = run(["devices"], self.env(ALSA_CONFIG_PATH=os.path.join(self.home, ".asoundrc")))
        self.assertEqual(code, 7, err)
        self.assertNotIn("-o FILE", err)
        self.assertIn("no audio devices", err)


class Batch(MockTestCase):
    """Item 13: --output-dir takes the files as words; AIFF; raw says its rate."""

    def test_output_dir_takes_positional_files(self):
        texts = []
        for name in ("one", "two"):
            path = os.path.join(self.home, name + ".txt")
            with open(path, "w") as f:
                f.write("Chapter %s of the book." % name)
            texts.append(path)
        out = os.path.join(self.home, "out")
        rc, _, err = run(["say", "--output-dir", out] + texts, self.env())
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(os.listdir(out)), ["one.wav", "two.wav"])
        self.assertEqual(len(self.mock.requests()), 2)

    def test_aiff_as_macos_say_writes_it(self):
        out = os.path.join(self.home, "hi.aiff")
        rc, _, err = run(["say", "-o", out, "Hello in AIFF."], self.env())
        self.assertEqual(rc, 0, err)
        with open(out, "rb") as f:
            head = f.read(12)
        self.assertEqual((head[:4], head[8:12]), (b"FORM", b"AIFF"))
        frames, rate, channels, _ = audioinfo(out)
        self.assertEqual((rate, channels), (24000, 1))
        self.assertGreater(frames, 10000)

    def test_raw_says_its_rate(self):
        out = os.path.join(self.home, "hi.raw")
        rc, _, err = run(["say", "-o", out, "Raw audio."], self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("24000 Hz", err)
        self.assertIn("16-bit", err)
        rc, _, err = run(["say", "--provider", "local", "--format", "raw", "-o", out, "Raw audio."], self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("22050 Hz", err)


class Encodings(MockTestCase):
    """Item 17: UTF-16 with a BOM is read; other encodings get an iconv hint."""

    TEXT = "Caf\u00e9 cr\u00e8me, na\u00efve \U0001F600 text."

    def test_utf16_with_a_bom_is_read(self):
        for codec, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
            with self.subTest(codec=codec):
                self.mock.script()
                path = os.path.join(self.home, codec + ".txt")
                with open(path, "wb") as f:
                    f.write(bom + self.TEXT.encode(codec))
                out = os.path.join(self.home, "u16.wav")
                rc, _, err = run(["say", "-f", path, "-o", out], self.env())
                self.assertEqual(rc, 0, err)
                self.assertEqual([r["body"]["input"] for r in self.mock.requests()], [self.TEXT])

    def test_utf16_through_a_pipe_split_inside_characters(self):
        data = b"\xff\xfe" + self.TEXT.encode("utf-16-le")
        script = ("import sys, time\nd = %r\nfor i in range(0, len(d), 3):\n"
                  "    sys.stdout.buffer.write(d[i:i+3]); sys.stdout.flush(); time.sleep(0.01)\n" % data)
        producer = subprocess.Popen([__import__("sys").executable, "-c", script], stdout=subprocess.PIPE)
        out = os.path.join(self.home, "pipe.wav")
        p = subprocess.run([BIN, "say", "-o", out], stdin=producer.stdout, capture_output=True, env=self.env(), timeout=60)
        producer.wait()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(" ".join(r["body"]["input"] for r in self.mock.requests()), self.TEXT)

    def test_other_encodings_get_a_hint(self):
        for data, hint in (("caf\u00e9 au lait".encode("latin-1"), "iconv -f LATIN1"),
                           ("Hello there.".encode("utf-16-le"), "iconv -f UTF-16LE"),
                           (b"\xff\xfeH\x00\x00\xd8e\x00", "not valid UTF-16")):
            with self.subTest(hint=hint):
                path = os.path.join(self.home, "text.txt")
                with open(path, "wb") as f:
                    f.write(data)
                out = os.path.join(self.home, "x.wav")
                rc, _, err = run(["say", "-f", path, "-o", out], self.env())
                self.assertEqual(rc, 2, err)
                self.assertIn(hint, err)
                self.assertFalse(os.path.exists(out))
                self.assertEqual(self.mock.requests(), [])


class Reproducible(MockTestCase):
    """Item 10: resampled output is the same bytes every run (libsoxr's dither was seeded
    from the clock)."""

    def test_same_conversion_same_bytes(self):
        outs = []
        for i in range(2):
            out = os.path.join(self.home, "r%d.flac" % i)
            rc, _, err = run(["say", "--sample-rate", "16000", "-o", out, "Identical runs, identical bytes."], self.env())
            self.assertEqual(rc, 0, err)
            self.assertEqual(audioinfo(out)[1], 16000)
            with open(out, "rb") as f:
                outs.append(f.read())
        self.assertEqual(outs[0], outs[1])

    def test_transcribe_cuts_and_sends_the_same_pieces(self):
        media = os.path.join(self.home, "long.wav")  # 22050 Hz: resampled to 16 kHz
        subprocess.run(["espeak-ng", "-w", media, " ".join(
            "This is sentence number %d of a longer recording, with a pause after each clause." % i
            for i in range(4))], check=True)
        outs = set()
        for _ in range(3):
            rc, out, err = run(["transcribe", "--piece-seconds", "5", media], self.env())
            self.assertEqual(rc, 0, err)
            self.assertGreater(out.count(b"[piece"), 2)
            outs.add(out)
        self.assertEqual(len(outs), 1, outs)


class AskSpeaks(MockTestCase):
    """Item 1: ask speaks unless tts.auto says "off"; -o, --subtitles speak whatever it says."""

    def setUp(self):
        super().setUp()
        self.capture = os.path.join(self.home, "alsa.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % self.capture)

    def test_no_auto_setting_speaks(self):
        rc, out, err = run(["ask", "--no-wait", "hi"], self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn(b"mock model", out)
        self.assertGreater(len(self.mock.requests()), 0)
        self.assertGreater(os.path.getsize(self.capture), 10000)

    def test_output_and_subtitles_speak_whatever_auto_says(self):
        self.write_mock_config("tts: {auto: 'off'}")
        out = os.path.join(self.home, "reply.mp3")
        rc, _, err = run(["ask", "-o", out, "hi"], self.env())
        self.assertEqual(rc, 0, err)
        self.assertGreater(audioinfo(out)[0], 0)
        subs = os.path.join(self.home, "reply.srt")
        rc, _, err = run(["ask", "--no-wait", "--subtitles", subs, "hi"], self.env())
        self.assertEqual(rc, 0, err)
        self.assertIn("mock model", open(subs).read())
        rc, _, err = run(["ask", "--no-speak", "-o", out, "hi"], self.env())
        self.assertEqual(rc, 2, err)

    def test_auto_off_says_why_on_a_terminal(self):
        self.write_mock_config("tts: {auto: 'off'}")
        code, tty, _ = run_on_pty(["ask", "hi"], self.env(), "stderr")
        self.assertEqual(code, 0, tty)
        self.assertIn('tts.auto is "off"', tty)
        self.assertIn("--speak", tty)
        self.assertEqual(self.mock.requests(), [])
        self.assertFalse(os.path.exists(self.capture) and os.path.getsize(self.capture))
        rc, _, err = run(["ask", "hi"], self.env())  # a script is not told
        self.assertEqual((rc, err), (0, ""))


class AskWithPipedContext(MockTestCase):
    """Item 5: piped standard input joins the prompt as context (git diff | clawspeak ask 'review this')."""

    def last_user_message(self):
        [chat] = self.mock.requests("/chat/completions")
        return chat["body"]["messages"][-1]["content"]

    def test_piped_text_joins_the_prompt(self):
        diff = "diff --git a/x b/x\n-old line\n+new line\n"
        rc, out, err = run(["ask", "--no-speak", "--verbose", "review", "this"], self.env(), stdin=diff.encode())
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.last_user_message(), diff + "\nreview this")
        self.assertIn("%d bytes (3 lines) from standard input" % len(diff), err)

    def test_no_pipe_no_context_and_caps(self):
        rc, out, err = run(["ask", "--no-speak", "just this"], self.env())  # stdin is /dev/null
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.last_user_message(), "just this")
        self.mock.script()
        rc, _, err = run(["ask", "--no-speak", "too much"], self.env(), stdin=b"x" * (2 << 20))
        self.assertEqual(rc, 2, err)
        self.assertIn("KiB", err)
        rc, _, err = run(["ask", "--no-speak", "binary"], self.env(), stdin=b"ab\0cd")
        self.assertEqual(rc, 2, err)
        self.assertIn("NUL", err)
        self.assertEqual(self.mock.requests("/chat/completions"), [])


class MaxBehind(MockTestCase):
    """Item 6: a line older than --max-behind when its request starts is skipped, merged or not."""

    def test_merged_lines_never_start_late(self):
        import re
        import threading
        self.mock.script({"path": "speech", "first_byte_delay_ms": 4000})
        out = os.path.join(self.home, "live.wav")
        p = subprocess.Popen([BIN, "say", "--verbose", "--lines", "--max-behind", "2", "-j", "1", "--max-text-length", "300",
                              "-o", out], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=self.env())
        written = {}

        def produce():
            for n in range(60):  # a line every 100 ms for 6 s
                written[n] = time.time()
                p.stdin.write(b"Entry number %d says the service is fine\n" % n)
                p.stdin.flush()
                time.sleep(0.1)
            p.stdin.close()
        producer = threading.Thread(target=produce)
        producer.start()
        producer.join()
        err = p.stderr.read()
        p.stderr.close()
        self.assertEqual(p.wait(timeout=120), 0, err)
        self.assertIn(b"skipped", err)
        spoken = []
        previous = None
        slack = allowance(0.5, startup_seconds(self.env()))
        requests = self.mock.requests()
        t0 = written[0]
        # shown when the check fails: each request's lines, arrival and end, from line 0
        story = "; ".join("%s at %.1f-%.1f s" % (re.findall(r"number (\d+)", r["body"]["input"]),
                                                 r["time"] - t0, r.get("finished", 0) - t0)
                          for r in requests)
        for r in requests:
            numbers = [int(n) for n in re.findall(r"number (\d+)", r["body"]["input"])]
            spoken += numbers
            # with -j 1 a request starts once the one before it has finished, and the lines
            # it carries were then at most 2 s old. That end is no earlier than the moment the
            # mock began to write the answer's last bytes (its clock, read before the write:
            # a mock thread held up after writing would make the bound too strict). 0.5 s is
            # for the reader's own delay, plus three starts of the binary at this moment's
            # pace (a busy machine starves the reader too). Before the fix, lines waited in
            # queued chunks for seconds.
            if previous:
                oldest = min(written[n] for n in numbers)
                self.assertGreater(oldest, previous["last_write"] - 2.0 - slack,
                                   "request %r: its oldest line was %.1f s old when the request "
                                   "before it could end (slack %.1f s). Requests: %s. Log: %s"
                                   % (numbers, previous["last_write"] - oldest, slack, story,
                                      err.decode("utf-8", "replace")[-1500:]))
            previous = r
        self.assertEqual(spoken, sorted(spoken))
        self.assertGreater(len(spoken), 3)
        # each batch of lines is one request (a batch once became two, the last line late)
        self.assertEqual(len(re.findall(rb"clawspeak: lines \d+-\d+", err)), len(requests), story)


class Docs(MockTestCase):
    """Item 16: what the man page, --help, models, transcribe --json and voices say."""

    def test_man_page_local_args_default_is_the_real_one(self):
        build = os.environ.get("CLAWSPEAK_BUILD_DIR", os.path.join(os.path.dirname(BIN)))
        page = open(os.path.join(build, "clawspeak.1")).read().replace("\\-", "-")
        rc, out, err = run(["config", "--json"], self.env())
        real = json.loads(out)["local_args"]["value"]
        self.assertEqual(real, "--stdout --stdin")
        section = page[page.index("local_args"):][:300]
        self.assertIn("(default %s)" % real, section)

    def test_help_shows_each_commands_model(self):
        for command, default in (("ask", "openrouter/auto"), ("say", "hexgrad/kokoro-82m"),
                                 ("transcribe", "whisper")):
            rc, out, _ = run([command, "--help"], self.env())
            line = next(l for l in out.decode().splitlines() if "--model" in l)
            self.assertIn(default, line, command)
        rc, out, _ = run(["ask", "--help"], self.env())
        self.assertNotIn("kokoro", out.decode())

    def test_models_list(self):
        self.write_mock_config("agents: {defaults: {model: {primary: 'openrouter/openai/gpt-4o-mini-tts'}}}")
        for args in (["models"], ["models", "list"]):
            rc, out, err = run(args, self.env())
            self.assertEqual(rc, 0, err)
            lines = out.decode().splitlines()
            self.assertIn("openrouter/hexgrad/kokoro-82m", lines)
            self.assertIn("openrouter/openai/gpt-4o-mini-tts  (in use)", lines)
        self.assertIn("output_modalities=text", self.mock.requests("/models")[-1]["path"])

    def test_models_set_keeps_bare_keys(self):
        path = self.write_config("{\n  // mine\n  models: {providers: {openrouter: {apiKey: 'k'}}},\n}\n", "bare.json5")
        rc, _, err = run(["models", "set", "openrouter/a/b", "--config", path], self.env())
        self.assertEqual(rc, 0, err)
        text = open(path).read()
        self.assertIn("agents: {", text)
        self.assertIn('primary: "openrouter/a/b"', text)
        self.assertNotIn('"agents"', text)
        path = self.write_config('{"models": {}}', "quoted.json")
        rc, _, err = run(["models", "set", "openrouter/a/b", "--config", path], self.env())
        self.assertEqual(json.load(open(path))["agents"]["defaults"]["model"]["primary"], "openrouter/a/b")

    def test_transcribe_json_cost_prints_as_a_sum_should(self):
        """Pieces billed $0.00002, $0.00051 and $0.00036 cost 0.00089, not 0.0008900000000000002."""
        import re
        self.mock.script(*[{"path": "transcriptions", "times": 1,
                            "body": json.dumps({"text": "piece", "usage": {"cost": cost}})}
                           for cost in (0.00002, 0.00051, 0.00036)])
        media = os.path.join(self.home, "long.wav")
        subprocess.run(["espeak-ng", "-w", media, " ".join(
            "This is sentence number %d of a longer recording, with a pause after each clause." % i
            for i in range(3))], check=True)
        rc, out, err = run(["transcribe", "-j", "1", "--json", "--piece-seconds", "5", media], self.env())
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["pieces"], 3, "the recording was meant to make 3 pieces")
        self.assertEqual(re.search(rb'"cost":([0-9.e-]+)', out).group(1), b"0.00089", out)

    def test_local_voice_names_read_as_words(self):
        self.write_config("{}")  # no key: the local engine's voices, offline
        rc, out, err = run(["voices"], self.env())
        self.assertEqual(rc, 0, err)
        text = out.decode()
        self.assertIn("Chinese (Mandarin", text)
        self.assertNotIn("_", "".join(l.split("  ", 2)[-1] for l in text.splitlines()))
