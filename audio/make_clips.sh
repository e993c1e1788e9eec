#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the reference clips the decoder test reads: a 0.15 s 440 Hz tone at
# 24 kHz mono (OpenRouter's speech format) as WAV, and the same as a 64 kbps
# mp3 whose LAME tag lets mpg123 trim encoder delay and padding exactly.
set -euo pipefail
cd "$(dirname "$0")"
sox -n -r 24000 -c 1 -b 16 tone.wav synth 0.15 sine 440 gain -6
lame --quiet -b 64 tone.wav tone.mp3
