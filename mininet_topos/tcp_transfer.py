"""A TCP transfer between two hosts that proves every byte arrived in order.

    python3 tcp_transfer.py serve PORT            # prints "<bytes> <sha256>" when done
    python3 tcp_transfer.py send ADDRESS PORT N [RATE]   # sends N deterministic bytes
                                                        # (at RATE bytes/s), prints the same

Standard library only, so it runs in any Mininet host.
"""
import hashlib
import random
import socket
import sys
import time

CHUNK = 65536


def payload(total, seed=6275, chunk_size=CHUNK):
    rng = random.Random(seed)
    sent = 0
    while sent < total:
        size = min(chunk_size, total - sent)
        yield rng.randbytes(size)
        sent += size


def serve(port):
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("::", port))
        listener.listen(1)
        connection, _ = listener.accept()
        digest, received = hashlib.sha256(), 0
        with connection:
            while chunk := connection.recv(CHUNK):
                digest.update(chunk)
                received += len(chunk)
    print(received, digest.hexdigest(), flush=True)


def send(address, port, total, rate=None):
    digest = hashlib.sha256()
    start, sent = time.monotonic(), 0
    with socket.create_connection((address, port), timeout=30) as connection:
        for chunk in payload(total, chunk_size=CHUNK if rate is None else 1024):
            if rate is not None:
                time.sleep(max(0.0, start + sent / rate - time.monotonic()))
            connection.sendall(chunk)
            digest.update(chunk)
            sent += len(chunk)
    print(total, digest.hexdigest(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
             float(sys.argv[5]) if len(sys.argv) > 5 else None)
