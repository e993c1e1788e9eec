#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the reference clips the decoder test reads: a 0.15 s 440 Hz tone at
# 24 kHz mono (OpenRouter's speech format) as WAV, and the same as a 64 kbps
# mp3 whose LAME tag lets mpg123 trim encoder delay and padding exactly.
set -euo pipefail
cd "$(dirname "$0")"
sox -n -r 24000 -c 1 -b 16 tone.wav synth 0.15 sine 440 gain -6
lame --quiet -b 64 tone.wav tone.mp3
# The capture test's utterance: espeak-ng speech, 16 kHz mono, silence trimmed at both ends.
espeak-ng -w speech_tmp.wav "Please read me the weather for tomorrow morning."
sox speech_tmp.wav -r 16000 -c 1 -b 16 speech.wav silence 1 0.01 1% reverse silence 1 0.01 1% reverse
rm -f speech_tmp.wav
