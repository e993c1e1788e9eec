/* SPDX-License-Identifier: MIT */
/*
 * keep_modules.c: preloaded only in the sanitizer run of the playback tests.
 * ALSA loads its plugins (pulse, file) with dlopen and unloads them at exit;
 * LeakSanitizer then cannot name the module that leaked, and a suppression
 * cannot match it. Keeping modules loaded lets lsan.supp name them.
 */
int dlclose(void *handle);

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
