#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What clawspeak adds to one OpenClaw speech attempt (issue 19): the latency the real OpenClaw
reports (attempts[0].latencyMs of `openclaw infer tts convert --local --json`) with its
tts-local-cli entry running clawspeak (the README's snippet), against the least a command
can do, the same entry running `curl -s -o {{OutputPath}}` against the same mock. The two
alternate, in random order each round; medians of ROUNDS. Target: clawspeak adds <= 30 ms.
Run: python3 openclaw_attempt.py [ROUNDS] (needs `bash .ci/openclaw`)."""
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import BIN, KEY, Mock, clean_env  # noqa: E402
from test_openclaw import NODE_BIN, OPENCLAW, readme_snippet  # noqa: E402

TEXT = "The answer is ready, and it is spoken now."


def curl_entry(url):
    body = json.dumps({"model": "hexgrad/kokoro-82m", "input": "{{Text}}", "voice": "af_bella",
                       "response_format": "mp3"})
    args = ["-s", "-o", "{{OutputPath}}", "-X", "POST", "-H", "Content-Type: application/json",
            "-H", "Authorization: Bearer " + KEY, "-d", body, url + "/audio/speech"]
    return ('tts: {provider: "tts-local-cli", providers: {"tts-local-cli": {command: "curl", '
            'args: %s}}},\n' % json.dumps(args))


def attempt_ms(home, env):
    out = os.path.join(home, "reply.mp3")
    p = subprocess.run([OPENCLAW, "infer", "tts", "convert", "--local", "--text", TEXT, "--output",
                        out, "--json"], capture_output=True, env=env, timeout=300, cwd=home)
    text = p.stdout.decode()
    result = json.loads(text[text.index("{"):])
    assert result["ok"] and os.path.getsize(out) > 1000, text
    return result["attempts"][0]["latencyMs"]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    mock = Mock()
    homes = {}
    try:
        for name, snippet in (("clawspeak", readme_snippet("speech")), ("curl", curl_entry(mock.url))):
            home = tempfile.mkdtemp(prefix="csp-bench-oc-")
            os.makedirs(os.path.join(home, ".openclaw"))
            os.makedirs(os.path.join(home, "bin"))
            os.symlink(os.path.abspath(BIN), os.path.join(home, "bin", "clawspeak"))
            with open(os.path.join(home, ".openclaw", "openclaw.json"), "w") as f:
                f.write("{models: {providers: {openrouter: {apiKey: %s, baseUrl: %s}}},\n%s}\n"
                        % (json.dumps(KEY), json.dumps(mock.url), snippet))
            env = clean_env(home, PATH=":".join([os.path.join(home, "bin"), NODE_BIN, os.environ["PATH"]]))
            homes[name] = (home, env)
            attempt_ms(home, env)  # warm: the mock's synthesis is cached, OpenClaw's caches filled
        times = {name: [] for name in homes}
        for _ in range(rounds):
            order = list(homes)
            random.shuffle(order)
            for name in order:
                times[name].append(attempt_ms(*homes[name]))
        med = {name: statistics.median(v) for name, v in times.items()}
        print("OpenClaw speech attempt, latencyMs as OpenClaw reports it (median of %d, interleaved):"
              % rounds)
        for name in ("clawspeak", "curl"):
            print("  %-10s %6.0f ms   all: %s" % (name, med[name], " ".join("%d" % t for t in times[name])))
        added = med["clawspeak"] - med["curl"]
        ok = added <= 30
        print("  clawspeak adds %+.0f ms over curl -s -o {{OutputPath}}  (target <= 30 ms) %s"
              % (added, "ok" if ok else "MISS"))
        return 0 if ok else 1
    finally:
        mock.stop()


if __name__ == "__main__":
    sys.exit(main())
