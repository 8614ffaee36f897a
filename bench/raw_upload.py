"""The HTTP ceiling for uploads on this machine: a bare ASGI app on the same server stack
(uvicorn, uvloop, httptools) that writes the raw request body to a file and fsyncs it - no
multipart parsing, hashing, sniffing or database. Started by bench/uploads.py."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import uvicorn
from starlette.types import Receive, Scope, Send

DIRECTORY = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    target = DIRECTORY / f"raw-{uuid.uuid4().hex}"
    with target.open("wb") as f:
        more = True
        while more:
            message = await receive()
            f.write(message.get("body", b""))
            more = message.get("more_body", False)
        f.flush()
        os.fsync(f.fileno())
    target.unlink()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


if __name__ == "__main__":
    uvicorn.run(app, port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning")
