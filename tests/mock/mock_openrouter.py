#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A mock OpenRouter for clawspeak's tests: real HTTP on loopback.

/audio/speech synthesises real speech for the request's text (espeak-ng,
resampled to 24 kHz mono with sox, mp3 by lame), /chat/completions streams
server-sent events, /models lists speech models. Every request is recorded.

Behaviour is scripted over HTTP: POST /_mock/script with
  {"rules": [{"path": "speech", "match": "text", "times": 1, ...behaviour}]}
Behaviour keys: status, retry_after, error_message, first_byte_delay_ms,
bytes_per_s, truncate_after, reset_after, html200, json200, garbage, no_info_tag
(the mp3 without LAME's Xing/Info frame, as a streaming service sends it),
redirect, never_close, content_type, body, id3 (the mp3 wrapped in an
ID3v2 tag and followed by an ID3v1 tag, as some services send), record_body
(the response's bytes are logged, base64, as "response_b64"). The first matching rule with
times left is used (times absent = forever). GET /_mock/requests returns
the log; POST /_mock/reset clears rules and log.

Hostile modes, one per misbehaviour (issue 9): endless (audio that never
ends), header_delay_ms (headers trickle in, one line at a time),
error_message (any text: keys, escapes), huge (a /models list over any
sane cap), voices (the voice names /models lists), reply with "{AUTH}"
(the chat reply echoes the Authorization header) and token_chars (the
reply in pieces of that many characters, so a key straddles pieces);
keepalive_forever_ms (a chat stream of keep-alive comments only, one that often).
Benchmarks: canned (one short clip for any text, no synthesis).
Crafted streams (issue 20): body_b64 (these bytes instead of the synthesised audio,
with the Content-Type of the requested format, or content_type).

Real networks (issue 13): HEAD on any path answers 200 with no body (the
client's connection warm-up); a chat request with
stream_options.include_usage gets a usage event (tokens and cost) before
[DONE]; every request records client_port, which names its connection.

Speech to text (issue 14): POST /audio/transcriptions takes JSON with
input_audio {data: base64, format}; the mock decodes the audio (sox) and
answers {"text": "[piece seconds=S rate=R channels=C format=F tones=T]",
"usage": {"cost", "seconds"}}, where tones lists the frequency of each
burst of sound it heard, in order. Rules (path "transcriptions"): status,
error_message, text (answer this text instead), delay_ms_per_s (answer
after a delay growing with the audio's length), cheap (read the length
from the FLAC header only: no decoding), body (raw answer bytes). The log
keeps the request without its base64 (bytes, format, model), the audio
as heard and the time the answer went out.

Run: mock_openrouter.py --port-file F [--tls-cert C --tls-key K]
"""
import argparse
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # Python 3.11 (Debian 12): rms and zero crossings, fast
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RULES = []
LOG = []
AUDIO_CACHE = {}
AUDIO_DIR = tempfile.mkdtemp(prefix="csp-mock-")
RATE = 24000


def without_info_frame(mp3):
    """The stream minus its first frame when that is LAME's Xing/Info frame: an mp3 as a
    streaming service sends it, with nothing to say how much delay to trim."""
    if len(mp3) < 4 or mp3[0] != 0xFF or (mp3[1] & 0xE0) != 0xE0:
        return mp3
    version = (mp3[1] >> 3) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    bitrates = {3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
                2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]}
    rates = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}
    bitrate = bitrates[3 if version == 3 else 2][mp3[2] >> 4] * 1000
    rate = rates[version][(mp3[2] >> 2) & 3]
    size = (144 if version == 3 else 72) * bitrate // rate + ((mp3[2] >> 1) & 1)
    return mp3[size:] if b"Info" in mp3[:size] or b"Xing" in mp3[:size] else mp3


def synthesize(text):
    """(mp3 bytes, pcm bytes, frames) for text, cached by content."""
    key = hashlib.sha1(text.encode()).hexdigest()
    with LOCK:
        if key in AUDIO_CACHE:
            return AUDIO_CACHE[key]
    # a name per call: two requests with the same text at once must not share files
    base = os.path.join(AUDIO_DIR, "%s-%d" % (key, threading.get_ident()))
    subprocess.run(["espeak-ng", "-w", base + ".raw.wav", "--", text], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["sox", base + ".raw.wav", "-r", str(RATE), "-c", "1", "-b", "16",
                    base + ".wav"], check=True)
    subprocess.run(["lame", "--quiet", "-b", "64", base + ".wav", base + ".mp3"], check=True)
    with wave.open(base + ".wav") as w:
        frames = w.getnframes()
        pcm = w.readframes(frames)
    with open(base + ".mp3", "rb") as f:
        mp3 = f.read()
    for ext in (".raw.wav", ".wav", ".mp3"):
        os.unlink(base + ext)
    result = (mp3, pcm, frames)
    with LOCK:
        AUDIO_CACHE[key] = result
    return result


def pick_rule(kind, text):
    with LOCK:
        for rule in RULES:
            if rule.get("path", "speech") != kind:
                continue
            if "match" in rule and rule["match"] not in (text or ""):
                continue
            if "times" in rule:
                if rule["times"] <= 0:
                    continue
                rule["times"] -= 1
            return dict(rule)
    return {}


def flac_seconds(data):
    """Length from a FLAC stream's STREAMINFO block, without decoding: (seconds, rate, channels)."""
    if data[:4] != b"fLaC" or len(data) < 42:
        return None
    info = data[8:42]
    rate = (info[10] << 12) | (info[11] << 4) | (info[12] >> 4)
    channels = ((info[12] >> 1) & 7) + 1
    total = ((info[13] & 15) << 32) | struct.unpack(">I", info[14:18])[0]
    return (total / rate if rate else 0.0), rate, channels


def hear(data, fmt, cheap):
    """What the mock heard in the audio: seconds, rate, channels and tone bursts."""
    if cheap and fmt == "flac":
        got = flac_seconds(data)
        if got:
            return {"seconds": got[0], "rate": got[1], "channels": got[2], "tones": []}
    with tempfile.TemporaryDirectory(dir=AUDIO_DIR) as d:
        src = os.path.join(d, "in." + (fmt or "wav"))
        dst = os.path.join(d, "out.wav")
        with open(src, "wb") as f:
            f.write(data)
        p = subprocess.run(["sox", src, "-b", "16", "-e", "signed", dst], capture_output=True)
        if p.returncode != 0:
            return None
        with wave.open(dst) as w:
            rate, channels, frames = w.getframerate(), w.getnchannels(), w.getnframes()
            pcm = w.readframes(frames)
    if channels > 1:
        pcm = audioop.tomono(pcm, 2, 0.5, 0.5) if channels == 2 else pcm
    # bursts of sound (20 ms frames louder than -36 dBFS), each named by its frequency
    step = rate // 50
    tones, burst = [], []
    for i in range(0, len(pcm) // 2 - step + 1, step):
        frame = pcm[2 * i:2 * (i + step)]
        if audioop.rms(frame, 2) > 500:
            burst.append(frame)
        elif burst:
            tones.append(burst)
            burst = []
    if burst:
        tones.append(burst)
    named = []
    for b in tones:
        if len(b) < 3:
            continue
        joined = b"".join(b)
        crossings = audioop.cross(joined, 2)
        seconds = len(joined) / 2 / rate
        named.append(int(round(crossings / 2 / seconds / 10.0)) * 10)
    return {"seconds": frames / rate, "rate": rate, "channels": channels, "tones": named}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, body, extra=None):
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "time": time.time(),
            "client_port": self.client_address[1],
        }
        entry.update(extra or {})
        with LOCK:
            LOG.append(entry)
        return entry

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def send_json(self, status, obj, extra_headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/_mock/requests"):
            with LOCK:
                self.send_json(200, LOG)
            return
        self.record(None)
        if "/models" in self.path:
            rule = pick_rule("models", "")
            if rule.get("status"):
                self.send_json(rule["status"], {"error": {"message": rule.get("error_message", "mock error"), "code": rule["status"]}})
                return
            if rule.get("huge"):
                self.endless("application/json", b'{"data": [' + b'{"id": "padding"},' * 4096)
                return
            self.send_json(200, {"data": [
                {"id": rule.get("model_id", "hexgrad/kokoro-82m"), "output_modalities": ["speech"],
                 "supported_voices": rule.get("voices", ["af_alloy", "af_bella", "am_adam"]),
                 "pricing": {"prompt": rule.get("price", "0.000015"), "completion": "0"}},
                {"id": "openai/gpt-4o-mini-tts", "output_modalities": ["speech"],
                 "supported_voices": ["alloy", "echo"]},
            ]})
            return
        if self.path.startswith("/redirected"):
            self.send_json(200, {"ok": True})
            return
        self.send_json(404, {"error": {"message": "no such route", "code": 404}})

    def do_HEAD(self):
        self.record(None)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.read_body()
        if self.path.startswith("/_mock/script"):
            with LOCK:
                RULES[:] = body.get("rules", [])
            self.send_json(200, {"ok": True})
            return
        if self.path.startswith("/_mock/reset"):
            with LOCK:
                RULES.clear()
                LOG.clear()
            self.send_json(200, {"ok": True})
            return
        if self.path.endswith("/audio/speech"):
            self.speech(body)
        elif self.path.endswith("/chat/completions"):
            self.chat(body)
        elif self.path.endswith("/audio/transcriptions"):
            self.transcription(body)
        else:
            self.record(body)
            self.send_json(404, {"error": {"message": "no such route", "code": 404}})

    # --- behaviours shared by the endpoints ---
    def apply_error_rules(self, rule):
        """Answer for rules that replace the normal body. True if answered."""
        if rule.get("redirect"):
            self.send_response(307)
            self.send_header("Location", rule["redirect"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if rule.get("status"):
            headers = {}
            if "retry_after" in rule:
                headers["Retry-After"] = str(rule["retry_after"])
            self.send_json(rule["status"], {"error": {"message": rule.get("error_message", "mock error %d" % rule["status"]), "code": rule["status"]}}, headers)
            return True
        if rule.get("html200"):
            self.send_raw(200, "text/html", b"<html><head><title>Gateway</title></head><body>Sorry</body></html>\n")
            return True
        if rule.get("json200"):
            self.send_json(200, {"error": {"message": "upstream returned no audio", "code": 200}})
            return True
        return False

    def send_raw(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def trickle_headers(self, ctype, length, delay_ms):
        """Status and headers one line at a time, delay_ms apart."""
        lines = [b"HTTP/1.1 200 OK\r\n", b"Content-Type: " + ctype.encode() + b"\r\n",
                 b"X-Slow-1: a\r\n", b"X-Slow-2: b\r\n", b"X-Slow-3: c\r\n"]
        if length is not None:
            lines.append(b"Content-Length: %d\r\n" % length)
        lines.append(b"\r\n")
        for line in lines:
            self.wfile.write(line)
            self.wfile.flush()
            time.sleep(delay_ms / 1000.0)

    def endless(self, ctype, data):
        """Audio that never ends: the same frames again and again, no length."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            while True:
                self.wfile.write(data)
                self.wfile.flush()
        except OSError:
            pass

    def stream(self, ctype, data, rule):
        delay = rule.get("first_byte_delay_ms", 0) / 1000.0
        if delay:
            time.sleep(delay)
        if rule.get("endless"):
            self.endless(rule.get("content_type", ctype), data)
            return
        if rule.get("header_delay_ms"):
            self.trickle_headers(rule.get("content_type", ctype), len(data), rule["header_delay_ms"])
        else:
            self.send_response(200)
            self.send_header("Content-Type", rule.get("content_type", ctype))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
        self.wfile.flush()
        limit = len(data)
        cut = rule.get("truncate_after", rule.get("reset_after"))
        if cut is not None:
            limit = min(limit, cut)
        rate = rule.get("bytes_per_s")
        step = max(1, min(2048, rate // 10)) if rate else 2048  # a slow rate: a trickle, not bursts
        sent = 0
        start = last_write = time.time()
        while sent < limit:
            piece = data[sent:min(limit, sent + step)]
            last_write = time.time()
            self.wfile.write(piece)
            self.wfile.flush()
            sent += len(piece)
            if rate:
                ahead = start + sent / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
        if rule.get("never_close"):
            time.sleep(3600)
        if "reset_after" in rule:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif "truncate_after" in rule:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        return last_write  # the client cannot have the whole answer before this

    def speech(self, body):
        text = body.get("input", "") if isinstance(body, dict) else ""
        rule = pick_rule("speech", text)
        fmt = body.get("response_format", "pcm") if isinstance(body, dict) else "pcm"
        entry = self.record(body, {"frames": 0, "rule": rule})  # arrival time
        if rule.get("canned"):  # the same short clip for any text: no synthesis cost
            mp3, pcm, entry["frames"] = synthesize("Canned audio.")
        elif not rule.get("status") and not rule.get("redirect") and text:
            mp3, pcm, entry["frames"] = synthesize(text)
        if self.apply_error_rules(rule):
            return
        if rule.get("garbage"):
            junk = bytes(((i * 7919) ^ (i >> 3)) & 0xFF for i in range(20000))
            self.stream("audio/mpeg", b"\xff\xfb" + junk, rule)
            return
        if fmt == "mp3" and rule.get("id3"):
            frame = b"TIT2" + struct.pack(">I", 6) + b"\0\0" + b"\0title"
            mp3 = b"ID3\x04\0\0" + bytes([0, 0, 0, len(frame)]) + frame + mp3 + \
                b"TAG" + b"mock".ljust(125, b"\0")
        if fmt == "mp3" and rule.get("no_info_tag"):
            mp3 = without_info_frame(mp3)
        data = mp3 if fmt == "mp3" else pcm
        if rule.get("body_b64"):  # crafted audio bytes (issue 20: odd mp3 streams)
            data = base64.b64decode(rule["body_b64"])
        entry["bytes"] = len(data)  # what the answer holds (before any cut)
        if rule.get("record_body"):
            entry["response_b64"] = base64.b64encode(data).decode()
        if fmt == "mp3":
            entry["last_write"] = self.stream("audio/mpeg", data, rule)
        else:
            entry["last_write"] = self.stream("audio/pcm;rate=%d;channels=1" % RATE, data, rule)
        entry["finished"] = time.time()

    def transcription(self, body):
        rule = pick_rule("transcriptions", "")
        audio = (body or {}).get("input_audio") or {} if isinstance(body, dict) else {}
        try:
            data = base64.b64decode(audio.get("data", ""), validate=True)
        except ValueError:
            data = None
        fmt = audio.get("format")
        heard = hear(data, fmt, rule.get("cheap")) if data else None
        summary = {"model": body.get("model") if isinstance(body, dict) else None,
                   "format": fmt, "bytes": len(data) if data else 0}
        entry = self.record(summary, {"audio": heard, "rule": rule})
        seconds = heard["seconds"] if heard else 0.0
        time.sleep(rule.get("first_byte_delay_ms", 0) / 1000.0 +
                   rule.get("delay_ms_per_s", 0) * seconds / 1000.0)
        entry["answered"] = time.time()
        if self.apply_error_rules(rule):
            return
        if "body" in rule:
            self.send_raw(200, "application/json", rule["body"].encode())
            return
        if heard is None:
            self.send_json(400, {"error": {"message": "the audio could not be decoded", "code": 400}})
            return
        text = rule.get("text")
        if text is None:
            text = "[piece seconds=%.4f rate=%d channels=%d format=%s tones=%s]" % (
                seconds, heard["rate"], heard["channels"], fmt,
                ",".join(str(t) for t in heard["tones"]))
        self.send_json(200, {"text": text, "usage": {"cost": round(0.0001 * seconds, 8),
                                                     "seconds": round(seconds, 4)}})

    def chat(self, body):
        rule = pick_rule("chat", "")
        entry = self.record(body, {"tokens": []})
        if self.apply_error_rules(rule):
            return
        time.sleep(rule.get("first_byte_delay_ms", 0) / 1000.0)
        reply = rule.get("reply", "Hello! This is the mock model speaking. It has two sentences.")
        auth = self.headers.get("Authorization", "")
        reply = reply.replace("{AUTH}", auth)
        token_ms = rule.get("token_ms", 10) / 1000.0
        split = rule.get("split", 0)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(data):
            if not data:
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def event(obj):
            raw = ("data: " + json.dumps(obj) + "\n\n").encode()
            if split:  # deliver events in odd-sized pieces
                for i in range(0, len(raw), split):
                    send(raw[i:i + split])
            else:
                send(raw)

        send(b": OPENROUTER PROCESSING\n\n")
        if rule.get("keepalive_forever_ms"):  # a server that keeps the stream alive, says nothing
            while True:
                time.sleep(rule["keepalive_forever_ms"] / 1000.0)
                send(b": OPENROUTER PROCESSING\n\n")
        words = reply.split(" ")
        if rule.get("token_chars"):  # fixed-size pieces: words and keys straddle them
            n = rule["token_chars"]
            words = [reply[i:i + n] for i in range(0, len(reply), n)]
        error_after = rule.get("error_after")
        for i, word in enumerate(words):
            if error_after is not None and i == error_after:
                event({"error": {"message": "the model provider failed mid-stream", "code": 502}})
                send(b"data: [DONE]\n\n")
                send(b"")
                self.wfile.write(b"0\r\n\r\n")
                return
            piece = word if i == 0 or rule.get("token_chars") else " " + word
            event({"choices": [{"index": 0, "delta": {"content": piece}}]})
            entry["tokens"].append([time.time(), piece])
            if token_ms:
                time.sleep(token_ms)
        event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if isinstance(body, dict) and (body.get("stream_options") or {}).get("include_usage"):
            event({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": len(words),
                                            "total_tokens": 12 + len(words), "cost": 0.000123}})
        send(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # clients hanging up mid-body is what the fault tests do on purpose
    server.handle_error = lambda request, address: None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(AUDIO_DIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
