# SPDX-License-Identifier: MIT
"""Issue 12: subtitles timed by decoded samples, --volume with its soft limiter,
--normalize (EBU R128 per chunk) and --lead-in, end to end."""
import array
import math
import os
import re

from harness import CliTestCase, MockTestCase, audioinfo, run

TONE_COMMAND = """#!/bin/sh
# a 1 kHz tone for each request: loud, or quiet when the text says so
text=$(cat)
case "$text" in *quiet*) v=0.03;; *) v=${TONE_VOLUME:-0.9};; esac
exec sox -D -n -r 24000 -c 1 -b 16 -t wav - synth 1 sine 1000 vol $v
"""


def samples(path, dump):
    audioinfo(path, dump)
    data = array.array("h")
    with open(dump, "rb") as f:
        data.frombytes(f.read())
    return data


def rms_db(values):
    return 10 * math.log10(sum(v * v for v in values) / len(values) / 32768.0 ** 2)


def cue_times(path):
    """[(start, end)] in seconds from an .srt or .vtt file."""
    stamp = r"(\d+):(\d\d):(\d\d)[,.](\d{3})"
    out = []
    for m in re.finditer(stamp + " --> " + stamp, open(path, encoding="utf-8").read()):
        g = [int(x) for x in m.groups()]
        out.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000))
    return out


