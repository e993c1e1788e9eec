#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A TLS front for benchmarks: openrouter.ai's name on a throwaway
certificate, terminated locally in front of the mock, with a round trip
emulated on the client side. A new connection is held one RTT (the TCP
handshake) before its first byte goes on, and every byte is delayed by half
an RTT each way, ciphertext included, so TLS handshakes and requests pay
real round trips. Clients reach it through --connect-to / --cacert
(clawspeak: CLAWSPEAK_CONNECT_TO / CLAWSPEAK_CA_FILE). HTTP/1.1 only (ALPN).

Run: tls_front.py --backend PORT --one-way-ms 40 --port-file F --cert-dir D
"""
import argparse
import asyncio
import os
import ssl
import subprocess
import sys
import time


def make_cert(directory):
    """A self-signed certificate for openrouter.ai, valid for a day."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "1", "-subj", "/CN=openrouter.ai",
                        "-addext", "subjectAltName=DNS:openrouter.ai", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
    return cert, key


async def delayed_pipe(reader, writer, delay, not_before):
    """Copy reader to writer, each piece delivered delay seconds after it came (and not
    before not_before): a queue keeps the order, one task sleeps until each is due."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((max(time.monotonic() + delay, not_before), data or None))
            if not data:
                break
    except (ConnectionError, OSError):
        queue.put_nowait((0, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def plain_pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.write_eof()
    except (ConnectionError, OSError, RuntimeError):
        pass


def close(*writers):
    for w in writers:
        try:
            w.close()
        except OSError:
            pass


async def main_async(args):
    cert, key = make_cert(args.cert_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    one_way = args.one_way_ms / 1000.0

    # inner stage: TLS terminated, plaintext on to the mock at once
    async def terminate(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", args.backend)
        except OSError:
            close(writer)
            return
        await asyncio.gather(plain_pipe(reader, up_writer), plain_pipe(up_reader, writer))
        close(writer, up_writer)

    inner = await asyncio.start_server(terminate, "127.0.0.1", 0, ssl=ctx)
    inner_port = inner.sockets[0].getsockname()[1]

    # outer stage: the emulated network, in front of the TLS stage
    async def network(reader, writer):
        accepted = time.monotonic()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", inner_port)
        except OSError:
            close(writer)
            return
        # the client's first byte would leave after the SYN/SYN-ACK round trip
        await asyncio.gather(delayed_pipe(reader, up_writer, one_way, accepted + 3 * one_way),
                             delayed_pipe(up_reader, writer, one_way, 0))
        close(writer, up_writer)

    outer = await asyncio.start_server(network, "127.0.0.1", args.port)
    port = outer.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.replace(tmp, args.port_file)
    await asyncio.gather(inner.serve_forever(), outer.serve_forever())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", type=int, required=True)
    ap.add_argument("--one-way-ms", type=float, default=40)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert-dir", required=True)
    args = ap.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
