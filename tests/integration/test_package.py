# SPDX-License-Identifier: MIT
"""Install clawspeak to a temporary prefix and build samples/example.c against
it twice: with pkg-config and with CMake's find_package. Then run it, and check
the sample configs resolve."""
import os
import shutil
import subprocess
import tempfile

from harness import SOURCE, CliTestCase, audioinfo, run

BUILD = os.environ.get("CLAWSPEAK_BUILD_DIR", os.path.join(SOURCE, "build"))


class Package(CliTestCase):
    def test_installed_library_builds_and_runs_the_example(self):
        prefix = tempfile.mkdtemp(prefix="csp-prefix-")
        self.addCleanup(shutil.rmtree, prefix, True)
        subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True, capture_output=True)
        pcdirs = [os.path.join(root) for root, dirs, files in os.walk(prefix) if "clawspeak.pc" in files]
        self.assertEqual(len(pcdirs), 1)
        env = dict(os.environ, PKG_CONFIG_PATH=pcdirs[0])
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "clawspeak"], env=env,
                               capture_output=True, text=True, check=True).stdout.split()
        exe = os.path.join(self.home, "example")
        libdir = os.path.dirname(pcdirs[0])
        subprocess.run(["cc", os.path.join(SOURCE, "samples", "example.c"), "-o", exe] + flags
                       + ["-Wl,-rpath," + libdir], check=True)
        out = os.path.join(self.home, "lib.wav")
        p = subprocess.run([exe, out, "Spoken by the example program."], env=self.env(),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(audioinfo(out)[0], 0)
        build = os.path.join(self.home, "cmake-build")
        subprocess.run(["cmake", "-S", os.path.join(SOURCE, "samples"), "-B", build,
                        "-DCMAKE_PREFIX_PATH=" + prefix], check=True, capture_output=True)
        subprocess.run(["cmake", "--build", build], check=True, capture_output=True)
        self.assertTrue(os.path.exists(os.path.join(build, "example")))

    def test_sample_configs_resolve(self):
        for name in ("openclaw-legacy.json5", "openclaw-2026.json5"):
            code, out, err = run(["config", "--config", os.path.join(SOURCE, "samples", name)], self.env())
            self.assertEqual(code, 0, err)