class Subtitles(MockTestCase):
    TEXT = ("The first sentence is short. The second one is a little longer than that. "
            "Then comes a long sentence, the kind that goes on with clauses, commas and asides, "
            "so that it has to be cut at a clause before it makes a cue too long to read. The end.")

    def test_one_cue_per_sentence_timed_by_the_audio(self):
        for ext in ("srt", "vtt"):
            with self.subTest(ext=ext):
                self.mock.script()
                out, subs = os.path.join(self.home, "a.wav"), os.path.join(self.home, "a." + ext)
                code, _, err = run(["say", "-q", "-o", out, "--subtitles", subs, self.TEXT], self.env())
                self.assertEqual(code, 0, err)
                requests = self.mock.requests()
                cues = cue_times(subs)
                self.assertEqual(len(cues), len(requests), "one cue per request")
                self.assertGreaterEqual(len(cues), 5, "the long sentence is cut at a clause")
                self.assertTrue(all(len(r["body"]["input"]) <= 84 for r in requests))
                frames, rate, _, _ = audioinfo(out)
                self.assertAlmostEqual(cues[-1][1], frames / rate, delta=0.002)
                self.assertEqual(cues[0][0], 0.0)
                for (s1, e1), (s2, _) in zip(cues, cues[1:]):
                    self.assertLess(s1, e1)
                    self.assertEqual(e1, s2, "cues follow each other without gaps")
                text = open(subs, encoding="utf-8").read()
                self.assertTrue(text.startswith("WEBVTT") if ext == "vtt" else text.startswith("1\n"))
                self.assertIn("The first sentence is short.", text)

    def test_subtitles_with_mp3_passed_through(self):
        """The frames go into the mp3 as they are; cues follow the file's own timeline (each
        interior join keeps its encoder delay), the last ending where the audio ends."""
        self.mock.script({"path": "speech", "record_body": True})
        out, subs = os.path.join(self.home, "a.mp3"), os.path.join(self.home, "a.srt")
        code, _, err = run(["say", "-q", "-o", out, "--subtitles", subs, self.TEXT], self.env())
        self.assertEqual(code, 0, err)
        cues = cue_times(subs)
        self.assertEqual(len(cues), len(self.mock.requests()))
        frames, rate, _, _ = audioinfo(out)
        self.assertLess(abs(cues[-1][1] - frames / rate), 576 / rate + 0.002, (cues[-1], frames / rate))
        data = open(out, "rb").read()
        import base64
        first = base64.b64decode(self.mock.requests()[0]["response_b64"])
        self.assertIn(first[len(first) // 2:len(first) // 2 + 64], data, "passed through, not encoded again")

    def test_ask_speak_writes_subtitles(self):
        out, subs = os.path.join(self.home, "r.wav"), os.path.join(self.home, "r.srt")
        code, _, err = run(["ask", "--speak", "-o", out, "--subtitles", subs, "hello"], self.env())
        self.assertEqual(code, 0, err)
        cues = cue_times(subs)
        self.assertEqual(len(cues), 3, open(subs).read())  # the mock's reply: three sentences
        frames, rate, _, _ = audioinfo(out)
        self.assertAlmostEqual(cues[-1][1], frames / rate, delta=0.002)

    def test_subtitle_targets_are_checked_like_outputs(self):
        out = os.path.join(self.home, "a.wav")
        fifo = os.path.join(self.home, "f.srt")
        os.mkfifo(fifo)
        link_to_null = os.path.join(self.home, "null.srt")
        os.symlink("/dev/null", link_to_null)
        folder = os.path.join(self.home, "dir.srt")
        os.mkdir(folder)
        ro = os.path.join(self.home, "ro.srt")
        with open(ro, "w") as f:
            f.write("keep")
        os.chmod(ro, 0o444)
        same = os.path.join(self.home, "same.srt")
        os.symlink(out, same)
        for target, code_wanted, words in ((fifo, 8, "not a regular file"), (link_to_null, 8, "not a regular file"),
                                           (folder, 8, "is a directory"), (ro, 8, "read-only"),
                                           (same, 2, "the same file")):
            with self.subTest(target=target):
                code, _, err = run(["say", "-o", out, "--subtitles", target, "Hi. There."], self.env())
                self.assertEqual(code, code_wanted, err)
                self.assertIn(words, err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(self.mock.requests(), [], "refused before any request")
        self.assertTrue(os.path.exists("/dev/null") and not os.path.isfile("/dev/null"))
        self.assertEqual(open(ro).read(), "keep")
        self.assertFalse(os.path.exists(out))

    def test_bad_names_and_failures_leave_nothing(self):
        out = os.path.join(self.home, "x.wav")
        code, _, err = run(["say", "-o", out, "--subtitles", os.path.join(self.home, "x.txt"), "Hi."], self.env())
        self.assertEqual(code, 2, err)
        self.assertIn(".srt", err)
        code, _, err = run(["say", "-o", out, "--subtitles", "/nonexistent/dir/x.srt", "Hi."], self.env())
        self.assertEqual(code, 8, err)
        self.assertEqual(self.mock.requests(), [], "refused before any request")
        self.mock.script({"path": "speech", "status": 400})
        subs = os.path.join(self.home, "y.srt")
        code, _, err = run(["say", "--no-fallback", "-o", out, "--subtitles", subs, "Hi. There."], self.env())
        self.assertEqual(code, 5, err)
        self.assertFalse(os.path.exists(subs))
        self.assertNoLeftovers(self.home)


class Levels(CliTestCase):
    def setUp(self):
        super().setUp()
        tone = os.path.join(self.home, "tone-tts")
        with open(tone, "w") as f:
            f.write(TONE_COMMAND)
        os.chmod(tone, 0o755)
        self.write_config("{tts: {provider: 'tts-local-cli', providers: {'tts-local-cli': {command: '%s'}}}}" % tone)

    def render(self, *args, text="A loud one.", **env):
        out = os.path.join(self.home, "out.wav")
        code, _, err = run(["say", "-q", "-o", out] + list(args) + [text], self.env(**env))
        self.assertEqual(code, 0, err)
        return samples(out, os.path.join(self.home, "out.raw"))

    def test_volume_scales_and_never_clips(self):
        plain = self.render(TONE_VOLUME="0.5")
        doubled = self.render("--volume", "2", TONE_VOLUME="0.5")
        self.assertEqual(len(plain), len(doubled))
        for a, b in zip(plain, doubled):
            if abs(a) < 8000:  # below the limiter's knee: exactly twice
                self.assertLessEqual(abs(2 * a - b), 1)
            self.assertTrue(a == 0 or (a > 0) == (b > 0), "no wrap-around")
        self.assertLess(max(abs(v) for v in doubled), 0.96 * 32767, "bent below full scale")
        loud = self.render("--volume", "4", TONE_VOLUME="0.99")
        self.assertLessEqual(max(loud), 32767)
        self.assertGreaterEqual(min(loud), -32767, "never a hard clip to -32768")
        half = self.render("--volume", "0.5", TONE_VOLUME="0.5")
        self.assertAlmostEqual(rms_db(half), rms_db(plain) - 6.02, delta=0.1)
        code, _, err = run(["say", "--volume", "5", "-o", os.path.join(self.home, "v.wav"), "x"], self.env())
        self.assertEqual(code, 2, err)

    def test_normalize_brings_chunks_to_one_loudness(self):
        text = "A loud one. A quiet one."
        subs = os.path.join(self.home, "n.srt")
        raw = self.render("--subtitles", subs, text=text)
        cues = cue_times(subs)
        self.assertEqual(len(cues), 2)
        cut = round(cues[0][1] * 24000)
        before = rms_db(raw[:cut]) - rms_db(raw[cut:])
        self.assertGreater(before, 25, "the source differs by ~29 dB")
        norm = self.render("--subtitles", subs, "--normalize", text=text)
        loud, quiet = rms_db(norm[:cut]), rms_db(norm[cut:])
        self.assertLess(abs(loud - quiet), 1.0, (loud, quiet))
        # a 1 kHz sine at -16 LUFS has an RMS of about -16.7 dBFS (K-weighting adds ~0.7 dB there)
        self.assertAlmostEqual(loud, -16.7, delta=1.0)

    def test_lead_in_is_silence_first(self):
        plain = self.render()
        led = self.render("--lead-in", "250")
        self.assertEqual(len(led) - len(plain), 6000)
        self.assertTrue(all(v == 0 for v in led[:6000]))
        self.assertEqual(led[6000:].tobytes(), plain.tobytes())
