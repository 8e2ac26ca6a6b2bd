"""A minimal SIP UAC over UDP for tests that need exact control of timing (drain, lifecycle):
SIPp covers call flows; this covers "send this request now and tell me the answer"."""
from __future__ import annotations

import socket
import uuid
from typing import Optional

SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class UdpCall:
    def __init__(self, port: int, sim_id: Optional[str] = None, host: str = "127.0.0.1"):
        self.port, self.host = port, host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(5)
        self.local = self.sock.getsockname()[1]
        self.call_id = f"lc-{uuid.uuid4().hex[:12]}@test"
        self.sim_id = sim_id
        self.to_tag = ""
        self.cseq = 0

    def _request(self, method: str, body: str = "", extra: str = "") -> bytes:
        self.cseq += 1 if method != "ACK" else 0
        to = f"<sip:agent@{self.host}:{self.port}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        return (f"{method} sip:agent@{self.host}:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self.host}:{self.local};branch=z9hG4bK-{uuid.uuid4().hex[:10]};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:caller@{self.host}>;tag=ft-{self.call_id[:8]}\r\nTo: {to}\r\n"
                f"Call-ID: {self.call_id}\r\nCSeq: {max(self.cseq, 1)} {method}\r\n"
                f"Contact: <sip:caller@{self.host}:{self.local}>\r\n{extra}{ctype}"
                f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()

    def _final(self) -> tuple[int, bytes]:
        while True:
            data, _ = self.sock.recvfrom(65535)
            code = int(data.split(b" ", 2)[1])
            if code >= 200:
                return code, data

    def invite(self) -> int:
        extra = f"X-Simulation-Result-Id: {self.sim_id}\r\n" if self.sim_id else ""
        self.sock.sendto(self._request("INVITE", SDP, extra), (self.host, self.port))
        code, data = self._final()
        for line in data.split(b"\r\n"):
            if line.lower().startswith(b"to:") and b";tag=" in line:
                self.to_tag = line.split(b";tag=")[1].split(b";")[0].decode()
        if code == 200:
            self.sock.sendto(self._request("ACK"), (self.host, self.port))
        return code

    def bye(self, extra: str = "") -> int:
        self.sock.sendto(self._request("BYE", extra=extra), (self.host, self.port))
        return self._final()[0]

    def in_dialog(self, method: str, body: str = "", content_type: str = "application/sdp", extra: str = "") -> int:
        """An in-dialog request with a body; for re-INVITE the 200 is ACKed."""
        request = self._request(method, body, extra)
        if body and content_type != "application/sdp":
            request = request.replace(b"Content-Type: application/sdp", f"Content-Type: {content_type}".encode())
        self.sock.sendto(request, (self.host, self.port))
        code = self._final()[0]
        if method == "INVITE" and code == 200:
            self.sock.sendto(self._request("ACK"), (self.host, self.port))
        return code

    def close(self) -> None:
        self.sock.close()
