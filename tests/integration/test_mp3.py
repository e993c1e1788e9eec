# SPDX-License-Identifier: MIT
"""mp3 in, mp3 out (issue 12 part 2): the API's frames go into an mp3 file
byte for byte, their ID3 tags and Info frames dropped, one Xing/Info frame
for the whole file; PCM chunks (the local engine, pcm responses) are
encoded at the stream's rate and spliced in."""
import base64
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import wave

from harness import KEY, MockTestCase, audioinfo, run

TEN = " ".join("Sentence %s of the story ends here." % w for w in
               ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"))

V1_BITRATES = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
V2_BITRATES = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]


def header(b, at):
    """(length, rate, channels, samples, side_info) of a layer III frame at `at`, or None."""
    if at + 4 > len(b) or b[at] != 0xFF or (b[at + 1] & 0xE0) != 0xE0:
        return None
    version, layer = (b[at + 1] >> 3) & 3, (b[at + 1] >> 1) & 3
    bitrate, rate_index = b[at + 2] >> 4, (b[at + 2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate in (0, 15) or rate_index == 3:
        return None
    rate = [44100, 48000, 32000][rate_index] >> {3: 0, 2: 1, 0: 2}[version]
    mono = (b[at + 3] >> 6) == 3
    mpeg1 = version == 3
    kbps = (V1_BITRATES if mpeg1 else V2_BITRATES)[bitrate]
    length = (144000 if mpeg1 else 72000) * kbps // rate + ((b[at + 2] >> 1) & 1)
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    return length, rate, 1 if mono else 2, 1152 if mpeg1 else 576, side


def split(b):
    """(frames, info) of an mp3: its audio frames as bytes, and the Info/Xing frame's
    fields (or None). ID3v2 at the start and ID3v1 at the end are skipped."""
    at = 0
    if b[:3] == b"ID3":
        at = 10 + ((b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9])
    end = len(b) - 128 if b[-128:-125] == b"TAG" else len(b)
    frames, info = [], None
    while at < end:
        h = header(b, at)
        if not h:
            raise AssertionError("no frame at byte %d" % at)
        length, rate, channels, samples, side = h
        frame = b[at:at + length]
        tag = frame[4 + side:8 + side]
        if not frames and info is None and tag in (b"Xing", b"Info"):
            p = 4 + side
            lame = frame[p + 120:p + 156]
            info = {"tag": tag, "frames": int.from_bytes(frame[p + 8:p + 12], "big"),
                    "bytes": int.from_bytes(frame[p + 12:p + 16], "big"),
                    "delay": (lame[21] << 4) | (lame[22] >> 4),
                    "padding": ((lame[22] & 15) << 8) | lame[23], "rate": rate,
                    "channels": channels, "samples": samples}
        else:
            frames.append(frame)
        at += length
    return frames, info


def mpg123_samples(path):
    """Samples mpg123 (the program, gapless) decodes, and the frames its -t -v run counts."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x.wav")
        subprocess.run(["mpg123", "-q", "-w", out, path], check=True, capture_output=True)
        with wave.open(out) as w:
            samples = w.getnframes()
    err = subprocess.run(["mpg123", "-t", "-v", path], capture_output=True, text=True).stderr
    counts = re.findall(r"> (\d+)\+(\d+) ", err)
    return samples, int(counts[-1][0]) if counts else None


@unittest.skipUnless(shutil.which("mpg123"), "needs the mpg123 program")
class Mp3(MockTestCase):
    def say(self, *args, env=None, rc=0):
        code, out, err = run(["say"] + list(args), env or self.env())
        self.assertEqual(code, rc, err)
        self.assertNoKey(out, err)
        return out, err

    def responses(self):
        """The recorded response bodies in the text's order (requests run at once may arrive
        in any order; every test text here is a piece of TEN)."""
        done = [r for r in self.mock.requests() if "response_b64" in r]
        done.sort(key=lambda r: TEN.find(r["body"]["input"]))
        return [base64.b64decode(r["response_b64"]) for r in done]

    def chunk_samples(self, body):
        """What one response decodes to on its own (libsndfile, gapless)."""
        path = os.path.join(self.home, "chunk.mp3")
        with open(path, "wb") as f:
            f.write(body)
        return audioinfo(path)[0]

    def test_frames_pass_verbatim_under_one_info_frame(self):
        self.mock.script({"id3": True, "record_body": True})
        out = os.path.join(self.home, "a.mp3")
        self.say("--jobs", "2", "--max-text-length", "40", "-o", out, TEN)
        data = open(out, "rb").read()
        bodies = self.responses()
        self.assertGreaterEqual(len(bodies), 5)
        self.assertTrue(all(b[:3] == b"ID3" and b[-128:-125] == b"TAG" for b in bodies))
        frames, info = split(data)
        # the API's frames, byte for byte, in order; their tags and Info frames gone
        api = [split(b) for b in bodies]
        self.assertEqual(b"".join(frames), b"".join(b"".join(f) for f, _ in api))
        self.assertTrue(all(i is not None for _, i in api), "each response had its own Info frame")
        self.assertNotIn(b"ID3", data)
        self.assertNotIn(b"TAG", data[-128:])
        self.assertEqual(data.count(b"Info") + data.count(b"Xing"), 1)
        # one Info frame that counts them, with the first delay and the last padding
        self.assertEqual(info["tag"], b"Info")
        self.assertEqual(info["frames"], len(frames))
        self.assertEqual(info["bytes"], len(data))
        self.assertEqual(info["delay"], api[0][1]["delay"])
        self.assertEqual(info["padding"], api[-1][1]["padding"])
        # the duration as players read it: the frames less the one delay and padding
        spf = info["samples"]
        expected = len(frames) * spf - info["delay"] - info["padding"]
        sndfile_frames, rate, channels, _ = audioinfo(out)
        self.assertEqual((rate, channels), (24000, 1))
        mpg123, mpg123_frames = mpg123_samples(out)
        self.assertLessEqual(abs(sndfile_frames - expected), spf)
        self.assertLessEqual(abs(mpg123 - expected), spf)
        self.assertEqual(mpg123_frames, len(frames))
        # ... which is the sum of the chunks plus what each interior join keeps
        own = sum(self.chunk_samples(b) for b in bodies)
        joins = len(bodies) - 1
        kept = sum(api[i][1]["padding"] + api[i + 1][1]["delay"] for i in range(joins))
        self.assertLessEqual(abs(sndfile_frames - own - kept), spf)
        per_join_ms = (sndfile_frames - own) / joins / rate * 1000
        print("\n[interior join: %.1f ms kept per join (%d joins; delay %d + padding ~%d samples)]"
              % (per_join_ms, joins, api[1][1]["delay"], kept // joins - api[1][1]["delay"]))
        self.assertLess(per_join_ms, 80)

    def test_standard_output_pipe_has_no_info_frame_and_decodes(self):
        self.mock.script({"record_body": True})
        out, _ = self.say("--max-text-length", "40", "-o", "-", "--format", "mp3", TEN[:110])
        frames, info = split(out)
        self.assertIsNone(info, "a pipe cannot seek back: no Info frame")
        self.assertEqual(b"".join(frames), b"".join(b"".join(split(b)[0]) for b in self.responses()))
        path = os.path.join(self.home, "piped.mp3")
        with open(path, "wb") as f:
            f.write(out)
        samples, _ = mpg123_samples(path)
        self.assertGreater(samples, len(frames) * 576 - 4000)
        self.assertEqual(audioinfo(path)[1:3], (24000, 1))

    def test_standard_output_regular_file_gets_the_info_frame(self):
        path = os.path.join(self.home, "stdout.mp3")
        with open(path, "wb") as f:
            p = subprocess.run([os.environ.get("CLAWSPEAK_BIN", "../../build/clawspeak"), "say",
                                "-o", "-", "--format", "mp3", "Into a file on standard output."],
                               stdout=f, stderr=subprocess.PIPE, env=self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        frames, info = split(open(path, "rb").read())
        self.assertEqual(info["frames"], len(frames))

    def test_local_engine_chunks_are_encoded_and_spliced_at_the_same_rate(self):
        self.mock.script({"match": "four", "status": 503}, {"record_body": True})
        # a stream goes on in the local engine's voice (a file named with -o never mixes voices:
        # test_fallback), here standard output into a regular file
        out = os.path.join(self.home, "mixed.mp3")
        with open(out, "wb") as f:
            p = subprocess.run([os.environ.get("CLAWSPEAK_BIN", "../../build/clawspeak"), "say",
                                "--jobs", "1", "--max-text-length", "40", "-o", "-", "--format",
                                "mp3", TEN], stdout=f, stderr=subprocess.PIPE, env=self.env())
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("the local engine (espeak-ng) speaks from chunk 4 on", err)
        data = open(out, "rb").read()
        frames, info = split(data)
        self.assertEqual(info["frames"], len(frames))
        self.assertEqual((info["rate"], info["channels"]), (24000, 1))
        for f in frames:  # every frame, passed or encoded, at the stream's rate and channels
            self.assertEqual(header(f, 0)[1:3], (24000, 1))
        api = b"".join(b"".join(split(b)[0]) for b in self.responses())
        self.assertTrue(b"".join(frames).startswith(api), "the API's chunks come first, verbatim")
        self.assertGreater(len(frames), len(api) // 192 + 100, "the local engine's audio follows")
        sndfile_frames, rate, _, _ = audioinfo(out)
        self.assertGreater(sndfile_frames / rate, 8.0)
        self.assertLessEqual(abs(mpg123_samples(out)[0] - sndfile_frames), 576)

    def test_pcm_responses_are_encoded(self):
        out = os.path.join(self.home, "pcm.mp3")
        self.say("--response-format", "pcm", "--max-text-length", "40", "-o", out, TEN[:110])
        frames, info = split(open(out, "rb").read())
        self.assertEqual(info["frames"], len(frames))
        self.assertEqual(audioinfo(out)[1:3], (24000, 1))

    def test_another_sample_rate_decodes_and_encodes(self):
        out = os.path.join(self.home, "rate.mp3")
        self.say("--sample-rate", "16000", "-o", out, "Sixteen thousand samples a second.")
        frames, info = split(open(out, "rb").read())
        self.assertEqual((info["rate"], info["frames"]), (16000, len(frames)))

    def test_a_retried_chunk_passes_each_frame_once(self):
        """The first attempt breaks after 5000 bytes; the retry skips the frames already out."""
        self.mock.script({"truncate_after": 5000, "times": 1}, {"record_body": True})
        out = os.path.join(self.home, "retry.mp3")
        _, err = self.say("-o", out, TEN[:36])
        self.assertIn("retrying", err)
        frames, info = split(open(out, "rb").read())
        [body] = self.responses()
        self.assertEqual(b"".join(frames), b"".join(split(body)[0]))
        self.assertEqual(info["frames"], len(frames))

    def test_play_and_save_decodes_beside_the_passthrough(self):
        """-o x.mp3 --play: the file gets the frames as they are, the player their PCM."""
        if os.environ.get("CLAWSPEAK_WRAPPER"):
            self.skipTest("ALSA's plugins load libhwy, which stops valgrind (SIGILL)")
        captured = os.path.join(self.home, "alsa.raw")
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write('pcm.!default { type file slave.pcm "null" file "%s" format "raw" }\n' % captured)
        self.mock.script({"record_body": True})
        out = os.path.join(self.home, "tee.mp3")
        self.say("--no-wait", "--play", "--max-text-length", "40", "-o", out, TEN[:110])
        frames, info = split(open(out, "rb").read())
        self.assertEqual(b"".join(frames), b"".join(b"".join(split(b)[0]) for b in self.responses()))
        self.assertEqual(info["frames"], len(frames))
        played = os.path.getsize(captured) // 2  # mono s16 at 24 kHz
        self.assertGreater(played, audioinfo(out)[0] * 0.9, "the player heard the whole text")

    def test_resume_keeps_paid_chunks_and_passes_them_through(self):
        args = ["--jobs", "1", "--max-text-length", "40", "--no-fallback"]
        whole = os.path.join(self.home, "whole.mp3")
        self.say("-o", whole, *args, TEN)
        self.mock.script({"match": "six", "status": 503})
        target = os.path.join(self.home, "book.mp3")
        self.say("-o", target, *args, TEN, rc=5)
        self.assertFalse(os.path.exists(target))
        self.mock.script()
        self.say("--resume", "-o", target, *args, TEN)
        self.assertNotIn("one", " ".join(r["body"]["input"] for r in self.mock.requests()))
        self.assertEqual(open(target, "rb").read(), open(whole, "rb").read(), "the same file")

    def test_reencode_switch_takes_the_old_path(self):
        self.mock.script({"record_body": True})
        out = os.path.join(self.home, "old.mp3")
        self.say("-o", out, "The old path decodes and encodes.",
                 env=self.env(CLAWSPEAK_MP3_REENCODE="1"))
        frames, _ = split(open(out, "rb").read())
        [body] = self.responses()
        self.assertNotEqual(b"".join(frames), b"".join(split(body)[0]))
        self.assertEqual(audioinfo(out)[1:3], (24000, 1))


if __name__ == "__main__":
    unittest.main()


class Gapless(MockTestCase):
    """mp3 decoded sample-exact (issue 19 item 7): with LAME's Info tag as mpg123 -w decodes it,
    without one the decoder's own 529-sample delay trimmed all the same."""

    TEXT = "Sample for sample, the same speech."

    def decoded(self, path):
        with wave.open(path) as w:
            return w.readframes(w.getnframes())

    def check(self, rule, trimmed):
        self.mock.script(dict(rule, path="speech", record_body=True))
        out = os.path.join(self.home, "out.wav")
        code, _, err = run(["say", "-q", "-o", out, self.TEXT], self.env())
        self.assertEqual(code, 0, err)
        body = os.path.join(self.home, "api.mp3")
        with open(body, "wb") as f:
            f.write(base64.b64decode(self.mock.requests()[-1]["response_b64"]))
        reference = os.path.join(self.home, "ref.wav")
        subprocess.run(["mpg123", "-q", "-w", reference, body], check=True)
        ours, theirs = self.decoded(out), self.decoded(reference)
        self.assertEqual(ours, theirs[2 * trimmed:])

    def test_info_tag_as_mpg123_decodes_it(self):
        self.check({}, 0)

    def test_no_info_tag_trims_the_decoder_delay(self):
        self.check({"no_info_tag": True}, 529)
