# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The job network's egress proxy, run by python3 in a container of the job image
(`python3 -c <this file> HOST...`, see network.sh): it opens CONNECT tunnels to
port 443 of the allowed host names only (an entry `.example.com` allows its
subdomains) and answers anything else 403. It logs each refusal (docker logs).
"""

import asyncio
import sys

# The port the job containers are given (module_utils/_jobs.py PROXY_PORT; a unit test keeps both equal).
PORT = 3128
ALLOW = [a.lower() for a in sys.argv[1:]]


def allowed(host):
    host = host.lower().rstrip('.')
    return any(host == a or (a.startswith('.') and host.endswith(a)) for a in ALLOW)


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()


async def handle(reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 30)
        method, target = (head.split(b'\r\n', 1)[0].decode('latin-1').split(' ') + ['', ''])[:2]
        host, _sep, port = target.rpartition(':')
        if method != 'CONNECT' or port != '443' or not allowed(host):
            print('refused %s %s' % (method[:16], target[:200]), flush=True)
            writer.write(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, 443), 30)
    except Exception as exc:
        print('failed: %s' % str(exc)[:200], flush=True)
        try:
            writer.write(b'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
            await writer.drain()
        finally:
            writer.close()
        return
    writer.write(b'HTTP/1.1 200 Connection established\r\n\r\n')
    await writer.drain()
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def main():
    server = await asyncio.start_server(handle, '0.0.0.0', PORT)
    async with server:
        await server.serve_forever()


if __name__ == '__main__':
    asyncio.run(main())
