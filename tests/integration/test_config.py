# SPDX-License-Identifier: MIT
"""Config reading and settings precedence, through `clawspeak config --json`."""
import json
import re
import os
import stat

from harness import KEY, CliTestCase, run


class Precedence(CliTestCase):
    def settings(self, config=None, args=(), **env):
        if config is not None:
            self.write_config(config)
        rc, out, err = run(["config", "--json"] + list(args), self.env(**env))
        self.assertEqual(rc, 0, err)
        self.assertNoKey(out, err)
        return json.loads(out), err

    def test_defaults_without_file(self):
        s, _ = self.settings()
        self.assertEqual(s["voice"]["value"], "af_alloy")
        self.assertEqual(s["model"]["value"], "hexgrad/kokoro-82m")
        self.assertEqual(s["response_format"]["value"], "mp3")
        self.assertEqual(s["timeout_ms"]["value"], 30000)
        self.assertEqual(s["max_text_length"]["value"], 4096)
        self.assertEqual(s["base_url"]["value"], "https://openrouter.ai/api/v1")
        self.assertEqual(s["chat_model"]["value"], "openrouter/auto")
        self.assertEqual(s["api_key"]["value"], "(none)")
        self.assertIn("file missing", s["config"]["source"])

    def test_api_key_order(self):
        k1, k2, k3, k4 = ("sk-or-v1-" + c * 20 for c in "ABCD")
        tts = "tts: {providers: {openrouter: {apiKey: '%s'}}}," % k1
        models = "models: {providers: {openrouter: {apiKey: '%s'}}}," % k2
        inline = "env: {vars: {OPENROUTER_API_KEY: '%s'}}," % k4
        rows = [
            ("{%s %s %s}" % (tts, models, inline), {"OPENROUTER_API_KEY": k3}, k1, "tts.providers.openrouter.apiKey"),
            ("{%s %s}" % (models, inline), {"OPENROUTER_API_KEY": k3}, k2, "models.providers.openrouter.apiKey"),
            ("{%s}" % inline, {"OPENROUTER_API_KEY": k3}, k3, "env OPENROUTER_API_KEY"),
            ("{%s}" % inline, {}, k4, "env.vars.OPENROUTER_API_KEY"),
            ("{env: {OPENROUTER_API_KEY: '%s'}}" % k4, {}, k4, "env.OPENROUTER_API_KEY"),
            ("{messages: {tts: {providers: {openrouter: {apiKey: '%s'}}}}}" % k1, {}, k1, "messages.tts.providers.openrouter.apiKey"),
            ("{tts: {providers: {openrouter: {apiKey: '  '}}}, %s}" % models, {}, k2, "models.providers"),
            ("{tts: {providers: {openrouter: {apiKey: '${MISSING_KEY}'}}}, %s}" % models, {}, k2, "models.providers"),
        ]
        for config, env, want, source in rows:
            with self.subTest(config=config):
                s, _ = self.settings(config, **env)
                self.assertEqual(s["api_key"]["value"], "sk-or-..." + want[-4:])
                self.assertIn(source, s["api_key"]["source"])

    def test_chat_key_skips_tts_key(self):
        s, _ = self.settings("{tts: {providers: {openrouter: {apiKey: 'sk-or-v1-TTSONLYxxxxxxxxxx1111'}}}}",
                             OPENROUTER_API_KEY="sk-or-v1-ENVKEYxxxxxxxxxxx2222")
        self.assertEqual(s["chat_api_key"]["value"], "sk-or-...2222")

    def test_base_url_order(self):
        rows = [
            ("{tts: {providers: {openrouter: {baseUrl: 'http://a.test/v1/'}}}, models: {providers: {openrouter: {baseUrl: 'http://b.test/v1'}}}}", [], "http://a.test/v1"),
            ("{models: {providers: {openrouter: {baseUrl: 'http://b.test/v1//'}}}}", [], "http://b.test/v1"),
            ("{models: {providers: {openrouter: {baseUrl: 'https://openrouter.ai/v1'}}}}", [], "https://openrouter.ai/api/v1"),
            ("{models: {providers: {openrouter: {baseUrl: 'http://b.test/v1'}}}}", ["--base-url", "http://c.test/"], "http://c.test"),
        ]
        for config, args, want in rows:
            with self.subTest(config=config):
                s, _ = self.settings(config, args)
                self.assertEqual(s["base_url"]["value"], want)

    def test_layouts_merge_field_by_field(self):
        config = """{
          messages: {tts: {auto: 'always', providers: {openrouter: {voice: 'old_voice', model: 'old/model', speed: 1.5}}}},
          tts: {providers: {openrouter: {speakerVoice: 'new_voice', responseFormat: 'pcm'}}},
        }"""
        s, _ = self.settings(config)
        self.assertEqual(s["voice"]["value"], "new_voice")
        self.assertIn("tts.providers.openrouter.speakerVoice", s["voice"]["source"])
        self.assertEqual(s["model"]["value"], "old/model")
        self.assertIn("messages.tts.providers.openrouter.model", s["model"]["source"])
        self.assertEqual(s["speed"]["value"], 1.5)
        self.assertEqual(s["auto"]["value"], "always")
        self.assertEqual(s["response_format"]["value"], "pcm")

    def test_voice_aliases_in_order(self):
        rows = [
            ("{speakerVoice: 'a', speakerVoiceId: 'b', voice: 'c', voiceId: 'd'}", "a"),
            ("{speakerVoice: ' ', speakerVoiceId: 'b', voice: 'c'}", "b"),
            ("{voice: 'c', voiceId: 'd'}", "c"),
            ("{voiceId: 'd'}", "d"),
            ("{modelId: 'x/y'}", "af_alloy"),
        ]
        for inner, want in rows:
            with self.subTest(inner=inner):
                s, _ = self.settings("{tts: {providers: {openrouter: %s}}}" % inner)
                self.assertEqual(s["voice"]["value"], want)
        s, _ = self.settings("{tts: {providers: {openrouter: {modelId: 'x/y'}}}}")
        self.assertEqual(s["model"]["value"], "x/y")

    def test_flags_beat_config(self):
        s, _ = self.settings("{tts: {providers: {openrouter: {voice: 'cfg', speed: 2}}}}",
                             ["--voice", "flag", "--speed", "0.75", "--timeout-ms", "500"])
        self.assertEqual(s["voice"]["value"], "flag")
        self.assertEqual(s["voice"]["source"], "--voice")
        self.assertEqual(s["speed"]["value"], 0.75)
        self.assertEqual(s["timeout_ms"]["value"], 500)

    def test_variable_substitution(self):
        config = """{tts: {providers: {openrouter: {
            voice: '${CSP_VOICE}', model: 'pre-$${LITERAL}-post', baseUrl: 'http://${CSP_HOST}/v1'}}}}"""
        s, err = self.settings(config, CSP_VOICE="subst_voice", CSP_HOST="h.test")
        self.assertEqual(s["voice"]["value"], "subst_voice")
        self.assertEqual(s["model"]["value"], "pre-${LITERAL}-post")
        self.assertEqual(s["base_url"]["value"], "http://h.test/v1")
        # missing: a warning, and the value counts as absent
        s, err = self.settings("{tts: {providers: {openrouter: {voice: '${CSP_NOT_SET}'}}}}")
        self.assertIn("CSP_NOT_SET", err)
        self.assertEqual(s["voice"]["value"], "af_alloy")
        # lower-case names are not variables
        s, err = self.settings("{tts: {providers: {openrouter: {voice: '${lower}'}}}}")
        self.assertEqual(s["voice"]["value"], "${lower}")

    def test_inline_env_feeds_substitution_but_process_env_wins(self):
        config = "{env: {vars: {CSP_V: 'from_config'}}, tts: {providers: {openrouter: {voice: '${CSP_V}'}}}}"
        s, _ = self.settings(config)
        self.assertEqual(s["voice"]["value"], "from_config")
        s, _ = self.settings(config, CSP_V="from_process")
        self.assertEqual(s["voice"]["value"], "from_process")

    def test_config_path_resolution(self):
        other = os.path.join(self.home, "state")
        os.makedirs(other)
        with open(os.path.join(other, "openclaw.json"), "w") as f:
            f.write("{tts: {providers: {openrouter: {voice: 'state_dir'}}}}")
        alt = self.write_config("{tts: {providers: {openrouter: {voice: 'env_path'}}}}", "alt.json5")
        s, _ = self.settings(None, OPENCLAW_STATE_DIR=other)
        self.assertEqual(s["voice"]["value"], "state_dir")
        s, _ = self.settings(None, OPENCLAW_STATE_DIR=other, OPENCLAW_CONFIG_PATH=alt)
        self.assertEqual(s["voice"]["value"], "env_path")
        rc, out, err = run(["config", "--json", "--config", os.path.join(other, "openclaw.json")],
                           self.env(OPENCLAW_CONFIG_PATH=alt))
        self.assertEqual(json.loads(out)["voice"]["value"], "state_dir")
        os.makedirs(os.path.join(self.home, ".openclaw"), exist_ok=True)
        with open(os.path.join(self.home, ".openclaw", "openclaw.json"), "w") as f:
            f.write("{tts: {providers: {openrouter: {voice: 'home'}}}}")
        s, _ = self.settings(None)
        self.assertEqual(s["voice"]["value"], "home")

    def test_routing_object(self):
        s, _ = self.settings("{tts: {providers: {openrouter: {provider: {order: ['a'], allow_fallbacks: false}}}}}")
        self.assertEqual(json.loads(s["routing"]["value"]), {"order": ["a"], "allow_fallbacks": False})


