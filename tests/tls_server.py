"""An HTTPS server on loopback, certified by a certificate authority made up on the spot: writes
that authority's certificate (PEM) to argv[1] and prints the port once listening. Alone, it
answers every POST like DynamoDB's ListTables (the TLS trust tests); given an upstream port as
argv[2], it terminates TLS in front of that loopback HTTP server (the bench's TLS cold starts,
in front of the local DynamoDB/S3 server)."""

import asyncio
import datetime
import ipaddress
import ssl
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def certificate(subject, issuer, public_key, signing_key, *, ca):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


class ListTables(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"TableNames":[]}'
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("test authority", "test authority", ca_key.public_key(), ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("localhost", "test authority", leaf_key.public_key(), ca_key, ca=False)
    with open(sys.argv[1], "wb") as out:
        out.write(ca.public_bytes(serialization.Encoding.PEM))
    with tempfile.NamedTemporaryFile(suffix=".pem") as chain, tempfile.NamedTemporaryFile(
        suffix=".pem"
    ) as key:
        chain.write(leaf.public_bytes(serialization.Encoding.PEM))
        chain.write(ca.public_bytes(serialization.Encoding.PEM))
        chain.flush()
        key.write(
            leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key.flush()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain.name, key.name)
    if len(sys.argv) > 2:
        asyncio.run(proxy(context, int(sys.argv[2])))
        return
    server = HTTPServer(("127.0.0.1", 0), ListTables)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


async def proxy(context, upstream):
    async def pipe(source, sink):
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            sink.close()

    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    main()
