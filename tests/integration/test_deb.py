# SPDX-License-Identifier: MIT
"""The .deb packages and the source tarball, as a user gets them: cpack builds
the three packages from this build; lintian finds no error in them; apt-get
installs them on this machine; the installed tool runs and its man page is
found; samples/example.c builds against the installed -dev package with
pkg-config and with CMake and speaks; then apt-get removes them all.

Needs root (or sudo without a password): it installs into /usr. Runs in the
plain build only (tests/CMakeLists.txt): an ASan build makes no package to ship."""
import fcntl
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

from harness import SOURCE, CliTestCase, audioinfo

BUILD = os.environ.get("CLAWSPEAK_BUILD_DIR", os.path.join(SOURCE, "build"))
PACKAGES = ("clawspeak", "libclawspeak-dev")  # and the library package, named after its SONAME


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        text = f.read()
    return re.search(r"project\(clawspeak VERSION ([0-9.]+)", text).group(1)


def sudo():
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def installed(name):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
    return p.returncode == 0 and "install ok installed" in p.stdout


class Deb(CliTestCase):
    def setUp(self):
        super().setUp()
        self.sudo = sudo()
        if self.sudo is None:
            self.skipTest("installing .deb packages needs root or sudo without a password")
        for tool in ("cpack", "lintian", "apt-get", "dpkg-shlibdeps", "man", "pkg-config", "readelf"):
            self.assertTrue(shutil.which(tool), tool + " is missing: bash .ci/deps test installs it")
        # one package test at a time on this machine (another worktree's suite may run one)
        self.lock = open(os.path.join(tempfile.gettempdir(), "clawspeak-deb-test.lock"), "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.addCleanup(self.lock.close)
        self.out = tempfile.mkdtemp(prefix="csp-debs-")
        self.addCleanup(shutil.rmtree, self.out, True)

    def apt(self, *args):
        # waits for dpkg's lock rather than failing when another apt-get holds it
        cmd = self.sudo + ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-y", "-q"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def cpack(self, *args):
        p = subprocess.run(["cpack", "-B", self.out] + list(args), cwd=BUILD, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def field(self, deb, name):
        return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True,
                              check=True).stdout.strip()

    def test_debs_lint_install_build_against_and_remove(self):
        version = project_version()
        self.cpack("-G", "DEB")
        debs = sorted(os.path.join(self.out, f) for f in os.listdir(self.out) if f.endswith(".deb"))
        names = {self.field(d, "Package"): d for d in debs}
        self.assertEqual(len(debs), 3, debs)
        # the library's package is named after its SONAME (Debian policy 8.1) and ships only it
        lib = [n for n in names if n not in PACKAGES]
        self.assertEqual(len(lib), 1, names)
        files = subprocess.run(["dpkg-deb", "-c", names[lib[0]]], capture_output=True, text=True).stdout
        sofile = re.search(r"\./(usr/lib\S*/libclawspeak\.so\.[0-9.]+) ->", files)
        self.assertTrue(sofile, files)
        soname = os.path.basename(sofile.group(1))  # the SONAME link: libclawspeak.so.0.2
        self.assertEqual(lib[0], "libclawspeak" + soname[len("libclawspeak.so."):])
        self.assertNotIn("include/", files)
        self.assertNotIn("libclawspeak.a", files)
        # dependencies from dpkg-shlibdeps (e.g. libmpg123-0), and the dlopen'ed libcurl,
        # PortAudio and libsndfile, which no ELF header names
        for name in (lib[0], "clawspeak"):
            depends = self.field(names[name], "Depends")
            self.assertRegex(depends, r"libmpg123-0 \(>= ", name)
            self.assertRegex(depends, r"libcurl", name)
            self.assertRegex(depends, r"libportaudio2", name)
            self.assertRegex(depends, r"libsndfile1", name)
        self.assertRegex(self.field(names["clawspeak"], "Depends"), r"libedit2")  # --chat's prompt
        self.assertIn("%s (= %s)" % (lib[0], version), self.field(names["libclawspeak-dev"], "Depends"))
        for f in (self.field(d, "Version") for d in debs):
            self.assertEqual(f, version)

        p = subprocess.run(["lintian", "--fail-on", "error"] + debs, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, "lintian:\n" + p.stdout + p.stderr)
        self.assertNotRegex(p.stdout, r"(?m)^E: ")

        every = list(PACKAGES) + lib
        if any(installed(n) for n in every):  # left by an interrupted run
            self.apt("remove", "--purge", *every)
        self.addCleanup(self.remove, every)
        self.apt("install", "--no-install-recommends", *debs)
        for name in every:
            self.assertTrue(installed(name), name)

        tool = shutil.which("clawspeak", path="/usr/bin")
        self.assertEqual(tool, "/usr/bin/clawspeak")
        p = subprocess.run([tool, "--version"], capture_output=True, text=True, env=self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(version, p.stdout)
        p = subprocess.run(["man", "-w", "clawspeak"], capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=""))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "/usr/share/man/man1/clawspeak.1.gz")
        for path in ("/usr/share/bash-completion/completions/clawspeak",
                     "/usr/share/zsh/vendor-completions/_clawspeak",
                     "/usr/share/fish/vendor_completions.d/clawspeak.fish",
                     "/usr/share/doc/clawspeak/copyright"):
            self.assertTrue(os.path.isfile(path), path)

        # the -dev package, found where the system looks (no PKG_CONFIG_PATH, no prefix path)
        env = {k: v for k, v in os.environ.items() if k not in ("PKG_CONFIG_PATH", "CMAKE_PREFIX_PATH")}
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "clawspeak"], env=env,
                               capture_output=True, text=True)
        self.assertEqual(flags.returncode, 0, flags.stderr)
        exe = os.path.join(self.home, "example-pc")
        p = subprocess.run(["cc", os.path.join(SOURCE, "samples", "example.c"), "-o", exe]
                           + flags.stdout.split(), env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertSpeaksWithInstalledLibrary(exe)
        build = os.path.join(self.home, "cmake-build")
        p = subprocess.run(["cmake", "-S", os.path.join(SOURCE, "samples"), "-B", build], env=env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = subprocess.run(["cmake", "--build", build], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertSpeaksWithInstalledLibrary(os.path.join(build, "example"))

        self.remove(every)
        for name in every:
            self.assertFalse(installed(name), name)
        self.assertFalse(os.path.exists("/usr/bin/clawspeak"))
        self.assertFalse(os.path.exists("/usr/include/clawspeak.h"))

    def remove(self, names):
        present = [n for n in names if installed(n)]
        if present:
            self.apt("remove", "--purge", *present)

    def assertSpeaksWithInstalledLibrary(self, exe):
        # found through ld.so's cache (the package's ldconfig trigger ran): no rpath, no
        # LD_LIBRARY_PATH (/lib is /usr/lib on a merged-/usr system)
        p = subprocess.run(["ldd", exe], capture_output=True, text=True, env=self.env())
        self.assertRegex(p.stdout, r"libclawspeak\.so\.[0-9.]+ => (/usr)?/lib/\S*libclawspeak", p.stdout)
        out = os.path.join(self.home, os.path.basename(exe) + ".wav")
        p = subprocess.run([exe, out, "Spoken by the installed library."], env=self.env(),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(audioinfo(out)[0], 0)

    def test_source_tarball(self):
        """cpack's source package: the tracked tree, without .git or build directories."""
        self.cpack("--config", "CPackSourceConfig.cmake")
        tarball = os.path.join(self.out, "clawspeak-%s.tar.gz" % project_version())
        self.assertTrue(os.path.isfile(tarball), os.listdir(self.out))
        with tarfile.open(tarball) as t:
            members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name and m.isfile()}
        self.assertFalse([m for m in members if m.startswith((".git/", "build")) or "/.git/" in m], "unwanted files")
        self.assertIn("CMakeLists.txt", members)
        if os.path.isdir(os.path.join(SOURCE, ".git")) or os.path.isfile(os.path.join(SOURCE, ".git")):
            tracked = subprocess.run(["git", "ls-files"], cwd=SOURCE, capture_output=True, text=True,
                                     check=True).stdout.split("\n")
            missing = [f for f in tracked if f and f not in members and os.path.exists(os.path.join(SOURCE, f))]
            self.assertEqual(missing, [], "tracked files missing from the tarball")
