# SPDX-License-Identifier: MIT
"""Install clawspeak to a temporary prefix and build samples/example.c against
it four ways: with pkg-config and with CMake's find_package, each against the
shared and the static library. Then run them, and check the sample configs
resolve. (test_deb.py does the same with the .deb packages.)"""
import os
import re
import shutil
import subprocess
import tempfile

from harness import SOURCE, CliTestCase, audioinfo, run

BUILD = os.environ.get("CLAWSPEAK_BUILD_DIR", os.path.join(SOURCE, "build"))
# A sanitizer build's libclawspeak.a calls into the ASan/UBSan runtimes, which a static
# link of it must bring (the shared library names them itself).
SANITIZE = ["-fsanitize=address,undefined"] if os.environ.get("CLAWSPEAK_SANITIZED") else []


def needed(exe):
    """The shared libraries an executable names (DT_NEEDED)."""
    out = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out)


class Package(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix="csp-prefix-")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix], check=True, capture_output=True)
        pcdirs = [root for root, dirs, files in os.walk(cls.prefix) if "clawspeak.pc" in files]
        assert len(pcdirs) == 1, pcdirs
        cls.pcdir = pcdirs[0]
        cls.libdir = os.path.dirname(cls.pcdir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, True)

    def pkg_config(self, *args):
        env = dict(os.environ, PKG_CONFIG_PATH=self.pcdir)
        p = subprocess.run(["pkg-config"] + list(args) + ["clawspeak"], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    def speaks(self, exe):
        out = os.path.join(self.home, os.path.basename(exe) + ".wav")
        p = subprocess.run([exe, out, "Spoken by the example program."], env=self.env(),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(audioinfo(out)[0], 0)

    def cmake_example(self, static):
        build = os.path.join(self.home, "cmake-build-%s" % ("static" if static else "shared"))
        p = subprocess.run(["cmake", "-S", os.path.join(SOURCE, "samples"), "-B", build,
                            "-DCMAKE_PREFIX_PATH=" + self.prefix, "-DEXAMPLE_STATIC=" + ("ON" if static else "OFF"),
                            "-DCMAKE_BUILD_RPATH=" + self.libdir,
                            "-DCMAKE_EXE_LINKER_FLAGS=" + " ".join(SANITIZE if static else [])],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = subprocess.run(["cmake", "--build", build], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return os.path.join(build, "example")

    def test_pkg_config_shared(self):
        exe = os.path.join(self.home, "example")
        subprocess.run(["cc", os.path.join(SOURCE, "samples", "example.c"), "-o", exe]
                       + self.pkg_config("--cflags", "--libs") + ["-Wl,-rpath," + self.libdir], check=True)
        self.assertTrue(any(n.startswith("libclawspeak.so.") for n in needed(exe)), needed(exe))
        self.speaks(exe)

    def test_pkg_config_static(self):
        """pkg-config --static names everything libclawspeak.a needs (issue 24 item 8: libebur128
        was missing) and nothing it loads itself at run time (libcurl, libsoxr: dlopen)."""
        flags = self.pkg_config("--static", "--cflags", "--libs")
        self.assertNotIn("-lcurl", flags)
        self.assertNotIn("-lsoxr", flags)
        # the archive by name: with both in the libdir the linker would take the .so
        flags = ["-l:libclawspeak.a" if f == "-lclawspeak" else f for f in flags]
        exe = os.path.join(self.home, "example-static")
        p = subprocess.run(["cc", os.path.join(SOURCE, "samples", "example.c"), "-o", exe] + flags + SANITIZE,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        names = needed(exe)
        self.assertFalse([n for n in names if n.startswith(("libclawspeak", "libcurl", "libsoxr"))], names)
        self.speaks(exe)

    def test_cmake_shared(self):
        exe = self.cmake_example(static=False)
        self.assertTrue(any(n.startswith("libclawspeak.so.") for n in needed(exe)), needed(exe))
        self.speaks(exe)

    def test_cmake_static(self):
        """find_package(clawspeak) gives clawspeak::clawspeak_static, whose dependencies
        (libebur128 among them) the package config finds."""
        exe = self.cmake_example(static=True)
        names = needed(exe)
        self.assertFalse([n for n in names if n.startswith(("libclawspeak", "libcurl", "libsoxr"))], names)
        self.speaks(exe)

    def test_sample_configs_resolve(self):
        for name in ("openclaw-legacy.json5", "openclaw-2026.json5"):
            code, out, err = run(["config", "--config", os.path.join(SOURCE, "samples", name)], self.env())
            self.assertEqual(code, 0, err)