class ConfigErrors(CliTestCase):
    def expect_config_error(self, config, *fragments):
        path = self.write_config(config)
        rc, out, err = run(["config"], self.env())
        self.assertEqual(rc, 3, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        for frag in fragments:
            self.assertIn(frag, err)
        return path

    def test_wrong_types_name_the_key_path(self):
        self.expect_config_error("{tts: {providers: {openrouter: {speed: 'fast'}}}}", "tts.providers.openrouter.speed")
        self.expect_config_error("{tts: {providers: {openrouter: {voice: 3}}}}", "tts.providers.openrouter.voice", "a string")
        self.expect_config_error("{messages: {tts: {providers: {openrouter: {responseFormat: 'wav'}}}}}", "'wav'", "one of: mp3 pcm")
        self.expect_config_error("{tts: {auto: 'sometimes'}}", "sometimes")
        self.expect_config_error("{tts: {timeoutMs: -5}}", "tts.timeoutMs")
        self.expect_config_error("{tts: {maxTextLength: 1.5}}", "tts.maxTextLength")
        self.expect_config_error("{tts: {providers: {openrouter: {speed: NaN}}}}", "speed")
        # a provider OpenClaw has and clawspeak has not: a warning, not an error (test_fallback)

    def test_syntax_errors_name_file_line_column(self):
        path = self.expect_config_error("{\n  tts: {\n    auto: 'off',,\n  }\n}\n", ":3:17:")
        self.expect_config_error("{a: 'unterminated}", ":1:5:", "unterminated string")
        self.expect_config_error("[" * 100 + "]" * 100, "nesting")

    def test_binary_junk_is_a_config_error(self):
        path = self.write_config("")
        with open(path, "wb") as f:
            f.write(bytes(range(256)) * 4)
        rc, out, err = run(["say", "-o", os.path.join(self.home, "x.wav"), "hello"], self.env())
        self.assertEqual(rc, 3, err)
        self.assertRegex(err, re.escape(path) + r":\d+:\d+: invalid UTF-8")
        self.assertFalse(os.path.exists(os.path.join(self.home, "x.wav")))

    def test_bad_flag_values_are_usage_errors(self):
        rc, _, err = run(["config", "--speed", "fast"], self.env())
        self.assertEqual(rc, 2, err)
        rc, _, err = run(["config", "--response-format", "ogg"], self.env())
        self.assertEqual(rc, 2, err)


class Display(CliTestCase):
    def test_text_output_shows_sources_and_masks_key(self):
        self.write_config("{tts: {providers: {openrouter: {apiKey: '%s', voice: 'v1'}}}}" % KEY)
        rc, out, err = run(["config", "--verbose"], self.env())
        self.assertEqual(rc, 0, err)
        text = out.decode()
        self.assertIn("sk-or-..." + KEY[-4:], text)
        self.assertIn("tts.providers.openrouter.apiKey", text)
        self.assertNoKey(out, err)

    def test_world_readable_key_warns(self):
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s'}}}}" % KEY, mode=0o644)
        rc, out, err = run(["config"], self.env())
        self.assertEqual(rc, 0)
        self.assertIn("chmod 600", err)
        self.write_config("{models: {providers: {openrouter: {apiKey: '%s'}}}}" % KEY, mode=0o600)
        rc, out, err = run(["config"], self.env())
        self.assertNotIn("chmod 600", err)


class ModelsSet(CliTestCase):
    def set_model(self, ref, path):
        rc, out, err = run(["models", "set", ref, "--config", path], self.env())
        self.assertEqual(rc, 0, err)
        rc, out, err = run(["config", "--json", "--config", path], self.env())
        self.assertEqual(rc, 0, err)
        return json.loads(out)["chat_model"]["value"]

    def test_creates_missing_file_and_path(self):
        path = os.path.join(self.home, "new", "dir", "openclaw.json")
        self.assertEqual(self.set_model("openrouter/moonshotai/kimi-k2.6", path), "openrouter/moonshotai/kimi-k2.6")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_edits_in_place_keeping_comments(self):
        original = """// my OpenClaw config
{
  /* the agents */
  agents: {
    defaults: {
      model: {primary: 'openrouter/auto', fallbacks: ['x']}, // keep this note
    },
  },
  tts: {auto: 'off'}, // trailing note
}
"""
        path = self.write_config(original, mode=0o640)
        self.assertEqual(self.set_model("openrouter/openrouter/fusion", path), "openrouter/openrouter/fusion")
        edited = open(path).read()
        self.assertEqual(edited, original.replace("'openrouter/auto'", '"openrouter/openrouter/fusion"'))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        self.assertNoLeftovers(self.home)

    def test_inserts_missing_members(self):
        original = "{\n  // comment stays\n  tts: {auto: 'off'}\n}\n"
        path = self.write_config(original)
        self.assertEqual(self.set_model("openrouter/auto", path), "openrouter/auto")
        edited = open(path).read()
        self.assertIn("// comment stays", edited)
        self.assertIn("tts: {auto: 'off'},", edited)
        original = "{agents: {list: []}}"
        path = self.write_config(original)
        self.assertEqual(self.set_model("openrouter/a/b", path), "openrouter/a/b")
        self.assertIn("list: []", open(path).read())

    def test_refuses_other_providers_and_bad_files(self):
        path = self.write_config("{agents: 'oops'}")
        rc, out, err = run(["models", "set", "openrouter/auto", "--config", path], self.env())
        self.assertEqual(rc, 3, err)
        self.assertEqual(open(path).read(), "{agents: 'oops'}")
        rc, out, err = run(["models", "set", "anthropic/claude", "--config", path], self.env())
        self.assertEqual(rc, 2, err)
